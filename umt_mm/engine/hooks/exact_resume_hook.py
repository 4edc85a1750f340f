"""Resume a run killed mid-epoch so that it continues exactly as if never interrupted."""
from __future__ import annotations

import logging
import random
from typing import Any, Iterator

import numpy as np
import torch
from mmaction.registry import HOOKS
from mmengine.dist import get_dist_info
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.runner import EpochBasedTrainLoop

_SAMPLE, _ITERATION = 0, 1  # seed streams: data pipeline, training iteration


def reseed_all(seed: int, *keys: int) -> None:
    """Seed ``random``, numpy and torch (CPU and CUDA) from ``seed`` and ``keys``.

    Args:
        seed (int): The run's seed.
        *keys (int): What the state depends on (stream, epoch, position, rank...).
    """
    state = np.random.SeedSequence([seed % 2 ** 32, *keys]).generate_state(3, dtype=np.uint32)
    random.seed(int(state[0]))
    np.random.seed(int(state[1]))
    torch.manual_seed((int(state[2]) << 31) ^ int(state[0]))


class PositionedIndex(int):
    """A dataset index that also carries its epoch and position in the epoch."""

    epoch: int
    position: int

    def __new__(cls, index: int, epoch: int, position: int) -> PositionedIndex:
        obj = super().__new__(cls, index)
        obj.epoch = epoch
        obj.position = position
        return obj

    def __reduce__(self):  # keep the tags when sent to DataLoader workers
        return PositionedIndex, (int(self), self.epoch, self.position)


class ResumableSampler:
    """Wraps the sampler of a batch sampler: skips batches once, tags indices with positions.

    Args:
        sampler: The original sampler (its ``set_epoch`` and ``epoch`` are used).
        batch_size (int): Samples per batch on this rank.
    """

    def __init__(self, sampler, batch_size: int) -> None:
        self.sampler = sampler
        self.batch_size = batch_size
        self.skip_batches = 0

    def set_epoch(self, epoch: int) -> None:
        """Forwarded to the original sampler."""
        if hasattr(self.sampler, 'set_epoch'):
            self.sampler.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.sampler)

    def __iter__(self) -> Iterator[int]:
        epoch = int(getattr(self.sampler, 'epoch', 0))
        skip, self.skip_batches = self.skip_batches * self.batch_size, 0
        for position, index in enumerate(self.sampler):
            if position >= skip:
                yield PositionedIndex(index, epoch, position)


class PositionSeededDataset:
    """Reseeds every RNG from ``(seed, epoch, position)`` before loading a sample.

    The augmentations of a sample then depend neither on the process (main or DataLoader
    worker) that loads it nor on what that process loaded before.

    Args:
        dataset: The wrapped dataset.
        seed (int): The run's seed.
        rank_key (int): Mixed into the seeds. Defaults to 0.
    """

    def __init__(self, dataset: Any, seed: int, rank_key: int = 0) -> None:
        self.dataset = dataset
        self.seed = seed
        self.rank_key = rank_key

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, idx):
        if isinstance(idx, PositionedIndex):
            reseed_all(self.seed, _SAMPLE, idx.epoch, idx.position, self.rank_key)
        return self.dataset[int(idx)]

    def __getattr__(self, name: str):
        if name == 'dataset':  # not yet set (unpickling)
            raise AttributeError(name)
        return getattr(self.dataset, name)


@HOOKS.register_module()
class ExactResumeHook(Hook):
    """Make ``--resume`` from a mid-epoch checkpoint continue exactly like an unbroken run.

    MMEngine restores the model, optimizer, lr schedule, epoch and iteration, but an
    ``EpochBasedTrainLoop`` resumed mid-epoch restarts the epoch from its first batch, and
    no random state is restored. This hook

    * skips, in the resumed epoch, the batches the checkpoint has already trained on (by
      index, in the sampler: no video is decoded for them);
    * makes all randomness a function of the seed and the position in training, so nothing
      has to be stored in the checkpoint: a sample's augmentations are seeded from
      ``(seed, epoch, position in the epoch)`` right before it is loaded (in whichever
      process loads it, so this holds with DataLoader workers too), and the iteration's
      own randomness (drop path, dropout, mixup) from ``(seed, iteration)`` before it runs.

    The losses after ``--resume`` then equal those of an uninterrupted run with the same
    seed (``randomness=dict(seed=..., deterministic=True)``). Checkpoint by iterations so
    that a killed run loses little, e.g.
    ``default_hooks.checkpoint = dict(type='CheckpointHook', interval=1000, by_epoch=False)``
    (checkpoints are written atomically, :mod:`umt_mm.engine.atomic_writes`).
    ``IterBasedTrainLoop`` replays the trained batches itself (MMEngine); the seeding keeps
    them identical.

    Args:
        seed (int, optional): Base seed. Defaults to None (the runner's seed).
    """

    priority = 'VERY_HIGH'

    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed
        self._seed = 0
        self._rank_key = 0

    def before_train(self, runner) -> None:
        """Wrap the training sampler and dataset; set the skip when resumed mid-epoch."""
        loader = runner.train_loop.dataloader
        batch_sampler = getattr(loader, 'batch_sampler', None)
        if batch_sampler is None or not hasattr(batch_sampler, 'sampler'):
            raise TypeError('ExactResumeHook needs a DataLoader with a batch sampler that has '
                            f'a `sampler` attribute, got {type(batch_sampler).__name__}')
        batch_size = loader.batch_size or batch_sampler.batch_size
        self._seed = self.seed if self.seed is not None else (runner.seed or 0)
        randomness = runner.cfg.get('randomness', {}) if runner.cfg else {}
        if randomness and randomness.get('diff_rank_seed', False):
            self._rank_key = get_dist_info()[0]
        sampler = batch_sampler.sampler
        if not isinstance(sampler, ResumableSampler):
            sampler = ResumableSampler(sampler, batch_size)
            batch_sampler.sampler = sampler
        if not isinstance(loader.dataset, PositionSeededDataset):
            # DataLoader forbids re-assigning ``dataset``; its iterators read the attribute
            object.__setattr__(loader, 'dataset', PositionSeededDataset(
                loader.dataset, self._seed, self._rank_key))
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

    def before_train_iter(self, runner, batch_idx: int, data_batch: Any = None) -> None:
        """Seed the iteration's own randomness from ``(seed, iteration)``."""
        reseed_all(self._seed, _ITERATION, runner.iter, self._rank_key)
