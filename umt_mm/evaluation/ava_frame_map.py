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
                  num_workers: int = 0, count_excluded_gt: bool = False) -> dict:
    """Frame mAP@0.5IoU of AVA detections, with every class's AP.

    The computation is MMAction2's ``ava_eval`` step for step (label map whitelist,
    excluded timestamps removed, only timestamps with ground truth evaluated, PASCAL AP
    per class, the mean over classes that have detections) with one correction: the
    ground truth of excluded timestamps is not counted in a class's number of positives
    (MMAction2 counts it, so every excluded box lowers the recall; the official
    ActivityNet evaluation skips excluded timestamps entirely).
    ``count_excluded_gt=True`` gives MMAction2's numbers exactly; without exclusions the
    two agree. In addition it returns each class's AP and ground-truth count (``ap=None``
    for a class without any detection, or without ground truth; as in MMAction2 such
    classes stay out of the mean).

    Args:
        result_csv (str): Detections ``video_id,timestamp,x1,y1,x2,y2,action_id,score``.
        label_file (str): The pbtxt label map (the 60 v2.2 classes).
        ann_file (str): Ground-truth csv.
        exclude_file (str, optional): Excluded timestamps csv. Defaults to None.
        custom_classes (list[int], optional): Evaluate only these ids. Defaults to None.
        num_workers (int): Processes for the per-frame matching (0: in this process).
            Defaults to 0.
        count_excluded_gt (bool): Count the ground truth of excluded timestamps as
            MMAction2's ``ava_eval`` does. Defaults to False.

    Returns:
        dict: ``overall``, ``person_movement``, ``object_manipulation``,
        ``person_interaction`` and ``per_class`` (list of dicts with ``id``, ``name``,
        ``ap``, ``num_gt``).
    """
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
    counted = [v for k, v in gt_labels.items() if count_excluded_gt or k not in excluded]
    all_gt = np.concatenate(counted) if counted else np.zeros(0, int)
    gt_count = {k: int(np.sum(all_gt == k)) for k in class_whitelist}
    tups = [(gt_boxes[k], gt_labels[k], boxes[k], labels[k], scores[k])
            for k in gt_boxes if k not in excluded]
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
    for k in cls_scores:
        if gt_count[k] == 0:
            # no positives: AP undefined (MMAction2 returns np.NAN here, gone in numpy 2)
            aps[k] = float('nan')
            continue
        precision, recall = metrics.compute_precision_recall(
            np.concatenate(cls_scores[k]), np.concatenate(cls_tpfp[k]), gt_count[k])
        aps[k] = float(metrics.compute_average_precision(precision, recall))
    results = {'overall': float(np.nanmean(list(aps.values()))) if aps else float('nan')}
    for group, member in GROUPS.items():
        values = [ap for k, ap in aps.items() if member(k)]
        results[group] = float(np.nanmean(values)) if values else float('nan')
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
    lines.append('(AP in %; "-": no detection or no ground truth of that class, left out of '
                 "the mean as in MMAction2's ava_eval)")
    return '\n'.join(lines) + '\n'
