"""The faster paths of the training augmentations equal the plain ones bit for bit.

``UMTRandAugment`` applies runs of per-value ops (invert, posterize, solarize,
solarize-add, brightness) as one composed table with ``cv2.LUT``; the previous path ran
every op with Pillow on one PIL image per frame. ``UMTRandomErasing`` fills its box in
place. Both must give the same pixels as before for the same random draws.
"""
import os
import random
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from umt_mm.datasets.transforms import rand_augment as ra
from umt_mm.datasets.transforms.rand_augment import (
    SampledOp,
    UMTRandAugment,
    apply_op,
    compile_ops,
    level_to_arg,
    value_table,
)
from umt_mm.datasets.transforms.random_erasing import UMTRandomErasing

SHARED = Path(os.environ.get('UMT_MM_SHARED', Path(__file__).resolve().parents[3] / 'shared'))
VALUE_OPS = ['Invert', 'Posterize', 'PosterizeIncreasing', 'Solarize', 'SolarizeIncreasing',
             'SolarizeAdd', 'Brightness', 'BrightnessIncreasing']


def pil_path(frame, ops, fill=(128, 128, 128)):
    """The previous implementation: every op with Pillow on one PIL image."""
    if not ops:
        return frame.copy()
    img = Image.fromarray(np.ascontiguousarray(frame))
    for op in ops:
        img = apply_op(img, op.name, op.args, resample=op.resample, fill=fill)
    return np.array(img, dtype=np.uint8)


def rand_clip(frames=3, h=40, w=56, seed=0):
    return np.random.RandomState(seed).randint(0, 256, (frames, h, w, 3)).astype(np.uint8)


def test_value_ops_set_is_the_point_and_black_blend_ops():
    assert sorted(ra._VALUE_OPS) == sorted(VALUE_OPS)
    # every value op of both op sets, and no geometric or whole-image op
    assert not ra._VALUE_OPS & ra._GEOMETRIC_OPS
    assert {'AutoContrast', 'Equalize', 'Color', 'Contrast', 'Sharpness'}.isdisjoint(
        ra._VALUE_OPS)


@pytest.mark.parametrize('name', VALUE_OPS)
def test_value_table_equals_pillow_on_every_level(name):
    frame = rand_clip(1, seed=3)[0]
    random.seed(0)
    for level in np.linspace(0, 10, 21):
        for _ in range(2):  # both signs of the *Increasing ops
            args = level_to_arg(name, float(level))
            table = value_table(name, args)
            assert table.shape == (256, 3) and table.dtype == np.uint8
            expected = pil_path(frame, [SampledOp(name, args, float(level), 3)])
            assert np.array_equal(table[frame, np.arange(3)], expected), (name, args)


def test_value_table_rejects_other_ops():
    with pytest.raises(ValueError, match='Rotate'):
        value_table('Rotate', (10.0,))


def test_compile_ops_composes_consecutive_value_ops():
    ops = [SampledOp('Invert', (), 7.0, 3), SampledOp('SolarizeAdd', (77,), 7.0, 3),
           SampledOp('Rotate', (12.0,), 7.0, 3), SampledOp('PosterizeIncreasing', (2,), 7.0, 3)]
    steps = compile_ops(ops)
    assert [type(s).__name__ for s in steps] == ['ndarray', 'SampledOp', 'ndarray']
    assert steps[0].shape == (1, 256, 3)
    # invert then solarize-add: value v -> 255 - v -> +77 below 128
    v = np.arange(256)
    inv = 255 - v
    assert np.array_equal(steps[0][0, :, 0], np.where(inv < 128, np.minimum(inv + 77, 255), inv))
    assert compile_ops([]) == []


@pytest.mark.parametrize('policy', ['rand-m7-n4-mstd0.5-inc1', 'rand-m9-n6-mstd0.5',
                                    'rand-m10-n8-inc1', 'rand-m5-n3-w0'])
def test_transform_equals_per_op_pillow_path(policy):
    """Many seeded clips (every op, runs of value ops between Pillow ops): same pixels."""
    aug = UMTRandAugment(policy, interpolation='random')
    clip = rand_clip()
    seen_value_runs = 0
    for seed in range(60):
        random.seed(seed)
        np.random.seed(seed)
        ops = aug.sample_ops()
        expected = [pil_path(f, ops) for f in clip]
        seen_value_runs += any(isinstance(s, np.ndarray) for s in compile_ops(ops))
        random.seed(seed)
        np.random.seed(seed)
        out = aug(dict(imgs=list(clip)))['imgs']
        assert all(np.array_equal(a, b) for a, b in zip(out, expected)), (seed, ops)
        # the array form and the public per-frame method agree too
        assert np.array_equal(aug.apply_ops(clip[0], ops), expected[0])
    if 'w0' not in policy:  # timm's weights make the value ops rare (0-0.5 %)
        assert seen_value_runs > 10


