"""umt_mm: Unmasked Teacher (UMT) video foundation models for MMAction2.

Importing the package applies the patches listed in :mod:`umt_mm.compat` (workarounds of the
pinned stack and umt_mm's own behaviour, each switchable with ``UMT_MM_DISABLE_FIXES``) and
registers every umt_mm module into MMAction2's registries, so configs only need::

    custom_imports = dict(imports=['umt_mm'], allow_failed_imports=False)
"""
from . import compat
from .version import __version__

compat.apply_all()

from . import converters, datasets, engine, evaluation, models  # noqa: E402,F401  (registers all)

__all__ = ['__version__', 'compat']
