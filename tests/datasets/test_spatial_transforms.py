"""UMT spatial transforms against the reference (VideoMAE) formulas, hand-computed."""
import math
import random

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmaction.datasets.transforms import CenterCrop, FormatShape, Resize, ThreeCrop
from mmaction.registry import TRANSFORMS

from umt_mm.datasets.transforms import spatial
from umt_mm.datasets.transforms.spatial import (
    UMTCenterCrop,
    UMTMultiCrop,
    UMTRandomResizedCrop,
    UMTShortSideResize,
    reference_crop_starts,
    reference_resize_size,
)


class ScriptedRandom:
    """Stands in for the ``random`` module with scripted ``uniform``/``randint`` results."""

    def __init__(self, uniforms, randints):
        self.uniforms, self.randints = list(uniforms), list(randints)
        self.calls = []

    def uniform(self, a, b):
        self.calls.append(('uniform', a, b))
        return self.uniforms.pop(0)

    def randint(self, a, b):
        self.calls.append(('randint', a, b))
        return self.randints.pop(0)


def frames(h, w, n=2, dtype=np.uint8):
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (h, w, 3)).astype(dtype) for _ in range(n)]


# ----------------------------------------------------------------- RandomResizedCrop
def test_rrc_seeded_draws_hand_computed():
    # H 32, W 40, area 1280. random.seed(0): uniform(0.08, 1) = 0.856868 -> target 1096.79;
    # aspect exp(0.148399) = 1.159975 -> w = round(35.669) = 36, h = round(30.749) = 31;
    # top = randint(0, 1) = 1, left = randint(0, 4) = 0.
    random.seed(0)
    assert UMTRandomResizedCrop.get_crop_bbox((32, 40), (0.08, 1.0), (0.75, 1.3333)) == (
        0, 1, 36, 32)


def test_rrc_scripted_draws_and_retry(monkeypatch):
    # try 1: area 1.0 * 960, aspect exp(log 1.3333) -> w = round(35.78) = 36 > W 32: rejected
    # try 2: area 0.5 * 960 = 480, aspect 1 -> w = h = round(21.909) = 22; top 3, left 5
    fake = ScriptedRandom([1.0, math.log(1.3333), 0.5, 0.0], [3, 5])
    monkeypatch.setattr(spatial, 'random', fake)
    assert UMTRandomResizedCrop.get_crop_bbox((30, 32), (0.08, 1.0), (0.75, 1.3333)) == (
        5, 3, 27, 25)
    assert fake.calls[-2:] == [('randint', 0, 30 - 22), ('randint', 0, 32 - 22)]


@pytest.mark.parametrize('img_h, img_w, expected, mm_expected', [
    # W/H = 10 > 1.3333: h = 20, w = round(20 * 1.3333) = round(26.67) = 27, left = 173 // 2
    (20, 200, (86, 0, 113, 20), (90, 0, 110, 20)),
    # W/H = 0.1 < 0.75: w = 20, h = round(20 / 0.75) = 27, top = 173 // 2
    (200, 20, (0, 86, 20, 113), (0, 90, 20, 110)),
])
def test_rrc_fallback_extreme_aspect(img_h, img_w, expected, mm_expected):
    # area_range (0.5, 1): target >= 2000 needs a side >= sqrt(2000 / 1.3333) = 38.7 > 20,
    # so all 10 tries fail whatever the draws are
    random.seed(1)
    np.random.seed(1)
    args = ((img_h, img_w), (0.5, 1.0), (0.75, 1.3333))
    assert UMTRandomResizedCrop.get_crop_bbox(*args) == expected
    # MMAction2 falls back to the centred min(H, W) square
    assert tuple(int(v) for v in TRANSFORMS.get('RandomResizedCrop').get_crop_bbox(*args)) \
        == mm_expected


def test_rrc_fallback_whole_frame(monkeypatch):
    # W/H = 1.2 is inside the ratio range: the fallback is the whole frame
    # (every try: area 1.0 * 1080, aspect 1.3333 -> w = round(37.95) = 38 > 36)
    fake = ScriptedRandom([1.0, math.log(1.3333)] * 10, [])
    monkeypatch.setattr(spatial, 'random', fake)
    assert UMTRandomResizedCrop.get_crop_bbox((30, 36), (0.08, 1.0), (0.75, 1.3333)) == (
        0, 0, 36, 30)
    assert len(fake.calls) == 20


