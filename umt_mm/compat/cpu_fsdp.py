"""``cpu_fsdp``: MMEngine's ``FSDPStrategy`` (``FlexibleRunner``) on CPU processes.

Symptoms: ``RuntimeError: Cannot access accelerator device when none is available.`` in
``torch.distributed.fsdp``'s ``_init_device_handle`` when the model is wrapped; then, saving
with ``state_dict_cfg='full'``, rank 0 dies with a segmentation fault (torch 2.13 CPU with
``offload_to_cpu=True``, which MMEngine's ``'full'`` sets); and torch's FSDP refuses
``sync_module_states`` for parameters on the CPU.
Cause: ``FSDPStrategy._wrap_model`` (``mmengine/_strategy/fsdp.py``, MMEngine 0.10.7) passes
``device_id=int(LOCAL_RANK)`` (a CUDA device) to ``MMFullyShardedDataParallel`` and
``_init_state_dict_cfg('full')`` asks for ``offload_to_cpu``, whatever the device.
Fix (only when CUDA is unavailable): an integer ``device_id`` becomes the CPU (with the gloo
process group of :mod:`umt_mm.compat.cpu_ddp` FSDP then trains on CPU processes),
``offload_to_cpu`` is turned off (the parameters are on the CPU already), and a requested
``sync_module_states`` is done by broadcasting rank 0's parameters and buffers (gloo) before
wrapping, which is what it does on GPUs. Whether it is requested by default is umt_mm's
choice, :mod:`umt_mm.engine.fsdp_sync_module_states`.
Remove when: MMEngine's FSDP strategy handles CPU launches (``tests/compat/test_cpu_fsdp.py``
then fails to say so).
"""
from __future__ import annotations

import functools

from .cpu_ddp import cuda_usable


def fix_cpu_fsdp() -> bool:
    """Let ``MMFullyShardedDataParallel`` and ``FSDPStrategy`` run on CPU processes.

    Wraps ``MMFullyShardedDataParallel.__init__`` and ``FSDPStrategy._init_state_dict_cfg``;
    both behave as before where CUDA is usable.

    Returns:
        bool: Whether the patch was installed (False for a torch without FSDP).
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
        if not cuda_usable():
            if isinstance(kwargs.get('device_id'), int):
                import torch
                kwargs['device_id'] = torch.device('cpu')
            if kwargs.pop('sync_module_states', False):
                # torch's FSDP refuses sync_module_states for CPU parameters: broadcast
                # them from rank 0 here (gloo), as sync_module_states does on GPUs
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
        if not cuda_usable():
            for name in ('state_dict_config', 'optim_state_dict_config'):
                config = getattr(self, name, None)
                if getattr(config, 'offload_to_cpu', False):
                    config.offload_to_cpu = False

    FSDPStrategy._init_state_dict_cfg = init_state_dict_cfg
    return True
