"""The pretraining crops are resized as the reference does: PIL ``Image.BILINEAR``."""
import random

import cv2
import numpy as np
import pytest
from mmaction.registry import TRANSFORMS
from mmengine.config import Config
from PIL import Image

from umt_mm.datasets.transforms.spatial import UMTPILResize, pil_resize

PRETRAIN_DATA = 'configs/_base_/datasets/umt-pretrain_k710_8x224.py'


def reference_crop_resize(frame, bbox, size=224):
    """GroupMultiScaleCrop: ``img.crop(box)`` then ``img.resize((S, S), Image.BILINEAR)``."""
    x1, y1, x2, y2 = (int(v) for v in bbox)
    return np.asarray(Image.fromarray(frame).crop((x1, y1, x2, y2))
                      .resize((size, size), Image.BILINEAR))


@pytest.fixture(scope='module')
def pretrain_pipeline(repo_root):
    cfg = Config.fromfile(repo_root / PRETRAIN_DATA)
    steps = cfg.train_pipeline
    assert [t['type'] for t in steps[3:6]] == ['MultiScaleCrop', 'UMTPILResize', 'Flip']
    assert steps[4]['scale'] == (224, 224) and steps[4]['keep_ratio'] is False
    return [TRANSFORMS.build(t) for t in steps[:5]]  # decode, crop, resize (no flip)


@pytest.mark.parametrize('video', ['test.mp4', 'test.avi'])
def test_pipeline_resize_equals_pil_bilinear_on_real_frames(shared_data, pretrain_pipeline,
                                                            video):
    """Real frames through the recipe's transforms: every crop size of the multi-scale crop,
    shrunk (256 / 240 px crops) and enlarged (168-192 px crops) to 224, within 1 grey level
    of PIL (in fact equal); cv2 INTER_LINEAR, the previous resize, is far off when shrinking."""
    decode, crop, resize = pretrain_pipeline[:3], pretrain_pipeline[3], pretrain_pipeline[4]
    results = dict(filename=str(shared_data / 'videos' / video), start_index=0,
                   modality='RGB')
    random.seed(0)
    np.random.seed(0)
    for t in decode:
        results = t(results)
    frames = [f.copy() for f in results['imgs']]
    assert len(frames) == 8 and frames[0].dtype == np.uint8
    seen = {'shrink': 0, 'enlarge': 0}
    for seed in range(12):
        random.seed(seed)
        out = crop(dict(results, imgs=list(frames)))
        x1, y1, x2, y2 = out['crop_bbox']
        w, h = x2 - x1, y2 - y1
        out = resize(out)
        assert out['img_shape'] == (224, 224)
        for frame, ours in zip(frames, out['imgs']):
            ref = reference_crop_resize(frame, (x1, y1, x2, y2))
            assert ours.shape == (224, 224, 3) and ours.dtype == np.uint8
            assert np.abs(ours.astype(int) - ref).max() <= 1
        if min(w, h) > 224:
            seen['shrink'] += 1
            cv = cv2.resize(frames[0][y1:y2, x1:x2], (224, 224), interpolation=cv2.INTER_LINEAR)
            assert np.abs(cv.astype(int) - reference_crop_resize(frames[0], (x1, y1, x2, y2))
                          ).max() > 1  # cv2 fails the 1-grey-level bound
        elif max(w, h) < 224:
            seen['enlarge'] += 1
    assert seen['shrink'] and seen['enlarge'], seen


def test_shrinking_and_enlarging_whole_frames(shared_data):
    import decord
    reader = decord.VideoReader(str(shared_data / 'videos' / 'test.mp4'), num_threads=1)
    frames = reader.get_batch([0, len(reader) // 2]).asnumpy()  # 256 x 340
    resize = TRANSFORMS.build(dict(type='UMTPILResize', scale=(224, 224), keep_ratio=False))
    for size in ((224, 224), (400, 512), (97, 131)):  # shrink, enlarge, shrink by ~2.6
        resize.scale = size
        out = resize(dict(imgs=list(frames), img_shape=frames.shape[1:3]))
        for frame, ours in zip(frames, out['imgs']):
            ref = np.asarray(Image.fromarray(frame).resize(size, Image.BILINEAR))
            assert ours.shape == (size[1], size[0], 3)
            assert np.abs(ours.astype(int) - ref).max() <= 1
        np.testing.assert_allclose(out['scale_factor'],
                                   [size[0] / 340, size[1] / 256], rtol=1e-6)


def test_float_and_single_channel_frames_use_the_same_kernel():
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (48, 64, 3)).astype(np.uint8)
    frame = cv2.GaussianBlur(frame, (5, 5), 1.5)
    ref = pil_resize(frame, 40, 30)
    as_float = pil_resize(frame.astype(np.float32), 40, 30)
    assert as_float.dtype == np.float32
    assert np.abs(as_float - ref).max() <= 1.0
    planes = pil_resize(np.ascontiguousarray(frame[..., 1]), 40, 30)
    np.testing.assert_array_equal(planes, ref[..., 1])
    assert pil_resize(frame, 64, 48) is not frame
    np.testing.assert_array_equal(pil_resize(frame, 64, 48), frame)  # same size: unchanged


def test_keep_ratio_sizes_follow_resize_and_bad_arguments():
    frame = np.zeros((240, 320, 3), np.uint8)
    out = UMTPILResize(scale=(-1, 128))(dict(imgs=[frame], img_shape=(240, 320)))
    assert out['imgs'][0].shape == (128, 171, 3) and out['img_shape'] == (128, 171)
    with pytest.raises(ValueError, match="unknown interpolation 'area'"):
        UMTPILResize(scale=(224, 224), interpolation='area')
    assert 'UMTPILResize(scale=(224, 224)' in repr(UMTPILResize(scale=(224, 224)))


def test_resized_frames_are_writable_for_the_in_place_flip():
    frame = np.arange(48 * 64 * 3, dtype=np.uint8).reshape(48, 64, 3)
    out = UMTPILResize(scale=(32, 24), keep_ratio=False)(dict(imgs=[frame], img_shape=(48, 64)))
    assert out['imgs'][0].flags.writeable
    resized = out['imgs'][0].copy()
    flipped = TRANSFORMS.build(dict(type='Flip', flip_ratio=1.0))(dict(out, modality='RGB'))
    np.testing.assert_array_equal(flipped['imgs'][0], resized[:, ::-1])
