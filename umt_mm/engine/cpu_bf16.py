"""Does this CPU run bf16 natively? (bf16 autocast is only worth it where it does.)"""
from __future__ import annotations

import functools
import platform
import time
from dataclasses import dataclass

import torch

#: /proc/cpuinfo flags of native bf16 arithmetic: x86 AVX-512 BF16 and AMX-BF16, Arm BF16.
NATIVE_BF16_FLAGS = ('avx512_bf16', 'amx_bf16', 'bf16')

#: bf16 autocast is used only where a bf16 matmul runs at least this much faster than fp32.
MIN_BF16_SPEEDUP = 1.1


@dataclass(frozen=True)
class CPUBf16Support:
    """The answer of :func:`cpu_bf16_support`.

    Attributes:
        native (bool): bf16 matmuls run in hardware.
        capability (str): ``torch.backends.cpu.get_cpu_capability()`` (ATen's kernel level).
        flags (tuple[str, ...]): The native bf16 flags the CPU reports.
        reason (str): One line saying why bf16 autocast is or is not used.
    """
    native: bool
    capability: str
    flags: tuple[str, ...]
    reason: str


def read_cpu_flags(path: str = '/proc/cpuinfo') -> set[str]:
    """The CPU feature flags (x86 ``flags`` / Arm ``Features`` lines), empty if unknown.

    Args:
        path (str): The cpuinfo file. Defaults to '/proc/cpuinfo'.

    Returns:
        set[str]: Lower-case flag names.
    """
    try:
        with open(path, encoding='utf-8', errors='replace') as f:
            text = f.read()
    except OSError:
        return set()
    flags: set[str] = set()
    for line in text.splitlines():
        key, _, value = line.partition(':')
        if key.strip().lower() in ('flags', 'features'):
            flags.update(value.lower().split())
    return flags


def cpu_capability() -> str:
    """ATen's CPU kernel level (``AVX512``, ``AVX2``, ``DEFAULT``...), or 'unknown'."""
    getter = getattr(getattr(torch.backends, 'cpu', None), 'get_cpu_capability', None)
    return getter() if getter is not None else 'unknown'


@functools.lru_cache(maxsize=1)
def bf16_matmul_speedup(rows: int = 1024, dims: int = 768, hidden: int = 3072,
                        repeats: int = 3) -> float:
    """How much faster a ViT-sized bf16 ``F.linear`` runs than the fp32 one on this CPU.

    A CPU flag is not enough: on a Xeon reporting ``avx512_bf16`` with torch 2.13, the bf16
    ``(1576 x 768) @ (768 x 3072)`` linear took 1.4x the fp32 time (the MLP of a UMT block),
    so autocast there would slow training down. The probe times the best of ``repeats``
    calls of each (about a tenth of a second in all) and is cached for the process.

    Args:
        rows (int): Tokens. Defaults to 1024.
        dims (int): Input channels. Defaults to 768.
        hidden (int): Output channels. Defaults to 3072.
        repeats (int): Timed calls per dtype after one warm-up. Defaults to 3.

    Returns:
        float: fp32 time / bf16 time (> 1: bf16 is faster).
    """
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(rows, dims, generator=gen)
    w = torch.randn(hidden, dims, generator=gen)
    best = {}
    for dtype in (torch.float32, torch.bfloat16):
        xd, wd = x.to(dtype), w.to(dtype)
        torch.nn.functional.linear(xd, wd)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            torch.nn.functional.linear(xd, wd)
            times.append(time.perf_counter() - start)
        best[dtype] = min(times)
    return best[torch.float32] / best[torch.bfloat16]


def cpu_bf16_support(flags: set[str] | None = None,
                     capability: str | None = None,
                     speedup: float | None = None) -> CPUBf16Support:
    """Decide whether bf16 autocast on this CPU is faster than fp32.

    Without AVX-512 BF16 / AMX (x86) or the BF16 extension (Arm) bf16 is emulated: a
    UMT-B/16 forward was measured 5x slower under bf16 autocast than in fp32 on an AVX2
    CPU. With the flag, a short matmul probe (:func:`bf16_matmul_speedup`) must also show
    bf16 at least ``MIN_BF16_SPEEDUP`` times faster: some CPUs report the flag and still
    run torch's bf16 matmuls slower than fp32. Tests fake the CPU through the arguments
    (or by patching this function in :mod:`umt_mm.engine.cpu_amp_optim_wrapper`).

    Args:
        flags (set[str], optional): CPU flags. Defaults to None (read /proc/cpuinfo).
        capability (str, optional): ATen capability. Defaults to None (ask torch).
        speedup (float, optional): fp32 / bf16 matmul time. Defaults to None (measure
            it, only when a native bf16 flag is present).

    Returns:
        CPUBf16Support: The decision and its reason.
    """
    flags = read_cpu_flags() if flags is None else {f.lower() for f in flags}
    capability = cpu_capability() if capability is None else capability
    machine = platform.machine().lower()
    candidates = NATIVE_BF16_FLAGS if machine in ('aarch64', 'arm64') else NATIVE_BF16_FLAGS[:2]
    found = tuple(f for f in candidates if f in flags)
    if not found:
        return CPUBf16Support(False, capability, (),
                              f'the CPU has no native bf16 (ATen capability {capability}, no '
                              f'{"/".join(candidates)} flag): bf16 would be emulated and slower '
                              'than fp32')
    speedup = bf16_matmul_speedup() if speedup is None else speedup
    if speedup < MIN_BF16_SPEEDUP:
        return CPUBf16Support(False, capability, found,
                              f'the CPU reports native bf16 ({", ".join(found)}; ATen '
                              f'capability {capability}) but a bf16 matmul ran at '
                              f'{speedup:.2f}x the fp32 speed here (< {MIN_BF16_SPEEDUP}x): '
                              'bf16 would be slower than fp32')
    return CPUBf16Support(True, capability, found,
                          f'the CPU runs bf16 natively ({", ".join(found)}; ATen capability '
                          f'{capability}; bf16 matmul {speedup:.2f}x the fp32 speed)')
