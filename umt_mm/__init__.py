"""umt_mm: Unmasked Teacher (UMT) video foundation models for MMAction2.

Importing the package applies the fixes of :mod:`umt_mm.compat` and registers every
umt_mm module into MMAction2's registries, so configs only need::

    custom_imports = dict(imports=['umt_mm'], allow_failed_imports=False)
"""
from . import compat
from .version import __version__

compat.apply_all()

from . import converters, datasets, engine, evaluation, models  # noqa: E402,F401  (registers all)

__all__ = ['__version__', 'compat']
