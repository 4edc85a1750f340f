"""Fixes the pinned OpenMMLab stack needs on Python 3.11 / torch >= 2.6.

Each fix documents the symptom, the upstream cause and when to remove it, and is a
no-op when the upstream problem is absent. :func:`apply_all` runs them; ``import
umt_mm`` calls it before anything from ``mmaction.models`` is imported.
"""
from __future__ import annotations

import functools
import importlib.util
import logging
import os
import sys
import types
from pathlib import Path

logger = logging.getLogger(__name__)

_APPLIED: dict[str, bool] = {}

# --------------------------------------------------------------------------------------
# 1. mmaction2 1.2.0 wheel without ``mmaction/models/localizers/drn``
# --------------------------------------------------------------------------------------
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

    Symptom: ``import mmaction.models`` (and any registry build that imports it) fails
    with ``ModuleNotFoundError: No module named 'mmaction.models.localizers.drn'``.
    Cause: the mmaction2 1.2.0 release omits the ``drn`` folder that
    ``mmaction/models/localizers/__init__.py`` imports. Remove when a release ships it.

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


# --------------------------------------------------------------------------------------
# 2. Loading MMEngine checkpoints under torch >= 2.6 (weights_only=True by default)
# --------------------------------------------------------------------------------------
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

    Symptom: ``_pickle.UnpicklingError: Weights only load failed ... Unsupported global:
    GLOBAL mmengine.logging.history_buffer.HistoryBuffer`` when resuming.
    Cause: torch 2.6 made ``torch.load(weights_only=True)`` the default and
    MMEngine 0.10.7 calls ``torch.load`` without the argument. Fix: allow-list the exact
    types MMEngine writes (:func:`mmengine_checkpoint_safe_globals`) and keep numpy
    scalars out of saved checkpoints (:func:`sanitize_checkpoint`, applied in
    ``mmengine.runner.checkpoint.save_checkpoint``; ``HistoryBuffer`` pickles without its
    class-level method registry). Any other pickled object is still refused.
    Remove when an MMEngine release loads its checkpoints itself (0.11).

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


# --------------------------------------------------------------------------------------
# 3. DistributedDataParallel on a CPU-only torch
# --------------------------------------------------------------------------------------
def _cuda_usable() -> bool:
    import torch
    return torch.cuda.is_available()


def fix_cpu_ddp() -> bool:
    """Make ``--launcher pytorch`` work without CUDA (gloo backend, no device ids).

    Symptoms: ``AttributeError: module 'torch._C' has no attribute '_cuda_setDevice'``
    in ``mmengine/dist/utils.py::_init_dist_pytorch``; then ``ValueError:
    DistributedDataParallel device_ids and output_device arguments only work with
    single-device/multiple-device GPU modules`` from ``Runner.wrap_model``.
    Cause: MMEngine 0.10.7 calls ``torch.cuda.set_device`` unconditionally and passes
    ``device_ids=[LOCAL_RANK]`` to DDP. Fix (only when CUDA is unavailable): initialise
    the process group with gloo (``nccl`` needs CUDA) without ``set_device``, and drop
    ``device_ids`` for CPU modules. Remove when MMEngine handles CPU launches.

    Returns:
        bool: Whether the patches were installed.
    """
    import mmengine.dist.utils as dist_utils
    from mmengine.model.wrappers import MMDistributedDataParallel
    if getattr(dist_utils._init_dist_pytorch, '_umt_mm_cpu', False):
        return True
    original_init = dist_utils._init_dist_pytorch

    @functools.wraps(original_init)
    def _init_dist_pytorch(backend, init_backend='torch', **kwargs):
        if _cuda_usable() or init_backend != 'torch':
            return original_init(backend, init_backend=init_backend, **kwargs)
        import torch.distributed as torch_dist
        if backend == 'nccl':
            logger.warning('umt_mm: CUDA is unavailable, using the gloo backend instead of nccl')
            backend = 'gloo'
        torch_dist.init_process_group(backend=backend, **kwargs)

    _init_dist_pytorch._umt_mm_cpu = True
    dist_utils._init_dist_pytorch = _init_dist_pytorch

    original_ddp_init = MMDistributedDataParallel.__init__

    @functools.wraps(original_ddp_init)
    def ddp_init(self, module, detect_anomalous_params=False, **kwargs):
        if not _cuda_usable():
            kwargs.pop('device_ids', None)
            kwargs.pop('output_device', None)
        original_ddp_init(self, module, detect_anomalous_params=detect_anomalous_params,
                          **kwargs)

    MMDistributedDataParallel.__init__ = ddp_init
    return True


