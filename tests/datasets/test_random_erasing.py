"""UMTRandomErasing against the reference's cube RandomErasing (VideoMAE ``_erase_cube``)."""
import math
import random

import numpy as np
import pytest
from mmaction.registry import TRANSFORMS

from umt_mm.datasets.transforms import random_erasing
from umt_mm.datasets.transforms.random_erasing import UMTRandomErasing

MEAN = np.array([123.675, 116.28, 103.53], np.float32)
STD = np.array([58.395, 57.12, 57.375], np.float32)


class ScriptedRandom:
    """Stands in for the ``random`` module with scripted results."""

    def __init__(self, randoms=(), uniforms=(), randints=()):
        self.randoms, self.uniforms, self.randints = list(randoms), list(uniforms), list(randints)
        self.calls = []

    def random(self):
        self.calls.append('random')
        return self.randoms.pop(0)

    def uniform(self, a, b):
        self.calls.append('uniform')
        return self.uniforms.pop(0)

    def randint(self, a, b):
        self.calls.append(('randint', a, b))
        return self.randints.pop(0)


def const_frames(n, h, w, value=100):
    return [np.full((h, w, 3), value, np.uint8) for _ in range(n)]


def erased_mask(img, value=100):
    return (img != value).any(axis=-1)


def test_same_box_on_all_frames_fresh_noise():
    t = UMTRandomErasing(erase_prob=1.0)
    random.seed(0)
    np.random.seed(0)
    src = const_frames(4, 64, 80)
    out = t(dict(imgs=list(src)))['imgs']
    random.seed(0)
    random.random()  # the probability coin
    top, left, h, w = t.sample_box(64, 80)
    expected = np.zeros((64, 80), bool)
    expected[top:top + h, left:left + w] = True
    assert h * w > 0
    for img in out:
        assert img.dtype == np.float32 and img.shape == (64, 80, 3)
        np.testing.assert_array_equal(erased_mask(img), expected)
    # fresh values per frame, the input frames untouched
    assert not np.allclose(out[0][expected], out[1][expected])
    assert all((img == 100).all() for img in src)


def test_pixel_values_normalise_to_standard_normal():
    t = UMTRandomErasing(erase_prob=1.0, min_area_ratio=0.3, max_area_ratio=0.3)
    random.seed(1)
    np.random.seed(1)
    src = const_frames(4, 128, 128)
    out = np.stack(t(dict(imgs=src))['imgs'])
    mask = erased_mask(out[0])
    assert mask.sum() > 0.25 * 128 * 128
    z = (out[:, mask] - MEAN) / STD  # (T, pixels, C) in normalised space
    assert abs(z.mean()) < 0.02 and abs(z.std() - 1) < 0.02
    for c in range(3):
        assert abs(z[..., c].mean()) < 0.03 and abs(z[..., c].std() - 1) < 0.03
    # not clipped to 0-255 and not rounded
    assert out.min() < 0 and out.max() > 255
    assert not np.allclose(out[:, mask], np.round(out[:, mask]))
    # outside the box: the input values
    assert (out[:, ~mask] == 100).all()


def test_preprocessor_recovers_the_standard_normal_draws():
    from mmaction.datasets.transforms import FormatShape, PackActionInputs
    from mmaction.models import ActionDataPreprocessor
    from mmengine.dataset import pseudo_collate

    t = UMTRandomErasing(erase_prob=1.0)
    random.seed(5)
    np.random.seed(5)
    results = t(dict(imgs=const_frames(3, 16, 16), num_clips=1, clip_len=3, label=0))
    results = PackActionInputs()(FormatShape('NCTHW')(results))
    pre = ActionDataPreprocessor(mean=MEAN.tolist(), std=STD.tolist(), format_shape='NCTHW')
    x = pre(pseudo_collate([results]), training=False)['inputs'].numpy()  # 1,1,C,T,H,W
    random.seed(5)
    random.random()
    top, left, h, w = t.sample_box(16, 16)
    np.random.seed(5)
    for f in range(3):
        z = np.random.standard_normal((h, w, 3)).transpose(2, 0, 1)
        np.testing.assert_allclose(x[0, 0, :, f, top:top + h, left:left + w], z, atol=1e-5)


def test_float32_even_when_not_erased():
    src = [np.arange(48, dtype=np.uint8).reshape(4, 4, 3)] * 2
    out = UMTRandomErasing(erase_prob=0.0)(dict(imgs=list(src)))['imgs']
    assert isinstance(out, list)
    assert all(img.dtype == np.float32 for img in out)
    np.testing.assert_array_equal(out[0], src[0])
    arr = np.zeros((3, 4, 4, 3), np.uint8)
    out = UMTRandomErasing(erase_prob=0.0)(dict(imgs=arr))['imgs']
    assert isinstance(out, np.ndarray) and out.dtype == np.float32 and out.shape == arr.shape
    random.seed(0)
    out = UMTRandomErasing(erase_prob=1.0)(dict(imgs=arr))['imgs']
    assert isinstance(out, np.ndarray) and out.dtype == np.float32 and out.shape == arr.shape
    assert (arr == 0).all()


