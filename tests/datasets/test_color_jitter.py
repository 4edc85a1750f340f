"""UMTGroupColorJitter against the reference's formula (torchvision ColorJitter on PIL)."""
import numpy as np
import pytest
import torch
from mmaction.registry import TRANSFORMS

from umt_mm.datasets.transforms.color_jitter import UMTGroupColorJitter, jitter_range


def grey(img):
    """Pillow's RGB -> L: ``(299 R + 587 G + 114 B) / 1000`` in 16-bit fixed point."""
    img = img.astype(np.int64)
    return (img[..., 0] * 19595 + img[..., 1] * 38470 + img[..., 2] * 7471 + 0x8000) >> 16


def blend(degenerate, img, factor):
    """``Image.blend(degenerate, img, factor)``: truncated, clipped to 0..255."""
    value = degenerate + factor * (img.astype(np.float64) - degenerate)
    return np.floor(np.clip(value, 0, 255)).astype(np.uint8)


def reference_jitter(frame, strength):
    """One call of ``ColorJitter(brightness=s, contrast=s, saturation=s)`` on a frame:
    ``randperm(4)`` order, then uniform factors in ``[max(0, 1 - s), 1 + s]`` for
    brightness, contrast, saturation (torch's RNG), applied in that order."""
    order = torch.randperm(4).tolist()
    low, high = max(0.0, 1 - strength), 1 + strength
    factors = [float(torch.empty(1).uniform_(low, high)) for _ in range(3)]
    img = frame
    for index in order:
        if index == 0:  # ImageEnhance.Brightness: blend with black
            img = blend(np.zeros_like(img, dtype=np.float64), img, factors[0])
        elif index == 1:  # ImageEnhance.Contrast: blend with the rounded mean grey level
            img = blend(float(int(grey(img).mean() + 0.5)), img, factors[1])
        elif index == 2:  # ImageEnhance.Color: blend with the greyscale frame
            img = blend(grey(img)[..., None].astype(np.float64), img, factors[2])
    return img, (order, factors)


@pytest.fixture(scope='module')
def clip(shared_data):
    import decord
    reader = decord.VideoReader(str(shared_data / 'videos' / 'test.mp4'), num_threads=1,
                                width=64, height=48)
    return list(reader.get_batch([0, 100, 200, 299]).asnumpy())


def test_each_frame_gets_its_own_draw_as_in_the_reference(clip):
    jitter = TRANSFORMS.build(dict(type='UMTGroupColorJitter', strength=0.4))
    torch.manual_seed(3)
    out = jitter(dict(imgs=[f.copy() for f in clip]))
    torch.manual_seed(3)
    expected = [reference_jitter(f, 0.4) for f in clip]
    assert out['color_jitter_params'] == [p for _, p in expected]
    assert len({tuple(p[1]) for p in out['color_jitter_params']}) == len(clip)  # per frame
    for ours, (ref, _) in zip(out['imgs'], expected):
        assert ours.dtype == np.uint8 and ours.shape == (48, 64, 3)
        diff = np.abs(ours.astype(int) - ref)
        assert diff.max() <= 1 and (diff == 0).mean() > 0.99


def test_same_for_all_frames_applies_one_draw_to_every_frame(clip):
    jitter = UMTGroupColorJitter(strength=0.4, same_for_all_frames=True)
    torch.manual_seed(5)
    frames = [clip[1].copy() for _ in range(3)] + [clip[2].copy()]
    out = jitter(dict(imgs=frames))
    params = out['color_jitter_params']
    assert all(p == params[0] for p in params)
    torch.manual_seed(5)
    ref1, p1 = reference_jitter(clip[1], 0.4)
    assert p1 == params[0]
    for ours in out['imgs'][:3]:
        np.testing.assert_array_equal(ours, out['imgs'][0])
        assert np.abs(ours.astype(int) - ref1).max() <= 1
    torch.manual_seed(5)
    per_frame = UMTGroupColorJitter(strength=0.4)(dict(imgs=[clip[1].copy() for _ in range(3)]))
    assert not all(np.array_equal(f, per_frame['imgs'][0]) for f in per_frame['imgs'][1:])


def test_strength_zero_is_the_identity_and_draws_nothing(clip):
    state = torch.get_rng_state()
    frames = [f.copy() for f in clip]
    out = UMTGroupColorJitter(strength=0)(dict(imgs=frames))
    for ours, frame in zip(out['imgs'], clip):
        np.testing.assert_array_equal(ours, frame)
    assert torch.equal(torch.get_rng_state(), state)
    assert 'color_jitter_params' not in out


def test_single_adjustments_and_arguments(clip):
    # brightness only: every frame scaled by its factor (contrast / saturation off)
    torch.manual_seed(0)
    out = UMTGroupColorJitter(strength=0, brightness=0.5)(dict(imgs=[clip[0].copy()]))
    order, factors = out['color_jitter_params'][0]
    assert factors[1] is None and factors[2] is None and 0.5 <= factors[0] <= 1.5
    expected = blend(np.zeros(3), clip[0], factors[0])
    assert np.abs(out['imgs'][0].astype(int) - expected).max() <= 1
    assert jitter_range(0.4) == pytest.approx((0.6, 1.4))
    assert jitter_range(1.5) == (0.0, 2.5)
    with pytest.raises(ValueError, match='contrast must be a non-negative number'):
        UMTGroupColorJitter(strength=0.4, contrast=-0.1)
    with pytest.raises(TypeError, match='needs uint8 H x W x 3 RGB frames'):
        UMTGroupColorJitter(strength=0.4)(dict(imgs=[clip[0].astype(np.float32)]))
    assert repr(UMTGroupColorJitter(strength=0.4)) == (
        'UMTGroupColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, '
        'same_for_all_frames=False)')
