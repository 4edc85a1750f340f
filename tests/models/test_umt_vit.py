"""UMTViT: reference parity (fixtures), position table, feature maps, masked forward."""
import math

import pytest
import torch
from mmaction.registry import MODELS

from umt_mm.converters import check_against, convert_official_finetune, load_state_dict_any
from umt_mm.models import UMTHead, UMTViT
from umt_mm.models.layers import sincos_table_1d, umt_position_table

FIXTURES = ['finetune_8x224', 'finetune_16x224', 'finetune_8x64', 'finetune_4x384',
            'finetune_16x224_tubelet2']
TINY = dict(embed_dims=32, depth=2, num_heads=2, mlp_ratio=2)


@pytest.mark.parametrize('name', FIXTURES)
def test_reference_fixture_parity(shared_data, name):
    path = shared_data / 'reference_fixtures' / f'{name}.pt'
    if not path.exists():
        pytest.skip(f'{path} missing')
    fixture = torch.load(path, weights_only=True)
    cfg = fixture['config']
    backbone = UMTViT(arch=dict(embed_dims=cfg['embed_dim'], depth=cfg['depth'],
                                num_heads=cfg['num_heads'], mlp_ratio=cfg['mlp_ratio']),
                      img_size=cfg['img_size'], patch_size=cfg['patch_size'],
                      num_frames=cfg['num_frames'], tubelet_size=cfg['tubelet_size']).eval()
    head = UMTHead(num_classes=cfg['num_classes'], in_channels=cfg['embed_dim'])
    model = torch.nn.ModuleDict(dict(backbone=backbone, cls_head=head))

    state = load_state_dict_any(dict(fixture['state_dict']))
    assert ('pos_embed' in state) == fixture['pos_embed_in_state_dict']
    converted = convert_official_finetune(state)
    report = check_against(model.state_dict(), converted, strict=True)
    assert report.ok
    model.load_state_dict(converted, strict=True)

    # the table we rebuild equals the one the reference used (and stored, when it did)
    torch.testing.assert_close(backbone.pos_embed, fixture['pos_embed'], atol=1e-5, rtol=0)
    if 'pos_embed' in state:
        torch.testing.assert_close(backbone.pos_embed, state['pos_embed'], atol=1e-5, rtol=0)
    with torch.no_grad():
        features = backbone(fixture['input'].float())
        logits = head(features)
    torch.testing.assert_close(features, fixture['features'], atol=1e-4, rtol=0)
    torch.testing.assert_close(logits, fixture['logits'], atol=1e-4, rtol=0)


def test_sincos_table_formula():
    dim, n = 6, 5
    table = sincos_table_1d(n, dim)[0]
    for p in range(n):
        for j in range(dim):
            angle = p / 10000 ** (2 * (j // 2) / dim)
            expected = math.sin(angle) if j % 2 == 0 else math.cos(angle)
            assert table[p, j].item() == pytest.approx(expected, abs=1e-6)
    # no interpolation at the base geometry
    torch.testing.assert_close(umt_position_table(dim, 8, (14, 14)), sincos_table_1d(1568, dim))


def test_temporal_interpolation_keeps_spatial_layout():
    table = umt_position_table(4, 16, (14, 14)).reshape(16, 196, 4)
    base = sincos_table_1d(1568, 4).reshape(8, 196, 4)
    # linear, align_corners=False, 8 -> 16: output t maps to source (t + 0.5) / 2 - 0.5
    torch.testing.assert_close(table[0], base[0])  # clamped at the start
    torch.testing.assert_close(table[1], 0.75 * base[0] + 0.25 * base[1])
    torch.testing.assert_close(table[15], base[7])


@pytest.mark.parametrize('size', [(224, 224), (256, 320)])
def test_feature_map_shapes(size):
    model = UMTViT(arch=TINY, img_size=224, num_frames=2, output='feature_map').eval()
    with torch.no_grad():
        out = model(torch.rand(1, 3, 2, *size))
    assert out.shape == (1, 32, 2, size[0] // 16, size[1] // 16)


def test_feature_map_rejects_non_multiple_of_patch():
    model = UMTViT(arch=TINY, img_size=32, num_frames=2, output='feature_map')
    with pytest.raises(ValueError, match='multiples of the patch size'):
        model(torch.rand(1, 3, 2, 40, 50))


def test_masked_forward_equals_unmasked_when_all_visible():
    torch.manual_seed(0)
    model = UMTViT(arch=dict(embed_dims=32, depth=3, num_heads=2), img_size=32,
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
        assert model.forward_masked(x, mask, return_layers=[0]).shape == (1, 2, 4, 32)


def test_arch_presets_layer_depth_and_registry():
    large = MODELS.build(dict(type='UMTViT', arch='large', num_frames=16, use_checkpoint=True,
                              checkpoint_num=16))
    assert (large.embed_dims, large.depth, large.num_heads) == (1024, 24, 16)
    assert large.pos_embed.shape == (1, 3136, 1024)
    assert 'pos_embed' not in large.state_dict()
    assert large.get_layer_depth('backbone.patch_embed.proj.weight', 'backbone.') == (0, 26)
    assert large.get_layer_depth('backbone.blocks.5.attn.qkv.weight', 'backbone.') == (6, 26)
    assert large.get_layer_depth('backbone.fc_norm.weight', 'backbone.') == (25, 26)
    assert large.get_layer_depth('cls_head.fc_cls.weight', 'backbone.') == (25, 26)
    with pytest.raises(ValueError, match='unknown UMTViT arch'):
        UMTViT(arch='huge')


def test_drop_path_linear_and_checkpointing_matches():
    torch.manual_seed(0)
    model = UMTViT(arch=dict(embed_dims=32, depth=3, num_heads=2), img_size=32, num_frames=2,
                   drop_path_rate=0.2)
    assert [b.drop_path.drop_prob for b in model.blocks] == pytest.approx([0.0, 0.1, 0.2])
    x = torch.rand(2, 3, 2, 32, 32)
    plain = UMTViT(arch=dict(embed_dims=32, depth=3, num_heads=2), img_size=32, num_frames=2)
    ckpt = UMTViT(arch=dict(embed_dims=32, depth=3, num_heads=2), img_size=32, num_frames=2,
                  use_checkpoint=True, checkpoint_num=2)
    ckpt.load_state_dict(plain.state_dict())
    out_plain, out_ckpt = plain(x), ckpt(x)
    torch.testing.assert_close(out_plain, out_ckpt)
    out_plain.sum().backward()
    out_ckpt.sum().backward()
    torch.testing.assert_close(plain.blocks[0].attn.qkv.weight.grad,
                               ckpt.blocks[0].attn.qkv.weight.grad)
