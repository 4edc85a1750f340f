"""Resume a run killed mid-epoch so that it continues exactly as if never interrupted."""
from __future__ import annotations

import logging
import random
from typing import Iterator

import numpy as np
import torch
from mmaction.registry import HOOKS
from mmengine.dist import get_dist_info
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.runner import EpochBasedTrainLoop


def reseed_all(seed: int, *keys: int) -> None:
    """Seed ``random``, numpy and torch (CPU and CUDA) from ``seed`` and ``keys``.

    Args:
        seed (int): The run's seed.
        *keys (int): What the state depends on (epoch, batch, rank...).
    """
    state = np.random.SeedSequence([seed % 2 ** 32, *keys]).generate_state(3, dtype=np.uint32)
    random.seed(int(state[0]))
    np.random.seed(int(state[1]))
    torch.manual_seed((int(state[2]) << 31) ^ int(state[0]))


class ResumableSampler:
    """Wraps the sampler of a batch sampler: skips batches once, reseeds before each batch.

    Args:
        sampler: The original sampler (its ``set_epoch`` and ``epoch`` are used).
        batch_size (int): Samples per batch on this rank.
        seed (int): The run's seed.
        rank_key (int): Mixed into the seeds (the rank with ``diff_rank_seed``, else 0).
    """

    def __init__(self, sampler, batch_size: int, seed: int, rank_key: int = 0) -> None:
        self.sampler = sampler
        self.batch_size = batch_size
        self.seed = seed
        self.rank_key = rank_key
        self.skip_batches = 0

    def set_epoch(self, epoch: int) -> None:
        """Forwarded to the original sampler."""
        if hasattr(self.sampler, 'set_epoch'):
            self.sampler.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.sampler)

    def __iter__(self) -> Iterator[int]:
        epoch = int(getattr(self.sampler, 'epoch', 0))
        skip, self.skip_batches = self.skip_batches, 0
        position = 0
        for index in self.sampler:
            if position < skip * self.batch_size:
                position += 1
                continue
            if position % self.batch_size == 0:
                # the batch sampler asks for the first index of a batch right before that
                # batch is loaded: the random state of its augmentations and of the
                # iteration that trains on it depends only on (seed, epoch, batch)
                reseed_all(self.seed, epoch, position // self.batch_size, self.rank_key)
            position += 1
            yield index


@HOOKS.register_module()
class ExactResumeHook(Hook):
    """Make ``--resume`` from a mid-epoch checkpoint continue exactly like an unbroken run.

    MMEngine restores the model, optimizer, lr schedule, epoch and iteration, but an
    ``EpochBasedTrainLoop`` resumed mid-epoch restarts the epoch from its first batch, and
    no random state is restored. This hook

    * skips, in the resumed epoch, the batches the checkpoint has already trained on (by
      index, in the sampler: no video is decoded for them);
    * makes every batch's randomness (augmentations, drop path, dropout, mixup) a function
      of ``(seed, epoch, batch index)``: right before a batch is loaded, ``random``,
      numpy and torch are reseeded from them. Nothing has to be stored in the checkpoint,
      and the losses after ``--resume`` equal those of an uninterrupted run with the same
      seed (``randomness=dict(seed=..., deterministic=True)``).

    Checkpoint by iterations so that a killed run loses little, e.g.
    ``default_hooks.checkpoint = dict(type='CheckpointHook', interval=1000, by_epoch=False)``
    (checkpoints are written atomically, see :func:`umt_mm.compat.fix_atomic_local_writes`).

    Exactness covers ``num_workers=0``. With worker processes the model, optimizer, lr
    schedule, sampler position and main-process randomness are restored, but the random
    augmentations of the resumed epoch differ, because each worker's random stream
    restarts from the worker seed. ``IterBasedTrainLoop`` replays the trained batches
    itself (MMEngine), the reseeding keeps them identical.

    Args:
        seed (int, optional): Base seed. Defaults to None (the runner's seed).
    """

    priority = 'VERY_HIGH'

    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed

    def before_train(self, runner) -> None:
        """Wrap the training sampler; set its skip when resumed in the middle of an epoch."""
        loader = runner.train_loop.dataloader
        batch_sampler = getattr(loader, 'batch_sampler', None)
        if batch_sampler is None or not hasattr(batch_sampler, 'sampler'):
            raise TypeError('ExactResumeHook needs a DataLoader with a batch sampler that has '
                            f'a `sampler` attribute, got {type(batch_sampler).__name__}')
        batch_size = loader.batch_size or batch_sampler.batch_size
        seed = self.seed if self.seed is not None else runner.seed
        rank_key = 0
        randomness = runner.cfg.get('randomness', {}) if runner.cfg else {}
        if randomness and randomness.get('diff_rank_seed', False):
            rank_key = get_dist_info()[0]
        sampler = batch_sampler.sampler
        if not isinstance(sampler, ResumableSampler):
            sampler = ResumableSampler(sampler, batch_size, seed, rank_key)
            batch_sampler.sampler = sampler
        if isinstance(runner.train_loop, EpochBasedTrainLoop):
            # an iteration checkpoint stores the epoch it was saved in; an epoch
            # checkpoint the number of finished epochs (then nothing is left to skip)
            done = runner.iter - runner.epoch * len(loader)
            if 0 < done <= len(loader):
                # done == len: saved after the epoch's last batch but before its end:
                # the epoch's end (epoch-based lr steps, validation) still has to run
                sampler.skip_batches = done
                print_log(f'ExactResumeHook: resuming epoch {runner.epoch + 1} after batch '
                          f'{done} of {len(loader)} (the trained batches are skipped)',
                          logger='current', level=logging.WARNING)
