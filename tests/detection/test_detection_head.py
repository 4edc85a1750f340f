"""The detection config's backbone and head against hand computations."""
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config

ROOT = Path(__file__).resolve().parents[2]
B16 = ROOT / 'action_detection/configs/umt-base-p16_k710-ft_16xb8-8x8x1-30e_ava22-rgb.py'
TINY = dict(embed_dims=32, depth=1, num_heads=2, mlp_ratio=2.0)


def tiny_detector(**head):
    from mmdet.registry import MODELS
    cfg = Config.fromfile(B16)
    cfg.model.backbone.arch = TINY
    cfg.model.roi_head.bbox_head.in_channels = 32
    cfg.model.roi_head.update(head)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model.eval()


def bilinear(feat, y, x):
    """mmcv's legacy (aligned=False) bilinear sample of a (C, H, W) map."""
    height, width = feat.shape[1:]
    if y < -1.0 or y > height or x < -1.0 or x > width:
        return np.zeros(feat.shape[0])
    y, x = max(y, 0.0), max(x, 0.0)
    y_low, x_low = int(y), int(x)
    if y_low >= height - 1:
        y_low = y_high = height - 1
        y = float(y_low)
    else:
        y_high = y_low + 1
    if x_low >= width - 1:
        x_low = x_high = width - 1
        x = float(x_low)
    else:
        x_high = x_low + 1
    ly, lx = y - y_low, x - x_low
    hy, hx = 1 - ly, 1 - lx
    return (hy * hx * feat[:, y_low, x_low] + hy * lx * feat[:, y_low, x_high]
            + ly * hx * feat[:, y_high, x_low] + ly * lx * feat[:, y_high, x_high])


def roi_align_by_hand(feat, box, out=7, scale=1 / 16):
    """RoIAlign, sampling ratio 0 (adaptive), not aligned, average in each bin."""
    x1, y1, x2, y2 = (v * scale for v in box)
    roi_w, roi_h = max(x2 - x1, 1.0), max(y2 - y1, 1.0)
    bin_w, bin_h = roi_w / out, roi_h / out
    grid_w, grid_h = math.ceil(roi_w / out), math.ceil(roi_h / out)
    result = np.zeros((feat.shape[0], out, out))
    for ph in range(out):
        for pw in range(out):
            acc = np.zeros(feat.shape[0])
            for iy in range(grid_h):
                yy = y1 + ph * bin_h + (iy + 0.5) * bin_h / grid_h
                for ix in range(grid_w):
                    xx = x1 + pw * bin_w + (ix + 0.5) * bin_w / grid_w
                    acc += bilinear(feat, yy, xx)
            result[:, ph, pw] = acc / max(grid_h * grid_w, 1)
    return result


def test_config_backbone_gives_stride_16_feature_map_for_non_square_input():
    model = tiny_detector()
    assert type(model).__name__ == 'FastRCNN'
    assert type(model.backbone).__name__ == 'UMTVisionTransformer'
    assert model.backbone.norm is not None and model.backbone.fc_norm is None
    with torch.no_grad():
        feat = model.extract_feat(torch.rand(1, 3, 8, 64, 96))
    feat = feat[0] if isinstance(feat, tuple) else feat
    assert feat.shape == (1, 32, 8, 4, 6)


def test_head_on_a_fixed_roi_equals_hand_computation():
    model = tiny_detector()
    head = model.roi_head
    torch.manual_seed(0)
    feat = torch.randn(1, 32, 8, 6, 9)
    box = [13.0, 7.5, 101.0, 90.0]
    rois = torch.tensor([[0.0] + box])
    with torch.no_grad():
        logits = head._bbox_forward(feat, rois, [dict(img_shape=(96, 144))])['cls_score']
    pooled = roi_align_by_hand(feat[0].mean(dim=1).double().numpy(), box)
    vec = pooled.reshape(32, -1).max(axis=1)
    weight = head.bbox_head.fc_cls.weight.detach().double().numpy()
    bias = head.bbox_head.fc_cls.bias.detach().double().numpy()
    expected = weight @ vec + bias
    np.testing.assert_allclose(logits[0].double().numpy(), expected, rtol=1e-4, atol=1e-7)
    # the reference init: trunc-normal std 0.02 x 0.001, zero bias
    assert weight.std() == pytest.approx(0.02 * 0.001, rel=0.2) and not bias.any()