def fix_video_errors_name_the_file() -> bool:
    """Make decoding errors of MMAction2's decord transforms name the video file.

    Symptom: a truncated or corrupt video stops training with ``RuntimeError: Error
    reading 5000 bytes...`` (or a bare ``DECORDError``) that does not say which of the
    dataset's videos is broken. Cause: decord's errors carry no path and MMAction2's
    ``DecordInit`` / ``DecordDecode`` do not add it. Fix: re-raise such errors as
    ``RuntimeError('<file>: ...')`` chained to the original; a missing file still raises
    ``FileNotFoundError`` with its path. Remove when MMAction2 names the file itself.

    Returns:
        bool: Whether the patches were installed.
    """
    from mmaction.datasets.transforms import loading

    def wrap(cls, action: str) -> None:
        original = cls.transform
        if getattr(original, '_umt_mm_names_file', False):
            return

        @functools.wraps(original)
        def transform(self, results):
            try:
                return original(self, results)
            except FileNotFoundError:
                raise
            except Exception as err:
                name = results.get('filename', '<unknown file>')
                detail = str(err).strip().splitlines()
                raise RuntimeError(
                    f'{name}: cannot {action} ({type(err).__name__}: '
                    f'{detail[0] if detail else "no message"}); the video is corrupt, '
                    'truncated or not a video file. Re-encode or remove it from the list.'
                ) from err

        transform._umt_mm_names_file = True
        cls.transform = transform

    wrap(loading.DecordInit, 'open the video with decord')
    wrap(loading.DecordDecode, 'decode the sampled frames with decord')
    return True


# --------------------------------------------------------------------------------------
# 5-7. Reliability (issue 11): strict video lists, atomic writes, checkpoint key reports
# --------------------------------------------------------------------------------------
def fix_strict_video_lists() -> bool:
    """Reject bad ``VideoDataset`` list lines when the dataset is built, naming file and line.

    Symptom: a list line without a label is read as label ``-1`` and a label beyond the
    head's classes is accepted; training dies iterations later inside ``F.one_hot``
    (``Class values must be non-negative.``) without naming the file or line; duplicated
    videos are silently trained twice. Cause: MMAction2 1.2.0's
    ``VideoDataset.load_data_list`` checks nothing. Fix: the same parser with checks
    (:func:`umt_mm.datasets.video_list_validation.read_video_list`): labels are checked
    against the dataset's ``num_classes`` (``tools/train.py`` / ``test.py`` fill it from the
    model head) and ``metainfo.classes`` (names or a label-map path, whose file is named in
    the error) against ``num_classes``. Remove when MMAction2 validates its lists.

    Returns:
        bool: Whether the patch was installed.
    """
    from mmaction.datasets import VideoDataset
    if getattr(VideoDataset.load_data_list, '_umt_mm_strict', False):
        return True

    original_metainfo = VideoDataset._load_metainfo.__func__

    def _load_metainfo(cls, metainfo: dict | None = None) -> dict:
        # MMEngine reads a label-map path in metainfo.classes into names; keep the path so
        # that a wrong label map is reported with its file
        loaded = original_metainfo(cls, metainfo)
        if isinstance(metainfo, dict) and isinstance(metainfo.get('classes'), (str, Path)):
            loaded['classes_file'] = str(metainfo['classes'])
        return loaded

    def load_data_list(self) -> list:
        from umt_mm.datasets.video_list_validation import check_class_names, read_video_list
        meta = self._metainfo if isinstance(self._metainfo, dict) else {}
        classes = meta.get('classes_file', meta.get('classes'))
        if classes is not None and self.num_classes is not None:
            check_class_names(classes, self.num_classes)
        return read_video_list(self.ann_file, delimiter=self.delimiter,
                               multi_class=self.multi_class, num_classes=self.num_classes,
                               video_prefix=self.data_prefix.get('video'),
                               test_mode=self.test_mode)

    load_data_list.__doc__ = VideoDataset.load_data_list.__doc__
    load_data_list._umt_mm_strict = True
    VideoDataset.load_data_list = load_data_list
    VideoDataset._load_metainfo = classmethod(_load_metainfo)
    return True


