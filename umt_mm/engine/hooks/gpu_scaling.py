"""What a run on N GPUs changes: effective batch, lr, iterations per epoch, videos left out.

Computed from a config alone with the arithmetic of :class:`EffectiveBatchLRHook`
(:class:`EffectiveBatch`, :func:`lr_factor`) and of MMEngine's ``DefaultSampler`` with a
``drop_last`` train loader; the tables of docs/reproducing.md are its output::

    python -m umt_mm.engine.hooks.gpu_scaling CONFIG --videos N --gpus 1 2 4 8 16
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .lr_scaling_hook import EffectiveBatch, lr_factor


def _config_repeats(dataset_cfg) -> int:
    """``num_repeats`` of a (wrapped) dataset config; the class default when it is unset."""
    import inspect

    from mmaction.registry import DATASETS
    seen = 0
    while isinstance(dataset_cfg, Mapping) and seen < 16:
        if 'num_repeats' in dataset_cfg:
            return int(dataset_cfg['num_repeats'])
        kind = dataset_cfg.get('type')
        cls = DATASETS.get(kind) if isinstance(kind, str) else kind
        if inspect.isclass(cls):
            param = inspect.signature(cls.__init__).parameters.get('num_repeats')
            if param is not None and param.default is not inspect.Parameter.empty:
                return int(param.default)
        dataset_cfg = dataset_cfg.get('dataset')
        seen += 1
    return 1


def config_effective_batch(cfg: Mapping, processes: int) -> EffectiveBatch:
    """The effective batch a config trains with on ``processes`` GPUs (no runner needed).

    Reads what :func:`effective_batch` reads from a built runner: the train loader's
    ``batch_size``, the dataset's ``num_repeats`` and ``optim_wrapper.accumulative_counts``
    (or the DeepSpeed strategy's ``gradient_accumulation_steps``).

    Args:
        cfg (Mapping): A loaded config (``mmengine.Config``).
        processes (int): Number of GPUs (processes).

    Returns:
        EffectiveBatch: The effective batch.
    """
    loader = cfg['train_dataloader']
    strategy = cfg.get('strategy') or {}
    if strategy.get('type') == 'DeepSpeedStrategy':
        accumulation = int((strategy.get('config') or {}).get(
            'gradient_accumulation_steps', 1) or 1)
    else:
        accumulation = int((cfg.get('optim_wrapper') or {}).get('accumulative_counts', 1))
    return EffectiveBatch(processes=int(processes), batch=int(loader['batch_size']),
                          repeats=_config_repeats(loader.get('dataset')),
                          accumulation=accumulation)


def epoch_steps(num_videos: int, processes: int, batch: int,
                drop_last: bool = True) -> tuple[int, int]:
    """Iterations per epoch and the samples an epoch leaves out.

    ``DefaultSampler`` (``round_up=True``, as the reference's ``DistributedSampler``) gives
    every process ``ceil(num_videos / processes)`` indices, padding the shuffled list with
    its first indices; the loader then makes batches of ``batch`` and, with ``drop_last``,
    leaves out the incomplete last one of every process. The left-out positions are the last
    ones of the padded list, so ``num_videos - processes x steps x batch`` distinct videos
    (a different random set every epoch) are not seen in an epoch.

    Args:
        num_videos (int): Length of the training list (videos, not repeated clips).
        processes (int): Number of GPUs.
        batch (int): Videos per GPU and iteration.
        drop_last (bool): Whether the loader drops incomplete batches. Defaults to True.

    Returns:
        tuple[int, int]: ``(iterations per epoch, videos left out per epoch)``.
    """
    if num_videos < 1 or processes < 1 or batch < 1:
        raise ValueError(f'num_videos, processes and batch must be >= 1, got {num_videos}, '
                         f'{processes}, {batch}')
    per_process = math.ceil(num_videos / processes)
    if not drop_last:
        return math.ceil(per_process / batch), 0
    steps = per_process // batch
    return steps, max(num_videos - processes * steps * batch, 0)


@dataclass(frozen=True)
class GPUScalingRow:
    """One line of :func:`gpu_scaling_table`.

    Attributes:
        eff (EffectiveBatch): The effective batch on this many GPUs.
        lr (float): The lr the run trains with (after :class:`EffectiveBatchLRHook`).
        iterations (int): Iterations per epoch (= optimizer steps x accumulation).
        dropped (int): Videos an epoch leaves out (``drop_last``).
    """

    eff: EffectiveBatch
    lr: float
    iterations: int
    dropped: int

    @property
    def optimizer_steps(self) -> int:
        """int: Optimizer steps per epoch (iterations / accumulation, rounded down)."""
        return self.iterations // self.eff.accumulation


def gpu_scaling_table(cfg: Mapping, num_videos: int,
                      gpus: Sequence[int] = (1, 2, 4, 8, 16)) -> list[GPUScalingRow]:
    """What running a config on N GPUs changes: batch, lr, steps per epoch, dropped videos.

    The lr is the config's ``optim_wrapper.optimizer.lr`` times :func:`lr_factor` (what
    :class:`EffectiveBatchLRHook` applies) when ``auto_scale_lr.enable``, else as written.

    Args:
        cfg (Mapping): A loaded config.
        num_videos (int): Length of the training list.
        gpus (Sequence[int]): GPU counts. Defaults to (1, 2, 4, 8, 16).

    Returns:
        list[GPUScalingRow]: One row per GPU count.
    """
    auto = dict(cfg.get('auto_scale_lr') or {})
    lr = float(cfg['optim_wrapper']['optimizer']['lr'])
    drop_last = bool(cfg['train_dataloader'].get('drop_last', False))
    rows = []
    for processes in gpus:
        eff = config_effective_batch(cfg, processes)
        scaled = lr * lr_factor(eff, auto['base_batch_size']) if auto.get('enable') else lr
        steps, dropped = epoch_steps(num_videos, processes, eff.batch, drop_last)
        rows.append(GPUScalingRow(eff=eff, lr=scaled, iterations=steps, dropped=dropped))
    return rows


def format_gpu_scaling_table(rows: Sequence[GPUScalingRow]) -> str:
    """The rows as the Markdown table of docs/reproducing.md.

    Args:
        rows (Sequence[GPUScalingRow]): From :func:`gpu_scaling_table`.

    Returns:
        str: Header, separator and one line per row, no trailing newline.
    """
    lines = ['| GPUs | effective batch | lr | iterations / epoch | videos left out / epoch |',
             '|---|---|---|---|---|']
    for row in rows:
        lines.append(f'| {row.eff.processes} | {row.eff.describe()} | {row.lr:.4g} | '
                     f'{row.iterations} | {row.dropped} |')
    return '\n'.join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m umt_mm.engine.hooks.gpu_scaling CONFIG --videos N [--gpus 1 2 ...]``."""
    import argparse

    from mmengine.config import Config
    parser = argparse.ArgumentParser(description='What a run of CONFIG on N GPUs changes.')
    parser.add_argument('config')
    parser.add_argument('--videos', type=int, required=True,
                        help='length of the training list')
    parser.add_argument('--gpus', type=int, nargs='+', default=[1, 2, 4, 8, 16])
    args = parser.parse_args(argv)
    import umt_mm  # noqa: F401  (registers the datasets)
    cfg = Config.fromfile(args.config)
    print(format_gpu_scaling_table(gpu_scaling_table(cfg, args.videos, args.gpus)))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
