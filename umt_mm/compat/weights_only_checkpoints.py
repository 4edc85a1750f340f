"""``weights_only_checkpoints``: MMEngine 0.10.7 checkpoints under torch >= 2.6.

Symptom: ``--resume`` / ``load_from`` of a checkpoint MMEngine wrote fails with
``_pickle.UnpicklingError: Weights only load failed ... Unsupported global: GLOBAL
mmengine.logging.history_buffer.HistoryBuffer``.
Cause: torch 2.6 made ``weights_only=True`` the default of ``torch.load``; MMEngine 0.10.7's
``CheckpointLoader.load_from_local`` (``mmengine/runner/checkpoint.py``) calls ``torch.load``
without the argument, and its checkpoints carry ``HistoryBuffer`` objects (and numpy scalars
in the runtime info). Upstream: open-mmlab/mmengine issue #1655 ("torch.load weights_only
error") and pull request #1650.
Fix: allow-list the exact types MMEngine writes and keep numpy scalars and the
``HistoryBuffer`` method registry out of saved checkpoints; any other pickled object is still
refused (``load_from_trusted``, :mod:`umt_mm.engine.checkpoint_report`, opts out per run).
Remove when: an MMEngine release reads its own checkpoints under torch's weights-only load
(``tests/compat/test_weights_only_checkpoints.py`` then fails to say so).
"""
from __future__ import annotations

import functools


def mmengine_checkpoint_safe_globals() -> list:
    """The exact non-tensor types MMEngine 0.10.7 writes into its checkpoints.

    ``message_hub.log_scalars`` holds :class:`HistoryBuffer` objects whose history is
    kept in numpy arrays (``_reconstruct``, ``ndarray``, ``dtype`` and the concrete dtype
    classes). Not allow-listed,
    on purpose: ``builtins.getattr`` (which lets a pickle reach any attribute of an
    allowed object) and numpy scalars. Their only sources, the class-level statistics
    registry that ``HistoryBuffer.__getstate__`` copies into every pickle and numpy
    scalars in the runtime info, are kept out of saved checkpoints (see
    :func:`_portable_history_buffer_getstate` and :func:`sanitize_checkpoint`).

    Returns:
        list: Objects for :func:`torch.serialization.add_safe_globals`.
    """
    import numpy as np
    from mmengine.logging.history_buffer import HistoryBuffer
    try:
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct
    # ``np.dtype('f8')`` unpickles to an instance of the concrete ``numpy.dtypes.Float64DType``
    dtype_classes = {type(np.dtype(t)) for t in (
        np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32,
        np.uint64, np.float16, np.float32, np.float64)}
    return [HistoryBuffer, _reconstruct, np.ndarray, np.dtype,
            *sorted(dtype_classes, key=lambda c: c.__name__)]


def _portable_history_buffer_getstate(self) -> dict:
    """``HistoryBuffer.__getstate__`` without the class-level statistics registry.

    MMEngine's version adds ``statistics_methods`` (functions, pickled through
    ``builtins.getattr``) to the state; its ``__setstate__`` re-registers the defaults
    when that key is absent, and custom statistics are class-level registrations made
    at import time, so nothing is lost by leaving them out.
    """
    return {k: v for k, v in self.__dict__.items() if k != 'statistics_methods'}


def _to_builtin(value):
    """Recursively turn numpy scalars into Python scalars (containers are rebuilt)."""
    import numpy as np
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return type(value)((k, _to_builtin(v)) for k, v in value.items())
    if isinstance(value, list):
        return [_to_builtin(v) for v in value]
    if isinstance(value, tuple) and not hasattr(value, '_fields'):
        return tuple(_to_builtin(v) for v in value)
    return value


def sanitize_checkpoint(checkpoint: dict) -> dict:
    """Replace numpy scalars in a checkpoint's ``meta`` and ``message_hub`` by Python ones.

    Numpy scalars (e.g. the ``eta`` runtime info) are not allowed by a weights-only
    load. ``HistoryBuffer`` arrays are kept (their types are allow-listed).

    Args:
        checkpoint (dict): The checkpoint about to be saved; modified in place.

    Returns:
        dict: The same checkpoint.
    """
    if 'meta' in checkpoint:
        checkpoint['meta'] = _to_builtin(checkpoint['meta'])
    hub = checkpoint.get('message_hub')
    if isinstance(hub, dict) and 'runtime_info' in hub:
        hub['runtime_info'] = _to_builtin(hub['runtime_info'])
    return checkpoint


def fix_weights_only_checkpoints() -> bool:
    """Let ``--resume`` / ``load_from`` read MMEngine checkpoints under torch >= 2.6.

    Allow-lists :func:`mmengine_checkpoint_safe_globals`, applies
    :func:`sanitize_checkpoint` in ``mmengine.runner.checkpoint.save_checkpoint`` and pickles
    ``HistoryBuffer`` without its class-level method registry. A no-op before torch 2.4
    (no weights-only allow-list; such a torch loads everything).

    Returns:
        bool: Whether the fix was applied.
    """
    import torch
    if not hasattr(torch.serialization, 'add_safe_globals'):
        return False  # torch < 2.4 loads everything; nothing to fix
    import mmengine.runner.checkpoint as ckpt_mod
    from mmengine.logging.history_buffer import HistoryBuffer
    torch.serialization.add_safe_globals(mmengine_checkpoint_safe_globals())
    HistoryBuffer.__getstate__ = _portable_history_buffer_getstate
    original = ckpt_mod.save_checkpoint
    if getattr(original, '_umt_mm_sanitizes', False):
        return True

    @functools.wraps(original)
    def save_checkpoint(checkpoint, *args, **kwargs):
        return original(sanitize_checkpoint(checkpoint), *args, **kwargs)

    save_checkpoint._umt_mm_sanitizes = True
    ckpt_mod.save_checkpoint = save_checkpoint
    import mmengine.runner.runner as runner_mod
    if getattr(runner_mod, 'save_checkpoint', None) is original:
        runner_mod.save_checkpoint = save_checkpoint
    return True

