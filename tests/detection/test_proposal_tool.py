"""tools/data/ava/convert_alphaction_proposals.py on a small AlphAction-style json."""
import importlib.util
import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / 'tools/data/ava/convert_alphaction_proposals.py'

# normalised boxes (x1, y1, x2, y2, score) per timestamp, and the movie frame sizes
BOXES = {
    '0f39OWEqJ24,0902': [[0.011, 0.157, 0.655, 0.983, 0.75], [0.1, 0.2, 0.3, 0.4, 0.998]],
    '_-Z6wFjXtGQ,1798': [[0.202, 0.15, 0.744, 0.985, 0.281325]],
}
SIZES = {'0f39OWEqJ24': (340, 256), '_-Z6wFjXtGQ': (640, 360)}


def write_alphaction_files(tmp_path):
    """The json pair as AlphAction's csv2COCO + detector write them (pixel x, y, w, h)."""
    images, dets = [], []
    for movie_idx, movie in enumerate(SIZES):
        width, height = SIZES[movie]
        for ts in (902, 1798):
            images.append(dict(id=movie_idx * 10000 + ts, movie=movie, timestamp=ts,
                               width=width, height=height))
    for key, boxes in BOXES.items():
        movie, ts = key.split(',')
        width, height = SIZES[movie]
        image_id = list(SIZES).index(movie) * 10000 + int(ts)
        for x1, y1, x2, y2, score in boxes:
            dets.append(dict(image_id=image_id, category_id=1, score=score,
                             bbox=[x1 * width, y1 * height, (x2 - x1) * width,
                                   (y2 - y1) * height]))
    ann = tmp_path / 'ava_val_v2.2_min.json'
    ann.write_text(json.dumps(dict(images=images, annotations=[], categories=[])))
    det = tmp_path / 'ava_val_det_person_bbox.json'
    det.write_text(json.dumps(dets))
    return det, ann


def test_tool_round_trips_alphaction_boxes(tmp_path):
    det, ann = write_alphaction_files(tmp_path)
    out = tmp_path / 'out' / 'props.pkl'
    proc = subprocess.run([sys.executable, str(TOOL), str(det), str(ann), str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert '3 boxes on 2 timestamps' in proc.stdout
    with open(out, 'rb') as f:
        props = pickle.load(f)
    assert set(props) == set(BOXES)
    for key, boxes in BOXES.items():
        expected = np.array(sorted(boxes, key=lambda b: -b[4]), dtype=np.float32)
        assert props[key].dtype == np.float32
        np.testing.assert_allclose(props[key], expected, atol=1e-6)
    # what AVADataset reads back, thresholded at 0.8
    from umt_mm.datasets.ava import convert_alphaction_boxes
    kept = convert_alphaction_boxes(det, ann, score_thr=0.8)
    assert list(kept) == ['0f39OWEqJ24,0902'] and len(kept['0f39OWEqJ24,0902']) == 1


def test_tool_errors_name_file_and_entry(tmp_path, capsys):
    from umt_mm.datasets.ava import convert_alphaction_boxes
    det, ann = write_alphaction_files(tmp_path)
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps([dict(image_id=5, bbox=[1, 2, 3, 4], score=0.9)]))
    with pytest.raises(ValueError, match=r'bad\.json: entry 0 has image_id 5, which is not'):
        convert_alphaction_boxes(bad, ann)
    bad.write_text(json.dumps([dict(image_id=902, bbox=[1, 2, 3], score=0.9)]))
    with pytest.raises(ValueError, match=r'bad\.json: entry 0 needs image_id, bbox'):
        convert_alphaction_boxes(bad, ann)
    with pytest.raises(ValueError, match=r'bad\.json: expected a COCO-style object'):
        convert_alphaction_boxes(det, bad)
    # the tool prints the error and exits with 2, writing nothing
    spec = importlib.util.spec_from_file_location('convert_alphaction_proposals', TOOL)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    out = tmp_path / 'props.pkl'
    assert tool.main([str(det), str(bad), str(out)]) == 2
    assert capsys.readouterr().err.startswith(f'error: {bad}: expected a COCO-style object')
    assert not out.exists()
