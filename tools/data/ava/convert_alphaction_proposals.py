"""Convert AlphAction's person boxes (the UMT detector's test boxes) to an AVA proposal pickle.

The UMT reference tests on ``AVA/boxes/ava_val_det_person_bbox.json`` (AlphAction's
detections: a COCO-style list of ``{"image_id", "bbox": [x, y, w, h], "score"}`` in pixels,
``image_id`` indexing the ``images`` of AlphAction's ``ava_val_v2.2_min.json``). MMAction2's
``AVADataset`` (and umt_mm's ``UMTAVADataset``) read a pickle
``{"video_id,TTTT": float32 array (n, 5): x1, y1, x2, y2 in [0, 1], score}``.

Example::

    python tools/data/ava/convert_alphaction_proposals.py \\
        data/ava/boxes/ava_val_det_person_bbox.json \\
        data/ava/annotations_alphaction/ava_val_v2.2_min.json \\
        data/ava/annotations/ava_val_det_person_bbox_alphaction.pkl

Exits with 2 (the error names the file and the entry) when a json cannot be read.
"""
import argparse
import pickle
import sys
from pathlib import Path

from umt_mm.datasets.ava import convert_alphaction_boxes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('det_json', help="AlphAction's person detections json")
    parser.add_argument('ann_json', help="AlphAction's annotation json (its 'images' table)")
    parser.add_argument('out', help='output proposal pickle')
    parser.add_argument('--score-thr', type=float, default=0.0,
                        help='keep boxes scoring at least this (the dataset applies the test '
                        'threshold, 0.8, itself); default 0')
    args = parser.parse_args(argv)
    try:
        proposals = convert_alphaction_boxes(args.det_json, args.ann_json, args.score_thr)
    except (OSError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, 'wb') as f:
        pickle.dump(proposals, f)
    num_boxes = sum(len(v) for v in proposals.values())
    print(f'{num_boxes} boxes on {len(proposals)} timestamps -> {out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
