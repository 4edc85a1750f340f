"""Where the benchmark finds the recipes' configs and the real videos it measures."""
from __future__ import annotations

import os
from pathlib import Path

#: the umt_mm package folder (``umt_mm/``)
PACKAGE_DIR = Path(__file__).resolve().parents[1]


def recipe_file(relative: str | Path, root: str | Path | None = None) -> Path:
    """A file of the repository (a config under ``configs/`` or ``action_detection/``).

    Looked up in ``root`` when given, else in the package's ``umt_mm/.mim`` (what an
    installed package ships, see ``setup.py``) and then in the checkout the package lives in.

    Args:
        relative (str | Path): Path relative to the repository root, e.g.
            ``'configs/k400/<name>.py'``.
        root (str | Path, optional): Repository root to use instead. Defaults to None.

    Returns:
        Path: The existing file.

    Raises:
        FileNotFoundError: When no candidate root has the file.
    """
    roots = [Path(root)] if root is not None else [PACKAGE_DIR / '.mim', PACKAGE_DIR.parent]
    for candidate in roots:
        path = candidate / relative
        if path.is_file():
            return path
    raise FileNotFoundError(f'{relative} not found under {", ".join(map(str, roots))}: the '
                            'benchmark needs the repository\'s configs (a checkout, or an install '
                            'that ships umt_mm/.mim)')


def default_shared_videos() -> Path:
    """``$UMT_MM_SHARED/data/videos``, ``UMT_MM_SHARED`` defaulting to ``../shared`` beside
    the repository checkout."""
    shared = os.environ.get('UMT_MM_SHARED', PACKAGE_DIR.parent.parent / 'shared')
    return Path(shared) / 'data' / 'videos'
