"""``missing_drn``: a placeholder for the ``drn`` package the mmaction2 1.2.0 wheel lacks.

Symptom: ``import mmaction.models`` (and any registry build that imports it) fails with
``ModuleNotFoundError: No module named 'mmaction.models.localizers.drn'``.
Cause: the mmaction2 1.2.0 wheel and sdist ship ``mmaction/models/localizers/__init__.py``
with ``from .drn.drn import DRN`` but not the ``drn`` folder. Upstream: open-mmlab/mmaction2
issue #2714 ("ModuleNotFoundError: No module named 'mmaction.models.localizers.drn'").
Fix: empty ``drn`` / ``drn.drn`` modules whose ``DRN`` explains itself when built.
Remove when: an mmaction2 release ships ``mmaction/models/localizers/drn/drn.py`` (the fix
is then a no-op and ``tests/compat/test_missing_drn.py`` fails to say so).
"""
from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

DRN_MODULE = 'mmaction.models.localizers.drn'


class _MissingDRN:
    """Placeholder for ``mmaction.models.localizers.drn.drn.DRN``.

    The mmaction2 1.2.0 wheel and sdist ship ``mmaction/models/localizers/__init__.py``
    with ``from .drn.drn import DRN`` but not the ``drn`` package itself. This class
    is never registered; instantiating it explains why DRN is unavailable.
    """

    def __init__(self, *args, **kwargs) -> None:
        raise ImportError(
            'DRN (temporal grounding) is not included in the mmaction2 1.2.0 wheel; '
            'umt_mm only provides a placeholder so that `import mmaction.models` works. '
            'Install mmaction2 from source to use DRN.')


def fix_missing_drn() -> bool:
    """Provide ``mmaction.models.localizers.drn(.drn)`` when the wheel lacks them.

    A no-op when the module is already imported or the installed mmaction2 ships it.

    Returns:
        bool: Whether the placeholder modules were installed.
    """
    if DRN_MODULE in sys.modules:
        return False
    spec = importlib.util.find_spec('mmaction')
    if spec is None or spec.origin is None:
        return False
    drn_dir = Path(spec.origin).parent / 'models' / 'localizers' / 'drn'
    if (drn_dir / 'drn.py').exists():
        return False  # upstream ships it: nothing to do
    package = types.ModuleType(DRN_MODULE)
    package.__path__ = []  # a package with no files
    package.__doc__ = 'umt_mm placeholder: the mmaction2 1.2.0 wheel lacks this package.'
    module = types.ModuleType(f'{DRN_MODULE}.drn')
    module.DRN = _MissingDRN
    package.drn = module
    sys.modules[DRN_MODULE] = package
    sys.modules[f'{DRN_MODULE}.drn'] = module
    return True

