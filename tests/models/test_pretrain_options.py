"""The reference's pretraining options: loss types and ratio, the teacher / student return
intervals, the learnable position table, the CLIP L/14-336 teacher, and their recipe values.

Reference: ``run_umt_pretraining.py`` (argparse), ``engines/engine_for_pretraining_umt.py``
(loss), ``models/modeling_pretrain_umt.py`` / ``models/clip.py`` (``return_index``,
``use_learnable_pos_emb``, ``clip_l14_336``).
"""
import pytest
import torch
import torch.nn.functional as F
from mmaction.registry import MODELS
from mmengine.config import Config

from umt_mm.models import CLIPVisionTeacher
from umt_mm.models.backbones.arch_presets import return_indices

B16_CFG = 'configs/pretrain/umt-base-p16-res224_clip-b16-distill_32xb64-u8-201e_kinetics710-rgb.py'
L16_CFG = ('configs/pretrain/'
           'umt-large-p16-res224_clip-l14-distill_32xb64-u8-201e_kinetics710-rgb.py')
TINY_TEACHER = dict(patch_size=16, width=32, layers=4, heads=2, output_dim=16)


def tiny_distiller(depth=3, num_return_layers=2, teacher=None, **overrides):
    cfg = dict(
        type='UMTDistiller', align_dims=16, num_return_layers=num_return_layers,
        encoder=dict(type='UMTVisionTransformer', img_size=32, num_frames=4,
                     arch=dict(embed_dims=32, depth=depth, num_heads=2, mlp_ratio=2)),
        teacher=teacher or dict(type='CLIPVisionTeacher', input_resolution=32,
                                num_return_layers=num_return_layers, arch=TINY_TEACHER),
        mask_generator=dict(type='UMTMaskGenerator', mask_ratio=0.5))
    cfg.update(overrides)
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


# ---------------------------------------------------------------- loss type and ratio
def test_loss_formulas_by_hand():
    """Two tokens of 2 channels: out (0.6, 0.8) vs target (1, 0); out (-1, 0) vs (0.6, 0.8).

    l2: 2 - 2 cos = 0.8 and 3.2, mean 2.0. Element differences -0.4, 0.8, -1.6, -0.8:
    mse (0.16 + 0.64 + 2.56 + 0.64) / 4 = 1.0; smooth_l1 (beta 1) 0.08 + 0.32 + (1.6 - 0.5)
    + 0.32 = 1.82, / 4 = 0.455.
    """
    out = torch.tensor([[[[0.6, 0.8], [-1.0, 0.0]]]])  # (K, B, N, C) = (1, 1, 2, 2)
    target = torch.tensor([[[[1.0, 0.0], [0.6, 0.8]]]])
    expected = {'l2': 2.0, 'mse': 1.0, 'smooth_l1': 0.455}
    for loss_type, value in expected.items():
        model = tiny_distiller(loss_type=loss_type)
        assert model.distill_loss(out, target).item() == pytest.approx(value, abs=1e-6)


@pytest.mark.parametrize('loss_type', ['l2', 'mse', 'smooth_l1'])
def test_loss_of_a_step_is_ratio_times_the_loss_of_its_outputs(loss_type):
    model = tiny_distiller(loss_type=loss_type, loss_ratio=0.5)
    x = torch.rand(2, 3, 4, 32, 32) * 4 - 2
    torch.manual_seed(1)
    losses = model(x, mode='loss')
    torch.manual_seed(1)  # the same mask draw
    with torch.no_grad():
        out, target, _ = model(x)
    diff = (out - target).double()
    by_hand = {'l2': (2 - 2 * (out * target).sum(-1)).double().mean(),
               'mse': (diff ** 2).mean(),
               'smooth_l1': torch.where(diff.abs() < 1, 0.5 * diff ** 2,
                                        diff.abs() - 0.5).mean()}[loss_type]
    assert losses['loss_distill'].item() == pytest.approx(0.5 * by_hand.item(), rel=1e-5)
    assert losses['loss_distill'].requires_grad
    # the per-block log stays the cosine distance, whatever the loss
    cos = (2 - 2 * (out * target).sum(-1)).mean(dim=(1, 2))
    for block, value in zip(model.return_layers, cos):
        assert losses[f'cos_dist_block{block}'].item() == pytest.approx(value.item(), rel=1e-5)


def test_unknown_loss_type_is_refused():
    with pytest.raises(ValueError, match="loss_type must be one of"):
        tiny_distiller(loss_type='cosine')


