"""The quickstart's motion videos: decodable files, lists, classes that need the frame order."""
import numpy as np
import pytest

from umt_mm.testing.motion_videos import (
    MOTION_CLASSES,
    TIME_REVERSED_CLASS,
    estimate_motion,
    make_motion_video_dataset,
    render_motion_clip,
)


@pytest.fixture(scope='module')
def motion_set(tmp_path_factory):
    return make_motion_video_dataset(tmp_path_factory.mktemp('motion'), num_train_per_class=2,
                                     num_val_per_class=1, num_test_per_class=1, progress=False)


def test_lists_label_map_and_decodable_videos(motion_set):
    import decord
    assert motion_set['label_map'].read_text().split() == list(MOTION_CLASSES)
    for split, per_class in (('train', 2), ('val', 1), ('test', 1)):
        lines = motion_set[f'{split}_list'].read_text().splitlines()
        labels = [int(line.split()[1]) for line in lines]
        assert sorted(labels) == sorted(list(range(8)) * per_class)
        for line in lines:
            name, label = line.split()
            assert name.startswith(f'{split}_{MOTION_CLASSES[int(label)]}_')
            reader = decord.VideoReader(str(motion_set['videos'] / name), num_threads=1)
            frames = reader.get_batch(list(range(len(reader)))).asnumpy()
            assert frames.shape == (16, 64, 80, 3)
            # what was decoded still shows the motion of its class
            assert estimate_motion(frames) == int(label), name


def test_second_call_reuses_the_files(motion_set):
    video = motion_set['videos'] / 'train_moving_left_0.mp4'
    before = video.stat().st_mtime_ns
    again = make_motion_video_dataset(motion_set['root'], num_train_per_class=2,
                                      num_val_per_class=1, num_test_per_class=1, progress=False)
    assert again == motion_set and video.stat().st_mtime_ns == before


@pytest.mark.parametrize('label', range(8))
def test_classes_depend_on_the_frame_order(label):
    """A clip played backwards is its partner class with the very same frames."""
    clip = render_motion_clip(label, np.random.default_rng(label), num_frames=16)
    partner = TIME_REVERSED_CLASS[label]
    assert partner != label and TIME_REVERSED_CLASS[partner] == label
    assert estimate_motion(clip) == label
    assert estimate_motion(clip[::-1]) == partner
    # the partner class renders exactly the reversed clip from the same random draws:
    # any order-blind function of the frames gives both the same value
    twin = render_motion_clip(partner, np.random.default_rng(label), num_frames=16)
    np.testing.assert_array_equal(twin, clip[::-1])
    assert twin.mean(axis=0).tolist() == clip.mean(axis=0).tolist()
    # a frame-shuffled copy loses the motion: its object trajectory no longer follows time
    shuffled = clip[np.random.default_rng(99).permutation(16)]
    assert _order_score(shuffled, label) < 0.5 < _order_score(clip, label)


def _order_score(frames, label):
    """Rank correlation between time and the label's motion coordinate (|rho| in [0, 1])."""
    mask = frames.max(axis=-1) >= 110
    ys, xs = np.mgrid[0:frames.shape[1], 0:frames.shape[2]]
    area = mask.sum(axis=(1, 2)).astype(float)
    if label in (0, 1):
        coord = (xs * mask).sum(axis=(1, 2)) / area
    elif label in (2, 3):
        coord = (ys * mask).sum(axis=(1, 2)) / area
    elif label in (6, 7):
        coord = area
    else:  # rotation: orientation (mod pi), measured from the widest gap between frames
        cx = (xs * mask).sum(axis=(1, 2)) / area
        cy = (ys * mask).sum(axis=(1, 2)) / area
        mu20 = (((xs - cx[:, None, None]) ** 2) * mask).sum(axis=(1, 2))
        mu02 = (((ys - cy[:, None, None]) ** 2) * mask).sum(axis=(1, 2))
        mu11 = (((xs - cx[:, None, None]) * (ys - cy[:, None, None])) * mask).sum(axis=(1, 2))
        doubled = np.sort(np.arctan2(2 * mu11, mu20 - mu02))
        gaps = np.diff(np.append(doubled, doubled[0] + 2 * np.pi))
        cut = doubled[(np.argmax(gaps) + 1) % len(doubled)]  # open the circle at its widest gap
        coord = (np.arctan2(2 * mu11, mu20 - mu02) - cut) % (2 * np.pi)
    ranks = np.argsort(np.argsort(coord))
    return abs(np.corrcoef(ranks, np.arange(len(coord)))[0, 1])


def test_bad_settings_are_rejected(tmp_path):
    with pytest.raises(ValueError, match='even and at least 32'):
        make_motion_video_dataset(tmp_path, height=31, width=48, progress=False)
    with pytest.raises(RuntimeError, match='decord does not read back .*48x48'):
        make_motion_video_dataset(tmp_path, height=48, width=48, progress=False)
    with pytest.raises(ValueError, match='at least one video'):
        make_motion_video_dataset(tmp_path, num_test_per_class=0, progress=False)
    with pytest.raises(ValueError, match='label must be'):
        render_motion_clip(8, np.random.default_rng(0))
