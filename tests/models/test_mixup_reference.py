"""``UMTMixupCutmix`` against the reference's ``datasets/mixup.py:Mixup``, draw by draw.

``tools/misc/reference_trajectories.py --only mixup`` ran the reference (OpenGVLab/
unmasked_teacher, ``single_modality/datasets/mixup.py``, unmodified) as
``run_class_finetuning.py`` builds it for the K400 recipe (batch mode, mixup alpha 0.8, cutmix
alpha 1.0, prob 1.0, switch prob 0.5, label smoothing 0.1) on a batch of 4 normalised clips,
numpy seeded before each call, and stored per seed: lambda (drawn and as the targets use it),
mixup or cutmix, the box, the mixed inputs' sha256 and the soft targets
(``tests/fixtures/reference_trajectories/mixup.json``).

umt_mm draws in timm's order from the same numpy generator, so the same seed gives the same
lambda and box without injecting them. By design umt_mm leaves the label smoothing to the
head (``BaseHead``: ``(1 - eps) * mixed + eps / N``) where the reference smooths both one-hot
targets before mixing them: the same numbers up to float32 rounding (at most 2**-23 here),
compared through the recipe's own head. The mixed inputs are bit-identical.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample

import umt_mm  # noqa: F401
from umt_mm.models.blending.mixup_cutmix import cutmix_box

FIXTURE = Path(__file__).resolve().parents[1] / 'fixtures' / 'reference_trajectories' / 'mixup.json'
MEAN = (123.675, 116.28, 103.53)
STD = (58.395, 57.12, 57.375)


@pytest.fixture(scope='module')
def fx() -> dict:
    return json.loads(FIXTURE.read_text())


def reference_inputs(fx: dict) -> torch.Tensor:
    """The script's clips (``seeded_clips`` at the data seed), normalised, ``(B, C, T, H, W)``."""
    geo = fx['geometry']
    gen = torch.Generator().manual_seed(fx['seeds']['data'])
    clips = torch.randint(0, 256, (geo['batch_size'], 3, geo['num_frames'], geo['img_size'],
                                   geo['img_size']), generator=gen).float()
    inputs = (clips - torch.tensor(MEAN).view(3, 1, 1, 1)) / torch.tensor(STD).view(3, 1, 1, 1)
    assert hashlib.sha256(inputs.contiguous().numpy().tobytes()).hexdigest() == \
        fx['inputs_sha256']
    return inputs


def build(fx: dict):
    geo = fx['geometry']
    blend = MODELS.build(dict(
        type='UMTMixupCutmix', num_classes=geo['num_classes'], mixup_alpha=geo['mixup_alpha'],
        cutmix_alpha=geo['cutmix_alpha'], prob=geo['prob'], switch_prob=geo['switch_prob']))
    head = MODELS.build(dict(type='UMTHead', num_classes=geo['num_classes'], in_channels=8,
                             label_smooth_eps=geo['label_smoothing']))
    return blend, head


def smoothed_targets(head, data_samples) -> torch.Tensor:
    """The targets the recipe's head gives its loss (``BaseHead.loss_by_feat``)."""
    seen = []

    class Capture(torch.nn.Module):
        def forward(self, scores, labels):
            seen.append(labels)
            return scores.sum() * 0

    head.loss_cls = Capture()
    head.loss_by_feat(torch.zeros(len(data_samples), head.num_classes), data_samples)
    return seen[0]


def test_fixture_covers_both_modes_and_clipped_boxes(fx):
    cases = fx['cases']
    assert len(cases) >= 8
    cut = [c for c in cases if c['use_cutmix']]
    assert cut and len(cut) < len(cases)
    size = fx['geometry']['img_size']
    # the box is clipped at an image border in some cases (lambda corrected)
    assert any(0 in c['box'] or size in c['box'] for c in cut)
    assert all(c['lam'] != c['drawn_lam'] for c in cut)


def test_mixed_inputs_and_targets_equal_reference(fx):
    geo = fx['geometry']
    inputs = reference_inputs(fx)
    blend, head = build(fx)
    for case in fx['cases']:
        np.random.seed(case['seed'])
        torch.manual_seed(case['seed'])
        lam, use_cutmix = blend.sample_params()
        assert use_cutmix == case['use_cutmix'], case['seed']
        assert lam == case['drawn_lam'], case['seed']
        if use_cutmix:
            yl, yh, xl, xh, corrected = cutmix_box(geo['img_size'], geo['img_size'], lam)
            assert [yl, yh, xl, xh] == case['box'], case['seed']
            assert corrected == case['lam'], case['seed']

        # the whole blending, as the data preprocessor calls it: (B, N=1, C, T, H, W)
        np.random.seed(case['seed'])
        torch.manual_seed(case['seed'])
        samples = [ActionDataSample().set_gt_label(label) for label in geo['labels']]
        mixed, samples = blend(inputs[:, None].clone(), samples)
        mixed = mixed[:, 0].contiguous()
        assert mixed.dtype == torch.float32
        digest = hashlib.sha256(mixed.numpy().tobytes()).hexdigest()
        assert digest == case['inputs_sha256'], (
            case['seed'], float(mixed.double().sum()), case['inputs_sum'])
        targets = smoothed_targets(head, samples)
        assert targets.dtype == torch.float32
        ref = torch.tensor(case['targets'], dtype=torch.float32)
        # smoothing after mixing instead of before rounds differently: up to 2 ulp (2**-23)
        # apart, exact where lambda is 1 - k / 2**n (cutmix boxes)
        assert torch.allclose(targets, ref, rtol=0, atol=2 ** -23), (case['seed'], targets, ref)
        assert targets.sum(1).tolist() == pytest.approx([1.0] * len(ref), abs=1e-6)


def test_batch_of_one(fx):
    """The reference asserts an even batch; umt_mm passes one sample through unmixed."""
    assert fx['batch_of_one'].startswith('AssertionError')
    blend, _ = build(fx)
    inputs = reference_inputs(fx)[:1, None]
    samples = [ActionDataSample().set_gt_label(fx['geometry']['labels'][0])]
    with pytest.warns(UserWarning, match='batch of one sample'):
        mixed, samples = blend(inputs.clone(), samples)
    assert torch.equal(mixed, inputs)
    assert samples[0].gt_label.tolist() == [1.0, 0.0, 0.0, 0.0, 0.0]
