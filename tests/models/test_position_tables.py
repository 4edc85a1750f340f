"""Which fixed position table each recipe's backbone adds, at a geometry other than 8 x 224."""
import pytest
import torch

from umt_mm.apis import load_config
from umt_mm.models.layers import sincos_table_1d, umt_position_table

PRETRAIN = ['umt-base-p16-res224_clip-b16-distill_32xb64-u8-201e_kinetics710-rgb',
            'umt-large-p16-res224_clip-l14-distill_32xb64-u8-201e_kinetics710-rgb']
FINETUNE = ['umt-base-p16-res224_k710-ft_16xb16-u8-5e_kinetics400-rgb',
            'umt-large-p16-res224_k710-ft_16xb8-u16-5e_kinetics400-rgb',
            'umt-base-p16-res224_k710-pre_16xb16-u8-30e_sthv2-rgb']
# a reduced geometry: 4 frames of 32 px (2 x 2 patches), narrow and shallow
SMALL = dict(arch=dict(embed_dims=32, depth=1, num_heads=2, mlp_ratio=2.0), img_size=32,
             num_frames=4)


def _build(cfg_model: dict):
    from mmaction.registry import MODELS
    return MODELS.build(cfg_model)


@pytest.mark.parametrize('name', PRETRAIN)
def test_pretraining_students_add_the_flat_table(name):
    """models/modeling_pretrain_umt.py: get_sinusoid_encoding_table(T'*H'*W', D)."""
    cfg = load_config(name)
    assert cfg.model.encoder.position_table == 'flat'
    student = _build(dict(cfg.model.encoder, **SMALL, with_fc_norm=False))
    torch.testing.assert_close(student.pos_embed, sincos_table_1d(16, 32), rtol=0, atol=0)
    assert not torch.allclose(student.pos_embed, umt_position_table(32, 4, (2, 2)))


@pytest.mark.parametrize('name', FINETUNE)
def test_finetuning_backbones_interpolate_the_base_table(name):
    """models/modeling_finetune.py: the 8 x 14 x 14 table resized to the token grid."""
    cfg = load_config(name)
    assert cfg.model.backbone.get('position_table', 'interpolated') == 'interpolated'
    backbone = _build(dict(cfg.model.backbone, **SMALL))
    torch.testing.assert_close(backbone.pos_embed, umt_position_table(32, 4, (2, 2)),
                               rtol=0, atol=0)


def test_the_tables_agree_at_the_reference_geometry_only():
    torch.testing.assert_close(umt_position_table(64, 8, (14, 14)), sincos_table_1d(1568, 64))


def test_distiller_defaults_its_student_to_the_flat_table():
    cfg = load_config(PRETRAIN[0])
    encoder = dict(cfg.model.encoder, **SMALL)
    encoder.pop('position_table')
    distiller = _build(dict(cfg.model, encoder=encoder, teacher=dict(
        type='CLIPVisionTeacher', input_resolution=32, num_return_layers=1, return_interval=1,
        arch=dict(patch_size=16, width=32, layers=2, heads=2, output_dim=16)),
        align_dims=16, num_return_layers=1))
    torch.testing.assert_close(distiller.encoder.pos_embed, sincos_table_1d(16, 32))
    with pytest.raises(ValueError, match="position_table must be 'interpolated' or 'flat'"):
        _build(dict(cfg.model.encoder, **SMALL, position_table='learned'))