def test_transform_equals_pillow_path_on_real_frames(shared_data):
    decord = pytest.importorskip('decord')
    video = shared_data / 'videos' / 'test.mp4'
    if not video.is_file():
        pytest.skip(f'{video} not found')
    frames = decord.VideoReader(str(video)).get_batch([0, 150]).asnumpy()
    aug = UMTRandAugment()
    for seed in range(12):
        random.seed(seed)
        np.random.seed(seed)
        ops = aug.sample_ops()
        expected = np.stack([pil_path(f, ops) for f in frames])
        random.seed(seed)
        np.random.seed(seed)
        out = aug(dict(imgs=frames.copy()))['imgs']
        assert isinstance(out, np.ndarray) and np.array_equal(out, expected), seed


def test_value_only_clip_output_is_a_new_writable_array():
    frame = rand_clip(1)[0]
    out = UMTRandAugment().apply_ops(frame, [SampledOp('Invert', (), 7.0, 3)])
    assert out is not frame and out.flags.writeable and out.flags.c_contiguous
    assert np.array_equal(out, 255 - frame)
    # a non-contiguous frame (a crop view) works the same
    view = rand_clip(1, h=40, w=80)[0][:, 10:66]
    out = UMTRandAugment().apply_ops(view, [SampledOp('Invert', (), 7.0, 3)])
    assert np.array_equal(out, 255 - view)


@pytest.mark.parametrize('mode', ['pixel', 'rand', 'const'])
def test_erasing_in_place_fill_equals_mean_plus_std_z(mode):
    """The in-place fill gives float32(mean + std * z) for the same standard-normal draws."""
    erase = UMTRandomErasing(erase_prob=1.0, mode=mode)
    clip = rand_clip(2, h=32, w=48).astype(np.float32)
    for seed in range(20):
        random.seed(seed)
        np.random.seed(seed)
        out = erase(dict(imgs=list(clip)))['imgs']
        random.seed(seed)
        np.random.seed(seed)
        assert random.random() <= 1.0
        box = erase.sample_box(32, 48)
        if box is None:
            assert all(np.array_equal(a, b) for a, b in zip(out, clip))
            continue
        top, left, h, w = box
        for img, src in zip(out, clip):
            shape = {'pixel': (h, w, 3), 'rand': (1, 1, 3), 'const': None}[mode]
            z = np.random.standard_normal(shape) if shape else np.zeros((1, 1, 3))
            fill = (np.asarray(erase.mean) + np.asarray(erase.std) * z).astype(np.float32)
            expected = src.copy()
            expected[top:top + h, left:left + w] = fill
            assert img.dtype == np.float32 and np.array_equal(img, expected)


def _band_cases():
    """RGB frames whose bands hit every branch of Pillow's autocontrast / equalize tables."""
    rng = np.random.RandomState(11)
    cases = [rng.randint(0, 256, (23, 31, 3)), rng.randint(40, 90, (23, 31, 3)),
             np.full((23, 31, 3), 77), np.zeros((23, 31, 3)), np.full((23, 31, 3), 255)]
    two = np.full((23, 31, 3), 10)
    two[:3] = 200  # two values per band
    one_off = np.full((23, 31, 3), 5)
    one_off[0, 0] = 6  # step 0 in equalize: only one pixel below the top value
    skewed = rng.randint(0, 256, (23, 31, 3))
    skewed[:, :, 1] = rng.choice([0, 3, 255], (23, 31), p=[.8, .1, .1])
    mixed = np.stack([np.full((23, 31), 9), rng.randint(0, 256, (23, 31)),
                      rng.randint(100, 102, (23, 31))], axis=-1)
    return [c.astype(np.uint8) for c in cases + [two, one_off, skewed, mixed]]


@pytest.mark.parametrize('name,pillow', [('auto_contrast', 'autocontrast'),
                                         ('equalize', 'equalize')])
def test_histogram_ops_equal_pillow(name, pillow):
    from PIL import ImageOps
    ours, theirs = getattr(ra, name), getattr(ImageOps, pillow)
    frames = _band_cases()
    video = SHARED / 'data' / 'videos' / 'test.mp4'
    if video.is_file():
        import decord
        frames += list(decord.VideoReader(str(video)).get_batch([0, 150]).asnumpy())
    for frame in frames:
        for img in (Image.fromarray(frame), Image.fromarray(frame[..., 0])):  # RGB and L
            np.testing.assert_array_equal(np.asarray(ours(img)), np.asarray(theirs(img)))
