"""``UMT_MM_DISABLE_FIXES``: each patch of ``import umt_mm`` can be switched off."""
import json

import pytest

from umt_mm import compat
from umt_mm.compat.switches import disabled_names

# whether each patch is installed, read from the objects it patches
INSPECT = '''
import json, sys
import umt_mm
import mmengine.runner.checkpoint as ckpt_mod
from mmaction.datasets import VideoDataset
from mmaction.datasets.transforms.loading import DecordInit
from mmengine.dist import utils as dist_utils
from mmengine.fileio.backends.local_backend import LocalBackend
from mmengine.model.wrappers import MMFullyShardedDataParallel
print(json.dumps(dict(
    applied=umt_mm.compat.apply_all(),
    missing_drn='mmaction.models.localizers.drn' in sys.modules,
    weights_only_checkpoints=getattr(ckpt_mod.save_checkpoint, '_umt_mm_sanitizes', False),
    cpu_ddp=getattr(dist_utils._init_dist_pytorch, '_umt_mm_cpu', False),
    video_errors_name_the_file=getattr(DecordInit.transform, '_umt_mm_names_file', False),
    cpu_fsdp=getattr(MMFullyShardedDataParallel.__init__, '_umt_mm_cpu', False),
    strict_video_lists=getattr(VideoDataset.load_data_list, '_umt_mm_strict', False),
    atomic_local_writes=getattr(LocalBackend.put, '_umt_mm_atomic', False),
    checkpoint_load_report=getattr(ckpt_mod.load_state_dict, '_umt_mm_report', False),
    fsdp_sync_module_states=getattr(MMFullyShardedDataParallel.__init__, '_umt_mm_sync',
                                    False))))
'''


def test_every_patch_but_missing_drn_switched_off_leaves_the_stack_unpatched(run_python):
    names = [n for n in compat.ALL_NAMES if n != 'missing_drn']  # mmaction needs that one
    result = run_python(INSPECT, disable=' , '.join(names))
    assert result.returncode == 0, result.stderr[-3000:]
    state = json.loads(result.stdout.strip().splitlines()[-1])
    assert state.pop('applied') == {n: n == 'missing_drn' for n in compat.ALL_NAMES}
    assert state == {n: n == 'missing_drn' for n in compat.ALL_NAMES}


def test_by_default_every_patch_is_installed(capsys):
    if disabled_names(compat.ALL_NAMES):
        pytest.skip('this test process runs with UMT_MM_DISABLE_FIXES set')
    exec(INSPECT, {})
    state = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert state.pop('applied') == {n: True for n in compat.ALL_NAMES}
    assert state == {n: True for n in compat.ALL_NAMES}


def test_an_unknown_name_stops_the_import_naming_the_variable(run_python):
    result = run_python('import umt_mm', disable='cpu_ddp,weights_only')
    assert result.returncode != 0
    assert "UMT_MM_DISABLE_FIXES='cpu_ddp,weights_only': unknown patch name(s) weights_only" in (
        result.stderr)
    assert 'weights_only_checkpoints' in result.stderr.splitlines()[-1]


def test_parsing(monkeypatch):
    names = compat.ALL_NAMES
    monkeypatch.delenv('UMT_MM_DISABLE_FIXES', raising=False)
    monkeypatch.delenv('UMT_MM_NO_CHECKPOINT_FIX', raising=False)
    assert disabled_names(names) == set()
    monkeypatch.setenv('UMT_MM_DISABLE_FIXES', ' cpu_ddp ,, atomic_local_writes')
    assert disabled_names(names) == {'cpu_ddp', 'atomic_local_writes'}
    assert not compat.enabled('cpu_ddp') and compat.enabled('cpu_fsdp')
    monkeypatch.setenv('UMT_MM_DISABLE_FIXES', 'all')
    assert disabled_names(names) == set(names)
    monkeypatch.setenv('UMT_MM_DISABLE_FIXES', '')
    monkeypatch.setenv('UMT_MM_NO_CHECKPOINT_FIX', '1')  # the older switch still works
    assert disabled_names(names) == {'weights_only_checkpoints'}
    with pytest.raises(ValueError, match="unknown patch 'drn'"):
        compat.enabled('drn')


def test_the_tables_split_upstream_fixes_from_umt_mm_behaviour():
    assert set(compat.UPSTREAM_FIXES).isdisjoint(compat.UMT_MM_BEHAVIOURS)
    for target in (*compat.UPSTREAM_FIXES.values(), *compat.UMT_MM_BEHAVIOURS.values()):
        module, _, function = target.partition(':')
        assert callable(getattr(__import__(module, fromlist=[function]), function))
    assert all(t.startswith('umt_mm.compat.') for t in compat.UPSTREAM_FIXES.values())
    assert not any(t.startswith('umt_mm.compat.') for t in compat.UMT_MM_BEHAVIOURS.values())
