"""UMTMixupCutmix against timm's batch-mode Mixup semantics (the reference's datasets/mixup.py)."""
import warnings

import numpy as np
import pytest
import torch
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample

from umt_mm.models.blending import UMTMixupCutmix
from umt_mm.models.blending.mixup_cutmix import cutmix_box


def _samples(labels):
    return [ActionDataSample().set_gt_label(int(x)) for x in labels]


def _batch(b=4):
    # (B, views, C, T, H, W); each sample a constant value so mixing is easy to read
    return torch.arange(b, dtype=torch.float32).view(b, 1, 1, 1, 1, 1).expand(
        b, 1, 3, 2, 16, 20).clone()


def test_mixup_pairs_with_reversed_batch(monkeypatch):
    blend = MODELS.build(dict(type='UMTMixupCutmix', num_classes=5))
    monkeypatch.setattr(blend, 'sample_params', lambda: (0.7, False))
    imgs, samples = blend(_batch(), _samples([0, 1, 2, 3]))
    expected = 0.7 * torch.arange(4.) + 0.3 * torch.arange(4.).flip(0)
    assert torch.allclose(imgs[:, 0, 0, 0, 0, 0], expected)
    assert torch.allclose(samples[0].gt_label, torch.tensor([0.7, 0, 0, 0.3, 0]))
    assert torch.allclose(samples[2].gt_label, torch.tensor([0, 0.3, 0.7, 0, 0]))


def test_cutmix_box_same_on_every_frame_and_lam_corrected(monkeypatch):
    blend = UMTMixupCutmix(num_classes=4)
    np.random.seed(3)
    lam = 0.6
    yl, yh, xl, xh, corrected = cutmix_box(16, 20, lam)
    np.random.seed(3)
    monkeypatch.setattr(blend, 'sample_params', lambda: (lam, True))
    imgs, samples = blend(_batch(), _samples([0, 1, 2, 3]))
    area = (yh - yl) * (xh - xl)
    assert area > 0 and corrected == pytest.approx(1 - area / (16 * 20))
    out = imgs[0, 0]  # sample 0 gets sample 3 inside the box, on all channels/frames
    assert torch.all(out[:, :, yl:yh, xl:xh] == 3)
    mask = torch.ones(16, 20, dtype=torch.bool)
    mask[yl:yh, xl:xh] = False
    assert torch.all(out[:, :, mask] == 0)
    assert torch.allclose(samples[0].gt_label, torch.tensor([corrected, 0, 0, 1 - corrected]))


def test_cutmix_box_formula():
    # timm rand_bbox: cut = int(side * sqrt(1 - lam)), centre uniform, clipped
    np.random.seed(0)
    cy, cx = np.random.randint(0, 100), np.random.randint(0, 60)
    np.random.seed(0)
    yl, yh, xl, xh, lam = cutmix_box(100, 60, 0.75)
    cut_h, cut_w = int(100 * 0.5), int(60 * 0.5)
    assert (yl, yh) == (max(cy - cut_h // 2, 0), min(cy + cut_h // 2, 100))
    assert (xl, xh) == (max(cx - cut_w // 2, 0), min(cx + cut_w // 2, 60))
    assert lam == pytest.approx(1 - (yh - yl) * (xh - xl) / 6000)


def test_switch_probability_and_beta_draws():
    blend = UMTMixupCutmix(num_classes=3, mixup_alpha=0.8, cutmix_alpha=1.0, switch_prob=0.5)
    np.random.seed(0)
    draws = [blend.sample_params() for _ in range(2000)]
    cut = np.mean([c for _, c in draws])
    assert 0.45 < cut < 0.55
    # the order of draws is timm's: rand (prob), rand (switch), beta
    np.random.seed(1)
    np.random.rand()
    use_cutmix = np.random.rand() < 0.5
    lam = np.random.beta(1.0, 1.0) if use_cutmix else np.random.beta(0.8, 0.8)
    np.random.seed(1)
    assert blend.sample_params() == (pytest.approx(lam), use_cutmix)
    never = UMTMixupCutmix(num_classes=3, prob=0.0)
    assert never.sample_params() == (1.0, False)


def test_head_smoothing_on_mixed_labels_equals_timm_target():
    # timm: lam * smooth(y1) + (1 - lam) * smooth(y2); MMAction2's BaseHead smooths the mix
    from umt_mm.models.heads import UMTHead
    head = UMTHead(num_classes=4, in_channels=8, label_smooth_eps=0.1)
    captured = {}
    head.loss_cls.forward = lambda score, label, **kw: captured.setdefault('l', label).sum()
    mixed = torch.tensor([[0.7, 0.0, 0.3, 0.0]])
    sample = ActionDataSample()
    sample.gt_label = mixed[0]
    head.loss_by_feat(torch.zeros(1, 4), [sample])
    off = 0.1 / 4
    smooth = lambda i: torch.full((4,), off).index_fill_(0, torch.tensor([i]), 1 - 0.1 + off)  # noqa: E731
    assert torch.allclose(captured['l'][0], 0.7 * smooth(0) + 0.3 * smooth(2))


def test_bad_arguments():
    with pytest.raises(ValueError, match='both are 0'):
        UMTMixupCutmix(num_classes=3, mixup_alpha=0, cutmix_alpha=0)


def test_a_batch_of_one_goes_through_unmixed_with_one_warning():
    """The last batch of an epoch may hold one sample (a loader without drop_last)."""
    blend = UMTMixupCutmix(num_classes=3, prob=1.0)
    imgs = torch.rand(1, 1, 3, 2, 4, 4)
    with pytest.warns(UserWarning, match='batch of one sample is passed through unmixed'):
        out, samples = blend(imgs, _samples([2]))
    assert torch.equal(out, imgs)
    assert torch.equal(samples[0].gt_label, torch.tensor([0., 0., 1.]))
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # warned once: a second batch of one is silent
        out, samples = blend(imgs, _samples([1]))
    assert torch.equal(samples[0].gt_label, torch.tensor([0., 1., 0.]))
    # larger batches are still mixed afterwards
    out, samples = blend(_batch(4), _samples([0, 1, 2, 0]))
    assert samples[0].gt_label.shape == (3,) and not torch.equal(out, _batch(4))


def test_a_batch_of_one_through_the_data_preprocessor():
    """The recipes' path: ActionDataPreprocessor(blending=UMTMixupCutmix) in training."""
    preprocessor = MODELS.build(dict(
        type='ActionDataPreprocessor', mean=[0., 0., 0.], std=[1., 1., 1.],
        format_shape='NCTHW',
        blending=dict(type='UMTMixupCutmix', num_classes=4)))
    clip = torch.rand(3, 2, 8, 8) * 255
    with pytest.warns(UserWarning, match='unmixed'):
        data = preprocessor(dict(inputs=[clip], data_samples=_samples([1])), training=True)
    assert torch.allclose(data['inputs'][0], clip)
    assert torch.equal(data['data_samples'][0].gt_label, torch.tensor([0., 1., 0., 0.]))
