"""``cpu_ddp``: ``--launcher pytorch`` (DistributedDataParallel) without CUDA.

Symptoms: ``AttributeError: module 'torch._C' has no attribute '_cuda_setDevice'`` in
``mmengine/dist/utils.py::_init_dist_pytorch``; then ``ValueError: DistributedDataParallel
device_ids and output_device arguments only work with single-device/multiple-device GPU
modules`` from ``Runner.wrap_model``.
Cause: MMEngine 0.10.7 calls ``torch.cuda.set_device`` unconditionally in
``_init_dist_pytorch`` and passes ``device_ids=[LOCAL_RANK]`` to ``MMDistributedDataParallel``
in ``Runner.wrap_model`` (``mmengine/runner/runner.py``), whatever the device.
Fix (only when CUDA is unavailable): initialise the process group with gloo (``nccl`` needs
CUDA) without ``set_device``, and drop ``device_ids`` / ``output_device`` for CPU modules.
Remove when: MMEngine launches CPU processes itself (``tests/compat/test_cpu_ddp.py`` then
fails to say so).
"""
from __future__ import annotations

import functools
import logging

logger = logging.getLogger(__name__)


def cuda_usable() -> bool:
    """Whether torch can use CUDA in this process (the CPU fixes are no-ops then)."""
    import torch
    return torch.cuda.is_available()


def fix_cpu_ddp() -> bool:
    """Make ``--launcher pytorch`` work without CUDA (gloo backend, no device ids).

    Wraps ``mmengine.dist.utils._init_dist_pytorch`` and
    ``MMDistributedDataParallel.__init__``; both behave as before where CUDA is usable.

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
        if cuda_usable() or init_backend != 'torch':
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
        if not cuda_usable():
            kwargs.pop('device_ids', None)
            kwargs.pop('output_device', None)
        original_ddp_init(self, module, detect_anomalous_params=detect_anomalous_params,
                          **kwargs)

    MMDistributedDataParallel.__init__ = ddp_init
    return True

