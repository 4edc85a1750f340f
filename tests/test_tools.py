"""tools/train.py, tools/test.py, tools/dist_train.sh and `mim train` on a tiny config."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import torch
from conftest import toy_cfg_options

CONFIG = 'configs/quickstart/umt-tiny-p16-res32_scratch_1xb2-u4-2e_toy-rgb.py'


def _run(args, cwd, env=None, timeout=600):
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env,
                            timeout=timeout)
    assert result.returncode == 0, (result.stdout[-2000:] + result.stderr[-4000:])
    return result


def _scalars(work_dir: Path) -> list:
    # training logs go to vis_data/scalars.json, test metrics to <timestamp>/<timestamp>.json
    logs = sorted(work_dir.glob('*/vis_data/scalars.json')) + sorted(work_dir.glob('*/*.json'))
    assert logs, f'no json logs under {work_dir}'
    return [json.loads(line) for log in logs for line in log.read_text().splitlines()]


def test_train_then_resume_then_multiview_test(repo_root, toy_videos, tmp_path, python):
    work = tmp_path / 'work'
    opts = toy_cfg_options(toy_videos)
    _run([python, 'tools/train.py', CONFIG, '--work-dir', str(work),
          '--cfg-options', 'train_cfg.max_epochs=1', *opts], repo_root)
    assert (work / 'epoch_1.pth').exists()
    records = _scalars(work)
    assert any('acc/top1' in r for r in records), 'validation did not run'
    assert any('loss' in r for r in records)

    _run([python, 'tools/train.py', CONFIG, '--work-dir', str(work), '--resume',
          '--cfg-options', 'train_cfg.max_epochs=2', *opts], repo_root)
    assert (work / 'epoch_2.pth').exists()
    ckpt = torch.load(work / 'epoch_2.pth', map_location='cpu')  # weights-only default
    assert ckpt['meta']['epoch'] == 2
    logs = sorted(work.glob('*/*.log'))
    assert any('resumed epoch: 1' in log.read_text() for log in logs), 'did not resume'

    test_dir = tmp_path / 'test'
    dump = tmp_path / 'preds.pkl'
    _run([python, 'tools/test.py', CONFIG, str(work / 'epoch_2.pth'), '--work-dir',
          str(test_dir), '--dump', str(dump), '--cfg-options', *opts], repo_root)
    metrics = [r for r in _scalars(test_dir) if 'acc/top1' in r]
    assert metrics and 0.0 <= metrics[-1]['acc/top1'] <= 1.0
    assert dump.exists() and dump.stat().st_size > 0


def test_amp_on_cpu_uses_bf16_autocast(repo_root, toy_videos, tmp_path, python):
    if torch.cuda.is_available():
        pytest.skip('CPU-only behaviour')
    work = tmp_path / 'amp'
    _run([python, 'tools/train.py', CONFIG, '--work-dir', str(work), '--amp', '--no-validate',
          '--cfg-options', 'train_cfg.max_epochs=1', *toy_cfg_options(toy_videos)], repo_root)
    dumped = next(work.glob('*/vis_data/config.py')).read_text()
    assert "type='CPUAmpOptimWrapper'" in dumped
    assert (work / 'epoch_1.pth').exists()


def test_dist_train_two_processes_gloo(repo_root, toy_videos, tmp_path, python):
    work = tmp_path / 'ddp'
    env = dict(os.environ, PYTHON=python, PORT='29533', OMP_NUM_THREADS='1')
    result = _run(['bash', 'tools/dist_train.sh', CONFIG, '2', '--work-dir', str(work),
                   '--cfg-options', 'train_cfg.max_epochs=1', *toy_cfg_options(toy_videos)],
                  repo_root, env=env)
    assert (work / 'epoch_1.pth').exists()
    log = next(work.glob('*/*.log')).read_text()
    assert 'Distributed training: True' in log and 'GPU number: 2' in log, result.stdout[-2000:]
    assert 'using the gloo backend instead of nccl' in result.stderr + result.stdout + log
    assert any('acc/top1' in r for r in _scalars(work))


def test_mim_train_picks_up_the_plugin(repo_root, toy_videos, tmp_path, python):
    mim = Path(python).parent / 'mim'
    if not mim.exists():
        mim = shutil.which('mim')
    if mim is None:
        pytest.skip('openmim is not installed')
    work = tmp_path / 'mim'
    _run([str(mim), 'train', 'mmaction', CONFIG, '--work-dir', str(work), '--cfg-options',
          'train_cfg.max_epochs=1', *toy_cfg_options(toy_videos)], repo_root,
         env=dict(os.environ, PATH=f'{Path(python).parent}:{os.environ.get("PATH", "")}'))
    assert (work / 'epoch_1.pth').exists()


def test_recipe_amp_optim_wrapper_becomes_cpu_autocast_without_cuda(repo_root):
    from mmengine.config import Config

    from umt_mm.cli_config import prepare_train_cfg
    if torch.cuda.is_available():
        pytest.skip('CPU-only behaviour')
    cfg = Config.fromfile(
        repo_root / 'configs/k400/umt-base-p16-res224_k710-ft_16xb16-u8-5e_kinetics400-rgb.py')
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    prepare_train_cfg(cfg)
    assert cfg.optim_wrapper.type == 'CPUAmpOptimWrapper'
    assert cfg.optim_wrapper.dtype == 'bfloat16'
    assert 'loss_scale' not in cfg.optim_wrapper
    assert cfg.optim_wrapper.optimizer.lr == 4e-5  # the rest untouched
