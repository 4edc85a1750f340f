"""What ``import umt_mm`` patches: workarounds of the pinned stack, and umt_mm's own behaviour.

Two tables, applied in this order by :func:`apply_all` (``umt_mm/__init__.py`` calls it
before anything from ``mmaction.models`` is imported):

* :data:`UPSTREAM_FIXES`: workarounds of bugs of the pinned stack (mmaction2 1.2.0,
  mmengine 0.10.7, torch 2.13), one module each in this package, whose docstring gives the
  symptom, the cause, the upstream reference and when to remove it. Each is a no-op where
  the problem is absent, and ``tests/compat/`` shows, with the fix switched off in a
  subprocess, that the pinned stack still has the problem: those tests fail the day it no
  longer does, and the fix can go.
* :data:`UMT_MM_BEHAVIOURS`: behaviour umt_mm adds to MMEngine / MMAction2 classes (strict
  video lists, atomic local writes, checkpoint load reports, FSDP from rank 0's weights).
  They live with the code they belong to (``umt_mm/engine/``, ``umt_mm/datasets/``).

Every entry is switchable: ``UMT_MM_DISABLE_FIXES=name[,name...]`` (or ``all``) leaves it out
(:mod:`umt_mm.compat.switches`); an unknown name is an error. ``docs/installation.md`` lists
them.
"""
from __future__ import annotations

import importlib
from typing import Callable

from .switches import ENV_VAR, disabled_names

#: Workarounds of the pinned stack: name -> ``module:function`` (this package).
UPSTREAM_FIXES: dict[str, str] = {
    'missing_drn': 'umt_mm.compat.missing_drn:fix_missing_drn',
    'weights_only_checkpoints':
        'umt_mm.compat.weights_only_checkpoints:fix_weights_only_checkpoints',
    'cpu_ddp': 'umt_mm.compat.cpu_ddp:fix_cpu_ddp',
    'video_errors_name_the_file': 'umt_mm.compat.video_errors:fix_video_errors_name_the_file',
    'cpu_fsdp': 'umt_mm.compat.cpu_fsdp:fix_cpu_fsdp',
}
#: Behaviour umt_mm adds: name -> ``module:function``.
UMT_MM_BEHAVIOURS: dict[str, str] = {
    'strict_video_lists': 'umt_mm.datasets.strict_video_lists:apply_strict_video_lists',
    'atomic_local_writes': 'umt_mm.engine.atomic_writes:apply_atomic_local_writes',
    'checkpoint_load_report': 'umt_mm.engine.checkpoint_report:apply_checkpoint_load_report',
    'fsdp_sync_module_states':
        'umt_mm.engine.fsdp_sync_module_states:apply_fsdp_sync_module_states',
}
#: Every switch name, in the order :func:`apply_all` applies them.
ALL_NAMES: tuple[str, ...] = (*UPSTREAM_FIXES, *UMT_MM_BEHAVIOURS)

_APPLIED: dict[str, bool] = {}


def _resolve(target: str) -> Callable[[], bool]:
    module, _, function = target.partition(':')
    return getattr(importlib.import_module(module), function)


def enabled(name: str) -> bool:
    """Whether patch ``name`` is applied in this process (not switched off).

    Args:
        name (str): A name of :data:`ALL_NAMES`.

    Returns:
        bool: False when ``UMT_MM_DISABLE_FIXES`` names it (or says ``all``).
    """
    if name not in ALL_NAMES:
        raise ValueError(f'unknown patch {name!r}; the names are {", ".join(ALL_NAMES)}')
    return name not in disabled_names(ALL_NAMES)


def apply_all() -> dict[str, bool]:
    """Apply every fix and behaviour that is not switched off, once per process.

    Upstream fixes come first (``missing_drn`` before anything imports
    ``mmaction.models``), then umt_mm's behaviour.

    Returns:
        dict[str, bool]: Each name of :data:`ALL_NAMES` and whether applying it changed
        anything (False for one switched off with ``UMT_MM_DISABLE_FIXES``).

    Raises:
        ValueError: ``UMT_MM_DISABLE_FIXES`` names an unknown patch.
    """
    if not _APPLIED:
        disabled = disabled_names(ALL_NAMES)
        for name in ALL_NAMES:
            target = UPSTREAM_FIXES.get(name) or UMT_MM_BEHAVIOURS[name]
            _APPLIED[name] = False if name in disabled else bool(_resolve(target)())
    return dict(_APPLIED)


__all__ = ['ALL_NAMES', 'ENV_VAR', 'UMT_MM_BEHAVIOURS', 'UPSTREAM_FIXES', 'apply_all',
           'enabled']
