"""``cpu_ddp``: MMEngine 0.10.7's ``--launcher pytorch`` without CUDA (one gloo process)."""
import json

import pytest
import torch

pytestmark = pytest.mark.skipif(torch.cuda.is_available(),
                                reason='the fix is a no-op where CUDA is available')

LAUNCH = '''
import json, os, sys
os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=PORT, RANK='0', WORLD_SIZE='1',
                  LOCAL_RANK='0')
import torch
import torch.distributed as dist
import umt_mm  # noqa: F401
from mmengine.dist import init_dist
from mmengine.model.wrappers import MMDistributedDataParallel
errors = {}
try:
    init_dist('pytorch', backend='nccl')  # what the configs' env_cfg.dist_cfg asks for
except Exception as err:
    errors['init_dist'] = f'{type(err).__name__}: {err}'
if not dist.is_initialized():
    dist.init_process_group('gloo')
errors['backend'] = dist.get_backend()
try:  # as Runner.wrap_model builds it
    MMDistributedDataParallel(module=torch.nn.Linear(2, 2), device_ids=[0])
except Exception as err:
    errors['ddp'] = f'{type(err).__name__}: {err}'
print(json.dumps(errors))
sys.stdout.flush()
os._exit(0)
'''


def test_the_pinned_mmengine_still_needs_cuda_for_a_pytorch_launch(run_python, free_port):
    """Fails the day MMEngine launches CPU processes itself: then remove
    umt_mm/compat/cpu_ddp.py."""
    result = run_python(f'PORT = {str(free_port)!r}\n' + LAUNCH, disable='cpu_ddp')
    assert result.returncode == 0, result.stderr[-3000:]
    without = json.loads(result.stdout.strip().splitlines()[-1])
    assert 'init_dist' in without and 'ddp' in without, (
        f'MMEngine now launches CPU processes: remove umt_mm/compat/cpu_ddp.py ({without})')
    assert 'cuda' in without['init_dist'].lower() or 'setDevice' in without['init_dist']
    assert 'device_ids' in without['ddp']


def test_with_the_fix_a_pytorch_launch_uses_gloo_on_cpu(monkeypatch, free_port):
    import torch.distributed as dist
    from mmengine.dist import utils as dist_utils
    from mmengine.model.wrappers import MMDistributedDataParallel
    for key, value in dict(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(free_port), RANK='0',
                           WORLD_SIZE='1', LOCAL_RANK='0').items():
        monkeypatch.setenv(key, value)
    # what init_dist('pytorch', backend='nccl') calls (without its global start-method change)
    dist_utils._init_dist_pytorch('nccl')
    try:
        assert dist.get_backend() == 'gloo'
        wrapped = MMDistributedDataParallel(module=torch.nn.Linear(2, 2), device_ids=[0])
        assert wrapped.device_ids is None
    finally:
        dist.destroy_process_group()
