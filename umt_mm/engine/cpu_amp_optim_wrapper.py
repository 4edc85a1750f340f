"""Mixed precision (bf16 autocast) for training on the CPU."""
from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Iterator

import torch
import torch.nn as nn
from mmaction.registry import OPTIM_WRAPPERS
from mmengine.logging import print_log
from mmengine.optim import OptimWrapper

from .cpu_bf16 import cpu_bf16_support, read_cpu_flags

_LOGGED: set[str] = set()


@OPTIM_WRAPPERS.register_module()
class CPUAmpOptimWrapper(OptimWrapper):
    """An optimizer wrapper that runs forward passes under CPU bf16 autocast.

    MMEngine 0.10.7's ``AmpOptimWrapper`` refuses to run without a GPU. bf16 keeps the
    fp32 exponent range, so no loss scaling is needed: parameters, gradients and
    optimizer states stay fp32; only autocast-eligible ops (matmuls, convolutions) run in
    bf16. Outputs of MMAction2 heads (:class:`mmaction.models.heads.BaseHead`) are cast
    back to fp32 inside the context, so losses are computed in fp32 and MMAction2's
    training metrics, which call ``.numpy()`` (no bf16 in numpy), keep working.
    ``tools/train.py --amp`` selects this wrapper when CUDA is unavailable.

    Mixed precision must never make a run slower: on a CPU without native bf16 (no
    AVX-512 BF16 / AMX, e.g. AVX2 only) bf16 is emulated and a UMT-B/16 step is about 5x
    slower than fp32, so there the wrapper runs fp32 and logs why, once
    (:func:`umt_mm.engine.cpu_bf16.cpu_bf16_support`; ``native_only=False`` forces
    autocast). ``self.autocast_enabled`` tells which one was chosen.

    Args:
        dtype (str): Autocast dtype, ``'bfloat16'`` or ``'float16'``.
            Defaults to 'bfloat16'.
        native_only (bool): Autocast only where the CPU computes ``dtype`` natively
            (float16: ``avx512_fp16`` / ``amx_fp16``). Defaults to True.
        **kwargs: Passed to :class:`mmengine.optim.OptimWrapper`.
    """

    def __init__(self, dtype: str = 'bfloat16', native_only: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        if dtype not in ('bfloat16', 'float16'):
            raise ValueError('CPUAmpOptimWrapper: dtype must be bfloat16 or float16, '
                             f'got {dtype!r}')
        self.cast_dtype = getattr(torch, dtype)
        self.autocast_enabled = True
        if native_only:
            if dtype == 'bfloat16':
                support = cpu_bf16_support()
                native, reason = support.native, support.reason
            else:
                found = sorted({'avx512_fp16', 'amx_fp16'} & read_cpu_flags())
                native = bool(found)
                reason = (f'the CPU runs float16 natively ({", ".join(found)})' if native else
                          'the CPU has no native float16 (no avx512_fp16/amx_fp16 flag)')
            self.autocast_enabled = native
            message = (f'CPUAmpOptimWrapper: {dtype} autocast on, {reason}' if native else
                       f'CPUAmpOptimWrapper: training in fp32 instead of {dtype} autocast: '
                       f'{reason} (native_only=False forces autocast)')
            if message not in _LOGGED:
                _LOGGED.add(message)
                print_log(message, logger='current',
                          level=logging.INFO if native else logging.WARNING)

    @contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        """Gradient-accumulation context of OptimWrapper plus CPU autocast.

        Args:
            model (nn.Module): The trained model.
        """
        if not self.autocast_enabled:
            with super().optim_context(model):
                yield
            return
        from mmaction.models.heads import BaseHead
        handles = [m.register_forward_hook(_outputs_to_fp32) for m in model.modules()
                   if isinstance(m, BaseHead)]
        try:
            with super().optim_context(model), torch.autocast('cpu', dtype=self.cast_dtype):
                yield
        finally:
            for handle in handles:
                handle.remove()


def _outputs_to_fp32(module: nn.Module, args, output):
    """Forward hook: cast reduced-precision floating tensors in ``output`` to fp32."""
    if isinstance(output, torch.Tensor):
        return output.float() if output.dtype in (torch.bfloat16, torch.float16) else output
    if isinstance(output, (tuple, list)):
        return type(output)(_outputs_to_fp32(module, args, o) for o in output)
    return output
