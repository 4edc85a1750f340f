"""Log the data time's share of each training iteration; warn once when the loader bounds it."""
from __future__ import annotations

import logging
import math
import os
from collections import deque

from mmaction.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.logging import print_log


def suggested_workers(num_workers: int, iter_time: float, data_time: float) -> int:
    """DataLoader workers that would keep up with the model.

    While the loader is the bottleneck each worker delivers a batch every
    ``max(num_workers, 1) * iter_time`` seconds (with ``num_workers = 0`` the main process
    loads, taking ``data_time``); the model needs one every ``iter_time - data_time``
    (its compute). So ``ceil(batch time / compute time)`` workers keep it busy.

    Args:
        num_workers (int): Workers now (0: loading in the main process).
        iter_time (float): Mean iteration time (s).
        data_time (float): Mean time waiting for data per iteration (s).

    Returns:
        int: The suggested worker count (at least ``num_workers + 1``).
    """
    compute = max(iter_time - data_time, 1e-6)
    batch_time = data_time if num_workers == 0 else num_workers * iter_time
    return max(num_workers + 1, math.ceil(batch_time / compute))


@HOOKS.register_module()
class DataTimeHook(Hook):
    """Put ``data_share`` (data time / iteration time) into the training log, and warn once
    when, averaged over ``window`` iterations after ``warmup`` iterations, it is above
    ``threshold``: the GPUs wait for the data loader. The warning suggests a worker count
    (:func:`suggested_workers`) and, when that is more than the cores available per
    process, prepared data (``tools/data/reencode_videos.py``, ``extract_frames.py``; see
    docs/data_pipeline.md).

    Runs after ``IterTimerHook`` (which measures ``data_time`` and ``time``) and before
    ``LoggerHook``. On by default through ``configs/_base_/default_runtime.py``.

    Args:
        warmup (int): Iterations ignored at the start (worker start-up, first batches).
            Defaults to 20.
        window (int): Iterations averaged. Defaults to 50.
        threshold (float): Data share above which the loader is reported as the
            bottleneck. Defaults to 0.1.
    """

    priority = 55  # after IterTimerHook (NORMAL, 50), before LoggerHook (BELOW_NORMAL, 60)

    def __init__(self, warmup: int = 20, window: int = 50, threshold: float = 0.1) -> None:
        if window < 1 or warmup < 0 or not 0 < threshold < 1:
            raise ValueError('DataTimeHook: window >= 1, warmup >= 0 and 0 < threshold < 1 '
                             f'needed, got {window}, {warmup}, {threshold}')
        self.warmup = warmup
        self.window = window
        self.threshold = threshold
        self.warned = False
        self._seen = 0
        self._times: deque = deque(maxlen=window)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        """Record this iteration's data share; check the window once it is full."""
        hub = runner.message_hub
        data_buffer, time_buffer = hub.log_scalars.get('train/data_time'), \
            hub.log_scalars.get('train/time')
        if data_buffer is None or time_buffer is None:
            return  # no IterTimerHook
        data_time, iter_time = float(data_buffer.current()), float(time_buffer.current())
        if iter_time <= 0:
            return
        hub.update_scalar('train/data_share', data_time / iter_time)
        self._seen += 1
        if self._seen <= self.warmup:
            return
        self._times.append((data_time, iter_time))
        if self.warned or len(self._times) < self.window:
            return
        mean_data = sum(d for d, _ in self._times) / len(self._times)
        mean_iter = sum(t for _, t in self._times) / len(self._times)
        share = mean_data / mean_iter
        if share <= self.threshold:
            return
        self.warned = True
        workers = int(getattr(runner.train_dataloader, 'num_workers', 0) or 0)
        needed = suggested_workers(workers, mean_iter, mean_data)
        local = int(os.environ.get('LOCAL_WORLD_SIZE', '1') or 1)
        cores = max((os.cpu_count() or 1) // max(local, 1), 1)
        advice = (f'set train_dataloader.num_workers={needed}' if needed <= cores else
                  f'{needed} workers is more than the {cores} cores per process here: prepare '
                  'the data (tools/data/reencode_videos.py: short GOPs, or '
                  'tools/data/extract_frames.py with a configs/rawframes/ recipe; '
                  'docs/data_pipeline.md)')
        print_log(f'DataTimeHook: the data loader is the bottleneck: {share:.0%} of each '
                  f'iteration waits for data ({mean_data * 1e3:.0f} of {mean_iter * 1e3:.0f} ms, '
                  f'mean of {len(self._times)} iterations) with num_workers={workers}; '
                  f'{advice}.', logger='current', level=logging.WARNING)
