"""``UMTRandAugmentCrop`` equals ``UMTRandAugment`` then ``UMTRandomResizedCrop``.

Same random draws (the generators' states after the call are compared), same crop keys,
same pixels: on random and smooth frames and on real video frames, for the recipes'
policy and for dense policies that put every op kind before and after the others, and
for hand-made op sequences covering each way the fused path splits a clip.
"""
import copy
import os
import random
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from umt_mm.datasets.transforms import rand_augment_crop as rac
from umt_mm.datasets.transforms.rand_augment import (
    SampledOp,
    UMTRandAugment,
    apply_op,
    compile_ops,
)
from umt_mm.datasets.transforms.rand_augment_crop import (
    UMTRandAugmentCrop,
    _exact_origin,
    affine_data,
    augment_crop,
    kernel_available,
)
from umt_mm.datasets.transforms.spatial import UMTRandomResizedCrop

SHARED = Path(os.environ.get('UMT_MM_SHARED', Path(__file__).resolve().parents[3] / 'shared'))
BICUBIC = int(Image.Resampling.BICUBIC)
BILINEAR = int(Image.Resampling.BILINEAR)
NEAREST = int(Image.Resampling.NEAREST)


def random_frames(n=3, h=40, w=56, seed=0):
    return list(np.random.RandomState(seed).randint(0, 256, (n, h, w, 3)).astype(np.uint8))


