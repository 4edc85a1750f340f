"""UMTMaskGenerator: the semantic (attention-weighted) mask of UMT and the VideoMAE baselines."""
import pytest
import torch

from umt_mm.models import UMTMaskGenerator

GRID = (8, 14, 14)


def test_attention_mask_keeps_40_of_196_in_every_frame():
    gen = UMTMaskGenerator(mask_type='attention', mask_ratio=0.8)
    attn = torch.rand(2 * 8, 196).softmax(-1) * 0.9  # rows sum to < 1, like CLS attention
    mask = gen(GRID, batch=2, cls_attn=attn)
    assert mask.shape == (2, 8 * 196) and mask.dtype == torch.bool
    per_frame = (~mask).view(2, 8, 196).sum(-1)
    assert (per_frame == 40).all()  # 196 - int(196 * 0.8)
    assert gen.num_visible(GRID) == 320


def test_attention_mask_is_sampled_by_attention_not_top_k():
    gen = UMTMaskGenerator(mask_type='attention', mask_ratio=0.8)
    weights = torch.linspace(0.01, 1.0, 196)  # token i has attention rising with i
    rows = 4000
    torch.manual_seed(0)
    mask = gen((rows, 14, 14), batch=1, cls_attn=weights.expand(rows, -1))
    kept = (~mask).view(rows, 196).float().mean(0)  # how often each token is visible
    low, high = kept[:49].mean(), kept[-49:].mean()
    assert high > 2 * low  # higher attention: kept more often
    assert kept.min() > 0  # sampling, not top-k: even the weakest tokens are sometimes kept
    # over tokens, frequency rises with attention (rank correlation close to 1)
    ranks = kept.argsort().argsort().float()
    assert torch.corrcoef(torch.stack([ranks, torch.arange(196.)]))[0, 1] > 0.95


def test_same_seed_same_mask_and_reference_draw():
    gen = UMTMaskGenerator()
    attn = torch.rand(8, 196)
    torch.manual_seed(3)
    first = gen(GRID, batch=1, cls_attn=attn)
    torch.manual_seed(3)
    second = gen(GRID, batch=1, cls_attn=attn)
    assert torch.equal(first, second)
    # the reference: multinomial over all 196 without replacement, first 40 visible
    torch.manual_seed(3)
    order = torch.multinomial(attn, 196)
    expected = torch.ones(8, 196, dtype=torch.bool)
    expected[torch.arange(8)[:, None], order[:, :40]] = False
    assert torch.equal(first, expected.view(1, -1))
    torch.manual_seed(4)
    assert not torch.equal(first, gen(GRID, batch=1, cls_attn=attn))


def test_random_and_tube_masks():
    torch.manual_seed(0)
    random = UMTMaskGenerator(mask_type='random', mask_ratio=0.9)(GRID, batch=3)
    assert ((~random).sum(1) == 1568 - int(1568 * 0.9)).all()
    tube = UMTMaskGenerator(mask_type='tube', mask_ratio=0.75)((4, 4, 4), batch=2)
    frames = tube.view(2, 4, 16)
    assert (frames == frames[:, :1]).all()  # the same spatial mask in every frame
    assert ((~frames).sum(-1) == 4).all()
    assert UMTMaskGenerator(mask_type='tube').num_visible((4, 4, 4)) == 4 * (16 - 12)


def test_bad_arguments_are_explained():
    with pytest.raises(ValueError, match='mask_type'):
        UMTMaskGenerator(mask_type='block')
    with pytest.raises(ValueError, match='mask_ratio'):
        UMTMaskGenerator(mask_ratio=1.0)
    gen = UMTMaskGenerator()
    with pytest.raises(ValueError, match='needs the teacher'):
        gen(GRID, batch=1)
    with pytest.raises(ValueError, match='same token grid'):
        gen(GRID, batch=1, cls_attn=torch.rand(8, 256))
