"""The CPU the benchmark runs on: its description and its fp32 matmul peak."""
from __future__ import annotations

import os
import time

import torch


def matmul_peak_gflops(n: int = 2048, repeats: int = 5) -> float:
    """Best fp32 ``torch.mm`` throughput in GFLOP/s (the machine's ceiling).

    Args:
        n (int): Side of the square matrices. Defaults to 2048.
        repeats (int): Timed calls after one warm-up; the best counts. Defaults to 5.

    Returns:
        float: GFLOP/s of the fastest call.
    """
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    best = float('inf')
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * n ** 3 / best / 1e9


def cpu_description() -> dict:
    """The CPU model, cores, torch's capability and the load average (noise indicator).

    Returns:
        dict: ``cpu_model``, ``cpu_cores``, ``cpu_capability`` and ``load_average`` (the
        1, 5 and 15 minute averages as one string).
    """
    model = 'unknown'
    try:
        with open('/proc/cpuinfo') as f:
            model = next((line.split(':', 1)[1].strip() for line in f
                          if line.startswith('model name')), model)
    except OSError:
        pass
    return dict(cpu_model=model, cpu_cores=os.cpu_count(),
                cpu_capability=torch.backends.cpu.get_cpu_capability(),
                load_average=' '.join(f'{x:.2f}' for x in os.getloadavg()))