def fix_atomic_local_writes() -> bool:
    """Write local files (checkpoints included) through a temporary file and ``os.replace``.

    Symptom: a job killed while ``CheckpointHook`` saves leaves a truncated ``.pth`` that
    ``--resume`` then fails to read. Cause: MMEngine's ``LocalBackend.put`` /
    ``put_text`` (used by ``save_checkpoint``) write the target file in place. Fix: write
    ``<file>.tmp-<pid>`` in the same folder, flush and fsync it, then ``os.replace`` it
    onto the target (atomic on POSIX), so a reader sees the old file or the whole new one.
    Remove when MMEngine writes atomically.

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
        filepath (str | Path): The target file; its folder is created when missing.
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


def fix_checkpoint_load_report() -> bool:
    """Report every missing, unexpected and mis-shaped key of ``load_from`` / ``--resume``.

    Symptom: ``load_from`` is always non-strict (``Runner.load_or_resume`` passes no
    ``strict``) and shape mismatches are reported in torch's wording among other text.
    Fix: :func:`umt_mm.engine.checkpoint_report.load_state_dict_reporting` replaces
    ``mmengine.runner.checkpoint.load_state_dict``: one report listing the three kinds of
    key, ``strict`` raises it, non-strict logs it as a warning saying which parameters
    keep their initial values. ``Runner.load_checkpoint`` takes ``strict`` from the
    config key ``load_from_strict`` (default False) when the caller gives none, and
    ``load_from_trusted = True`` (default False) lets it read a file with arbitrary pickled
    objects (otherwise refused by the weights-only load). Remove when MMEngine has a
    strict ``load_from``.

    Returns:
        bool: Whether the patch was installed.
    """
    import mmengine.runner.checkpoint as ckpt_mod
    from mmengine.runner import Runner

    from umt_mm.engine.checkpoint_report import load_state_dict_reporting
    if getattr(ckpt_mod.load_state_dict, '_umt_mm_report', False):
        return True
    ckpt_mod.load_state_dict = load_state_dict_reporting
    original = Runner.load_checkpoint

    @functools.wraps(original)
    def load_checkpoint(self, filename, map_location='cpu', strict=None,
                        revise_keys=[(r'^module.', '')]):  # noqa: B006 (MMEngine's default)
        if strict is None:
            strict = bool(self.cfg.get('load_from_strict', False)) if self.cfg else False
        if not (self.cfg and self.cfg.get('load_from_trusted', False)):
            return original(self, filename, map_location=map_location, strict=strict,
                            revise_keys=revise_keys)
        logger.warning('umt_mm: load_from_trusted: %s is unpickled without the weights-only '
                       'check; only for files you trust', filename)
        previous = os.environ.get('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD')
        os.environ['TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'] = '1'  # read by each torch.load
        try:
            return original(self, filename, map_location=map_location, strict=strict,
                            revise_keys=revise_keys)
        finally:
            if previous is None:
                os.environ.pop('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', None)
            else:
                os.environ['TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'] = previous

    Runner.load_checkpoint = load_checkpoint
    return True



def fix_cpu_fsdp() -> bool:
    """Let MMEngine's ``FSDPStrategy`` (``FlexibleRunner``) shard a model over CPU processes.

    Symptom: ``RuntimeError: Cannot access accelerator device when none is available.`` in
    ``torch.distributed.fsdp``'s ``_init_device_handle``. Cause: ``FSDPStrategy._wrap_model``
    passes ``device_id=int(LOCAL_RANK)`` (a CUDA device) to ``MMFullyShardedDataParallel``.
    Fix (only when CUDA is unavailable): an integer ``device_id`` becomes the CPU; with the
    gloo process group of :func:`fix_cpu_ddp` FSDP then trains on CPU processes. Second
    symptom: saving with ``state_dict_cfg='full'`` kills rank 0 with a segmentation fault
    (torch 2.13 CPU, ``offload_to_cpu=True``, which MMEngine's ``'full'`` sets); the
    parameters already are on the CPU, so ``offload_to_cpu`` is turned off there. Third:
    ``sync_module_states`` defaults to True (rank 0's initial weights, as DDP does), since
    the recipes seed every process differently. Remove the CPU parts when MMEngine handles
    CPU launches.

    Returns:
        bool: Whether the patch was installed.
    """
    try:
        from mmengine.model.wrappers import MMFullyShardedDataParallel
    except ImportError:  # torch without FSDP
        return False
    original = MMFullyShardedDataParallel.__init__
    if getattr(original, '_umt_mm_cpu', False):
        return True

    @functools.wraps(original)
    def fsdp_init(self, module, *args, **kwargs):
        if not _cuda_usable() and isinstance(kwargs.get('device_id'), int):
            import torch
            kwargs['device_id'] = torch.device('cpu')
        # Every recipe seeds each process with seed + rank (as the reference), so each
        # process initialises other random weights; DDP broadcasts rank 0's at wrap time,
        # FSDP only with sync_module_states (MMEngine does not set it). Without it the
        # shards would come from different draws and replicated (NO_SHARD / HYBRID)
        # parameters would differ between processes for the whole run.
        if _cuda_usable():
            kwargs.setdefault('sync_module_states', True)
        elif kwargs.pop('sync_module_states', True):
            # torch's FSDP refuses sync_module_states for CPU parameters: broadcast them
            # from rank 0 here (gloo), the same as sync_module_states does on GPUs
            import torch
            import torch.distributed as dist
            if dist.is_available() and dist.is_initialized():
                with torch.no_grad():
                    for tensor in [*module.parameters(), *module.buffers()]:
                        dist.broadcast(tensor.data, src=0)
        original(self, module, *args, **kwargs)

    fsdp_init._umt_mm_cpu = True
    MMFullyShardedDataParallel.__init__ = fsdp_init

    from mmengine._strategy import FSDPStrategy
    original_cfg = FSDPStrategy._init_state_dict_cfg

    @functools.wraps(original_cfg)
    def init_state_dict_cfg(self, state_dict_cfg) -> None:
        original_cfg(self, state_dict_cfg)
        if not _cuda_usable():
            for name in ('state_dict_config', 'optim_state_dict_config'):
                config = getattr(self, name, None)
                if getattr(config, 'offload_to_cpu', False):
                    config.offload_to_cpu = False

    FSDPStrategy._init_state_dict_cfg = init_state_dict_cfg
    return True


def apply_all() -> dict[str, bool]:
    """Apply every fix once.

    Returns:
        dict[str, bool]: Name of each fix and whether it changed anything.
    """
    if not _APPLIED:
        _APPLIED['missing_drn'] = fix_missing_drn()
        if os.environ.get('UMT_MM_NO_CHECKPOINT_FIX') != '1':
            _APPLIED['weights_only_checkpoints'] = fix_weights_only_checkpoints()
        _APPLIED['cpu_ddp'] = fix_cpu_ddp()
        _APPLIED['video_errors_name_the_file'] = fix_video_errors_name_the_file()
        _APPLIED['strict_video_lists'] = fix_strict_video_lists()
        _APPLIED['atomic_local_writes'] = fix_atomic_local_writes()
        _APPLIED['checkpoint_load_report'] = fix_checkpoint_load_report()
        _APPLIED['cpu_fsdp'] = fix_cpu_fsdp()
    return dict(_APPLIED)
