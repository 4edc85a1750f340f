"""The environment switch that turns off patches applied by ``import umt_mm``.

``UMT_MM_DISABLE_FIXES`` is a comma-separated list of patch names (those of
:data:`umt_mm.compat.UPSTREAM_FIXES` and :data:`umt_mm.compat.UMT_MM_BEHAVIOURS`), or
``all``; it is read when ``import umt_mm`` applies them, so set it before the process starts::

    UMT_MM_DISABLE_FIXES=cpu_ddp,atomic_local_writes python tools/train.py CONFIG

``UMT_MM_NO_CHECKPOINT_FIX=1`` (older spelling) still disables ``weights_only_checkpoints``.
"""
from __future__ import annotations

import os

#: The environment variable listing the patches not to apply.
ENV_VAR = 'UMT_MM_DISABLE_FIXES'
#: The older switch of the checkpoint fix alone (``=1``).
LEGACY_CHECKPOINT_VAR = 'UMT_MM_NO_CHECKPOINT_FIX'


def disabled_names(known: list[str] | tuple[str, ...]) -> set[str]:
    """The patch names the environment disables.

    Args:
        known (list[str] | tuple[str, ...]): Every patch name; ``all`` stands for them.

    Returns:
        set[str]: The disabled names.

    Raises:
        ValueError: A name in ``UMT_MM_DISABLE_FIXES`` is none of ``known``.
    """
    raw = os.environ.get(ENV_VAR, '')
    names = {n.strip() for n in raw.split(',') if n.strip()}
    if 'all' in names:
        names = set(known)
    unknown = sorted(names - set(known))
    if unknown:
        raise ValueError(
            f'{ENV_VAR}={raw!r}: unknown patch name(s) {", ".join(unknown)}; the names are '
            f'{", ".join(known)} or all (docs/installation.md, "What import umt_mm patches")')
    if os.environ.get(LEGACY_CHECKPOINT_VAR) == '1':
        names.add('weights_only_checkpoints')
    return names
