"""Iteration checkpoints at a fixed fraction of an epoch, beside the epoch checkpoints."""
from __future__ import annotations

import time
from collections import deque

from mmaction.registry import HOOKS
from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook

#: message-hub key of this hook's kept checkpoints (CheckpointHook uses 'keep_ckpt_ids')
KEEP_KEY = 'umt_mm_iter_keep_ckpt_ids'


@HOOKS.register_module()
class EpochFractionCheckpointHook(CheckpointHook):
    """Save ``iter_<n>.pth`` every ``fraction`` of an epoch (at most), keeping the last few.

    Meant to run beside the recipes' epoch ``CheckpointHook`` (best and last epochs) so that
    a run killed mid-epoch loses at most ``fraction`` of an epoch; with
    :class:`~umt_mm.engine.hooks.ExactResumeHook` the resumed run continues exactly. The
    interval is ``max(1, floor(iterations per epoch x fraction))``, computed when training
    starts (it depends on the GPU count and the list length). Its kept checkpoints are
    tracked under a message-hub key of its own, so neither hook deletes the other's files
    after a resume (MMEngine's ``CheckpointHook`` keeps its list under ``keep_ckpt_ids``).

    Args:
        fraction (float): Largest share of an epoch between two checkpoints, in (0, 1].
            Defaults to 0.1.
        max_keep_ckpts (int): Iteration checkpoints kept (older ones are deleted); -1 keeps
            all. Defaults to 2.
        max_overhead (float, optional): Largest share of the training time spent writing
            these checkpoints: a checkpoint that is due by ``fraction`` waits (iteration by
            iteration) until the time trained since the last one is at least its writing time
            divided by ``max_overhead``; rank 0 decides and broadcasts, so every rank saves at
            the same iteration. None saves every ``fraction`` whatever it costs.
            Defaults to None.
        **kwargs: Other ``CheckpointHook`` arguments (``out_dir``, ``save_optimizer``, ...);
            ``interval``, ``by_epoch``, ``save_best`` and ``save_last`` are set here.

    Examples:
        >>> default_hooks = dict(
        ...     exact_resume=dict(type='ExactResumeHook'),
        ...     iter_checkpoint=dict(type='EpochFractionCheckpointHook', fraction=0.1,
        ...                          max_keep_ckpts=2))
    """

    priority = 'VERY_LOW'

    def __init__(self, fraction: float = 0.1, max_keep_ckpts: int = 2,
                 max_overhead: float | None = None, **kwargs) -> None:
        for key in ('interval', 'by_epoch', 'save_best', 'save_last'):
            if key in kwargs:
                raise TypeError(f'EpochFractionCheckpointHook sets {key!r} itself')
        if not 0.0 < fraction <= 1.0:
            raise ValueError(f'fraction must be in (0, 1], got {fraction}')
        super().__init__(interval=1, by_epoch=False, save_best=None, save_last=False,
                         max_keep_ckpts=max_keep_ckpts, **kwargs)
        self.fraction = float(fraction)
        if max_overhead is not None and not 0.0 < max_overhead < 1.0:
            raise ValueError(f'max_overhead must be in (0, 1), got {max_overhead}')
        self.max_overhead = max_overhead
        self._last_write_s: float | None = None
        self._since = time.perf_counter()
        self._pending = False
        self.deferred = 0

    def before_train(self, runner) -> None:
        """Set the interval from the epoch length; restore this hook's kept list."""
        keep = self.max_keep_ckpts
        self.max_keep_ckpts = -1  # the parent would read (and prune) the epoch hook's list
        try:
            super().before_train(runner)
        finally:
            self.max_keep_ckpts = keep
        self._since = time.perf_counter()
        self.interval = max(1, int(len(runner.train_dataloader) * self.fraction))
        runner.logger.info(f'EpochFractionCheckpointHook: iter_<n>.pth every {self.interval} '
                           f'iterations ({self.fraction:g} of an epoch of '
                           f'{len(runner.train_dataloader)}), the last {self.max_keep_ckpts} '
                           'kept')
        if self.max_keep_ckpts > 0:
            ids = list(runner.message_hub.runtime_info.get(KEEP_KEY, []))
            while len(ids) > self.max_keep_ckpts:
                self._remove(ids.pop(0))
            self.keep_ckpt_ids = deque(ids, self.max_keep_ckpts)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        """Save every ``interval`` iterations; with ``max_overhead``, a due checkpoint waits
        until the training time since the last one pays for its writing time."""
        if self.max_overhead is None:
            return super().after_train_iter(runner, batch_idx, data_batch, outputs)
        self._pending = self._pending or self.every_n_train_iters(runner, self.interval,
                                                                  self.save_begin)
        if not self._pending:
            return
        if self._last_write_s is not None:
            import torch
            from mmengine.dist import broadcast
            trained = time.perf_counter() - self._since
            due = torch.tensor([int(trained * self.max_overhead >= self._last_write_s)])
            broadcast(due, 0)  # one decision for every rank (FSDP saves are collective)
            if not int(due.item()):
                self.deferred += 1
                return
        runner.logger.info(f'Saving checkpoint at {runner.iter + 1} iterations')
        start = time.perf_counter()
        self._save_checkpoint(runner)
        self._last_write_s = time.perf_counter() - start
        self._since = time.perf_counter()
        self._pending = False

    def _remove(self, step: int) -> None:
        if not is_main_process():
            return
        path = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(step))
        if self.file_backend.isfile(path):
            self.file_backend.remove(path)

    def _save_checkpoint_with_step(self, runner, step, meta):
        """As ``CheckpointHook``, with the kept list under :data:`KEEP_KEY`."""
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and
                                            self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                self._remove(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info(KEEP_KEY, list(self.keep_ckpt_ids))
        keep = self.max_keep_ckpts
        self.max_keep_ckpts = -1  # the parent's bookkeeping (and 'keep_ckpt_ids') untouched
        try:
            super()._save_checkpoint_with_step(runner, step, meta)
        finally:
            self.max_keep_ckpts = keep
