"""The sample videos of demo/: regenerating them gives the committed files' frames and boxes."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from umt_mm.testing import sample_videos as sv

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / 'demo'


def _video_shape(path: Path) -> tuple[int, float, int, int]:
    import decord
    reader = decord.VideoReader(str(path), num_threads=1)
    height, width = reader[0].shape[:2]
    return len(reader), round(float(reader.get_avg_fps()), 3), width, height


@pytest.fixture(scope='module')
def regenerated(tmp_path_factory):
    out = tmp_path_factory.mktemp('demo')
    result = subprocess.run([sys.executable, str(ROOT / 'tools/misc/make_sample_videos.py'),
                             str(out)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert '150 frames, 320x240, 25 fps' in result.stdout
    return out


@pytest.mark.parametrize('name,frames', [(sv.RECOGNITION_VIDEO, 200), (sv.PEOPLE_VIDEO, 150)])
def test_regenerated_videos_match_the_committed_ones(regenerated, name, frames):
    committed = _video_shape(DEMO / name)
    assert committed == (frames, 25.0, 320, 240)
    assert _video_shape(regenerated / name) == committed
    # the codec may differ, the pictures may not (mp4v: small differences)
    import decord
    a = decord.VideoReader(str(DEMO / name), num_threads=1).get_batch([0, frames // 2]).asnumpy()
    b = decord.VideoReader(str(regenerated / name), num_threads=1).get_batch(
        [0, frames // 2]).asnumpy()
    assert np.abs(a.astype(int) - b.astype(int)).mean() < 2


def test_regenerated_proposals_equal_the_committed_file(regenerated):
    committed = (DEMO / sv.PEOPLE_PROPOSALS).read_text()
    assert (regenerated / sv.PEOPLE_PROPOSALS).read_text() == committed
    rows = [line.split(',') for line in committed.splitlines()]
    assert len(rows) == 12  # two people at t = 0..5
    assert {r[0] for r in rows} == {'demo_spatiotemporal_det'}
    assert sorted({int(r[1]) for r in rows}) == list(range(6))
    boxes = np.array([[float(v) for v in r[2:6]] for r in rows])
    assert (boxes[:, :2] < boxes[:, 2:]).all() and boxes.min() >= 0 and boxes.max() <= 1


def test_boxes_hold_every_drawn_person_pixel():
    frames, boxes = sv.render_people_scene(num_frames=150)
    room = sv._room(sv.WIDTH, sv.HEIGHT)
    for index in (0, 37, 75, 110, 149):
        drawn = np.abs(frames[index].astype(int) - room).max(-1) > 0
        inside = np.zeros_like(drawn)
        for x1, y1, x2, y2 in boxes[index]:
            inside[int(y1):int(np.ceil(y2)) + 1, int(x1):int(np.ceil(x2)) + 1] = True
        assert drawn.any() and not (drawn & ~inside).any(), index
    # the people move: walking, then seated
    assert boxes[0][0, 0] < boxes[75][0, 0] - 60
    assert boxes[149][1, 3] - boxes[149][1, 1] < boxes[0][1, 3] - boxes[0][1, 1] - 15


def test_proposals_are_the_boxes_at_whole_seconds_widened():
    _, boxes = sv.render_people_scene()
    rows = [r.split(',') for r in sv.people_proposals()]
    for t in range(6):
        pixel = boxes[t * sv.FPS]
        normalised = np.array([[float(v) for v in r[2:6]] for r in rows if r[1] == str(t)])
        scale = np.array([sv.WIDTH, sv.HEIGHT] * 2)
        np.testing.assert_allclose(normalised * scale, pixel, atol=0.001 * 320 + 1e-6)
        assert (normalised[:, :2] * scale[:2] <= pixel[:, :2] + 1e-6).all()
        assert (normalised[:, 2:] * scale[2:] >= pixel[:, 2:] - 1e-6).all()


def test_motion_scene_segments_and_unknown_class():
    frames = sv.render_motion_scene(('moving_right', 'approaching'), seconds=1, fps=4,
                                    width=64, height=48)
    assert frames.shape == (8, 48, 64, 3)
    bright = frames.max(-1) > 100
    cols = [np.nonzero(bright[i].any(0))[0].mean() for i in range(4)]
    assert cols == sorted(cols) and cols[-1] - cols[0] > 20  # moving right
    areas = bright[4:].sum((1, 2))
    assert (np.diff(areas) > 0).all()  # approaching: growing
    with pytest.raises(ValueError, match='unknown motion classes'):
        sv.render_motion_scene(('jumping',))