def smooth_frames(n=3, h=40, w=56, seed=0):
    """Gradients with flat patches: bicubic values land on and near integers."""
    rng = np.random.RandomState(seed)
    y, x = np.mgrid[0:h, 0:w]
    frames = []
    for _ in range(n):
        f = np.stack([(x * rng.uniform(1, 4) + y * rng.uniform(0, 2)) % 256,
                      np.full((h, w), rng.randint(0, 256)),
                      (y * 6) % 256], axis=-1)
        f[h // 3:h // 2, w // 4:w // 2] = rng.randint(0, 256, 3)
        frames.append(f.astype(np.uint8))
    return frames


NO_KERNEL = ('the optional C extension umt_mm._affine_bicubic is not built (pip install -e . '
             'builds it where a C compiler and the Python headers are found)')
needs_kernel = pytest.mark.skipif(rac._affine_bicubic is None, reason=NO_KERNEL)


@pytest.fixture(params=['kernel', 'pillow'])
def path(request, monkeypatch):
    """Run a test with the C kernel (as installed) and with Pillow alone."""
    if request.param == 'kernel':
        if rac._affine_bicubic is None:
            pytest.skip(NO_KERNEL)
        assert kernel_available(), (
            'umt_mm._affine_bicubic is not built or differs from Pillow here (pip install -e . '
            'builds it; it needs a C compiler and the Python headers)')
    else:
        monkeypatch.setattr(rac, '_KERNEL_OK', False)
    return request.param


def two_step(results, aug_cfg, crop_cfg):
    results = UMTRandAugment(**aug_cfg)(results)
    return UMTRandomResizedCrop(**crop_cfg)(results)


def assert_same_call(frames, seed, aug_cfg, crop_cfg):
    """Run both with the same seeds; compare outputs, crop keys and generator states."""
    base = dict(imgs=frames, img_shape=frames[0].shape[:2], crop_quadruple=np.array(
        [0.1, 0.0, 0.8, 1.0], np.float32))
    random.seed(seed)
    np.random.seed(seed)
    expected = two_step(copy.deepcopy(base), aug_cfg, crop_cfg)
    states = random.getstate(), np.random.get_state()[1].copy()
    random.seed(seed)
    np.random.seed(seed)
    inputs = [f.copy() for f in frames]
    got = UMTRandAugmentCrop(aug_cfg, crop_cfg)(dict(copy.deepcopy(base), imgs=inputs))
    assert random.getstate() == states[0]
    assert (np.random.get_state()[1] == states[1]).all()
    assert all((a == b).all() for a, b in zip(inputs, frames))  # input frames untouched
    assert (got['crop_bbox'] == expected['crop_bbox']).all()
    assert got['img_shape'] == expected['img_shape']
    np.testing.assert_array_equal(got['crop_quadruple'], expected['crop_quadruple'])
    assert len(got['imgs']) == len(expected['imgs'])
    for a, b in zip(got['imgs'], expected['imgs']):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    return got


@pytest.mark.parametrize('policy,interpolation', [
    ('rand-m7-n4-mstd0.5-inc1', 'bicubic'),   # the recipes'
    ('rand-m9-n8-mstd1.0-inc1', 'random'),    # dense: every op kind before and after others
    ('rand-m10-n6-mstd0.5-inc0', 'bilinear'),
])
@pytest.mark.parametrize('make_frames', [random_frames, smooth_frames])
def test_equals_two_step_on_synthetic_frames(policy, interpolation, make_frames, path):
    aug_cfg = dict(policy=policy, interpolation=interpolation)
    for seed in range(40):
        frames = make_frames(seed=seed)
        assert_same_call(frames, seed, aug_cfg, dict(to_float32=seed % 2 == 0))


def test_equals_two_step_on_real_video_frames(path):
    video = SHARED / 'data' / 'videos' / 'test.mp4'
    if not video.is_file():
        pytest.skip(f'shared sample video not found: {video} (set UMT_MM_SHARED)')
    import decord
    frames = list(decord.VideoReader(str(video)).get_batch([0, 97, 211]).asnumpy())
    for seed in range(12):
        for policy in ('rand-m7-n4-mstd0.5-inc1', 'rand-m9-n8-mstd1.0-inc1'):
            assert_same_call(frames, seed, dict(policy=policy), dict(to_float32=True))


def op(name, *args, resample=BICUBIC):
    return SampledOp(name, tuple(args), 7.0, resample)


SEQUENCES = {
    'geometric then neighbourhood ops (margin 2)': [
        op('Rotate', 17.3), op('Sharpness', 1.8), op('Color', 0.4), op('Sharpness', 0.2)],
    'statistics op after the geometric one': [op('ShearX', 0.21), op('AutoContrast')],
    'geometric op after statistics ops': [
        op('Equalize'), op('Contrast', 1.6), op('TranslateXRel', -0.31), op('Posterize', 3)],
    'two geometric ops': [op('ShearY', -0.17), op('Solarize', 100), op('TranslateYRel', 0.2),
                          op('Sharpness', 1.5)],
    'value and colour ops only': [op('Posterize', 2), op('Color', 1.7), op('Invert'),
                                  op('Sharpness', 0.3)],
    'nearest filter (whole frame)': [op('Rotate', -11.0, resample=NEAREST), op('Color', 0.5)],
    'bilinear filter': [op('ShearX', -0.28, resample=BILINEAR), op('Brightness', 1.3)],
    'rotation by 180 degrees (a transpose)': [op('Rotate', 180.0), op('Sharpness', 1.9)],
    'absolute translations': [op('TranslateX', 13.7), op('TranslateY', -9.2)],
    'no ops': [],
}


@pytest.mark.parametrize('name', sorted(SEQUENCES))
def test_every_split_of_a_clip_equals_the_whole_frame_path(name, path):
    aug = UMTRandAugment()
    steps = compile_ops(SEQUENCES[name])
    frames = random_frames(2, 37, 52, seed=7) + smooth_frames(1, 37, 52, seed=7)
    boxes = [(0, 0, 52, 37), (0, 0, 9, 6), (43, 31, 52, 37), (5, 11, 40, 30), (1, 1, 51, 36),
             (20, 0, 21, 37)]
    for frame in frames:
        whole = aug._apply_steps(frame, steps)
        for left, top, right, bottom in boxes:
            got = augment_crop(aug, frame, steps, (left, top, right, bottom))
            np.testing.assert_array_equal(got, whole[top:bottom, left:right], err_msg=str(
                (name, (left, top, right, bottom))))
            assert not np.shares_memory(got, frame) and got.flags.writeable


@pytest.mark.parametrize('size', [(56, 40), (48, 48)])
def test_affine_data_is_the_map_pillow_applies(size):
    img = Image.fromarray(random_frames(1, size[1], size[0], seed=1)[0])
    ops = [op('ShearX', 0.13), op('ShearY', -0.29), op('TranslateXRel', 0.37),
           op('TranslateYRel', -0.11), op('TranslateX', 4.5), op('TranslateY', -7.25),
           op('Rotate', 23.0), op('Rotate', -359.5), op('Rotate', 90.0)]
    for o in ops:
        expected = np.asarray(apply_op(img, o.name, o.args, resample=o.resample))
        data = affine_data(o, *size)
        if data is None:  # Pillow transposes a square frame by 90 degrees
            assert o.args[0] == 90.0 and size[0] == size[1]
            continue
        got = np.asarray(img.transform(size, Image.Transform.AFFINE, data,
                                       resample=o.resample, fillcolor=(128, 128, 128)))
        np.testing.assert_array_equal(got, expected, err_msg=o.name)
    assert affine_data(op('Rotate', 0.0), *size) is None
    assert affine_data(op('Rotate', 540.0), *size) is None
    with pytest.raises(ValueError, match="'Color' is not a geometric op"):
        affine_data(op('Color', 1.0), *size)


def test_build_repr_unfused_and_errors():
    from mmaction.registry import TRANSFORMS

    import umt_mm  # noqa: F401
    cfg = dict(type='UMTRandAugmentCrop',
               rand_augment=dict(policy='rand-m7-n4-mstd0.5-inc1', translate_const=100),
               crop=dict(area_range=(0.08, 1.0), aspect_ratio_range=(0.75, 1.3333),
                         to_float32=True))
    t = TRANSFORMS.build(cfg)
    assert isinstance(t, UMTRandAugmentCrop)
    assert t.unfused() == [
        dict(type='UMTRandAugment', policy='rand-m7-n4-mstd0.5-inc1', translate_const=100),
        dict(type='UMTRandomResizedCrop', area_range=(0.08, 1.0),
             aspect_ratio_range=(0.75, 1.3333), to_float32=True)]
    assert repr(t).startswith("UMTRandAugmentCrop(rand_augment=UMTRandAugment(policy='rand-m7")
    with pytest.raises(ValueError, match='lazy'):
        UMTRandAugmentCrop(crop=dict(lazy=True))
    frames = random_frames(2)
    with pytest.raises(ValueError, match=r'does not match img_shape \(30, 56\)'):
        t(dict(imgs=frames, img_shape=(30, 56)))
    with pytest.raises(ValueError, match='not inside the 56x40 frame'):
        augment_crop(t.rand_augment, frames[0], [], (0, 0, 57, 40))


def test_uint8_output_without_to_float32_is_a_new_array_per_frame():
    frames = random_frames(2, seed=3)
    random.seed(5)
    np.random.seed(5)
    out = UMTRandAugmentCrop(crop=dict(to_float32=False))(
        dict(imgs=frames, img_shape=(40, 56)))['imgs']
    assert all(o.dtype == np.uint8 and not np.shares_memory(o, f) for o, f in zip(out, frames))
    assert all(o.flags.writeable for o in out)  # as the two transforms' crops
    with pytest.raises(ValueError, match='expects H x W x 3 uint8 RGB frames'):
        augment_crop(UMTRandAugment(), frames[0].astype(np.float32), [], (0, 0, 5, 5))


def test_exact_origin_is_the_largest_exact_shift():
    from fractions import Fraction

    rng = np.random.RandomState(0)
    offsets = list(rng.uniform(-160, 160, 200)) + [0.0, 3.0, -7.0, 0.5, 127.999, -0.1, 1e-9]
    for offset in offsets:
        for start in (0, 1, 37, 340):
            exact = [o for o in range(start + 1)
                     if Fraction(offset) + o == Fraction(offset + o)]
            assert _exact_origin(offset, start) == max(exact), (offset, start)


def test_every_op_has_a_locality_class():
    """Each RandAugment op is geometric, statistics, neighbourhood or per-pixel (an op of no
    class would be treated as a statistics op: computed on the whole frame)."""
    from umt_mm.datasets.transforms import rand_augment as ra
    from umt_mm.datasets.transforms import rand_augment_crop as rac
    classes = [ra._GEOMETRIC_OPS, rac.STATISTICS_OPS, rac.NEIGHBOURHOOD_OPS, rac.PIXEL_OPS]
    for name in ra.NAME_TO_OP:
        assert sum(name in c for c in classes) == 1, name


@needs_kernel
def test_kernel_equals_pillow_on_any_rectangle():
    """The C kernel gives Pillow's bicubic transform at absolute positions: random, smooth
    and real frames, every geometric op kind (and fractions exactly 0), any rectangle."""
    assert rac.kernel_mismatch() is None
    kernel = rac._affine_bicubic
    rng = np.random.RandomState(0)
    frames = random_frames(3, 29, 41, seed=1) + smooth_frames(3, 29, 41, seed=2)
    video = SHARED / 'data' / 'videos' / 'test.mp4'
    if video.is_file():
        import decord
        frames.append(decord.VideoReader(str(video)).get_batch([120]).asnumpy()[0])
    names = ['ShearX', 'ShearY', 'TranslateXRel', 'TranslateYRel', 'Rotate', 'TranslateX',
             'TranslateY']
    for trial in range(400):
        frame = frames[trial % len(frames)]
        height, width = frame.shape[:2]
        name = names[trial % len(names)]
        arg = dict(Rotate=rng.uniform(-40, 40), ShearX=rng.uniform(-.3, .3),
                   ShearY=rng.uniform(-.3, .3)).get(name, rng.uniform(-.45, .45))
        if name in ('TranslateX', 'TranslateY'):
            arg = float(rng.randint(-9, 9)) if trial % 2 else rng.uniform(-9, 9)
        if trial % 5 == 0 and name.startswith('Shear'):
            arg = 0.3  # the clipped magnitude: many coordinates on the pixel grid
        data = affine_data(op(name, arg), width, height)
        if data is None:
            continue
        fill = tuple(int(v) for v in rng.randint(0, 256, 3))
        whole = np.asarray(Image.fromarray(frame).transform(
            (width, height), Image.Transform.AFFINE, data, resample=BICUBIC, fillcolor=fill))
        x0, y0 = rng.randint(0, width), rng.randint(0, height)
        x1, y1 = rng.randint(x0 + 1, width + 1), rng.randint(y0 + 1, height + 1)
        out = np.empty((y1 - y0, x1 - x0, 3), np.uint8)
        kernel.transform(np.ascontiguousarray(frame), out, tuple(map(float, data)), x0, y0,
                         fill)
        np.testing.assert_array_equal(out, whole[y0:y1, x0:x1], err_msg=f'{name} {arg}')
    with pytest.raises(ValueError, match='H x W x 3 uint8'):
        kernel.transform(np.zeros((4, 4), np.uint8), np.zeros((2, 2, 3), np.uint8),
                         (1., 0., 0., 0., 1., 0.), 0, 0, (0, 0, 0))
    with pytest.raises(ValueError, match='H x W x 3 uint8'):
        kernel.transform(np.zeros((4, 4, 3), np.float32), np.zeros((2, 2, 3), np.uint8),
                         (1., 0., 0., 0., 1., 0.), 0, 0, (0, 0, 0))


class PillowKernel:
    """``umt_mm._affine_bicubic``'s interface computed by Pillow (exact by construction),
    optionally with one wrong pixel for the maps of one op kind."""

    def __init__(self, wrong_for: str | None = None):
        self.wrong_for = wrong_for

    def transform(self, src, out, data, x0, y0, fill):
        height, width = src.shape[:2]
        whole = np.asarray(Image.fromarray(src).transform(
            (width, height), Image.Transform.AFFINE, data, resample=BICUBIC, fillcolor=fill))
        out[...] = whole[y0:y0 + out.shape[0], x0:x0 + out.shape[1]]
        if map_kind(data) == self.wrong_for:
            out[-1, -1, 0] ^= 1


def map_kind(data):
    """The op kind of an affine map of :func:`affine_data`."""
    a, b, c, d, e, f = data
    if b and d:
        return 'rotate'
    if b:
        return 'shear_x'
    if d:
        return 'shear_y'
    return 'translate_x' if c else 'translate_y'


def kernel_paths(data, width=37, height=23):
    """Which of the kernel's paths the map takes over the whole frame (as the C code)."""
    a, b, c, d, e, f = data
    y, x = np.mgrid[0:height, 0:width] + 0.5
    xx, yy = a * x + b * y + c - 0.5, d * x + e * y + f - 0.5
    dx, dy = xx - np.floor(xx), yy - np.floor(yy)
    return {('one row' if fy == 0 else 'one column' if fx == 0 else '4 x 4')
            for fx, fy in zip(dx.ravel(), dy.ravel())}


def test_the_check_covers_every_op_and_path_the_kernel_takes_over():
    from umt_mm.datasets.transforms.rand_augment import _GEOMETRIC_OPS
    assert {name for name, _ in rac.KERNEL_CHECK_OPS} == _GEOMETRIC_OPS
    maps = [affine_data(op(name, arg), 37, 23) for name, arg in rac.KERNEL_CHECK_OPS]
    assert {map_kind(m) for m in maps if m} == {
        'rotate', 'shear_x', 'shear_y', 'translate_x', 'translate_y'}
    paths = set().union(*(kernel_paths(m) for m in maps if m))
    assert paths == {'one row', 'one column', '4 x 4'}
    assert kernel_paths(affine_data(op('ShearX', 0.3), 37, 23)) == {'one row'}
    assert kernel_paths(affine_data(op('ShearY', 0.3), 37, 23)) == {'one column'}


@pytest.mark.parametrize('kind', ['rotate', 'shear_x', 'shear_y', 'translate_x',
                                  'translate_y'])
def test_a_wrong_kernel_result_for_any_op_falls_back_to_pillow(kind, monkeypatch):
    """A kernel wrong only for ``kind`` fails the run-time check: Pillow is used, one
    warning names the op, and the fused transform still equals the two-step one."""
    monkeypatch.setattr(rac, '_affine_bicubic', PillowKernel())
    assert rac.kernel_mismatch() is None  # the check itself accepts an exact kernel
    monkeypatch.setattr(rac, '_affine_bicubic', PillowKernel(wrong_for=kind))
    monkeypatch.setattr(rac, '_KERNEL_OK', None)
    name = dict(rotate='Rotate', shear_x='ShearX', shear_y='ShearY', translate_x='TranslateX',
                translate_y='TranslateY')[kind]
    with pytest.warns(UserWarning, match=rf'does not reproduce Pillow .*{name}') as record:
        assert not kernel_available()
    assert len(record) == 1
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert not kernel_available()  # checked once per process: no second warning
    plan = rac.plan_augment_crop([op('Rotate', 17.3)], 40, 30, (5, 5, 20, 20))
    assert not plan.kernel and not plan.region_by_kernel
    aug = UMTRandAugment()
    steps = compile_ops([op('Rotate', 17.3), op('ShearY', 0.2), op('TranslateXRel', 0.3)])
    frame = random_frames(1, 30, 40, seed=3)[0]
    np.testing.assert_array_equal(augment_crop(aug, frame, steps, (5, 5, 20, 20)),
                                  aug._apply_steps(frame, steps)[5:20, 5:20])


def test_the_warning_names_the_pillow_release_the_kernel_copies(monkeypatch):
    monkeypatch.setattr(rac, '_affine_bicubic', PillowKernel(wrong_for='rotate'))
    monkeypatch.setattr(rac, '_KERNEL_OK', None)
    monkeypatch.setattr(rac, 'KERNEL_PILLOW_VERSION', '0.0.1')
    with pytest.warns(UserWarning, match=r'the kernel copies Pillow 0\.0\.1; Pillow .* is '
                      'installed'):
        assert not kernel_available()
    monkeypatch.setattr(rac, '_KERNEL_OK', None)
    monkeypatch.setattr(rac, 'KERNEL_PILLOW_VERSION', Image.__version__)
    with pytest.warns(UserWarning) as record:
        assert not kernel_available()
    assert 'the kernel copies' not in str(record[0].message)


def test_a_kernel_that_raises_or_is_absent_is_not_used(monkeypatch):
    class Broken:
        def transform(self, *args):
            raise ValueError('built for another ABI')

    monkeypatch.setattr(rac, '_affine_bicubic', Broken())
    monkeypatch.setattr(rac, '_KERNEL_OK', None)
    with pytest.warns(UserWarning, match='ValueError: built for another ABI'):
        assert not kernel_available()
    plan = rac.plan_augment_crop([op('ShearX', 0.1)], 40, 30, (5, 5, 20, 20))
    assert not plan.kernel and plan.origin == (0, 0) and plan.size == (20, 20)
    monkeypatch.setattr(rac, '_KERNEL_OK', None)
    monkeypatch.setattr(rac, '_affine_bicubic', None)  # not built: Pillow, no warning
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert not kernel_available()
