"""load_from reports every missing, unexpected and mis-shaped key (strict fails, non-strict
continues and says so); pickled objects are refused."""
import pickle

import pytest
import torch
from reliability_helpers import CaptureLog, tiny_cfg


def _runner(repo_root, toy_videos, tmp_path, ckpt, strict=None):
    from mmengine.runner import Runner
    cfg = tiny_cfg(repo_root, toy_videos, tmp_path / 'work')
    cfg.load_from = str(ckpt)
    if strict is not None:
        cfg.load_from_strict = strict
    return Runner.from_cfg(cfg)


def _bad_checkpoint(repo_root, toy_videos, tmp_path):
    from mmengine.runner import Runner
    model = Runner.from_cfg(tiny_cfg(repo_root, toy_videos, tmp_path / 'src')).model
    state = {k: v.clone() + 1 for k, v in model.state_dict().items()}
    missing = 'backbone.blocks.1.mlp.fc2.bias'
    mismatched = 'cls_head.fc_cls.weight'
    assert missing in state and mismatched in state
    del state[missing]
    state[mismatched] = torch.zeros(5, state[mismatched].shape[1])
    state['backbone.unused_extra.weight'] = torch.zeros(2)
    path = tmp_path / 'init.pth'
    torch.save({'state_dict': state, 'meta': {}}, path)
    return path, state, missing, mismatched


def test_non_strict_load_from_reports_and_continues(repo_root, toy_videos, tmp_path):
    path, state, missing, mismatched = _bad_checkpoint(repo_root, toy_videos, tmp_path)
    runner = _runner(repo_root, toy_videos, tmp_path, path)
    initial = {k: v.clone() for k, v in runner.model.state_dict().items()}
    with CaptureLog() as log:
        runner.load_or_resume()
    text = log.text
    assert 'loading non-strictly: 2 model tensors keep their initial values and 1 checkpoint ' \
           'tensors are ignored' in text
    assert f'missing keys (1, not in the checkpoint): {missing}' in text
    assert 'unexpected keys (1, not in the model): backbone.unused_extra.weight' in text
    assert (f'shape-mismatched keys (1): {mismatched} (checkpoint torch.Size([5, 32]), '
            'model torch.Size([2, 32]))') in text
    loaded = runner.model.state_dict()
    assert torch.equal(loaded[missing], initial[missing])
    assert torch.equal(loaded[mismatched], initial[mismatched])
    key = 'backbone.blocks.0.attn.proj.weight'
    assert torch.equal(loaded[key], state[key])


def test_strict_load_from_fails_with_the_full_report(repo_root, toy_videos, tmp_path):
    path, _, missing, mismatched = _bad_checkpoint(repo_root, toy_videos, tmp_path)
    runner = _runner(repo_root, toy_videos, tmp_path, path, strict=True)
    with pytest.raises(RuntimeError, match='strict loading') as info:
        runner.load_or_resume()
    for name in (missing, mismatched, 'backbone.unused_extra.weight'):
        assert name in str(info.value)


def test_matching_checkpoint_loads_strictly_without_report(repo_root, toy_videos, tmp_path):
    from mmengine.runner import Runner
    model = Runner.from_cfg(tiny_cfg(repo_root, toy_videos, tmp_path / 'src')).model
    path = tmp_path / 'good.pth'
    torch.save({'state_dict': model.state_dict()}, path)
    runner = _runner(repo_root, toy_videos, tmp_path, path, strict=True)
    with CaptureLog() as log:
        runner.load_or_resume()
    assert 'does not match' not in log.text


class _Hostile:
    def __reduce__(self):
        return (print, ('this must never run',))


def test_pickled_object_in_load_from_is_refused(repo_root, toy_videos, tmp_path):
    path = tmp_path / 'hostile.pth'
    torch.save({'state_dict': {}, 'meta': {'cfg': _Hostile()}}, path)
    runner = _runner(repo_root, toy_videos, tmp_path, path)
    with pytest.raises(pickle.UnpicklingError, match='Weights only load failed'):
        runner.load_or_resume()


def test_trust_option_allows_a_pickled_object(repo_root, toy_videos, tmp_path):
    from mmengine.runner import Runner
    model = Runner.from_cfg(tiny_cfg(repo_root, toy_videos, tmp_path / 'src')).model
    path = tmp_path / 'pickled.pth'
    torch.save({'state_dict': {k: v + 1 for k, v in model.state_dict().items()},
                'meta': {'args': _Trusted(3)}}, path)
    runner = _runner(repo_root, toy_videos, tmp_path, path)
    with pytest.raises(pickle.UnpicklingError, match='Weights only load failed'):
        runner.load_or_resume()
    trusted = _runner(repo_root, toy_videos, tmp_path, path, strict=True)
    trusted.cfg.load_from_trusted = True
    trusted.load_or_resume()
    key = 'backbone.blocks.0.attn.proj.weight'
    assert torch.equal(trusted.model.state_dict()[key], model.state_dict()[key] + 1)
    import os
    assert 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD' not in os.environ


class _Trusted:
    def __init__(self, value):
        self.value = value
