"""``--resume`` past a truncated or unreadable latest checkpoint.

MMEngine resumes from ``find_latest_checkpoint(work_dir)`` (the ``last_checkpoint`` pointer)
and stops when that file cannot be read, e.g. a ``.pth`` cut short by a full disk, a copy
interrupted between file systems or a node lost while writing to a network share. Before
the runner is built, :func:`apply_resume_fallback` checks the checkpoint it would resume
from and, when it is unreadable, resumes from the newest readable one of the work dir
instead, saying which files it passed over and why.
"""
from __future__ import annotations

import os
import zipfile
from collections.abc import Callable

from mmengine.config import Config


def checkpoint_problem(path: str) -> str | None:
    """Why a local checkpoint cannot be read, or None when it can.

    ``torch.save`` writes a zip archive with a CRC-32 per record: the archive's directory
    (at its end) must be there, every record must match its CRC (the whole file is read once)
    and ``data.pkl`` must be present. Files in the legacy (non-zip) format are not checked.

    Args:
        path (str): The checkpoint file.

    Returns:
        str | None: A short reason (``'truncated or not a zip archive'``, ``'record
        archive/data/3 is corrupt (CRC mismatch)'``, ...) or None.
    """
    if not os.path.isfile(path):
        return 'missing'
    if os.path.getsize(path) == 0:
        return 'empty file'
    with open(path, 'rb') as handle:
        magic = handle.read(4)
    if magic != b'PK\x03\x04':
        # torch's legacy format starts with a pickle protocol byte: not checked here
        return None if magic[:1] == b'\x80' else 'not a torch checkpoint'
    try:
        with zipfile.ZipFile(path) as archive:
            if not any(n.endswith('/data.pkl') or n == 'data.pkl' for n in archive.namelist()):
                return 'no data.pkl record (not a torch checkpoint)'
            bad = archive.testzip()
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as err:
        return f'truncated or not a zip archive ({err})'
    if bad is not None:
        return f'record {bad} is corrupt (CRC mismatch)'
    return None


def _candidates(work_dir: str, pointed: str | None) -> list[str]:
    """The pointed checkpoint first, then every ``.pth`` of the folder, newest first."""
    names = [os.path.join(work_dir, n) for n in os.listdir(work_dir) if n.endswith('.pth')]
    names.sort(key=lambda p: (os.path.getmtime(p), p), reverse=True)
    if pointed is not None:
        names = [pointed] + [p for p in names if os.path.abspath(p) != os.path.abspath(pointed)]
    return names


def latest_readable_checkpoint(work_dir: str, log: Callable[[str], None] = print
                               ) -> tuple[str | None, list[tuple[str, str]]]:
    """The checkpoint ``--resume`` should use: the latest one that can be read.

    The latest is MMEngine's ``find_latest_checkpoint(work_dir)`` (``last_checkpoint``);
    when it cannot be read, the other ``.pth`` files of the folder are tried from the newest
    (modification time) on.

    Args:
        work_dir (str): The run's work dir.
        log (Callable[[str], None]): Receives one line per checkpoint passed over.
            Defaults to print.

    Returns:
        tuple: The checkpoint to resume from (None when the folder has none that can be
        read) and the ``(path, reason)`` of every checkpoint passed over.
    """
    from mmengine.runner import checkpoint as ckpt_mod
    if not os.path.isdir(work_dir):
        return None, []
    pointed = ckpt_mod.find_latest_checkpoint(work_dir)
    if pointed is not None and '://' in pointed:
        return pointed, []  # a remote backend: MMEngine reads it
    skipped = []
    for path in _candidates(work_dir, pointed):
        problem = checkpoint_problem(path)
        if problem is None:
            return path, skipped
        skipped.append((path, problem))
        log(f'[umt_mm] --resume: {path} cannot be read ({problem}); trying the next newest '
            'checkpoint')
    return None, skipped


def apply_resume_fallback(cfg: Config, resume: str | None,
                          log: Callable[[str], None] = print) -> Config:
    """Point an automatic ``--resume`` at the newest readable checkpoint of the work dir.

    Applies only to ``--resume`` without a path (``resume='auto'``) once the config resumes
    from the work dir (``cfg.resume`` set, ``cfg.load_from`` None; see
    :func:`umt_mm.cli_config.prepare_train_cfg`). A valid latest checkpoint changes nothing
    (``load_from`` names it, which MMEngine resumes from as it would have); an unreadable one
    is passed over for the newest readable one, with a line saying so. An explicit
    ``--resume PATH`` is left to MMEngine.

    Args:
        cfg (Config): The prepared training config; modified in place and returned.
        resume (str, optional): The ``--resume`` argument (``'auto'``, a path or None).
        log (Callable[[str], None]): Receives the messages. Defaults to print.

    Returns:
        Config: The same config.

    Raises:
        RuntimeError: When the work dir has checkpoints and none of them can be read (naming
            each with its problem): delete or move them to start the run afresh.
    """
    if resume != 'auto' or not cfg.get('resume') or cfg.get('load_from'):
        return cfg
    work_dir = cfg.get('work_dir')
    if not work_dir:
        return cfg
    path, skipped = latest_readable_checkpoint(work_dir, log=log)
    if path is None and skipped:
        listing = '; '.join(f'{p}: {why}' for p, why in skipped)
        raise RuntimeError(f'--resume: no checkpoint in {work_dir} can be read ({listing}). '
                           'Move or delete them to start the run afresh, or pass --resume '
                           'PATH to a good copy.')
    if path is not None:
        cfg.load_from = path
        if skipped:
            log(f'[umt_mm] --resume: resuming from {path}, the newest readable checkpoint '
                f'(passed over: {", ".join(p for p, _ in skipped)})')
    return cfg