def test_rrc_transform_keys_then_resize_to_32():
    random.seed(0)
    pipeline = [UMTRandomResizedCrop(), Resize(scale=(32, 32), keep_ratio=False)]
    results = dict(imgs=frames(32, 40, n=3), modality='RGB')
    for t in pipeline:
        results = t(results)
    assert results['crop_bbox'].tolist() == [0, 1, 36, 32]  # the seeded box above
    np.testing.assert_allclose(results['crop_quadruple'], [0, 1 / 32, 36 / 40, 31 / 32],
                               rtol=1e-6)
    assert results['img_shape'] == (32, 32)
    assert [img.shape for img in results['imgs']] == [(32, 32, 3)] * 3
    assert results['imgs'][0].dtype == np.uint8


def test_rrc_to_float32_matches_torch_interpolate():
    random.seed(0)
    src = frames(32, 40, n=1)
    results = dict(imgs=src, modality='RGB')
    for t in [UMTRandomResizedCrop(to_float32=True), Resize(scale=(24, 24), keep_ratio=False)]:
        results = t(results)
    out = results['imgs'][0]
    assert out.dtype == np.float32
    crop = torch.from_numpy(src[0][1:32, 0:36].astype(np.float32)).permute(2, 0, 1)[None]
    ref = F.interpolate(crop, size=(24, 24), mode='bilinear', align_corners=False)
    np.testing.assert_allclose(out, ref[0].permute(1, 2, 0).numpy(), atol=0.02)


def test_rrc_registry_and_repr():
    t = TRANSFORMS.build(dict(type='UMTRandomResizedCrop'))
    assert isinstance(t, UMTRandomResizedCrop)
    assert repr(t) == ('UMTRandomResizedCrop(area_range=(0.08, 1.0), '
                       'aspect_ratio_range=(0.75, 1.3333), lazy=False, to_float32=False)')
    with pytest.raises(ValueError):
        UMTRandomResizedCrop(lazy=True, to_float32=True)


# ----------------------------------------------------------------- short-side resize
@pytest.mark.parametrize('img_h, img_w, new_h, new_w, mm_long', [
    (240, 320, 224, 298, 299),  # int(224 * 320 / 240) = int(298.67) vs rounding 299
    (320, 240, 298, 224, 299),  # portrait
    (256, 340, 224, 297, 298),  # int(297.5) vs 298
    (224, 300, 224, 300, 300),  # already the right size: untouched
])
def test_short_side_resize(img_h, img_w, new_h, new_w, mm_long):
    assert reference_resize_size(img_h, img_w, 224) == (new_h, new_w)
    src = frames(img_h, img_w)
    results = UMTShortSideResize(224)(dict(imgs=list(src), modality='RGB'))
    assert results['img_shape'] == (new_h, new_w)
    assert results['keep_ratio'] is True
    np.testing.assert_allclose(results['scale_factor'], [new_w / img_w, new_h / img_h],
                               rtol=1e-6)
    for out, img in zip(results['imgs'], src):
        assert out.shape == (new_h, new_w, 3) and out.dtype == np.uint8
        np.testing.assert_array_equal(
            out, cv2.resize(img, (new_w, new_h), interpolation=cv2.INTER_LINEAR))
    mm = Resize(scale=(-1, 224))(dict(imgs=list(src), modality='RGB'))
    assert max(mm['img_shape']) == mm_long


def test_short_side_resize_repr_and_registry():
    t = TRANSFORMS.build(dict(type='UMTShortSideResize', short_side=384))
    assert repr(t) == 'UMTShortSideResize(short_side=384)'