# ---------------------------------------------------------------- return intervals
def test_return_indices_as_the_reference():
    """``depth - int(i * interval) - 1`` for ``i < K``, ascending."""
    assert return_indices(12, 6, 1, 'x') == [6, 7, 8, 9, 10, 11]  # B/16 recipe
    assert return_indices(24, 6, 1, 'x') == [18, 19, 20, 21, 22, 23]  # L/16, L/14 teacher
    assert return_indices(12, 4, 2, 'x') == [5, 7, 9, 11]
    assert return_indices(24, 3, 1.5, 'x') == [20, 22, 23]  # int(1.5) = 1, int(3.0) = 3
    assert return_indices(12, 1, 5, 'x') == [11]
    with pytest.raises(ValueError, match=r'\[11, 11\]'):  # the reference: one head too many
        return_indices(12, 2, 0.5, 'student')
    with pytest.raises(ValueError, match='must be distinct and >= 0'):
        return_indices(12, 5, 3, 'student')  # 11, 8, 5, 2, -1
    with pytest.raises(ValueError, match='positive'):
        return_indices(12, 2, 0, 'student')


def test_student_returns_the_blocks_of_its_interval():
    """Depth 4, K 2, interval 2: blocks 1 and 3, checked against the blocks run by hand."""
    model = tiny_distiller(depth=4, student_return_interval=2,
                           teacher=dict(type='CLIPVisionTeacher', input_resolution=32,
                                        num_return_layers=2, return_interval=2,
                                        arch=TINY_TEACHER)).eval()
    assert model.return_layers == [1, 3]
    x = torch.rand(2, 3, 4, 32, 32)
    mask = torch.ones(2, 16, dtype=torch.bool)
    mask[:, ::2] = False
    with torch.no_grad():
        normed, _ = model.student(x, mask)
        tokens, _ = model.encoder.embed(x)
        tokens = tokens[~mask].reshape(2, 8, 32)
        outputs = []
        for block in model.encoder.blocks:
            tokens = block(tokens)
            outputs.append(model.encoder.norm(tokens))
    torch.testing.assert_close(normed, torch.stack([outputs[1], outputs[3]]))
    losses = model(x, mode='loss')
    assert [k for k in losses if k.startswith('cos')] == ['cos_dist_block1', 'cos_dist_block3']


def test_teacher_returns_the_blocks_of_its_interval():
    """Layers 4, K 2, interval 2: blocks 1 and 3 of the teacher returning every block, for
    the full forward and the visible-token one."""
    torch.manual_seed(0)
    every = CLIPVisionTeacher(arch=TINY_TEACHER, input_resolution=32, num_return_layers=4)
    picked = CLIPVisionTeacher(arch=TINY_TEACHER, input_resolution=32, num_return_layers=2,
                               return_interval=2)
    picked.load_state_dict(every.state_dict())
    assert picked.return_layers == [1, 3] and every.return_layers == [0, 1, 2, 3]
    x = torch.rand(2, 3, 4, 32, 32)
    all_features, attn = every(x)
    features, attn2 = picked(x)
    torch.testing.assert_close(features, all_features[[1, 3]])
    torch.testing.assert_close(attn2, attn)
    mask = torch.ones(2, 16, dtype=torch.bool)
    mask[:, 1::2] = False
    targets, _, _ = picked(x, make_mask=lambda cls_attn: mask)
    torch.testing.assert_close(targets, all_features[[1, 3]][:, ~mask].reshape(2, 2, 8, 16),
                               atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match='CLIPVisionTeacher'):
        CLIPVisionTeacher(arch=TINY_TEACHER, input_resolution=32, num_return_layers=3,
                          return_interval=2)  # 3, 1, -1


# ---------------------------------------------------------------- learnable position table
def test_learnable_position_table():
    model = tiny_distiller(encoder=dict(
        type='UMTVisionTransformer', img_size=64, num_frames=4, use_learnable_pos_emb=True,
        arch=dict(embed_dims=64, depth=2, num_heads=2, mlp_ratio=2)),
        teacher=dict(type='CLIPVisionTeacher', input_resolution=64, num_return_layers=2,
                     arch=TINY_TEACHER))
    table = model.encoder.pos_embed
    assert isinstance(table, torch.nn.Parameter) and table.shape == (1, 4 * 16, 64)
    assert 'encoder.pos_embed' in model.state_dict()
    # the reference's trunc_normal_(std=.02) cuts at +-std: N(0, 1) cut at +-1 has std 0.5396
    assert table.abs().max().item() <= 0.02
    assert table.std().item() == pytest.approx(0.02 * 0.5396, rel=0.05)
    x = torch.rand(2, 3, 4, 64, 64)
    torch.manual_seed(0)
    model(x, mode='loss')['loss_distill'].backward()
    torch.manual_seed(0)
    with torch.no_grad():
        _, _, mask = model(x)
    grad = table.grad[0].abs().sum(-1)
    seen = (~mask).any(0)  # tokens visible in some clip get a gradient, the others none
    assert bool((grad[seen] > 0).all()) and not grad[~seen].any()
    with pytest.raises(ValueError, match='learnable position table'):
        model.encoder(torch.rand(1, 3, 4, 32, 32))


