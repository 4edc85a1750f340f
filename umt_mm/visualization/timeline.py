"""Scores over time: the timeline plot of whole-video recognition."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np


def plot_timeline(path: str | Path, times: np.ndarray, series: np.ndarray,
                  names: Sequence[str], title: str) -> None:
    """Save scores over time as a 1000x400 PNG, one line per class.

    Args:
        path (str | Path): The PNG; its folder is created.
        times (np.ndarray): ``(num_windows,)`` seconds (window centres).
        series (np.ndarray): ``(num_classes, num_windows)`` scores.
        names (Sequence[str]): The classes' names (legend).
        title (str): Plot title.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    series = np.asarray(series)
    fig, ax = plt.subplots(figsize=(10, 4), dpi=100)
    for name, values in zip(names, series):
        ax.plot(times, values, marker='o', markersize=3, label=name)
    ax.set_xlabel('time (s, window centre)')
    ax.set_ylabel('score')
    ax.set_ylim(0, max(1e-6, float(series.max()) * 1.05) if series.size else 1)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc='upper right', fontsize=8)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


__all__ = ['plot_timeline']
