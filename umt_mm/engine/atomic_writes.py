"""Atomic local writes: a file (a checkpoint) is either the old one or the whole new one.

MMEngine 0.10.7's ``LocalBackend.put`` / ``put_text`` (used by ``save_checkpoint``) write the
target file in place, so a job killed while ``CheckpointHook`` saves leaves a truncated
``.pth`` that ``--resume`` then fails to read; ``CheckpointHook`` writes ``last_checkpoint``
with a plain ``open``, so that pointer can be empty or name a file that is not there.
:func:`apply_atomic_local_writes` writes through :func:`write_atomically` and makes
``find_latest_checkpoint`` fall back to the newest ``.pth`` of the folder; applied by
``import umt_mm``; switch: ``UMT_MM_DISABLE_FIXES=atomic_local_writes``.
"""
from __future__ import annotations

import functools
import logging
import os

logger = logging.getLogger(__name__)


def apply_atomic_local_writes() -> bool:
    """Write local files (checkpoints included) through a temporary file and ``os.replace``.

    ``LocalBackend.put`` / ``put_text`` write ``<file>.tmp-<pid>`` in the same folder, flush
    and fsync it, then ``os.replace`` it onto the target (atomic on POSIX).
    ``find_latest_checkpoint`` returns the newest ``.pth`` of the folder when
    ``last_checkpoint`` is empty or names a missing file.

    Returns:
        bool: Whether the patch was installed.
    """
    from mmengine.fileio.backends.local_backend import LocalBackend
    if getattr(LocalBackend.put, '_umt_mm_atomic', False):
        return True

    def put(self, obj: bytes, filepath) -> None:
        write_atomically(obj, filepath)

    def put_text(self, obj: str, filepath, encoding: str = 'utf-8') -> None:
        write_atomically(obj.encode(encoding), filepath)

    put.__doc__ = LocalBackend.put.__doc__
    put_text.__doc__ = LocalBackend.put_text.__doc__
    put._umt_mm_atomic = True
    LocalBackend.put = put
    LocalBackend.put_text = put_text

    # ``CheckpointHook`` writes ``last_checkpoint`` with a plain ``open``: if that file is
    # empty or names a checkpoint that is not there, ``--resume`` takes the newest one
    import mmengine.runner.checkpoint as ckpt_mod
    import mmengine.runner.runner as runner_mod
    original_find = ckpt_mod.find_latest_checkpoint

    @functools.wraps(original_find)
    def find_latest_checkpoint(path: str):
        found = original_find(path)
        if found and ('://' in found or os.path.exists(found)):
            return found
        candidates = [os.path.join(path, n) for n in os.listdir(path)
                      if n.endswith('.pth')] if os.path.isdir(path) else []
        newest = max(candidates, key=os.path.getmtime) if candidates else None
        if found is not None or newest is not None:
            logger.warning('umt_mm: %s/last_checkpoint names %r, which does not exist; '
                           'resuming from the newest checkpoint, %s', path, found, newest)
        return newest

    ckpt_mod.find_latest_checkpoint = find_latest_checkpoint
    runner_mod.find_latest_checkpoint = find_latest_checkpoint
    return True


def write_atomically(data: bytes, filepath) -> None:
    """Write ``data`` to ``filepath`` so that readers never see a partial file.

    Args:
        data (bytes): The content.
        filepath (str | os.PathLike): The target file; its folder is created when missing.
    """
    filepath = os.fspath(filepath)
    folder = os.path.dirname(filepath) or '.'
    os.makedirs(folder, exist_ok=True)
    tmp = f'{filepath}.tmp-{os.getpid()}'
    try:
        with open(tmp, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)

