"""MMAction2's AVADataset with the reference's proposal policy, checked rows and a report."""
from __future__ import annotations

import math
import os.path as osp
from collections import defaultdict

import numpy as np
from mmaction.datasets import AVADataset
from mmaction.datasets.base import BaseActionDataset
from mmaction.evaluation import read_labelmap
from mmaction.registry import DATASETS
from mmengine.logging import MMLogger


@DATASETS.register_module()
class UMTAVADataset(AVADataset):
    """AVA v2.2 clips (frame folders or whole videos) for the UMT detector.

    Same arguments, files and records as MMAction2's :class:`AVADataset`, plus:

    * **Rows are checked** when the dataset is built: a row that is not
      ``video_id,timestamp,x1,y1,x2,y2,action_id[,person_id]`` with numbers where numbers
      belong, an action id the head cannot represent (outside ``1..num_classes-1``) or a
      box with ``x2 <= x1`` / ``y2 <= y1`` raises ``ValueError`` naming the file and the
      line; so does a malformed exclusion row and a proposal entry that is not an
      ``(n, 4)`` / ``(n, 5)`` array.
    * **Boxes outside [0, 1]** (ground truth or proposals) within ``box_tolerance`` are
      clipped to the frame (AVA boxes are normalised); farther out (e.g. pixel boxes)
      they are an error.
    * **Action ids outside the label map** (the 20 AVA classes that v2.2 does not
      evaluate) are trained on, as the reference does, and left out of the evaluation by
      ``AVAMetric``, as the AVA protocol does; with ``custom_classes`` rows of other ids
      are dropped (MMAction2's behaviour).
    * **Excluded timestamps** are removed, as MMAction2 and the AVA evaluation do.
    * **Proposals** (``proposal_file``): boxes with score ``>= person_det_score_thr``
      (0.8 in the reference), without MMAction2's fallback to the best box below the
      threshold unless ``keep_best_proposal``. In test mode a timestamp without any such
      box has no prediction (the reference drops it; its ground truth then counts as
      missed by the AVA evaluation, as the protocol requires) instead of MMAction2's
      whole-frame box. Without ``proposal_file`` (training on ground truth, as the
      reference) the ground-truth boxes are the proposals. The person scores travel as
      ``proposal_scores`` (pack them with ``PackActionInputs(algorithm_keys=
      ('proposal_scores',))``).

    * **Unannotated timestamps** (``include_unannotated``, test mode): the reference (and
      the official AVA evaluation) also predicts on the timestamps of the annotated videos
      that have person boxes but no ground-truth row, where every detection is a false
      positive; MMAction2 only visits annotated timestamps. With this switch those
      timestamps are added (with empty ground truth); ``UMTAVAMetric``'s official protocol
      scores their detections as false positives.

    Every count (rows, clipped boxes, unlisted action ids, excluded timestamps, timestamps
    without proposals, clipped or dropped proposals) is logged once when the dataset is
    built and kept in :attr:`report`.

    Args:
        keep_best_proposal (bool): MMAction2's fallback: keep the best box when none
            passes the threshold. Defaults to False (the reference).
        box_tolerance (float): How far outside [0, 1] a coordinate may be and still be
            clipped. Defaults to 0.05.
        include_unannotated (bool): In test mode with proposals, also the proposal
            timestamps of annotated videos without ground truth. Defaults to False.
        **kwargs: :class:`AVADataset` arguments (``ann_file``, ``pipeline``,
            ``exclude_file``, ``label_file``, ``proposal_file``,
            ``person_det_score_thr``, ``num_classes``, ``custom_classes``,
            ``data_prefix``, ``use_frames``, ``fps``, ``timestamp_start``...).
    """

    def __init__(self, *args, keep_best_proposal: bool = False, box_tolerance: float = 0.05,
                 include_unannotated: bool = False, lazy_init: bool = False,
                 **kwargs) -> None:
        self.keep_best_proposal = keep_best_proposal
        self.include_unannotated = include_unannotated
        self.box_tolerance = float(box_tolerance)
        self.report: dict = defaultdict(int)
        super().__init__(*args, lazy_init=True, **kwargs)
        if self.proposals is not None:
            self.proposals = self._prepare_proposals(self.proposals)
        if not lazy_init:
            self.full_init()
            self._log_report()

    # ------------------------------------------------------------------ checks
    def _check_box(self, values: list[float], where: str) -> tuple:
        tol = self.box_tolerance
        if not all(math.isfinite(v) and -tol <= v <= 1 + tol for v in values):
            raise ValueError(f'{where}: box {values} is not normalised to [0, 1] (AVA boxes are '
                             'x1,y1,x2,y2 divided by the frame width / height)')
        clipped = [min(max(v, 0.0), 1.0) for v in values]
        if clipped != values:
            self.report['boxes_clipped'] += 1
        if clipped[2] <= clipped[0] or clipped[3] <= clipped[1]:
            raise ValueError(f'{where}: empty box {values} (needs x2 > x1 and y2 > y1)')
        return tuple(clipped)

    def parse_img_record(self, img_records: list[dict]) -> tuple:
        """Merge the rows of one timestamp by box (MMAction2's result, in linear time).

        Args:
            img_records (list[dict]): Rows with ``entity_box`` (a tuple), ``label`` and
                ``entity_id``.

        Returns:
            tuple: ``(bboxes (n, 4), labels, entity_ids (n,))``, boxes in order of first
            appearance; labels multi-hot ``(n, num_classes)`` when ``multilabel``.
        """
        groups: dict[tuple, list] = {}
        for rec in img_records:
            box = tuple(rec['entity_box'])
            if box not in groups:
                groups[box] = [[], rec['entity_id']]
            groups[box][0].append(rec['label'])
        bboxes = np.array(list(groups), dtype=np.float64).reshape(-1, 4)
        entity_ids = np.array([g[1] for g in groups.values()])
        if self.multilabel:
            labels = np.zeros((len(groups), self.num_classes), dtype=np.float32)
            for i, (ids, _) in enumerate(groups.values()):
                labels[i, ids] = 1.0
        else:
            labels = np.stack([np.array(ids) for ids, _ in groups.values()])
        return bboxes, labels, entity_ids

    def _label_ids(self) -> set[int] | None:
        if self.label_file is None:
            return None
        with open(self.label_file) as f:
            _, ids = read_labelmap(f)
        if not ids:
            raise ValueError(f'{self.label_file}: no "id:" entries; the AVA label file is the '
                             'pbtxt label map (item {{ name: "..." id: N }})')
        return ids

    def load_data_list(self) -> list[dict]:
        """Read and check the annotation rows (see the class docstring)."""
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'AVA annotation file not found: {self.ann_file}')
        listed = self._label_ids()
        unlisted: set[int] = set()
        records = defaultdict(list)
        with open(self.ann_file) as f:
            for line_no, line in enumerate(f, 1):
                if not line.strip():
                    continue
                where = f'{self.ann_file}:{line_no}'
                cols = [c.strip() for c in line.strip().split(',')]
                if len(cols) not in (7, 8):
                    raise ValueError(f'{where}: expected video_id,timestamp,x1,y1,x2,y2,action_id'
                                     f'[,person_id], got {len(cols)} columns: {line.strip()!r}')
                try:
                    timestamp = int(cols[1])
                    coords = [float(c) for c in cols[2:6]]
                    label = int(cols[6])
                    entity_id = int(cols[7]) if len(cols) == 8 else 0
                except ValueError:
                    raise ValueError(f'{where}: non-numeric timestamp, box, action id or person '
                                     f'id in {line.strip()!r}') from None
                self.report['rows'] += 1
                if self.custom_classes is not None:
                    if label not in self.custom_classes[1:]:
                        self.report['rows_not_in_custom_classes'] += 1
                        continue
                    label = self.custom_classes.index(label)
                elif not 1 <= label < self.num_classes:
                    raise ValueError(f'{where}: unknown action id {label}; this dataset has ids '
                                     f'1..{self.num_classes - 1} (num_classes={self.num_classes})')
                elif listed is not None and label not in listed:
                    unlisted.add(label)
                    self.report['rows_with_unlisted_actions'] += 1
                if not self.timestamp_start <= timestamp <= self.timestamp_end:
                    raise ValueError(f'{where}: timestamp {timestamp} outside '
                                     f'[{self.timestamp_start}, {self.timestamp_end}] '
                                     '(timestamp_start / timestamp_end)')
                box = self._check_box(coords, where)
                img_key = f'{cols[0]},{timestamp:04d}'
                records[img_key].append(dict(video_id=cols[0], timestamp=timestamp,
                                             entity_box=box, label=label, entity_id=entity_id))
        if unlisted:
            self.report['unlisted_action_ids'] = sorted(unlisted)
        shot_info = None
        if self.use_frames:
            shot_info = (0, (self.timestamp_end - self.timestamp_start) * self._FPS)
        if self.include_unannotated and self.test_mode and self.proposals is not None:
            videos = {key.split(',')[0] for key in records}
            for img_key in sorted(self.proposals):
                video_id, timestamp = img_key.rsplit(',', 1)
                if (video_id in videos and img_key not in records
                        and self.timestamp_start <= int(timestamp) <= self.timestamp_end):
                    records[img_key] = []
                    self.report['unannotated_timestamps_added'] += 1
        data_list = []
        for img_key, rows in records.items():
            video_id, timestamp = img_key.split(',')
            if rows:
                bboxes, labels, entity_ids = self.parse_img_record(rows)
            else:
                bboxes, entity_ids = np.zeros((0, 4)), np.zeros(0, dtype=np.int64)
                labels = np.zeros((0, self.num_classes), dtype=np.float32)
            path = video_id if self.data_prefix['img'] is None else osp.join(
                self.data_prefix['img'], video_id)
            info = dict(video_id=video_id, timestamp=int(timestamp), img_key=img_key,
                        shot_info=shot_info, fps=self._FPS,
                        ann=dict(gt_bboxes=bboxes.astype(np.float32), gt_labels=labels,
                                 entity_ids=entity_ids))
            info['frame_dir' if self.use_frames else 'filename'] = path
            data_list.append(info)
        self.report['timestamps'] = len(data_list)
        return data_list

    def _read_exclusions(self) -> set[str]:
        excluded = set()
        if self.exclude_file is None:
            return excluded
        if not osp.isfile(self.exclude_file):
            raise FileNotFoundError(f'AVA exclusion file not found: {self.exclude_file}')
        with open(self.exclude_file) as f:
            for line_no, line in enumerate(f, 1):
                if not line.strip():
                    continue
                cols = [c.strip() for c in line.strip().split(',')]
                try:
                    if len(cols) != 2:
                        raise ValueError
                    excluded.add(f'{cols[0]},{int(cols[1]):04d}')
                except ValueError:
                    raise ValueError(f'{self.exclude_file}:{line_no}: expected video_id,timestamp, '
                                     f'got {line.strip()!r}') from None
        return excluded

    def filter_data(self) -> list[dict]:
        """Drop excluded timestamps and, in test mode with proposals, those without any."""
        excluded = self._read_exclusions()
        kept = []
        for info in self.data_list:
            if info['img_key'] in excluded:
                self.report['timestamps_excluded'] += 1
                continue
            if self.proposals is not None and info['img_key'] not in self.proposals:
                self.report['timestamps_without_proposals'] += 1
                if self.test_mode:
                    continue
            kept.append(info)
        self.report['timestamps_kept'] = len(kept)
        return kept

    def _prepare_proposals(self, proposals) -> dict:
        """Check, clip and threshold the proposals once."""
        if not isinstance(proposals, dict):
            raise ValueError(f'{self.proposal_file}: expected a dict "video_id,timestamp" -> '
                             f'array (n, 4 or 5), got {type(proposals).__name__}')
        thr = self.person_det_score_thr
        prepared = {}
        for raw_key, boxes in proposals.items():
            where = f'{self.proposal_file}[{raw_key!r}]'
            try:
                video_id, timestamp = str(raw_key).rsplit(',', 1)
                img_key = f'{video_id},{int(timestamp):04d}'
            except ValueError:
                raise ValueError(f'{where}: keys must be "video_id,timestamp"') from None
            boxes = np.asarray(boxes, dtype=np.float64)
            if boxes.ndim != 2 or boxes.shape[1] not in (4, 5):
                raise ValueError(f'{where}: expected an (n, 4) or (n, 5) array, got shape '
                                 f'{boxes.shape}')
            if boxes.shape[1] == 4:
                boxes = np.concatenate([boxes, np.ones((len(boxes), 1))], axis=1)
            if len(boxes) == 0:
                continue
            keep = boxes[:, 4] >= thr
            if not keep.any() and self.keep_best_proposal:
                keep = boxes[:, 4] >= boxes[:, 4].max()
            self.report['proposals_below_threshold'] += int((~keep).sum())
            boxes = boxes[keep][:self.num_max_proposals]
            coords = boxes[:, :4]
            tol = self.box_tolerance
            bad = ~np.isfinite(coords).all(axis=1) | (coords.min(axis=1) < -tol) | (
                coords.max(axis=1) > 1 + tol)
            if bad.any():
                raise ValueError(f'{where}: proposal {coords[bad][0].tolist()} is not '
                                 'normalised to [0, 1]')
            clipped = coords.clip(0.0, 1.0)
            self.report['proposals_clipped'] += int((clipped != coords).any(axis=1).sum())
            empty = (clipped[:, 2] <= clipped[:, 0]) | (clipped[:, 3] <= clipped[:, 1])
            self.report['proposals_empty_dropped'] += int(empty.sum())
            if (~empty).any():
                prepared[img_key] = np.concatenate(
                    [clipped[~empty], boxes[~empty, 4:5]], axis=1).astype(np.float32)
        return prepared

    def _log_report(self) -> None:
        rep = dict(self.report)
        msg = [f'UMTAVADataset {self.ann_file}: {rep.get("rows", 0)} rows, '
               f'{rep.get("timestamps", 0)} timestamps, {rep.get("timestamps_kept", 0)} kept']
        if rep.get('timestamps_excluded'):
            msg.append(f'{rep["timestamps_excluded"]} excluded ({self.exclude_file})')
        if rep.get('boxes_clipped'):
            msg.append(f'{rep["boxes_clipped"]} ground-truth boxes outside [0, 1] clipped')
        if rep.get('rows_with_unlisted_actions'):
            msg.append(f'{rep["rows_with_unlisted_actions"]} rows with action ids '
                       f'{rep["unlisted_action_ids"]} not in {self.label_file} (trained on, '
                       'not evaluated)')
        if rep.get('unannotated_timestamps_added'):
            msg.append(f'{rep["unannotated_timestamps_added"]} timestamps with person boxes but '
                       'no ground truth added (their detections are false positives)')
        if rep.get('rows_not_in_custom_classes'):
            msg.append(f'{rep["rows_not_in_custom_classes"]} rows outside custom_classes dropped')
        if self.proposals is not None:
            without = rep.get('timestamps_without_proposals', 0)
            if without:
                what = ('no predictions for them (their ground truth counts as missed)'
                        if self.test_mode else 'ground-truth boxes used')
                msg.append(f'{without} timestamps without a proposal scoring >= '
                           f'{self.person_det_score_thr}: {what}')
            for key, text in (('proposals_below_threshold', 'proposals below the threshold'),
                              ('proposals_clipped', 'proposals outside [0, 1] clipped'),
                              ('proposals_empty_dropped', 'empty proposals dropped')):
                if rep.get(key):
                    msg.append(f'{rep[key]} {text}')
        MMLogger.get_current_instance().info('; '.join(msg))

    # ------------------------------------------------------------------ records
    def get_data_info(self, idx: int) -> dict:
        """The record with ``proposals`` and ``proposal_scores`` (see the class docstring)."""
        data_info = BaseActionDataset.get_data_info(self, idx)
        data_info['filename_tmpl'] = self.filename_tmpl
        data_info['timestamp_start'] = self.timestamp_start
        data_info['timestamp_end'] = self.timestamp_end
        ann = data_info.pop('ann')
        data_info['gt_bboxes'] = ann['gt_bboxes']
        data_info['gt_labels'] = ann['gt_labels']
        data_info['entity_ids'] = ann['entity_ids']
        props = None if self.proposals is None else self.proposals.get(data_info['img_key'])
        if props is None:
            data_info['proposals'] = ann['gt_bboxes'].copy()
            data_info['proposal_scores'] = np.ones(len(ann['gt_bboxes']), dtype=np.float32)
        else:
            data_info['proposals'] = props[:, :4].copy()
            data_info['proposal_scores'] = props[:, 4].copy()
        return data_info
