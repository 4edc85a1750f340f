"""Registration, box jitter / extension, padding preprocessor and AVA clip sampling."""
import numpy as np
import pytest
import torch


def test_mmaction_ava_parts_are_in_mmdet_registry():
    """MMAction2 registers its AVA parts into MMDet's registry inside a silent try/except."""
    import mmaction.models  # noqa: F401
    from mmdet.registry import MODELS as MMDET_MODELS
    from mmdet.registry import TASK_UTILS
    for name in ('AVARoIHead', 'BBoxHeadAVA', 'SingleRoIExtractor3D', 'FastRCNN'):
        assert MMDET_MODELS.get(name) is not None, f'{name} missing from mmdet::model'
    assert TASK_UTILS.get('MaxIoUAssignerAVA') is not None
    from mmcv.ops import RoIAlign  # compiled ops are needed by SingleRoIExtractor3D
    assert RoIAlign is not None


def test_umt_detection_parts_registered_through_import_umt_mm():
    from mmaction.registry import DATASETS, METRICS, MODELS, TRANSFORMS
    from mmdet.registry import MODELS as MMDET_MODELS

    import umt_mm  # noqa: F401
    assert MMDET_MODELS.get('UMTAVARoIHead').__name__ == 'UMTAVARoIHead'
    assert MMDET_MODELS.get('UMTBBoxHeadAVA').__name__ == 'UMTBBoxHeadAVA'
    assert MODELS.get('UMTDetDataPreprocessor').__name__ == 'UMTDetDataPreprocessor'
    assert DATASETS.get('UMTAVADataset').__name__ == 'UMTAVADataset'
    assert TRANSFORMS.get('UMTSampleAVAFrames').__name__ == 'UMTSampleAVAFrames'
    assert TRANSFORMS.get('UMTHSVColorJitter').__name__ == 'UMTHSVColorJitter'
    assert METRICS.get('UMTAVAMetric').__name__ == 'UMTAVAMetric'


def test_jitter_boxes_matches_alphaction_formula():
    from umt_mm.models.roi_heads import jitter_boxes
    boxes = torch.tensor([[20., 30., 120., 200.], [0., 0., 223., 223.]])
    gen = torch.Generator().manual_seed(3)
    out = jitter_boxes(boxes, (224, 224), 0.2, 0.1, 0.1, 0.05, generator=gen)
    gen = torch.Generator().manual_seed(3)
    u = [torch.rand(2, generator=gen) for _ in range(4)]
    w = boxes[:, 2] - boxes[:, 0] + 1
    h = boxes[:, 3] - boxes[:, 1] + 1
    x1 = (boxes[:, 0] + w * (u[0] * 0.3 - 0.2)).clamp(0, 222)
    y1 = (boxes[:, 1] + h * (u[1] * 0.15 - 0.1)).clamp(0, 222)
    x2 = torch.maximum((boxes[:, 2] + w * (u[2] * 0.3 - 0.1)).clamp(max=223), x1 + 1)
    y2 = torch.maximum((boxes[:, 3] + h * (u[3] * 0.15 - 0.05)).clamp(max=223), y1 + 1)
    expected = torch.stack([x1, y1, x2, y2], 1).clamp(0, 223)
    torch.testing.assert_close(out, expected)
    # the full-frame box can only shrink inwards: x1 moves right by at most 0.1 w
    assert out[1, 0] <= 0.1 * 224 + 1e-4 and out[1, 2] >= 223 - 0.1 * 224 - 1e-4
    # 1000 draws stay within the jitter ranges of the inner box
    many = jitter_boxes(boxes[:1].repeat(1000, 1), (224, 224))
    assert many[:, 0].min() >= 20 - 0.2 * 101 - 1e-4 and many[:, 0].max() <= 20 + 0.1 * 101 + 1e-4
    assert many[:, 3].min() >= 200 - 0.05 * 171 - 1e-4
    assert many[:, 3].max() <= min(223, 200 + 0.1 * 171) + 1e-4


