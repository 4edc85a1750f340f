"""Shared fixtures: repository paths, the shared data folder and generated toy videos."""
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

# Apply umt_mm's compat fixes before any test imports mmaction.models (ruff's import
# sorting would otherwise put `import mmaction...` before `import umt_mm` in a test).
import umt_mm  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]


def shared_root() -> Path:
    """The read-only shared data folder (``UMT_MM_SHARED``, default ``<repo>/../shared``)."""
    return Path(os.environ.get('UMT_MM_SHARED', ROOT.parent / 'shared')).resolve()


@pytest.fixture(scope='session')
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope='session')
def shared_data() -> Path:
    data = shared_root() / 'data'
    if not data.is_dir():
        pytest.skip(f'shared test data not found at {data} '
                    '(set UMT_MM_SHARED to the shared folder)')
    return data


@pytest.fixture(scope='session')
def toy_videos(tmp_path_factory) -> dict:
    from umt_mm.testing import make_toy_video_dataset
    return make_toy_video_dataset(tmp_path_factory.mktemp('toy'), num_per_class=2,
                                  num_val_per_class=1, num_frames=8, size=40)


@pytest.fixture(scope='session')
def python() -> str:
    return sys.executable


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.fixture
def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (``--master_port`` of a torchrun test)."""
    return _free_port()


@pytest.fixture
def torchrun(python):
    """Launch processes with ``torchrun`` and check that they succeeded.

    ``torchrun(script, *args, nproc=2, timeout=600)`` runs ``python -m torch.distributed.run
    --nproc_per_node=nproc --master_port=<a free port> script *args`` from the repository
    root (one OpenMP thread per process, the repository on ``PYTHONPATH``), asserts its exit
    status 0 (showing the end of its output otherwise) and returns the
    ``subprocess.CompletedProcess`` (text ``stdout`` / ``stderr``).
    """
    def run(script, *args, nproc: int = 2, timeout: float = 600):
        env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=str(ROOT))
        result = subprocess.run(
            [python, '-m', 'torch.distributed.run', f'--nproc_per_node={nproc}',
             f'--master_port={_free_port()}', str(script), *map(str, args)],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        return result
    return run


# Both ranks done, then leave without the interpreter's teardown: torch 2.13's CPU FSDP
# sometimes aborts a process at exit ('terminate called without an active exception',
# SIGABRT) after all work is done, about one run in four here.
_FSDP_WORKER_EXIT = """
import os as _os, sys as _sys
import torch.distributed as _dist
_dist.barrier()
_sys.stdout.flush()
_sys.stderr.flush()
_os._exit(0)
"""


@pytest.fixture
def fsdp_worker(tmp_path):
    """``fsdp_worker(source)``: the path of a torchrun worker script, ``source`` (which has
    initialised the process group) followed by a barrier and ``os._exit(0)``: torch 2.13's CPU
    FSDP sometimes aborts a process at interpreter exit (SIGABRT after all its work, about
    one run in four)."""
    def write(source: str) -> Path:
        path = tmp_path / 'worker.py'
        path.write_text(source + _FSDP_WORKER_EXIT)
        return path
    return write


def toy_cfg_options(toy: dict) -> list:
    """``--cfg-options`` pointing the quickstart config at generated toy videos."""
    opts = []
    for split, ann in (('train', 'train_list'), ('val', 'val_list'), ('test', 'val_list')):
        opts += [f'{split}_dataloader.dataset.ann_file={toy[ann]}',
                 f'{split}_dataloader.dataset.data_prefix.video={toy["videos"]}']
    return opts


@pytest.fixture(autouse=True)
def mmaction_scope():
    """Every test builds from MMAction2's registries, as configs with default_scope do."""
    from mmengine.registry import init_default_scope
    init_default_scope('mmaction')


@pytest.fixture(autouse=True)
def auto_precision_is_fp32(monkeypatch):
    """``precision='auto'`` (the demos' default) resolves to fp32 in tests on every CPU, so
    numbers compared at fp32 tolerances do not depend on whether the CPU runs bf16 faster;
    ``tests/apis/test_precision.py`` injects each kind of CPU explicitly."""
    from umt_mm.apis import precision
    from umt_mm.engine.cpu_bf16 import CPUBf16Support
    monkeypatch.setattr(precision, 'cpu_bf16_answer', lambda: CPUBf16Support(
        False, 'test', (), 'tests pin precision auto to fp32'))


@pytest.fixture
def run_python():
    """``run_python(code, disable='name,...')``: ``python -c code`` in a fresh process with
    those of ``import umt_mm``'s patches switched off (``UMT_MM_DISABLE_FIXES``); returns the
    finished process (text output)."""

    def run(code: str, disable: str = '', timeout: float = 240) -> subprocess.CompletedProcess:
        env = dict(os.environ)
        env.pop('UMT_MM_NO_CHECKPOINT_FIX', None)
        env['UMT_MM_DISABLE_FIXES'] = disable
        return subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                              env=env, timeout=timeout)

    return run
