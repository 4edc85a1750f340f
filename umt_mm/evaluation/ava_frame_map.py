"""AVA frame mAP@0.5IoU overall and per class (MMAction2's evaluation, per-class kept)."""
from __future__ import annotations

import multiprocessing
from collections import defaultdict

import numpy as np
from mmaction.evaluation.functional.ava_evaluation import metrics
from mmaction.evaluation.functional.ava_utils import (
    read_csv,
    read_exclusions,
    read_labelmap,
    tpfp_single,
)

# AVA's three action groups by id, as MMAction2's ava_eval reports them
GROUPS = {'person_movement': lambda k: k <= 14,
          'object_manipulation': lambda k: 14 < k < 64,
          'person_interaction': lambda k: k >= 64}


def ava_frame_map(result_csv: str, label_file: str, ann_file: str,
                  exclude_file: str | None = None, custom_classes: list[int] | None = None,
                  num_workers: int = 0, protocol: str = 'official') -> dict:
    """Frame mAP@0.5IoU of AVA detections, with every class's AP.

    Two protocols, the same per-frame matching (MMAction2's ``tpfp_single``: greedy by
    score, IoU >= 0.5, one detection per ground-truth box) and PASCAL AP per class:

    * ``'official'`` (the ActivityNet AVA evaluation, and the UMT reference through
      AlphAction): an excluded timestamp is ignored entirely (its ground truth is not a
      positive), detections on timestamps without ground truth are false positives, and a
      class with ground truth but no detection has AP 0 and counts in the mean.
    * ``'mmaction'``: MMAction2's ``ava_eval`` exactly: the ground truth of excluded
      timestamps still counts as positives (missed), only timestamps with ground truth are
      scored, and classes without any detection stay out of the mean.

    Without exclusions, with detections for every class and only on annotated timestamps
    (as on ``ava_eval_sample``) both give the same number. Classes without ground truth
    have no AP (``None``) in either.

    Args:
        result_csv (str): Detections ``video_id,timestamp,x1,y1,x2,y2,action_id,score``.
        label_file (str): The pbtxt label map (the 60 v2.2 classes).
        ann_file (str): Ground-truth csv.
        exclude_file (str, optional): Excluded timestamps csv. Defaults to None.
        custom_classes (list[int], optional): Evaluate only these ids. Defaults to None.
        num_workers (int): Processes for the per-frame matching (0: in this process).
            Defaults to 0.
        protocol (str): ``'official'`` or ``'mmaction'``. Defaults to 'official'.

    Returns:
        dict: ``overall``, ``person_movement``, ``object_manipulation``,
        ``person_interaction`` and ``per_class`` (list of dicts with ``id``, ``name``,
        ``ap``, ``num_gt``).
    """
    if protocol not in ('official', 'mmaction'):
        raise ValueError(f"protocol must be 'official' or 'mmaction', got {protocol!r}")
    official = protocol == 'official'
    with open(label_file) as f:
        categories, class_whitelist = read_labelmap(f)
    if custom_classes is not None:
        if not set(custom_classes) <= set(class_whitelist):
            raise ValueError(f'custom_classes {sorted(set(custom_classes) - class_whitelist)} '
                             f'are not in {label_file}')
        class_whitelist = set(custom_classes)
        categories = [c for c in categories if c['id'] in class_whitelist]
    with open(ann_file) as f:
        gt_boxes, gt_labels, _ = read_csv(f, class_whitelist)
    excluded = set()
    if exclude_file is not None:
        with open(exclude_file) as f:
            excluded = read_exclusions(f)
    with open(result_csv) as f:
        boxes, labels, scores = read_csv(f, class_whitelist)
    counted = [v for k, v in gt_labels.items() if not (official and k in excluded)]
    all_gt = np.concatenate(counted) if counted else np.zeros(0, int)
    gt_count = {k: int(np.sum(all_gt == k)) for k in class_whitelist}
    keys = sorted(set(gt_boxes) | set(boxes)) if official else list(gt_boxes)
    tups = [(gt_boxes.get(k, np.zeros((0, 4))), gt_labels.get(k, []), boxes.get(k, []),
             labels.get(k, []), scores.get(k, []))
            for k in keys if k not in excluded]
    if num_workers > 0:
        with multiprocessing.Pool(num_workers) as pool:
            rets = pool.map(tpfp_single, tups)
    else:
        rets = [tpfp_single(t) for t in tups]
    cls_scores, cls_tpfp = defaultdict(list), defaultdict(list)
    for score, tpfp in rets:
        for k in score:
            cls_scores[k].append(score[k])
            cls_tpfp[k].append(tpfp[k])
    aps = {}
    for k in sorted(class_whitelist):
        if gt_count[k] == 0:
            # no positives: AP undefined (MMAction2 returns np.NAN here, gone in numpy 2)
            if k in cls_scores:
                aps[k] = float('nan')
            continue
        if k not in cls_scores:
            if official:
                aps[k] = 0.0  # positives, no detection
            continue
        precision, recall = metrics.compute_precision_recall(
            np.concatenate(cls_scores[k]), np.concatenate(cls_tpfp[k]), gt_count[k])
        aps[k] = float(metrics.compute_average_precision(precision, recall))
    results = {'overall': float(np.nanmean(list(aps.values()))) if aps else float('nan')}
    for group, member in GROUPS.items():
        values = [ap for k, ap in aps.items() if member(k) and not np.isnan(ap)]
        results[group] = float(np.mean(values)) if values else float('nan')
    results['per_class'] = [
        dict(id=int(c['id']), name=c['name'],
             ap=None if np.isnan(aps.get(c['id'], np.nan)) else aps[c['id']],
             num_gt=gt_count.get(c['id'], 0))
        for c in sorted(categories, key=lambda c: c['id'])]
    return results


def format_ava_table(results: dict) -> str:
    """A plain-text table of :func:`ava_frame_map` results."""
    lines = ['AVA frame mAP@0.5IoU', '',
             f'{"id":>4}  {"action":<40} {"AP":>7}  {"#gt":>6}', '-' * 62]
    for row in results['per_class']:
        ap = '   -   ' if row['ap'] is None else f'{100 * row["ap"]:7.2f}'
        lines.append(f'{row["id"]:>4}  {row["name"][:40]:<40} {ap}  {row["num_gt"]:>6}')
    lines.append('-' * 62)
    for key in ('overall', 'person_movement', 'object_manipulation', 'person_interaction'):
        lines.append(f'{key:<46}{100 * results[key]:7.2f}')
    lines.append('(AP in %; "-": no AP (no ground truth, or no detection under the mmaction '
                 'protocol), left out of the mean)')
    return '\n'.join(lines) + '\n'