def test_probability_statistics():
    t = UMTRandomErasing()  # erase_prob 0.25
    random.seed(123)
    np.random.seed(123)
    n = 4000
    erased = sum(erased_mask(t(dict(imgs=const_frames(1, 16, 16)))['imgs'][0]).any()
                 for _ in range(n))
    assert abs(erased / n - 0.25) < 0.03


def test_probability_coin_boundary(monkeypatch):
    # reference: ``if random.random() > probability: return``
    fake = ScriptedRandom(randoms=[0.25], uniforms=[0.25, 0.0], randints=[1, 2])
    monkeypatch.setattr(random_erasing, 'random', fake)
    out = UMTRandomErasing(erase_prob=0.25)(dict(imgs=const_frames(1, 20, 20)))['imgs'][0]
    assert erased_mask(out).sum() == 10 * 10
    fake = ScriptedRandom(randoms=[0.2500001])
    monkeypatch.setattr(random_erasing, 'random', fake)
    out = UMTRandomErasing(erase_prob=0.25)(dict(imgs=const_frames(1, 20, 20)))['imgs'][0]
    assert not erased_mask(out).any() and fake.calls == ['random']


def test_retry_until_box_fits(monkeypatch):
    # H = W = 20, area 400. Try 1: 0.25 * 400 = 100, aspect 4 -> h = 20, w = 5: rejected
    # because h < H is strict. Try 2: 100, aspect 1 -> h = w = 10, top 2, left 5.
    fake = ScriptedRandom(randoms=[0.0], uniforms=[0.25, math.log(4), 0.25, 0.0],
                          randints=[2, 5])
    monkeypatch.setattr(random_erasing, 'random', fake)
    out = UMTRandomErasing()(dict(imgs=const_frames(2, 20, 20)))['imgs']
    expected = np.zeros((20, 20), bool)
    expected[2:12, 5:15] = True
    for img in out:
        np.testing.assert_array_equal(erased_mask(img), expected)
    assert fake.calls[-2:] == [('randint', 0, 10), ('randint', 0, 10)]


@pytest.mark.parametrize('max_attempts', [100, 5])
def test_gives_up_after_max_attempts(monkeypatch, max_attempts):
    # every try: target 1/3 * 400 = 133.3, aspect 10/3 -> h = round(21.08) = 21 >= H = 20
    fake = ScriptedRandom(randoms=[0.0], uniforms=[1 / 3, math.log(10 / 3)] * max_attempts)
    monkeypatch.setattr(random_erasing, 'random', fake)
    out = UMTRandomErasing(max_attempts=max_attempts)(dict(imgs=const_frames(2, 20, 20)))
    assert fake.calls.count('uniform') == 2 * max_attempts
    assert not any(c[0] == 'randint' for c in fake.calls if isinstance(c, tuple))
    for img in out['imgs']:
        assert img.dtype == np.float32 and (img == 100).all()


def test_const_and_rand_modes():
    random.seed(2)
    out = UMTRandomErasing(erase_prob=1.0, mode='const')(dict(imgs=const_frames(2, 32, 32)))
    mask = erased_mask(out['imgs'][0])
    assert mask.any()
    for img in out['imgs']:
        np.testing.assert_array_equal(img[mask], np.broadcast_to(MEAN, img[mask].shape))
    random.seed(2)
    np.random.seed(2)
    out = UMTRandomErasing(erase_prob=1.0, mode='rand')(dict(imgs=const_frames(2, 32, 32)))
    colours = []
    for img in out['imgs']:
        np.testing.assert_array_equal(erased_mask(img), mask)  # same seed, same box
        inside = img[mask]
        assert (inside == inside[0]).all()  # one colour per frame
        colours.append(inside[0])
    assert not np.allclose(colours[0], colours[1])  # drawn afresh per frame


def test_registry_repr_and_validation():
    t = TRANSFORMS.build(dict(type='UMTRandomErasing'))
    assert isinstance(t, UMTRandomErasing)
    assert t.max_aspect == pytest.approx(1 / 0.3)
    assert repr(t).startswith("UMTRandomErasing(erase_prob=0.25, min_area_ratio=0.02, ")
    assert "mode='pixel', max_attempts=100" in repr(t)
    for bad in (dict(erase_prob=1.5), dict(mode='zeros'), dict(min_area_ratio=0.5),
                dict(max_attempts=0)):
        with pytest.raises(ValueError):
            UMTRandomErasing(**bad)
