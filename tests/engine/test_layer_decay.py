"""UMTLayerDecayOptimWrapperConstructor: exact lr scales and weight-decay flags."""
import pytest
import torch
from mmaction.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS


def _build(decay=0.75):
    model = MODELS.build(dict(
        type='Recognizer3D',
        backbone=dict(type='UMTVisionTransformer', arch=dict(embed_dims=32, depth=2, num_heads=2,
                                               mlp_ratio=2), img_size=32, num_frames=2),
        cls_head=dict(type='UMTHead', num_classes=3, in_channels=32)))
    constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(dict(
        type='UMTLayerDecayOptimWrapperConstructor',
        optim_wrapper_cfg=dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05)),
        paramwise_cfg=dict(layer_decay_rate=decay)))
    return model, constructor(model)


def test_lr_scales_and_weight_decay():
    model, wrapper = _build()
    by_name = {}
    for group in wrapper.optimizer.param_groups:
        for name in group['param_names']:
            by_name[name] = group
    assert set(by_name) == {n for n, p in model.named_parameters() if p.requires_grad}
    expected_scale = {
        'backbone.patch_embed.proj.weight': 0.75 ** 3,
        'backbone.patch_embed.proj.bias': 0.75 ** 3,
        'backbone.blocks.0.attn.qkv.weight': 0.75 ** 2,
        'backbone.blocks.0.attn.q_bias': 0.75 ** 2,
        'backbone.blocks.1.mlp.fc1.weight': 0.75,
        'backbone.fc_norm.weight': 1.0,
        'cls_head.fc_cls.weight': 1.0,
    }
    for name, scale in expected_scale.items():
        assert by_name[name]['lr'] == pytest.approx(1e-3 * scale), name
    no_wd = {'backbone.patch_embed.proj.bias', 'backbone.blocks.0.attn.q_bias',
             'backbone.blocks.0.attn.v_bias', 'backbone.blocks.0.norm1.weight',
             'backbone.fc_norm.weight', 'cls_head.fc_cls.bias', 'backbone.blocks.1.mlp.fc2.bias'}
    for name, group in by_name.items():
        assert group['weight_decay'] == (0.0 if name in no_wd or name.endswith('bias')
                                         or model.get_parameter(name).ndim == 1 else 0.05), name
    assert by_name['backbone.blocks.1.attn.qkv.weight']['weight_decay'] == 0.05


def test_reference_numbers_for_b16():
    # optim_factory.py, B/16, ld 0.75: patch_embed 0.0238, block 0 0.0317, block 11 0.75
    assert 0.75 ** 13 == pytest.approx(0.0238, abs=1e-4)
    assert 0.75 ** 12 == pytest.approx(0.0317, abs=1e-4)


def test_errors():
    with pytest.raises(TypeError, match='get_layer_depth'):
        OPTIM_WRAPPER_CONSTRUCTORS.build(dict(
            type='UMTLayerDecayOptimWrapperConstructor',
            optim_wrapper_cfg=dict(optimizer=dict(type='SGD', lr=0.1)),
            paramwise_cfg=dict(layer_decay_rate=0.9)))(torch.nn.Linear(2, 2))
    with pytest.raises(KeyError, match='decay_rate'):
        OPTIM_WRAPPER_CONSTRUCTORS.build(dict(
            type='UMTLayerDecayOptimWrapperConstructor',
            optim_wrapper_cfg=dict(optimizer=dict(type='SGD', lr=0.1)),
            paramwise_cfg=dict(decay_rate=0.9)))(torch.nn.Linear(2, 2))
