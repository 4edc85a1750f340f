"""UMTVisionTransformer: reference parity (fixtures), position table, feature maps, masked
forward."""
import math

import pytest
import torch
from mmaction.registry import MODELS

from umt_mm.models import UMTHead, UMTVisionTransformer
from umt_mm.models.layers import sincos_table_1d, umt_position_table

FIXTURES = ['finetune_8x224', 'finetune_16x224', 'finetune_8x64', 'finetune_4x384',
            'finetune_16x224_tubelet2']
TINY = dict(embed_dims=32, depth=1, num_heads=2, mlp_ratio=2)
FIXTURE_ARCH = dict(embed_dims=64, depth=2, num_heads=2, mlp_ratio=4)


@pytest.mark.parametrize('name', FIXTURES)
def test_reference_fixture_parity(shared_data, name):
    path = shared_data / 'reference_fixtures' / f'{name}.pt'
    if not path.exists():
        pytest.skip(f'reference fixture {path} missing')
    fixture = torch.load(path, weights_only=True)
    cfg = fixture['config']
    assert (cfg['embed_dim'], cfg['depth'], cfg['num_heads'], cfg['mlp_ratio']) == (
        FIXTURE_ARCH['embed_dims'], FIXTURE_ARCH['depth'], FIXTURE_ARCH['num_heads'],
        FIXTURE_ARCH['mlp_ratio'])
    backbone = UMTVisionTransformer(arch=FIXTURE_ARCH, img_size=cfg['img_size'],
                      patch_size=cfg['patch_size'], num_frames=cfg['num_frames'],
                      tubelet_size=cfg['tubelet_size'], qkv_bias=cfg['qkv_bias']).eval()
    head = UMTHead(num_classes=cfg['num_classes'], in_channels=cfg['embed_dim']).eval()

    # the table we rebuild equals the one the reference used
    torch.testing.assert_close(backbone.pos_embed, fixture['pos_embed'].float(),
                               atol=1e-5, rtol=0)

    state = dict(fixture['state_dict'])
    assert ('pos_embed' in state) == fixture['pos_embed_in_state_dict']
    if 'pos_embed' in state:
        # stored as a Parameter by the reference, but still the sincos table: not ours to load
        torch.testing.assert_close(backbone.pos_embed, state.pop('pos_embed').float(),
                                   atol=1e-5, rtol=0)
    head_state = {'fc_cls.' + k[len('head.'):]: state.pop(k)
                  for k in list(state) if k.startswith('head.')}
    backbone.load_state_dict(state, strict=True)
    head.load_state_dict(head_state, strict=True)
    assert 'pos_embed' not in backbone.state_dict()

    with torch.no_grad():
        features = backbone(fixture['input'].float())
        logits = head(features)
    torch.testing.assert_close(features, fixture['features'].float(), atol=1e-4, rtol=0)
    torch.testing.assert_close(logits, fixture['logits'].float(), atol=1e-4, rtol=0)