def test_fixed_position_table_stays_a_buffer():
    model = tiny_distiller()
    assert not isinstance(model.encoder.pos_embed, torch.nn.Parameter)
    assert 'encoder.pos_embed' not in model.state_dict()
    assert not any('pos_embed' in n for n, _ in model.named_parameters())


# ---------------------------------------------------------------- CLIP L/14-336 teacher
def test_l14_336_preset():
    """clip.py's ``clip_l14_336``: ViT-L/14 at 336 px, 24x24 patches + CLS = 577 positions."""
    with torch.device('meta'):
        native = CLIPVisionTeacher('l14_336')
        at196 = CLIPVisionTeacher('l14_336', input_resolution=196)
        l14 = CLIPVisionTeacher('l14', input_resolution=196)
    assert (native.input_resolution, native.grid, native.heads) == (336, 24, 16)
    assert native.positional_embedding.shape == (577, 1024)
    assert native.proj.shape == (1024, 768) and native.layers == 24
    assert at196.positional_embedding.shape == (197, 1024)
    openai_336 = native.state_dict()
    # the 336 px weights go to the teacher at 336 as they are, at 196 with a resized table
    assert native.adapt_state_dict(openai_336)['positional_embedding'].shape == (577, 1024)
    assert at196.adapt_state_dict(openai_336)['positional_embedding'].shape == (197, 1024)
    # a 224-px ViT-L/14 file (16x16 + CLS) is refused by the 336 preset, and the reverse
    openai_224 = dict(openai_336, positional_embedding=torch.empty(257, 1024, device='meta'))
    with pytest.raises(ValueError, match=r"257 rows .*arch='l14_336'.*Use arch='l14'"):
        at196.adapt_state_dict(openai_224, source='ViT-L-14.pt')
    with pytest.raises(ValueError, match=r"577 rows .*Use arch='l14_336'"):
        l14.adapt_state_dict(openai_336, source='ViT-L-14-336px.pt')
    assert l14.adapt_state_dict(openai_224)['positional_embedding'].shape == (197, 1024)


# ---------------------------------------------------------------- recipes
@pytest.mark.parametrize('path,blocks', [(B16_CFG, list(range(6, 12))),
                                         (L16_CFG, list(range(18, 24)))])
def test_recipes_set_the_reference_defaults(repo_root, path, blocks):
    cfg = Config.fromfile(repo_root / path)
    model = cfg.model
    assert (model.loss_type, model.loss_ratio) == ('l2', 1.0)
    assert (model.num_return_layers, model.student_return_interval) == (6, 1)
    assert (model.teacher.num_return_layers, model.teacher.return_interval) == (6, 1)
    assert model.encoder.use_learnable_pos_emb is False
    assert model.encoder.get('init_cfg') is None  # UMTDistiller's reference init
    assert cfg.default_hooks.weight_decay == dict(type='CosineWeightDecayHook',
                                                  weight_decay_end=None)
    assert cfg.default_hooks.numeric_guard == dict(type='NumericGuardHook', action='stop')
    with torch.device('meta'):
        cfg.model.teacher.init_cfg = None
        built = MODELS.build(cfg.model)
    assert built.return_layers == blocks and built.teacher.return_layers == blocks
    assert (built.loss_type, built.loss_ratio) == ('l2', 1.0)


def test_mse_loss_matches_torch(repo_root):
    """``'mse'`` is ``nn.MSELoss()`` (mean over all elements), ``'smooth_l1'``
    ``nn.SmoothL1Loss()`` (beta 1), on random unit vectors of the recipe's shapes."""
    out = F.normalize(torch.randn(6, 2, 40, 512), dim=-1)
    target = F.normalize(torch.randn(6, 2, 40, 512), dim=-1)
    assert tiny_distiller(loss_type='mse').distill_loss(out, target).item() == pytest.approx(
        torch.nn.MSELoss()(out, target).item(), rel=1e-6)
    assert tiny_distiller(loss_type='smooth_l1').distill_loss(out, target).item() == \
        pytest.approx(torch.nn.SmoothL1Loss()(out, target).item(), rel=1e-6)
