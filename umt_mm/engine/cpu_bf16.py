"""Does this CPU run bf16 natively? (bf16 autocast is only worth it where it does.)"""
from __future__ import annotations

import platform
from dataclasses import dataclass

import torch

#: /proc/cpuinfo flags of native bf16 arithmetic: x86 AVX-512 BF16 and AMX-BF16, Arm BF16.
NATIVE_BF16_FLAGS = ('avx512_bf16', 'amx_bf16', 'bf16')


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


def cpu_bf16_support(flags: set[str] | None = None,
                     capability: str | None = None) -> CPUBf16Support:
    """Decide whether bf16 autocast on this CPU is faster than fp32.

    Without AVX-512 BF16 / AMX (x86) or the BF16 extension (Arm) bf16 is emulated: a
    UMT-B/16 forward was measured 5x slower under bf16 autocast than in fp32 on an AVX2
    CPU. Tests fake the CPU through the arguments (or by patching this function in
    :mod:`umt_mm.engine.cpu_amp_optim_wrapper`).

    Args:
        flags (set[str], optional): CPU flags. Defaults to None (read /proc/cpuinfo).
        capability (str, optional): ATen capability. Defaults to None (ask torch).

    Returns:
        CPUBf16Support: The decision and its reason.
    """
    flags = read_cpu_flags() if flags is None else {f.lower() for f in flags}
    capability = cpu_capability() if capability is None else capability
    machine = platform.machine().lower()
    candidates = NATIVE_BF16_FLAGS if machine in ('aarch64', 'arm64') else NATIVE_BF16_FLAGS[:2]
    found = tuple(f for f in candidates if f in flags)
    if found:
        return CPUBf16Support(True, capability, found,
                              f'the CPU runs bf16 natively ({", ".join(found)}; ATen '
                              f'capability {capability})')
    return CPUBf16Support(False, capability, (),
                          f'the CPU has no native bf16 (ATen capability {capability}, no '
                          f'{"/".join(candidates)} flag): bf16 would be emulated and slower '
                          'than fp32')