def test_predict_extends_boxes_for_pooling_and_multiplies_person_scores():
    from mmaction.structures import ActionDataSample
    from mmengine.structures import InstanceData
    model = tiny_detector()
    head = model.roi_head
    torch.manual_seed(1)
    feat = torch.randn(1, 32, 8, 4, 6)
    boxes = torch.tensor([[10.0, 5.0, 50.0, 60.0], [40.0, 2.0, 90.0, 63.0]])
    sample = ActionDataSample()
    sample.set_metainfo(dict(img_shape=(64, 96)))
    sample.proposal_scores = np.array([0.9, 0.5], dtype=np.float32)
    with torch.no_grad():
        result = head.predict(feat, [InstanceData(bboxes=boxes.clone())], [sample])[0]
        from umt_mm.models.roi_heads import extend_boxes
        ext = extend_boxes(boxes, (96, 64), (0.1, 0.05))
        rois = torch.cat([torch.zeros(2, 1), ext], 1)
        logits = head._bbox_forward(feat, rois, [sample.metainfo])['cls_score']
    expected = logits.sigmoid() * torch.tensor([[0.9], [0.5]])
    torch.testing.assert_close(result.scores, expected)
    # reported boxes are the proposals, normalised
    torch.testing.assert_close(result.bboxes, boxes / torch.tensor([96.0, 64.0, 96.0, 64.0]))
    # without proposal_scores (MMAction2's demo script) every person score is 1
    plain = ActionDataSample()
    plain.set_metainfo(dict(img_shape=(64, 96)))
    with torch.no_grad():
        unscored = head.predict(feat, [InstanceData(bboxes=boxes.clone())], [plain])[0]
    torch.testing.assert_close(unscored.scores, logits.sigmoid())


def test_training_loss_is_bce_times_rois_on_jittered_gt():
    from mmaction.structures import ActionDataSample
    from mmengine.structures import InstanceData
    model = tiny_detector()
    head = model.roi_head.train()
    feat = torch.randn(2, 32, 8, 4, 4)
    samples = []
    for n in (2, 1):
        sample = ActionDataSample()
        sample.set_metainfo(dict(img_shape=(64, 64)))
        labels = torch.zeros(n, 81)
        labels[:, 12] = 1
        sample.gt_instances = InstanceData(bboxes=torch.tensor([[4.0, 4.0, 40.0, 60.0]] * n),
                                           labels=labels)
        samples.append(sample)
    torch.manual_seed(5)
    losses = head.loss(feat, [None, None], samples)
    torch.manual_seed(5)
    from umt_mm.models.roi_heads import jitter_boxes
    rois = []
    for i, sample in enumerate(samples):
        jb = jitter_boxes(sample.gt_instances.bboxes, (64, 64), 0.2, 0.1, 0.1, 0.05)
        rois.append(torch.cat([torch.full((len(jb), 1), float(i)), jb], 1))
    logits = head._bbox_forward(feat, torch.cat(rois), [s.metainfo for s in samples])['cls_score']
    labels = torch.cat([s.gt_instances.labels for s in samples])
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits[:, 1:], labels[:, 1:])
    expected = bce * 3  # mean BCE x number of RoIs
    torch.testing.assert_close(losses['loss_action_cls'], expected)


def test_roi_pooling_runs_in_fp32_under_bf16_autocast():
    """mmcv's CPU RoIAlign has no bf16 kernel; the head pools in fp32 as the reference."""
    model = tiny_detector()
    head = model.roi_head
    torch.manual_seed(2)
    feat = torch.randn(1, 32, 8, 4, 6)
    rois = torch.tensor([[0.0, 8.0, 4.0, 70.0, 60.0]])
    metas = [dict(img_shape=(64, 96))]
    with torch.no_grad():
        ref = head._bbox_forward(feat, rois, metas)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            low = head._bbox_forward(feat.bfloat16(), rois, metas)
    assert ref['bbox_feats'].dtype == low['bbox_feats'].dtype == torch.float32
    torch.testing.assert_close(low['bbox_feats'], ref['bbox_feats'], rtol=2e-2, atol=2e-2)
    torch.testing.assert_close(low['cls_score'].float(), ref['cls_score'], rtol=5e-2, atol=1e-4)