def test_extend_boxes_matches_alphaction_formula():
    from umt_mm.models.roi_heads import extend_boxes
    boxes = torch.tensor([[100., 50., 199., 249.], [0., 0., 50., 50.]])
    out = extend_boxes(boxes, (340, 256), (0.1, 0.05))
    # w = 100, h = 200: pad 5 px left/right, 5 px top/bottom
    torch.testing.assert_close(out[0], torch.tensor([95., 45., 204., 254.]))
    # clipped to the frame
    expected = torch.tensor([0., 0., 50 + 0.1 * 51 / 2, 50 + 0.05 * 51 / 2])
    torch.testing.assert_close(out[1], expected)


def test_det_data_preprocessor_normalises_then_pads_with_zero():
    from mmaction.registry import MODELS
    pre = MODELS.build(dict(type='UMTDetDataPreprocessor', mean=[122.7717, 115.9465, 102.9801],
                            std=[57.375] * 3, pad_size_divisor=16))
    a = torch.full((3, 8, 64, 85), 200, dtype=torch.uint8)
    b = torch.full((3, 8, 70, 60), 10, dtype=torch.uint8)
    out = pre(dict(inputs=[a, b], data_samples=[None, None]))['inputs']
    assert out.shape == (2, 3, 8, 80, 96)  # frames never padded, H/W to multiples of 16
    mean = torch.tensor([122.7717, 115.9465, 102.9801]).view(3, 1, 1, 1)
    torch.testing.assert_close(out[0, :, :, :64, :85], ((200 - mean) / 57.375).expand(3, 8, 64, 85))
    torch.testing.assert_close(out[1, :, :, :70, :60], ((10 - mean) / 57.375).expand(3, 8, 70, 60))
    assert out[0, :, :, 64:].abs().max() == 0 and out[0, :, :, :, 85:].abs().max() == 0
    assert out[1, :, :, 70:].abs().max() == 0 and out[1, :, :, :, 60:].abs().max() == 0


def reference_sparse_indices(key: int, num: int = 8, rate: int = 8) -> np.ndarray:
    """The reference: a 300-frame span with the key frame at 150, TemporalCrop(sparse)."""
    start = (300 - num * rate) // 2 + (rate - 1) // 2
    return np.arange(start, start + num * rate, rate) - 150 + key


@pytest.mark.parametrize('start_index', [0, 1])
def test_sample_ava_frames_is_the_reference_window(start_index):
    from umt_mm.datasets.ava import UMTSampleAVAFrames
    sampler = UMTSampleAVAFrames(8, 8)
    out = sampler(dict(timestamp=1000, timestamp_start=900, fps=30, total_frames=27000,
                       start_index=start_index))
    key = 30 * 100
    np.testing.assert_array_equal(out['frame_inds'],
                                  reference_sparse_indices(key) + start_index)
    assert out['frame_inds'][0] == key - 29 + start_index
    # no temporal jitter: the same indices every time
    again = sampler(dict(timestamp=1000, timestamp_start=900, fps=30, total_frames=27000,
                         start_index=start_index))
    np.testing.assert_array_equal(out['frame_inds'], again['frame_inds'])
    # clipped to the video
    edge = sampler(dict(timestamp=901, timestamp_start=900, fps=30, shot_info=(0, 40)))
    # key 30: 1, 9, ..., 57 -> clipped to 39
    assert edge['frame_inds'].tolist() == [1, 9, 17, 25, 33, 39, 39, 39]


def test_hsv_color_jitter_shifts_every_frame_alike():
    import cv2

    from umt_mm.datasets.ava import UMTHSVColorJitter
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (8, 10, 3), dtype=np.uint8) for _ in range(3)]
    out = UMTHSVColorJitter.shift(frames[0], 5, 10, -10)
    hsv = cv2.cvtColor(frames[0], cv2.COLOR_RGB2HSV).astype(int)
    hsv[..., 0] = (hsv[..., 0] + 5 + 180) % 180
    hsv[..., 1] = np.clip(hsv[..., 1] + 10, 0, 255)
    hsv[..., 2] = np.clip(hsv[..., 2] - 10, 0, 255)
    np.testing.assert_array_equal(out, cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB))
    jitter = UMTHSVColorJitter(20, 0.1, 0.1)
    assert (jitter.hue_bound, jitter.sat_bound, jitter.val_bound) == (10, 26, 26)
    same = [frames[0].copy() for _ in range(3)]
    res = jitter(dict(imgs=same))['imgs']
    assert all(np.array_equal(res[0], r) for r in res[1:])