def test_sincos_table_formula():
    dim, n = 6, 5
    table = sincos_table_1d(n, dim)
    assert table.shape == (1, n, dim) and table.dtype == torch.float32
    for p in range(n):
        for j in range(dim):
            angle = p / 10000 ** (2 * (j // 2) / dim)
            expected = math.sin(angle) if j % 2 == 0 else math.cos(angle)
            assert table[0, p, j].item() == pytest.approx(expected, abs=1e-6)
    # no interpolation at the base geometry
    torch.testing.assert_close(umt_position_table(dim, 8, (14, 14)), sincos_table_1d(1568, dim))


def test_temporal_interpolation_keeps_spatial_layout():
    table = umt_position_table(4, 16, (14, 14)).reshape(16, 196, 4)
    base = sincos_table_1d(1568, 4).reshape(8, 196, 4)
    # linear, align_corners=False, 8 -> 16: output t maps to source (t + 0.5) / 2 - 0.5
    torch.testing.assert_close(table[0], base[0])  # clamped at the start
    torch.testing.assert_close(table[1], 0.75 * base[0] + 0.25 * base[1])
    torch.testing.assert_close(table[15], base[7])


def test_non_square_spatial_interpolation_is_bicubic_per_frame():
    table = umt_position_table(4, 8, (16, 20))
    assert table.shape == (1, 8 * 16 * 20, 4) and table.dtype == torch.float32
    base = sincos_table_1d(1568, 4).reshape(8, 14, 14, 4).permute(0, 3, 1, 2)
    expected = torch.nn.functional.interpolate(base, size=(16, 20), mode='bicubic',
                                               align_corners=False)
    torch.testing.assert_close(table, expected.permute(0, 2, 3, 1).reshape(1, -1, 4))


@pytest.mark.parametrize('size', [(224, 224), (256, 320)])
def test_feature_map_shapes(size):
    model = UMTVisionTransformer(arch=TINY, img_size=224, num_frames=2, output='feature_map').eval()
    assert model.norm is None and model.fc_norm is not None
    with torch.no_grad():
        out = model(torch.rand(1, 3, 2, *size))
    assert out.shape == (1, 32, 2, size[0] // 16, size[1] // 16)


def test_detection_feature_map_uses_norm_and_online_table():
    torch.manual_seed(0)
    model = UMTVisionTransformer(arch=TINY, img_size=224, num_frames=2, output='feature_map',
                   with_fc_norm=False).eval()
    assert model.fc_norm is None and isinstance(model.norm, torch.nn.LayerNorm)
    assert not any(k.startswith('fc_norm') for k in model.state_dict())
    x = torch.rand(1, 3, 2, 256, 320)
    with torch.no_grad():
        out = model(x)
        tokens, grid = model.embed(x)
        expected = model.norm(model.blocks[0](tokens))
    assert grid == (2, 16, 20)
    torch.testing.assert_close(model.position_table(grid), umt_position_table(32, 2, (16, 20)))
    torch.testing.assert_close(out, expected.transpose(1, 2).reshape(1, 32, 2, 16, 20))


def test_feature_map_rejects_non_multiple_of_patch():
    model = UMTVisionTransformer(arch=TINY, img_size=32, num_frames=2, output='feature_map')
    with pytest.raises(ValueError, match='multiples of the patch size'):
        model(torch.rand(1, 3, 2, 40, 50))


def test_masked_forward_equals_unmasked_when_all_visible():
    torch.manual_seed(0)
    model = UMTVisionTransformer(arch=dict(embed_dims=32, depth=3, num_heads=2), img_size=32,
                   num_frames=2).eval()
    x = torch.rand(2, 3, 2, 32, 32)
    mask = torch.zeros(2, 8, dtype=torch.bool)
    with torch.no_grad():
        out = model.forward_masked(x, mask, return_layers=[2, 1])
        tokens, _ = model.embed(x)
        expected = []
        for block in model.blocks:
            tokens = block(tokens)
            expected.append(tokens)
    assert out.shape == (2, 2, 8, 32)
    torch.testing.assert_close(out[0], expected[1])
    torch.testing.assert_close(out[1], expected[2])
    # with a mask, only the visible tokens are kept (in token order)
    mask[:, ::2] = True
    with torch.no_grad():
        masked = model.forward_masked(x, mask, return_layers=[0])
        tokens, _ = model.embed(x)
        visible = model.blocks[0](tokens[:, 1::2])
    assert masked.shape == (1, 2, 4, 32)
    torch.testing.assert_close(masked[0], visible)
    mask[0, 1] = True  # unequal visible counts
    with pytest.raises(ValueError, match='same number of visible tokens'):
        model.forward_masked(x, mask, return_layers=[0])


def test_arch_presets_layer_depth_and_registry():
    large = MODELS.build(dict(type='UMTVisionTransformer', arch='large', num_frames=16))
    assert (large.embed_dims, large.depth, large.num_heads) == (1024, 24, 16)
    assert large.pos_embed.shape == (1, 3136, 1024)
    assert 'pos_embed' not in large.state_dict()
    assert large.no_weight_decay() == {'pos_embed'}
    assert large.get_layer_depth('backbone.patch_embed.proj.weight', 'backbone.') == (0, 26)
    assert large.get_layer_depth('backbone.pos_embed', 'backbone.') == (0, 26)
    assert large.get_layer_depth('backbone.blocks.0.norm1.weight', 'backbone.') == (1, 26)
    assert large.get_layer_depth('backbone.blocks.5.attn.qkv.weight', 'backbone.') == (6, 26)
    assert large.get_layer_depth('backbone.blocks.23.mlp.fc2.bias', 'backbone.') == (24, 26)
    assert large.get_layer_depth('backbone.fc_norm.weight', 'backbone.') == (25, 26)
    assert large.get_layer_depth('cls_head.fc_cls.weight', 'backbone.') == (25, 26)
    assert large.get_layer_depth('blocks.2.attn.q_bias') == (3, 26)
    base = UMTVisionTransformer(arch='base', num_frames=8)
    assert (base.embed_dims, base.depth, base.num_heads) == (768, 12, 12)
    assert sum(p.numel() for p in base.parameters()) == 85_944_976 - (400 * 768 + 400)
    with pytest.raises(ValueError, match='unknown UMTVisionTransformer arch'):
        UMTVisionTransformer(arch='huge')


def test_state_dict_names_match_reference():
    model = UMTVisionTransformer(arch=dict(embed_dims=32, depth=1, num_heads=2), img_size=32,
                                 num_frames=2)
    assert sorted(model.state_dict()) == sorted([
        'patch_embed.proj.weight', 'patch_embed.proj.bias', 'fc_norm.weight', 'fc_norm.bias',
        'blocks.0.norm1.weight', 'blocks.0.norm1.bias', 'blocks.0.attn.q_bias',
        'blocks.0.attn.v_bias', 'blocks.0.attn.qkv.weight', 'blocks.0.attn.proj.weight',
        'blocks.0.attn.proj.bias', 'blocks.0.norm2.weight', 'blocks.0.norm2.bias',
        'blocks.0.mlp.fc1.weight', 'blocks.0.mlp.fc1.bias', 'blocks.0.mlp.fc2.weight',
        'blocks.0.mlp.fc2.bias'])
    assert model.patch_embed.proj.kernel_size == (1, 16, 16)
    scaled = UMTVisionTransformer(arch=dict(embed_dims=32, depth=1, num_heads=2), img_size=32,
                                  num_frames=2, init_values=0.1)
    torch.testing.assert_close(scaled.blocks[0].gamma_1, torch.full((32,), 0.1))


def test_init_cfg_truncnormal_and_layernorm():
    torch.manual_seed(0)
    model = UMTVisionTransformer(arch=dict(embed_dims=64, depth=1, num_heads=2), img_size=32,
                                 num_frames=2)
    model.init_weights()
    fc1 = model.blocks[0].mlp.fc1
    assert 0.015 < fc1.weight.std().item() < 0.025
    assert torch.count_nonzero(fc1.bias) == 0
    assert torch.all(model.fc_norm.weight == 1) and torch.all(model.fc_norm.bias == 0)


def test_drop_path_linear_and_checkpointing_matches():
    torch.manual_seed(0)
    arch = dict(embed_dims=32, depth=3, num_heads=2)
    model = UMTVisionTransformer(arch=arch, img_size=32, num_frames=2, drop_path_rate=0.2)
    assert [b.drop_path.drop_prob for b in model.blocks] == pytest.approx([0.0, 0.1, 0.2])
    x = torch.rand(2, 3, 2, 32, 32)
    plain = UMTVisionTransformer(arch=arch, img_size=32, num_frames=2)
    ckpt = UMTVisionTransformer(arch=arch, img_size=32, num_frames=2, use_checkpoint=True,
                                checkpoint_num=2)
    ckpt.load_state_dict(plain.state_dict())
    calls = []
    original = torch.utils.checkpoint.checkpoint

    def counting(*args, **kwargs):
        calls.append(kwargs.get('use_reentrant'))
        return original(*args, **kwargs)

    torch.utils.checkpoint.checkpoint = counting
    try:
        out_plain, out_ckpt = plain(x), ckpt(x)
    finally:
        torch.utils.checkpoint.checkpoint = original
    assert calls == [False, False]  # only the first checkpoint_num blocks
    torch.testing.assert_close(out_plain, out_ckpt)
    out_plain.sum().backward()
    out_ckpt.sum().backward()
    torch.testing.assert_close(plain.blocks[0].attn.qkv.weight.grad,
                               ckpt.blocks[0].attn.qkv.weight.grad)


def test_drop_path_is_per_sample():
    from umt_mm.models.layers import DropPath
    torch.manual_seed(0)
    drop = DropPath(0.5).train()
    out = drop(torch.ones(64, 3, 4))
    per_sample = out.flatten(1)
    assert torch.all((per_sample == 0).all(1) | (per_sample == 2).all(1))
    assert drop.eval()(torch.ones(2, 3)).eq(1).all()