# ----------------------------------------------------------------- validation centre crop
@pytest.mark.parametrize('img_w, left, mm_left', [
    (16 + 3, 2, 1),  # round(1.5) = 2 (half to even), floor 1
    (16 + 5, 2, 2),  # round(2.5) = 2
    (16 + 7, 4, 3),  # round(3.5) = 4
    (16 + 4, 2, 2),
])
def test_center_crop_rounding(img_w, left, mm_left):
    src = frames(16, img_w)
    results = UMTCenterCrop(16)(dict(imgs=list(src), modality='RGB'))
    assert results['crop_bbox'].tolist() == [left, 0, left + 16, 16]
    assert results['img_shape'] == (16, 16)
    np.testing.assert_array_equal(results['imgs'][0], src[0][:, left:left + 16])
    mm = CenterCrop(16)(dict(imgs=list(src), modality='RGB'))
    assert mm['crop_bbox'].tolist()[0] == mm_left
    assert repr(UMTCenterCrop(16)) == 'UMTCenterCrop(crop_size=(16, 16), lazy=False)'
    with pytest.raises(ValueError):
        UMTCenterCrop(32)(dict(imgs=list(src), modality='RGB'))


# ----------------------------------------------------------------- test-time crops
def test_crop_starts_hand_computed():
    assert reference_crop_starts(298, 224, 3) == [0, 37, 74]
    assert reference_crop_starts(298, 224, 1) == [37]
    assert reference_crop_starts(299, 224, 3) == [0, 37, 75]  # ThreeCrop: 0, 74, 37
    assert reference_crop_starts(300, 224, 5) == [0, 19, 38, 57, 76]
    assert reference_crop_starts(224, 224, 3) == [0, 0, 0]


@pytest.mark.parametrize('portrait', [False, True])
@pytest.mark.parametrize('num_crops, starts', [(3, [0, 37, 74]), (1, [37])])
def test_multi_crop_offsets(portrait, num_crops, starts):
    h, w = (298, 224) if portrait else (224, 298)
    src = frames(h, w, n=2)
    results = UMTMultiCrop(224, num_crops)(dict(imgs=list(src), modality='RGB'))
    assert len(results['imgs']) == 2 * num_crops
    assert results['img_shape'] == (224, 224)
    for k, start in enumerate(starts):
        for f in range(2):
            out = results['imgs'][2 * k + f]  # crop-major
            expected = src[f][start:start + 224] if portrait else src[f][:, start:start + 224]
            np.testing.assert_array_equal(out, expected)
            bbox = [0, start, 224, start + 224] if portrait else [start, 0, start + 224, 224]
            assert results['crop_bbox'][2 * k + f].tolist() == bbox


def test_multi_crop_vs_three_crop_odd_difference():
    src = frames(16, 16 + 5, n=1)  # long - S = 5: reference 0, 2, 5
    ours = UMTMultiCrop(16)(dict(imgs=list(src), modality='RGB'))
    mm = ThreeCrop(16)(dict(imgs=list(src), modality='RGB'))
    assert ours['crop_bbox'][:, 0].tolist() == [0, 2, 5]
    assert mm['crop_bbox'][:, 0].tolist() == [0, 4, 2]  # left, right (2 * (5 // 2)), middle


def test_multi_crop_format_shape_views():
    # 2 clips x 4 frames, 3 crops of 8 along a width of 14 -> starts 0, 3, 6
    num_clips, clip_len = 2, 4
    imgs = []
    for c in range(num_clips):
        for t in range(clip_len):
            img = np.zeros((8, 14, 3), np.uint8)
            img[..., 0] = np.arange(14)[None]  # column index
            img[..., 1] = c
            img[..., 2] = t
            imgs.append(img)
    results = dict(imgs=imgs, num_clips=num_clips, clip_len=clip_len, modality='RGB')
    results = UMTMultiCrop(8, 3)(results)
    results = FormatShape('NCTHW')(results)
    out = results['imgs']
    assert out.shape == (6, 3, clip_len, 8, 8)
    for view in range(6):
        crop, clip = divmod(view, num_clips)  # views are crop-major: crops x clips
        assert out[view, 0, :, 0, 0].tolist() == [[0, 3, 6][crop]] * clip_len
        assert out[view, 1].max() == out[view, 1].min() == clip
        assert out[view, 2, :, 0, 0].tolist() == list(range(clip_len))


def test_multi_crop_repr_and_errors():
    t = TRANSFORMS.build(dict(type='UMTMultiCrop', crop_size=224))
    assert repr(t) == 'UMTMultiCrop(crop_size=224, num_crops=3)'
    with pytest.raises(ValueError):
        UMTMultiCrop(224, 0)
    with pytest.raises(ValueError):
        UMTMultiCrop(32)(dict(imgs=frames(16, 20), modality='RGB'))
