"""openmim finds umt_mm's configs and tools: `mim train umt_mm`, `mim test umt_mm`."""
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import toy_cfg_options

ROOT = Path(__file__).resolve().parents[1]
CONFIG = 'umt-tiny-p16-res32_scratch_1xb2-u4-2e_toy-rgb.py'  # found by name in umt_mm/.mim


@pytest.fixture(scope='module')
def mim(python):
    exe = Path(python).parent / 'mim'
    if not exe.exists():
        pytest.skip('openmim is not installed')
    if not (ROOT / 'umt_mm/.mim/tools/train.py').exists():
        pytest.skip('umt_mm/.mim is not set up (run make setup)')
    return str(exe)


def _run(args, cwd, timeout=600):
    env = dict(os.environ, PATH=f'{Path(sys.executable).parent}:{os.environ.get("PATH", "")}')
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env,
                            timeout=timeout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def test_mim_train_and_test_umt_mm(mim, toy_videos, tmp_path):
    # from a folder outside the checkout: mim resolves the config and the tools in the
    # installed package (umt_mm/.mim/configs, umt_mm/.mim/tools)
    work = tmp_path / 'work'
    opts = toy_cfg_options(toy_videos)
    result = _run([mim, 'train', 'umt_mm', CONFIG, '--gpus', '0', '--work-dir', str(work),
                   '--cfg-options', 'train_cfg.max_epochs=1', *opts], cwd=tmp_path)
    found = (ROOT / 'umt_mm/.mim/configs/quickstart' / CONFIG).resolve()
    assert f'config file in codebase umt_mm, will use {found}' in result.stdout
    checkpoint = work / 'epoch_1.pth'
    assert checkpoint.exists()

    test_dir = tmp_path / 'test'
    _run([mim, 'test', 'umt_mm', CONFIG, '--checkpoint', str(checkpoint), '--gpus', '0',
          '--work-dir', str(test_dir), '--cfg-options', *opts], cwd=tmp_path)
    logs = list(test_dir.glob('*/*.json'))
    assert logs and 'acc/top1' in logs[0].read_text()


@pytest.mark.slow
def test_wheel_ships_copies_of_configs_tools_and_model_index(tmp_path, python):
    """A wheel (non-editable install) carries real copies under umt_mm/.mim."""
    src = tmp_path / 'src'
    ignore = shutil.ignore_patterns('__pycache__', '*.pyc', '.mim', '*.egg-info')
    for item in ('setup.py', 'setup.cfg', 'pyproject.toml', 'MANIFEST.in', 'README.md',
                 'model-index.yml'):
        shutil.copy(ROOT / item, src / item if src.exists() else _mkdir(src) / item)
    for folder in ('umt_mm', 'configs', 'tools', 'action_detection'):
        if (ROOT / folder).exists():
            shutil.copytree(ROOT / folder, src / folder, ignore=ignore)
    _run([python, '-m', 'pip', 'wheel', '-q', '--no-deps', '--no-build-isolation', '-w',
          str(tmp_path / 'dist'), str(src)], cwd=tmp_path)
    wheel = next((tmp_path / 'dist').glob('umt_mm-*.whl'))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert 'umt_mm/.mim/model-index.yml' in names
    assert 'umt_mm/.mim/tools/train.py' in names
    assert 'umt_mm/.mim/configs/k400/metafile.yml' in names
    assert 'umt_mm/.mim/configs/quickstart/' + CONFIG in names
    assert not (src / 'umt_mm/.mim/configs').is_symlink()  # copies, not links


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True)
    return path
