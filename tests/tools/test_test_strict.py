"""tools/test.py loads checkpoints strictly by default: an unconverted official checkpoint
stops it with the converter command; --non-strict / load_from_strict = False opt out."""
import subprocess

import pytest
import torch
from conftest import toy_cfg_options
from mmengine.config import Config

from umt_mm.cli_config import prepare_test_cfg, prepare_train_cfg

CONFIG = 'configs/quickstart/umt-tiny-p16-res32_scratch_1xb2-u4-2e_toy-rgb.py'


def test_prepare_test_cfg_is_strict_unless_told_otherwise(repo_root):
    cfg = prepare_test_cfg(Config.fromfile(repo_root / CONFIG), checkpoint='a.pth')
    assert cfg.load_from == 'a.pth' and cfg.load_from_strict is True
    cfg = Config.fromfile(repo_root / CONFIG)
    cfg.load_from_strict = False
    assert prepare_test_cfg(cfg, checkpoint='a.pth').load_from_strict is False
    cfg = prepare_test_cfg(Config.fromfile(repo_root / CONFIG), checkpoint='a.pth',
                           non_strict=True)
    assert cfg.load_from_strict is False
    # training keeps MMEngine's non-strict load_from (a pretrained start with a new head)
    assert prepare_train_cfg(Config.fromfile(repo_root / CONFIG)).get('load_from_strict') \
        is None


@pytest.fixture
def official_checkpoint(repo_root, tmp_path):
    from mmaction.registry import MODELS

    from umt_mm.converters import to_official_finetune
    model = MODELS.build(Config.fromfile(repo_root / CONFIG).model)
    path = tmp_path / 'b16_ptk710_ftk710_ftk400_f8_res224.pth'
    torch.save({'model': to_official_finetune(model.state_dict())}, path)
    return path


def _test(python, repo_root, toy_videos, tmp_path, checkpoint, *extra):
    return subprocess.run(
        [python, 'tools/test.py', CONFIG, str(checkpoint), '--work-dir', str(tmp_path / 'w'),
         *extra, '--cfg-options', *toy_cfg_options(toy_videos)],
        cwd=repo_root, capture_output=True, text=True, timeout=600)


def test_unconverted_official_checkpoint_stops_the_test(python, repo_root, toy_videos,
                                                        tmp_path, official_checkpoint):
    result = _test(python, repo_root, toy_videos, tmp_path, official_checkpoint)
    assert result.returncode == 2, result.stderr[-3000:]
    err = result.stderr
    assert f'{official_checkpoint} does not match the model' in err
    assert 'official UMT finetuning layout' in err
    assert (f'python tools/convert_umt_checkpoint.py {official_checkpoint} ' in err
            and '--kind finetune --strict --config' in err)
    assert '--non-strict' in err
    assert 'Traceback' not in err


@pytest.mark.slow
def test_non_strict_tests_with_what_matches(python, repo_root, toy_videos, tmp_path,
                                            official_checkpoint):
    result = _test(python, repo_root, toy_videos, tmp_path, official_checkpoint,
                   '--non-strict')
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'loading non-strictly' in result.stdout + result.stderr
