"""Wall-clock timing of the benchmark's variants."""
from __future__ import annotations

import sys
import time
from typing import Callable


def time_it(fn: Callable[[], object], repeats: int) -> float:
    """Best wall time of ``repeats`` calls after one warm-up call.

    Args:
        fn (Callable): Zero-argument callable.
        repeats (int): Timed calls.

    Returns:
        float: Seconds of the fastest call.
    """
    fn()  # warm-up
    best = float('inf')
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def time_interleaved(fns: dict[str, Callable[[], object]], repeats: int) -> dict[str, list]:
    """Time several variants in alternating rounds (A B A B ...), one warm-up each.

    On a shared machine the speed drifts over seconds; alternating the variants exposes
    them to the same drift, so their ratio is steadier than from back-to-back blocks.
    Progress goes to stderr, one line per round.

    Args:
        fns (dict): Name -> zero-argument callable.
        repeats (int): Rounds.

    Returns:
        dict: Name -> list of wall times in seconds, one per round.
    """
    for fn in fns.values():
        fn()
    times: dict[str, list] = {name: [] for name in fns}
    for round_index in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
        # progress on stderr (stdout carries the results table)
        print(f'[benchmark] round {round_index + 1}/{repeats}: ' + ', '.join(
            f'{name} {values[-1]:.3g} s' for name, values in times.items()),
            file=sys.stderr, flush=True)
    return times


def median(values: list) -> float:
    """The median of ``values`` (the mean of the middle two for an even count).

    Args:
        values (list): Numbers, at least one.

    Returns:
        float: The median.
    """
    values = sorted(values)
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2
