"""Count and report the bad videos :class:`~umt_mm.datasets.SkipBadVideos` met."""
from __future__ import annotations

import json
import logging
import os.path as osp
from typing import Any

from mmaction.registry import HOOKS
from mmengine.dist import all_gather_object, get_dist_info, is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log

from umt_mm.datasets.skip_bad_videos import BAD_EVAL_KEY, SKIPPED_KEY, SkipBadVideos

#: marks the metric result of a left-out evaluation video
_SENTINEL = '__umt_mm_bad_video__'


def find_skip_wrapper(dataset: Any) -> SkipBadVideos | None:
    """The :class:`SkipBadVideos` in ``dataset`` (itself or a ``.dataset`` chain), or None."""
    for _ in range(8):
        if isinstance(dataset, SkipBadVideos):
            return dataset
        dataset = getattr(dataset, 'dataset', None)
        if dataset is None:
            return None
    return None


@HOOKS.register_module()
class BadVideoReportHook(Hook):
    """Report the videos :class:`~umt_mm.datasets.SkipBadVideos` replaced or left out.

    * Training: the bad videos (file, reason) and their count are logged at the end of
      each epoch with any, and written at the end of training to
      ``<work_dir>/bad_videos_train.json`` (all ranks together).
    * Evaluation: the hook turns on the wrapper's placeholders and removes them from
      every metric of the evaluator (each placeholder's result is replaced by a marker
      that the metric's ``compute_metrics`` never sees), so the metric is computed on the
      readable videos; the left-out videos are logged and written to
      ``<work_dir>/bad_videos_{val,test}.json`` and the metric count
      ``bad_videos_left_out`` is added to the evaluation results.

    Args:
        out_dir (str, optional): Folder of the json files. Defaults to None (work dir).
    """

    priority = 'NORMAL'  # before the LoggerHook, which logs the evaluation metrics

    def __init__(self, out_dir: str | None = None) -> None:
        self.out_dir = out_dir
        self.train_reasons: dict[str, str] = {}
        self._left_out: dict[str, list[dict]] = {}
        self._logged_train = 0

    # ---------------------------------------------------------------- training
    def after_train_iter(self, runner, batch_idx: int, data_batch: Any = None,
                         outputs: Any = None) -> None:
        """Collect the replaced videos carried by the batch's samples."""
        if not isinstance(data_batch, dict):
            return
        samples = data_batch.get('data_samples') or []
        for sample in samples:
            for filename, reason in sample.metainfo.get(SKIPPED_KEY, ()):
                self.train_reasons.setdefault(filename, reason)

    def after_train_epoch(self, runner) -> None:
        """Log the count when new bad videos were met in this epoch."""
        wrapper = find_skip_wrapper(runner.train_dataloader.dataset)
        if wrapper is not None and wrapper.num_bad > self._logged_train:
            self._logged_train = wrapper.num_bad
            print_log(f'BadVideoReportHook: {wrapper.num_bad} of {len(wrapper)} training videos '
                      f'were unreadable so far (rank {get_dist_info()[0]}) and replaced',
                      logger='current', level=logging.WARNING)

    def after_train(self, runner) -> None:
        """Write ``bad_videos_train.json`` and log the totals."""
        wrapper = find_skip_wrapper(runner.train_dataloader.dataset)
        if wrapper is None:
            return
        local = {}
        for idx in wrapper.bad_indices():
            name = wrapper.filename(idx)
            local[name] = self.train_reasons.get(name, wrapper._reasons.get(idx, 'see the log'))
        merged: dict[str, str] = {}
        for part in all_gather_object(local):
            merged.update(part)
        self._write(runner, 'train', len(wrapper), wrapper.max_fraction,
                    [dict(filename=k, reason=v) for k, v in sorted(merged.items())],
                    action='replaced by other samples')

    # ---------------------------------------------------------------- evaluation
    def before_val(self, runner) -> None:
        """Enable placeholders and the metric filter for validation."""
        self._install(runner.val_loop, 'val')

    def before_test(self, runner) -> None:
        """Enable placeholders and the metric filter for testing."""
        self._install(runner.test_loop, 'test')

    def after_val_epoch(self, runner, metrics: dict | None = None) -> None:
        """Report the videos left out of the validation metric."""
        self._report_eval(runner, 'val', runner.val_loop, metrics)

    def after_test_epoch(self, runner, metrics: dict | None = None) -> None:
        """Report the videos left out of the test metric."""
        self._report_eval(runner, 'test', runner.test_loop, metrics)

    def _install(self, loop, split: str) -> None:
        wrapper = find_skip_wrapper(loop.dataloader.dataset)
        if wrapper is None:
            return
        wrapper.eval_exclusion_enabled = True
        self._left_out[split] = []
        for metric in loop.evaluator.metrics:
            if not getattr(metric, '_umt_excludes_bad', False):
                self._wrap_metric(metric, split)

    def _wrap_metric(self, metric, split: str) -> None:
        process, compute = metric.process, metric.compute_metrics

        def filtered_process(data_batch: Any, data_samples: list) -> None:
            for sample in data_samples:
                meta = sample.metainfo if hasattr(sample, 'metainfo') else sample.get(
                    'metainfo', sample)
                bad = meta.get(BAD_EVAL_KEY) if isinstance(meta, dict) else None
                if bad is None:
                    process(data_batch, [sample])
                else:
                    metric.results.append({_SENTINEL: bad[0], 'reason': bad[1]})

        def filtered_compute(results: list) -> dict:
            kept = [r for r in results if not (isinstance(r, dict) and _SENTINEL in r)]
            left = {r[_SENTINEL]: r['reason'] for r in results
                    if isinstance(r, dict) and _SENTINEL in r}
            self._left_out[split] = [dict(filename=k, reason=v) for k, v in sorted(left.items())]
            out = compute(kept) if kept else {}
            if not kept:
                print_log('BadVideoReportHook: every evaluation video was unreadable; no '
                          'metric', logger='current', level=logging.ERROR)
            return out

        metric.process = filtered_process
        metric.compute_metrics = filtered_compute
        metric._umt_excludes_bad = True

    def _report_eval(self, runner, split: str, loop, metrics: dict | None) -> None:
        wrapper = find_skip_wrapper(loop.dataloader.dataset)
        if wrapper is None:
            return
        left = self._left_out.get(split, [])
        if metrics is not None:
            metrics['bad_videos_left_out'] = len(left)
        # RuntimeInfoHook (VERY_HIGH) has already copied the metrics for the LoggerHook
        runner.message_hub.update_scalar(f'{split}/bad_videos_left_out', len(left))
        self._write(runner, split, len(wrapper), wrapper.max_fraction, left,
                    action='left out of the metric')

    # ---------------------------------------------------------------- output
    def _write(self, runner, split: str, size: int, max_fraction: float, videos: list[dict],
               action: str) -> None:
        if not is_main_process():
            return
        report = dict(split=split, dataset_size=size, num_bad=len(videos),
                      fraction=len(videos) / size if size else 0.0, max_fraction=max_fraction,
                      action=action, videos=videos)
        out_dir = self.out_dir or runner.work_dir
        path = osp.join(out_dir, f'bad_videos_{split}.json')
        from umt_mm.engine.atomic_writes import write_atomically
        write_atomically(json.dumps(report, indent=2).encode(), path)
        level = logging.WARNING if videos else logging.INFO
        listed = ''.join(f'\n  {v["filename"]}: {v["reason"]}' for v in videos)
        print_log(f'BadVideoReportHook: {split}: {len(videos)} of {size} videos unreadable, '
                  f'{action}; report {path}{listed}', logger='current', level=level)
