"""AlphAction person boxes (COCO-style json) -> MMAction2's AVA proposal pickle."""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np


def _load_json(path: str | Path):
    try:
        with open(path) as f:
            return json.load(f)
    except json.JSONDecodeError as err:
        raise ValueError(f'{path}: not valid JSON ({err})') from None


def read_alphaction_images(ann_json: str | Path) -> dict[int, tuple[str, int, int, int]]:
    """``image_id -> (movie, timestamp, width, height)`` from an AlphAction annotation json.

    Args:
        ann_json (str | Path): AlphAction's ``ava_{train,val}_v2.2_min.json`` (COCO-style,
            ``images`` entries with ``id``, ``movie``, ``timestamp``, ``width``,
            ``height``).

    Returns:
        dict: The image table.
    """
    data = _load_json(ann_json)
    if not isinstance(data, dict) or not isinstance(data.get('images'), list):
        raise ValueError(f'{ann_json}: expected a COCO-style object with an "images" list '
                         '(AlphAction ava_*_min.json)')
    images = {}
    for i, img in enumerate(data['images']):
        try:
            images[int(img['id'])] = (str(img['movie']), int(img['timestamp']),
                                      int(img['width']), int(img['height']))
        except (KeyError, TypeError, ValueError):
            raise ValueError(f'{ann_json}: images[{i}] needs id, movie, timestamp, width and '
                             f'height, got {img!r}') from None
        if images[int(img['id'])][2] <= 0 or images[int(img['id'])][3] <= 0:
            raise ValueError(f'{ann_json}: images[{i}] has a non-positive width / height')
    return images


def convert_alphaction_boxes(det_json: str | Path, ann_json: str | Path,
                             score_thr: float = 0.0) -> dict[str, np.ndarray]:
    """Convert AlphAction's person detections to MMAction2's proposal dict.

    AlphAction (and the UMT detector) reads ``AVA/boxes/ava_val_det_person_bbox.json``:
    a list of ``{"image_id", "bbox": [x, y, w, h] (pixels), "score", ...}`` whose
    ``image_id`` indexes the ``images`` of the annotation json (movie, timestamp, frame
    size). MMAction2's ``AVADataset`` reads a pickle ``{"video_id,TTTT": float32 array
    (n, 5) of x1, y1, x2, y2 normalised to [0, 1] and the score}``. Boxes are converted
    with the inverse of AlphAction's ``csv2COCO`` (``x1 = x / W``, ``x2 = (x + w) / W``),
    clipped to [0, 1], and sorted by descending score.

    Args:
        det_json (str | Path): The detections json.
        ann_json (str | Path): The AlphAction annotation json with the ``images`` table.
        score_thr (float): Keep boxes with ``score >= score_thr`` (the dataset applies the
            0.8 test threshold itself). Defaults to 0.

    Returns:
        dict: ``"video_id,TTTT" -> ndarray (n, 5)``.
    """
    images = read_alphaction_images(ann_json)
    dets = _load_json(det_json)
    if not isinstance(dets, list):
        raise ValueError(f'{det_json}: expected a list of {{"image_id", "bbox", "score"}} '
                         f'objects, got {type(dets).__name__}')
    grouped = defaultdict(list)
    for i, det in enumerate(dets):
        try:
            image_id = int(det['image_id'])
            x, y, w, h = (float(v) for v in det['bbox'])
            score = float(det['score'])
        except (KeyError, TypeError, ValueError):
            raise ValueError(f'{det_json}: entry {i} needs image_id, bbox [x, y, w, h] and '
                             f'score, got {det!r}') from None
        if image_id not in images:
            raise ValueError(f'{det_json}: entry {i} has image_id {image_id}, which is not in '
                             f'the images of {ann_json}')
        if score < score_thr:
            continue
        movie, timestamp, width, height = images[image_id]
        box = np.clip([x / width, y / height, (x + w) / width, (y + h) / height], 0.0, 1.0)
        grouped[f'{movie},{timestamp:04d}'].append([*box, score])
    out = {}
    for key, rows in grouped.items():
        rows = np.asarray(rows, dtype=np.float32)
        out[key] = rows[np.argsort(-rows[:, 4], kind='stable')]
    return out
