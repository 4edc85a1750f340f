"""UMTSampleFrames against the reference's kinetics_sparse.py / ssv2.py (hand-computed values)."""
import numpy as np
import pytest
from mmaction.registry import TRANSFORMS

from umt_mm.datasets.transforms import kinetics_sparse_indices, ssv2_indices


def test_kinetics_val_and_test_hand_computed():
    # len 9, T 4: seg 2, starts 0 2 4 6
    assert kinetics_sparse_indices(9, 4, 'val').tolist() == [1, 3, 5, 7]
    assert kinetics_sparse_indices(9, 4, 'test', 0, 4).tolist() == [0, 2, 4, 6]  # int(0.4)
    assert kinetics_sparse_indices(9, 4, 'test', 3, 4).tolist() == [1, 3, 5, 7]  # int(1.6)
    # len 300, T 8: seg 37.375; np.round(149.5) == 150 (half to even); + int(18.6875)
    assert kinetics_sparse_indices(300, 8, 'val').tolist() == [
        18, 55, 93, 130, 168, 205, 242, 280]
    # a video shorter than the clip repeats frames
    assert kinetics_sparse_indices(3, 8, 'val').tolist() == [0, 0, 0, 1, 1, 1, 2, 2]


@pytest.mark.parametrize('length', [1, 5, 17, 64, 300])
def test_kinetics_train_within_segments(length):
    rng = np.random.default_rng(0)
    seg = (length - 1) / 8
    for _ in range(20):
        inds = kinetics_sparse_indices(length, 8, 'train', rng=rng)
        for i, idx in enumerate(inds):
            lo, hi = int(np.round(seg * i)), int(np.round(seg * (i + 1)))
            assert lo <= idx <= min(hi, length - 1)


def test_ssv2_formulas():
    # len 10, T 4: tick 2.5; centres 1 3 6 8; starts 0 2 5 7
    assert ssv2_indices(10, 4, 'val').tolist() == [1, 3, 6, 8]
    assert ssv2_indices(10, 4, 'test', 0, 2).tolist() == [0, 2, 5, 7]
    assert ssv2_indices(10, 4, 'test', 1, 2).tolist() == [1, 3, 6, 8]
    rng = np.random.default_rng(0)
    inds = ssv2_indices(41, 8, 'train', rng=rng)  # avg 5
    assert all(5 * i <= idx < 5 * i + 5 for i, idx in enumerate(inds))
    short = ssv2_indices(3, 8, 'train', rng=rng)
    assert len(short) == 8 and (np.diff(short) >= 0).all() and short.max() < 3


def test_transform_modes_and_start_index():
    val = TRANSFORMS.build(dict(type='UMTSampleFrames', clip_len=4, test_mode=True))
    out = val(dict(total_frames=9, start_index=1))
    assert out['frame_inds'].tolist() == [2, 4, 6, 8] and out['num_clips'] == 1
    test = TRANSFORMS.build(dict(type='UMTSampleFrames', clip_len=4, num_clips=2,
                                 style='ssv2', test_mode=True))
    assert test(dict(total_frames=10))['frame_inds'].tolist() == [0, 2, 5, 7, 1, 3, 6, 8]
    with pytest.raises(ValueError, match='test_mode'):
        TRANSFORMS.build(dict(type='UMTSampleFrames', num_clips=2))
    with pytest.raises(ValueError, match='style'):
        TRANSFORMS.build(dict(type='UMTSampleFrames', style='ucf'))


def test_pipeline_on_real_video(shared_data):
    from mmengine.dataset import Compose
    video = shared_data / 'videos' / 'test.mp4'
    pipeline = Compose([TRANSFORMS.build(t) for t in [
        dict(type='DecordInit'),
        dict(type='UMTSampleFrames', clip_len=4, num_clips=3, test_mode=True),
        dict(type='DecordDecode'),
        dict(type='Resize', scale=(-1, 64)),
        dict(type='ThreeCrop', crop_size=64),
        dict(type='FormatShape', input_format='NCTHW'),
        dict(type='PackActionInputs')]])
    out = pipeline(dict(filename=str(video), label=0, start_index=0, modality='RGB'))
    assert tuple(out['inputs'].shape) == (9, 3, 4, 64, 64)  # 3 clips x 3 crops


def test_tsn_pretraining_sampling():
    from umt_mm.datasets.transforms import UMTSampleFrames, tsn_indices
    rng = np.random.default_rng(0)
    for _ in range(50):  # one frame in each of 8 segments of avg = 300 // 8 = 37 frames
        inds = tsn_indices(300, 8, 'train', rng=rng)
        assert ((inds >= np.arange(8) * 37) & (inds < np.arange(8) * 37 + 37)).all()
    assert (tsn_indices(5, 8, 'train', rng=rng) == 0).all()  # shorter than 8: the reference
    assert tsn_indices(80, 8, 'val').tolist() == [5, 15, 25, 35, 45, 55, 65, 75]
    out = UMTSampleFrames(clip_len=8, style='tsn', seed=1)(dict(total_frames=16))
    assert len(out['frame_inds']) == 8 and (np.diff(out['frame_inds']) > 0).all()
    with pytest.raises(ValueError, match='one clip'):
        UMTSampleFrames(clip_len=8, num_clips=2, style='tsn', test_mode=True)
