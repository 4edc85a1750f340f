"""AVAMetric that also writes the per-class APs, a table and the detections to the work dir."""
from __future__ import annotations

import json
import os
import os.path as osp
import tempfile

from mmaction.evaluation import AVAMetric, results2csv
from mmaction.registry import METRICS
from mmengine.dist import is_main_process
from mmengine.logging import MMLogger

from .ava_frame_map import ava_frame_map, format_ava_table


@METRICS.register_module()
class UMTAVAMetric(AVAMetric):
    """MMAction2's ``AVAMetric`` (frame mAP@0.5IoU, prefix ``mAP``) with per-class output.

    The returned metrics are MMAction2's (``mAP/overall``, ``mAP/person_movement``,
    ``mAP/object_manipulation``, ``mAP/person_interaction``), computed by
    :func:`umt_mm.evaluation.ava_frame_map` under the official AVA protocol (excluded
    timestamps ignored entirely, detections on timestamps without ground truth false
    positives, undetected classes AP 0) or, with ``protocol='mmaction'``, exactly as
    MMAction2's ``AVAMetric``. Each evaluation also writes, to ``out_dir``:

    * ``ava_map.json``: overall, group and per-class AP with ground-truth counts;
    * ``ava_map.txt``: the same as a readable table;
    * ``ava_detections.csv``: the detections in the AVA submission format.

    Args:
        out_dir (str, optional): Where to write. None means the runner's work dir
            (found from the current ``MMLogger``'s log file,
            ``<work_dir>/<timestamp>/<timestamp>.log``); when there is no log file
            nothing is written. Defaults to None.
        num_workers (int): Processes for the per-frame matching. Defaults to 0.
        protocol (str): ``'official'`` or ``'mmaction'`` (see
            :func:`umt_mm.evaluation.ava_frame_map`). Defaults to 'official'.
        **kwargs: :class:`AVAMetric` arguments (``ann_file``, ``exclude_file``,
            ``label_file``, ``action_thr``, ``num_classes``, ``custom_classes``...).
    """

    def __init__(self, *args, out_dir: str | None = None, num_workers: int = 0,
                 protocol: str = 'official', **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if protocol not in ('official', 'mmaction'):
            raise ValueError(f"protocol must be 'official' or 'mmaction', got {protocol!r}")
        self.protocol = protocol
        self.out_dir = out_dir
        self.num_workers = num_workers

    def _resolve_out_dir(self) -> str | None:
        if self.out_dir is not None:
            return self.out_dir
        log_file = getattr(MMLogger.get_current_instance(), 'log_file', None)
        if not log_file:
            return None
        return osp.dirname(osp.dirname(osp.abspath(log_file)))

    def compute_metrics(self, results: list) -> dict:
        """Evaluate, write the files, return the overall and group mAPs."""
        logger = MMLogger.get_current_instance()
        out_dir = self._resolve_out_dir() if is_main_process() else None
        with tempfile.TemporaryDirectory() as tmp:
            csv_file = osp.join(tmp, 'ava_detections.csv')
            results2csv(results, csv_file, self.custom_classes)
            evaluated = ava_frame_map(
                csv_file, self.label_file, self.ann_file, self.exclude_file,
                custom_classes=None if self.custom_classes is None else self.custom_classes[1:],
                num_workers=self.num_workers, protocol=self.protocol)
            table = format_ava_table(evaluated)
            logger.info('\n' + table)
            if out_dir is not None:
                os.makedirs(out_dir, exist_ok=True)
                with open(osp.join(out_dir, 'ava_map.json'), 'w') as f:
                    json.dump(evaluated, f, indent=2)
                with open(osp.join(out_dir, 'ava_map.txt'), 'w') as f:
                    f.write(table)
                with open(csv_file) as src, open(osp.join(out_dir, 'ava_detections.csv'),
                                                 'w') as dst:
                    dst.write(src.read())
                logger.info(f'AVA per-class mAP written to {osp.join(out_dir, "ava_map.json")}')
        return {k: v for k, v in evaluated.items() if k != 'per_class'}
