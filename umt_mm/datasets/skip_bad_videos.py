"""Opt-in tolerance of corrupt, truncated, empty or missing videos (a dataset wrapper)."""
from __future__ import annotations

import copy
import ctypes
import logging
import multiprocessing as mp
import os.path as osp
import random
from typing import Any

import torch
from mmaction.registry import DATASETS
from mmengine.logging import print_log

#: metainfo key of a training sample: the bad videos replaced to produce it
SKIPPED_KEY = 'umt_skipped_bad_videos'
#: metainfo key of an evaluation placeholder: ``(filename, reason)`` of the bad video
BAD_EVAL_KEY = 'umt_bad_video'


class BadVideoError(RuntimeError):
    """Too many bad videos, or a bad video in evaluation without the exclusion report."""


@DATASETS.register_module()
class SkipBadVideos:
    """Replace samples whose video cannot be read, up to a fraction of the dataset.

    Wrap any video dataset (``VideoDataset``, ``RepeatAugDataset``...)::

        train_dataloader = dict(dataset=dict(
            type='SkipBadVideos', max_fraction=0.01,
            dataset=dict(type='VideoDataset', ann_file=..., pipeline=...)))

    (``tools/train.py --skip-bad-videos 0.01`` does this for every dataloader and adds
    :class:`~umt_mm.engine.hooks.BadVideoReportHook`.) A sample fails as a *bad video*
    when loading raises an ``OSError`` (missing file, permission) or an error that names
    its file (umt_mm re-raises decord's errors with the file name; an empty video fails in
    ``UMTSampleFrames``). Any other error is a bug and is raised as it is.

    * Training: a bad video is logged once (file and reason) and replaced by a random
      other sample; the replaced videos travel with the sample (metainfo
      ``umt_skipped_bad_videos``) to the report hook, which writes the counts to the log
      and to ``<work_dir>/bad_videos_train.json``.
    * Evaluation: the bad video gets a placeholder (zeros, flagged in its metainfo) which
      :class:`~umt_mm.engine.hooks.BadVideoReportHook` leaves out of every metric and
      reports (log and ``bad_videos_{val,test}.json``). Without that hook the wrapper
      raises instead: evaluation never skips silently.
    * Either way, once more than ``max_fraction`` of the dataset's videos were bad the
      run stops with :class:`BadVideoError` listing them.

    Bad videos are counted once each, across DataLoader worker processes (a shared-memory
    flag per video; a DDP rank counts the videos it met).

    Args:
        dataset (dict | Dataset): The wrapped dataset or its config.
        max_fraction (float): Largest tolerated fraction of bad videos. Defaults to 0.01.
        max_refetch (int): Replacement attempts for one sample. Defaults to 100.
    """

    def __init__(self, dataset: Any, max_fraction: float = 0.01, max_refetch: int = 100) -> None:
        if not 0 <= max_fraction <= 1:
            raise ValueError(f'SkipBadVideos: max_fraction must be in [0, 1], got {max_fraction}')
        self.dataset = DATASETS.build(dataset) if isinstance(dataset, dict) else dataset
        self.max_fraction = max_fraction
        self.max_refetch = max_refetch
        self.eval_exclusion_enabled = False
        self._size = len(self.dataset)
        self._bad = mp.Array(ctypes.c_bool, max(self._size, 1), lock=True)
        self._num_bad = mp.Value(ctypes.c_long, 0, lock=False)
        self._reasons: dict[int, str] = {}
        self._template: dict | None = None

    # ---------------------------------------------------------------- dataset protocol
    @property
    def metainfo(self) -> dict:
        """The wrapped dataset's metainfo."""
        return copy.deepcopy(self.dataset.metainfo)

    @property
    def test_mode(self) -> bool:
        """The wrapped dataset's ``test_mode``."""
        return bool(getattr(self.dataset, 'test_mode', False))

    def full_init(self) -> None:
        """Fully initialise the wrapped dataset."""
        self.dataset.full_init()

    def get_data_info(self, idx: int) -> dict:
        """The wrapped dataset's annotation of sample ``idx``."""
        return self.dataset.get_data_info(idx)

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, idx: int) -> Any:
        if self.test_mode:
            return self._get_eval(idx)
        skipped: list[tuple[str, str]] = []
        for _ in range(self.max_refetch + 1):
            try:
                data = self.dataset[idx]
            except Exception as err:
                filename, reason = self._classify(idx, err)
                self._mark_bad(idx, filename, reason)
                skipped.append((filename, reason))
                idx = self._another(idx)
                continue
            if skipped:
                _set_metainfo(data, SKIPPED_KEY, skipped)
            return data
        raise BadVideoError(f'SkipBadVideos: no readable video found in {self.max_refetch + 1} '
                            f'attempts (last: {skipped[-1][0]}: {skipped[-1][1]})')

    # ---------------------------------------------------------------- bad videos
    @property
    def num_bad(self) -> int:
        """Distinct bad videos met so far (all worker processes of this rank)."""
        return int(self._num_bad.value)

    def bad_indices(self) -> list[int]:
        """Indices of the bad videos met so far (all worker processes of this rank)."""
        with self._bad.get_lock():
            return [i for i, flag in enumerate(self._bad[:self._size]) if flag]

    def filename(self, idx: int) -> str:
        """The video file of sample ``idx``."""
        info = self.dataset.get_data_info(idx)
        return str(info.get('filename', info.get('frame_dir', f'<sample {idx}>')))

    def _classify(self, idx: int, err: Exception) -> tuple[str, str]:
        filename = self.filename(idx)
        message = str(err)
        names_file = filename in message or osp.basename(filename) in message
        if not (isinstance(err, OSError) or names_file):
            raise err
        first_line = message.strip().splitlines()[0] if message.strip() else ''
        if first_line.startswith(f'{filename}: '):
            first_line = first_line[len(filename) + 2:]
        return filename, f'{type(err).__name__}: {first_line}'

    def _mark_bad(self, idx: int, filename: str, reason: str) -> None:
        with self._bad.get_lock():
            first = not self._bad[idx]
            if first:
                self._bad[idx] = True
                self._num_bad.value += 1
            count = self._num_bad.value
        self._reasons[idx] = reason
        limit = self.max_fraction * self._size
        if first:
            action = 'left out of the metric' if self.test_mode else 'replaced by another sample'
            print_log(f'SkipBadVideos: bad video {filename} ({reason}); {action}. '
                      f'{count} bad of {self._size} ({count / self._size:.2%}, limit '
                      f'{self.max_fraction:.2%})', logger='current', level=logging.WARNING)
        if count > limit:
            bad = [self.filename(i) for i in self.bad_indices()]
            shown = ', '.join(bad[:20]) + (f' ... ({len(bad) - 20} more)' if len(bad) > 20 else '')
            raise BadVideoError(
                f'SkipBadVideos: {count} of {self._size} videos ({count / self._size:.2%}) are '
                f'unreadable, more than max_fraction={self.max_fraction:g}; stopping. Bad '
                f'videos: {shown}. Fix or remove them from {self._ann_file()}, or raise '
                'max_fraction.')

    def _ann_file(self) -> str:
        return str(getattr(self.dataset, 'ann_file', 'the annotation file'))

    def _another(self, idx: int) -> int:
        if self.num_bad >= self._size:
            raise BadVideoError('SkipBadVideos: every video of the dataset is unreadable')
        while True:
            candidate = random.randrange(self._size)
            if candidate != idx and not self._bad[candidate]:
                return candidate

    # ---------------------------------------------------------------- evaluation
    def _get_eval(self, idx: int) -> Any:
        try:
            data = self.dataset[idx]
        except Exception as err:
            filename, reason = self._classify(idx, err)
            if not self.eval_exclusion_enabled:
                raise BadVideoError(
                    f'{filename}: {reason}. SkipBadVideos leaves bad videos out of an '
                    'evaluation only together with custom_hooks=[dict(type='
                    '"BadVideoReportHook")], which reports them; evaluation never skips '
                    'silently.') from err
            self._mark_bad(idx, filename, reason)
            return self._placeholder(idx, filename, reason)
        if self._template is None:
            self._template = data
        return data

    def _placeholder(self, idx: int, filename: str, reason: str) -> Any:
        template = self._template
        probe = idx
        while template is None:
            probe = (probe + 1) % self._size
            if probe == idx:
                raise BadVideoError('SkipBadVideos: every video of the dataset is unreadable')
            if self._bad[probe]:
                continue
            try:
                template = self.dataset[probe]
            except Exception as err:
                self._mark_bad(probe, *self._classify(probe, err))
                template = None
        self._template = template
        placeholder = _zeros_like(template)
        _set_metainfo(placeholder, BAD_EVAL_KEY, (filename, reason), replace_sample=True)
        return placeholder


def _zeros_like(data: Any) -> Any:
    if isinstance(data, list):
        return [_zeros_like(d) for d in data]
    out = dict(data)
    if isinstance(out.get('inputs'), torch.Tensor):
        out['inputs'] = torch.zeros_like(out['inputs'])
    return out


def _set_metainfo(data: Any, key: str, value: Any, replace_sample: bool = False) -> None:
    items = data if isinstance(data, list) else [data]
    for item in items:
        sample = item.get('data_samples') if isinstance(item, dict) else None
        if sample is None:
            continue
        if replace_sample:
            sample = sample.clone()
            item['data_samples'] = sample
        sample.set_metainfo({key: value})
        if not replace_sample:
            return  # a training sample carries its skipped videos once
