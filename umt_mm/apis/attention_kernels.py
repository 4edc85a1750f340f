"""Which attention kernel a UMT backbone runs at inference, chosen by measuring both.

PyTorch's fused ``scaled_dot_product_attention`` (a flash kernel on the CPU) and the same
attention as batched GEMMs over blocks of queries
(:func:`umt_mm.models.layers.matmul_attention`) trade places between CPUs: the flash
kernel wins on AVX-512 CPUs without AMX (both fp32 and bf16), while a CPU whose bf16 GEMMs
run on AMX tiles can run the GEMM form faster. :func:`choose_attention_kernel` times both
at the backbone's own shape and dtype on this CPU and keeps the GEMM form only where it is
clearly faster and gives the same numbers.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..models.layers import ATTENTION_KERNELS, UMTAttention, matmul_attention

#: the GEMM form must take at most this fraction of the flash kernel's time to be chosen
#: (a margin over timing noise)
MATMUL_MARGIN = 0.9
#: largest difference to the fused kernel's output, relative to its largest magnitude
EQUAL_NUMBERS = {torch.float32: 1e-4, torch.bfloat16: 3e-2}


@dataclass
class AttentionChoice:
    """The kernel a backbone runs and why.

    Args:
        kernel (str): ``'sdpa'`` or ``'matmul'``.
        reason (str): One line.
        seconds (dict[str, float]): Best time per kernel at the measured shape (empty when
            the kernel was set, not measured). Defaults to None.
        shape (tuple[int, ...]): ``(B, heads, tokens, head_dims)`` measured. Defaults to ().
        max_difference (float, optional): The GEMM form's largest difference to the fused
            kernel, relative to the latter's largest magnitude. Defaults to None.
    """

    kernel: str
    reason: str
    seconds: dict[str, float] | None = None
    shape: tuple[int, ...] = ()
    max_difference: float | None = None


def attention_modules(backbone: nn.Module) -> list[UMTAttention]:
    """The backbone's :class:`UMTAttention` modules."""
    return [m for m in backbone.modules() if isinstance(m, UMTAttention)]


def set_attention_kernel(backbone: nn.Module, kernel: str) -> None:
    """Make every attention of ``backbone`` run ``kernel`` (``'sdpa'`` or ``'matmul'``)."""
    if kernel not in ATTENTION_KERNELS:
        raise ValueError(f'attention kernel {kernel!r}: choose one of '
                         f'{", ".join(ATTENTION_KERNELS)}')
    for module in attention_modules(backbone):
        module.kernel = kernel


def _kernels() -> dict[str, Callable]:
    return {'sdpa': lambda q, k, v: F.scaled_dot_product_attention(q, k, v),
            'matmul': lambda q, k, v: matmul_attention(q, k, v)}


def time_attention_kernels(shape: tuple[int, int, int, int], dtype: torch.dtype,
                           rounds: int = 3) -> tuple[dict[str, float], float]:
    """Best time of each kernel on seeded random ``q, k, v`` of ``shape``.

    Args:
        shape (tuple[int, int, int, int]): ``(B, heads, tokens, head_dims)``.
        dtype (torch.dtype): ``torch.float32`` or ``torch.bfloat16``.
        rounds (int): Alternating timed rounds after one warm-up call each. Defaults to 3.

    Returns:
        tuple[dict[str, float], float]: Seconds per kernel, and the GEMM form's largest
        difference to the fused kernel relative to the latter's largest magnitude.
    """
    gen = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(*shape, generator=gen).to(dtype) for _ in range(3))
    kernels = _kernels()
    with torch.no_grad():
        outputs = {name: fn(q, k, v).float() for name, fn in kernels.items()}
        best = dict.fromkeys(kernels, float('inf'))
        for _ in range(rounds):
            for name, fn in kernels.items():
                start = time.perf_counter()
                fn(q, k, v)
                best[name] = min(best[name], time.perf_counter() - start)
    reference = outputs['sdpa']
    difference = float((outputs['matmul'] - reference).abs().max() /
                       reference.abs().max().clamp_min(1e-30))
    return best, difference


def decide(seconds: dict[str, float], difference: float,
           dtype: torch.dtype) -> tuple[str, float, bool]:
    """The kernel to keep from measured times: the GEMM form only where it takes at most
    :data:`MATMUL_MARGIN` of the fused kernel's time and differs by at most
    :data:`EQUAL_NUMBERS`. Returns the kernel, the GEMM form's time ratio and whether its
    numbers are equal."""
    ratio = seconds['matmul'] / max(seconds['sdpa'], 1e-12)
    equal = difference <= EQUAL_NUMBERS.get(dtype, EQUAL_NUMBERS[torch.float32])
    return ('matmul' if equal and ratio <= MATMUL_MARGIN else 'sdpa'), ratio, equal


def choose_attention_kernel(backbone: nn.Module, dtype: torch.dtype | None = None,
                            rounds: int = 3, timings=None) -> AttentionChoice:
    """Time both kernels at the backbone's recipe geometry and set the one to run.

    The GEMM form is chosen only where it takes at most :data:`MATMUL_MARGIN` of the fused
    kernel's time and its output differs by at most :data:`EQUAL_NUMBERS` (relative);
    otherwise the backbone keeps the fused kernel. CUDA backbones keep the fused kernel
    unmeasured (its flash / memory-efficient backends).

    Args:
        backbone (nn.Module): A UMT ViT (its ``grid`` and blocks give the shape; in place).
        dtype (torch.dtype, optional): The attention's dtype. Defaults to None (the blocks'
            parameter dtype; int8 blocks run their attention in fp32).
        rounds (int): Timed rounds per kernel. Defaults to 3.
        timings (Callable, optional): ``timings(shape, dtype) -> (seconds, difference)`` in
            place of :func:`time_attention_kernels` (tests). Defaults to None.

    Returns:
        AttentionChoice: What runs now and why.
    """
    modules = attention_modules(backbone)
    if not modules:
        return AttentionChoice('sdpa', 'no UMT attention in the backbone')
    parameter = next(backbone.parameters(), None)
    if parameter is not None and parameter.device.type != 'cpu':
        set_attention_kernel(backbone, 'sdpa')
        return AttentionChoice('sdpa', f'fused kernel on {parameter.device.type}')
    if dtype is None:
        floating = [p.dtype for p in backbone.blocks.parameters() if p.is_floating_point()]
        dtype = torch.bfloat16 if torch.bfloat16 in floating else torch.float32
    tokens = 1
    for size in backbone.grid:
        tokens *= int(size)
    shape = (1, modules[0].num_heads, tokens, modules[0].head_dims)
    seconds, difference = (timings or (lambda s, d: time_attention_kernels(s, d, rounds)))(
        shape, dtype)
    kernel, ratio, equal = decide(seconds, difference, dtype)
    reason = (f'{"x".join(map(str, shape))} {str(dtype).removeprefix("torch.")}: matmul '
              f'{ratio:.2f}x the fused kernel\'s time')
    if not equal:
        reason += f', but its numbers differ ({difference:.1e})'
    set_attention_kernel(backbone, kernel)
    return AttentionChoice(kernel, reason, seconds, shape, difference)


__all__ = ['AttentionChoice', 'EQUAL_NUMBERS', 'MATMUL_MARGIN', 'attention_modules',
           'choose_attention_kernel', 'decide', 'set_attention_kernel', 'time_attention_kernels']
