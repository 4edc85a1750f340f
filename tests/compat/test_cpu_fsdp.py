"""``cpu_fsdp``: MMEngine 0.10.7's FSDP strategy on CPU processes (one gloo process)."""
import json

import pytest
import torch

pytestmark = pytest.mark.skipif(torch.cuda.is_available(),
                                reason='the fix is a no-op where CUDA is available')

WRAP = '''
import json, os, sys
os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=PORT, RANK='0', WORLD_SIZE='1',
                  LOCAL_RANK='0')
import torch
import torch.distributed as dist
import umt_mm  # noqa: F401
from mmengine._strategy import FSDPStrategy
from mmengine.model.wrappers import MMFullyShardedDataParallel
dist.init_process_group('gloo')
out = {}
try:  # as FSDPStrategy._wrap_model builds it
    wrapped = MMFullyShardedDataParallel(module=torch.nn.Linear(2, 2),
                                         device_id=int(os.environ['LOCAL_RANK']))
    out['wrapped_on'] = str(next(wrapped.parameters()).device)
except Exception as err:
    out['wrap'] = f'{type(err).__name__}: {err}'
strategy = FSDPStrategy.__new__(FSDPStrategy)
strategy._init_state_dict_cfg('full')
out['offload_to_cpu'] = strategy.state_dict_config.offload_to_cpu
print(json.dumps(out))
sys.stdout.flush()
os._exit(0)
'''


def _wrap(run_python, port, disable):
    result = run_python(f'PORT = {str(port)!r}\n' + WRAP, disable=disable)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_pinned_mmengine_still_wraps_fsdp_for_cuda_only(run_python, free_port):
    """Fails the day MMEngine's FSDP strategy handles CPU processes: then remove
    umt_mm/compat/cpu_fsdp.py."""
    without = _wrap(run_python, free_port, 'cpu_fsdp,fsdp_sync_module_states')
    assert 'wrap' in without, (
        f'FSDP now wraps with an integer device_id on CPU: remove umt_mm/compat/cpu_fsdp.py '
        f'({without})')
    assert 'accelerator' in without['wrap'] or 'cuda' in without['wrap'].lower()
    assert without['offload_to_cpu'] is True  # what segfaults a CPU rank saving 'full'


def test_with_the_fix_fsdp_wraps_on_cpu_without_offload(run_python, free_port):
    assert _wrap(run_python, free_port, '') == dict(wrapped_on='cpu', offload_to_cpu=False)
