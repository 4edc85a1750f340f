"""Training curves from MMEngine's logs: read the scalars of a run, plot loss and accuracy."""
from __future__ import annotations

import json
from pathlib import Path


def read_scalars(log_dir: str | Path) -> list[dict]:
    """The records of MMEngine's ``vis_data/scalars.json`` (training) or ``<ts>.json`` (test).

    Args:
        log_dir (str | Path): A run folder (``<work_dir>/<timestamp>``).

    Returns:
        list[dict]: One dict per logged line.
    """
    log_dir = Path(log_dir)
    files = sorted(log_dir.glob('vis_data/scalars.json')) or sorted(log_dir.glob('*.json'))
    return [json.loads(line) for f in files for line in f.read_text().splitlines() if line]


def latest_log_dir(work_dir: str | Path) -> Path:
    """The newest ``<timestamp>`` run folder MMEngine made in ``work_dir``.

    Args:
        work_dir (str | Path): The run's work dir.

    Returns:
        Path: The folder.

    Raises:
        FileNotFoundError: No run folder.
    """
    work_dir = Path(work_dir)
    runs = sorted(p for p in work_dir.iterdir() if p.is_dir() and p.name[:8].isdigit())
    if not runs:
        raise FileNotFoundError(f'no MMEngine run folder in {work_dir}')
    return runs[-1]


def plot_curves(records: list[dict], out: str | Path) -> Path:
    """Plot the training loss (per logged iteration) and the validation top-1 (per epoch).

    Args:
        records (list[dict]): Records of ``vis_data/scalars.json``.
        out (Path): The PNG to write.

    Returns:
        Path: ``out``.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    train = [r for r in records if 'loss' in r]
    val = [r for r in records if 'acc/top1' in r]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    ax_loss.plot([r['iter'] for r in train], [r['loss'] for r in train], color='tab:blue')
    ax_loss.set(xlabel='iteration', ylabel='training loss', title='loss')
    ax_loss.grid(alpha=0.3)
    ax_acc.plot([r['step'] for r in val], [100 * r['acc/top1'] for r in val], 'o-',
                color='tab:green', label='validation top-1')
    ax_acc.axhline(100 / 8, color='gray', ls='--', label='chance (12.5 %)')
    ax_acc.axhline(50, color='tab:red', ls=':', label='frame-order-blind cap (50 %)')
    ax_acc.set(xlabel='epoch', ylabel='top-1 (%)', title='validation accuracy', ylim=(0, 100))
    ax_acc.grid(alpha=0.3)
    ax_acc.legend(loc='lower right')
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
