"""FSDP starts every process from rank 0's initial weights (``sync_module_states``).

Every umt_mm recipe seeds each process with ``seed + rank`` (as the reference does), so each
process initialises other random weights. DDP broadcasts rank 0's when it wraps the model;
FSDP does so only with ``sync_module_states``, which MMEngine 0.10.7's ``FSDPStrategy`` does
not set: the shards would come from different draws and replicated (``NO_SHARD`` /
``HYBRID_SHARD``) parameters would differ between processes for the whole run.
:func:`apply_fsdp_sync_module_states` makes ``sync_module_states=True`` the default of
``MMFullyShardedDataParallel`` (a config's ``model_wrapper_cfg`` can still set it False).
On CPU processes :mod:`umt_mm.compat.cpu_fsdp` performs it. Switch:
``UMT_MM_DISABLE_FIXES=fsdp_sync_module_states``.
"""
from __future__ import annotations

import functools


def apply_fsdp_sync_module_states() -> bool:
    """Make ``sync_module_states=True`` the default of ``MMFullyShardedDataParallel``.

    Returns:
        bool: Whether the patch was installed (False for a torch without FSDP).
    """
    try:
        from mmengine.model.wrappers import MMFullyShardedDataParallel
    except ImportError:  # torch without FSDP
        return False
    original = MMFullyShardedDataParallel.__init__
    if getattr(original, '_umt_mm_sync', False):
        return True

    @functools.wraps(original)
    def fsdp_init(self, module, *args, **kwargs):
        kwargs.setdefault('sync_module_states', True)
        original(self, module, *args, **kwargs)

    fsdp_init._umt_mm_sync = True
    MMFullyShardedDataParallel.__init__ = fsdp_init
    return True
