"""UMTDistiller: reference parity on the pretraining fixtures, the frozen teacher, the recipes."""
import copy

import pytest
import torch
from mmaction.registry import MODELS
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from umt_mm.models import UMTDistiller

FIXTURES = ('pretrain_b16style.pt', 'pretrain_l14style_teacher196.pt')
B16_CFG = 'configs/pretrain/umt-base-p16-res224_clip-b16-distill_32xb64-u8-201e_kinetics710-rgb.py'
L16_CFG = ('configs/pretrain/'
           'umt-large-p16-res224_clip-l14-distill_32xb64-u8-201e_kinetics710-rgb.py')


def tiny_distiller(**overrides) -> UMTDistiller:
    cfg = dict(
        type='UMTDistiller', align_dims=16, num_return_layers=2,
        encoder=dict(type='UMTVisionTransformer', img_size=32, num_frames=4,
                     arch=dict(embed_dims=32, depth=3, num_heads=2, mlp_ratio=2)),
        teacher=dict(type='CLIPVisionTeacher', input_resolution=32, num_return_layers=2,
                     arch=dict(patch_size=16, width=32, layers=2, heads=2, output_dim=16)),
        mask_generator=dict(type='UMTMaskGenerator', mask_ratio=0.5))
    cfg.update(overrides)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def fixture_distiller(fx: dict) -> UMTDistiller:
    """The distiller of a reference pretraining fixture, with its stored weights."""
    cfg, student, teacher = fx['config'], fx['config']['student'], fx['config']['teacher']
    model = MODELS.build(dict(
        type='UMTDistiller', align_dims=student['align_dim'],
        num_return_layers=student['return_layers'],
        encoder=dict(type='UMTVisionTransformer', img_size=cfg['img_size'],
                     num_frames=cfg['num_frames'], tubelet_size=cfg['tubelet_size'],
                     arch=dict(embed_dims=student['embed_dim'], depth=student['depth'],
                               num_heads=student['num_heads'])),
        teacher=dict(type='CLIPVisionTeacher', input_resolution=teacher['input_resolution'],
                     num_return_layers=teacher['return_layers'],
                     arch=dict(patch_size=teacher['patch_size'], width=teacher['width'],
                               layers=teacher['layers'], heads=teacher['heads'],
                               output_dim=teacher['output_dim'])),
        mask_generator=dict(type='UMTMaskGenerator', mask_ratio=cfg['mask_ratio'])))
    missing, unexpected = model.load_state_dict(fx['student_state_dict'], strict=False)
    assert not unexpected and not missing  # teacher keys are filled by the load hook
    model.teacher.load_state_dict(fx['teacher_state_dict'])
    return model.eval()


@pytest.mark.parametrize('name', FIXTURES)
def test_reference_pretraining_step(shared_data, name):
    fx = torch.load(shared_data / 'reference_fixtures' / name, weights_only=True)
    model = fixture_distiller(fx)
    x = fx['input'].float()
    mask = fx['mask'].bool()
    with torch.no_grad():
        features, cls_attn = model.teacher(x)
        torch.testing.assert_close(features, fx['teacher_features'], atol=1e-4, rtol=0)
        torch.testing.assert_close(cls_attn, fx['teacher_cls_attn'], atol=1e-4, rtol=0)
        targets = features[:, ~mask].reshape_as(fx['targets'])
        torch.testing.assert_close(targets, fx['targets'], atol=1e-4, rtol=0)
        normed, aligned = model.student(x, mask)
        torch.testing.assert_close(normed, fx['student_returned_normed'], atol=1e-4, rtol=0)
        torch.testing.assert_close(aligned, fx['student_aligned'], atol=1e-4, rtol=0)
        loss = model.cosine_distance(aligned, targets).mean()
    assert abs(float(loss) - float(fx['loss'])) < 1e-4
    # the whole step with the reference's mask generator draw replaced by the stored mask
    model.mask_generator.forward = lambda *a, **k: mask
    with torch.no_grad():
        losses = model(x, mode='loss')
    assert abs(float(losses['loss_distill']) - float(fx['loss'])) < 1e-4
    per_block = [float(v) for k, v in losses.items() if k.startswith('cos_dist_block')]
    assert len(per_block) == fx['student_aligned'].shape[0]
    assert sum(per_block) / len(per_block) == pytest.approx(float(fx['loss']), abs=1e-4)


def test_student_keys_are_the_official_ones():
    model = tiny_distiller()
    keys = set(model.state_dict())
    assert not any(k.startswith('teacher.') for k in keys)  # never saved
    assert {'encoder.norm.weight', 'clip_decoder.1.head.weight', 'clip_decoder.1.norm.bias',
            'encoder.blocks.0.attn.q_bias', 'encoder.patch_embed.proj.weight'} <= keys
    assert not any('fc_norm' in k or 'pos_embed' in k for k in keys)


def test_teacher_is_frozen_through_training():
    torch.manual_seed(0)
    model = tiny_distiller()
    teacher_before = copy.deepcopy(model.teacher.state_dict())
    model.train()
    assert not model.teacher.training
    assert all(not m.training for m in model.teacher.modules())
    wrapper = build_optim_wrapper(model, dict(
        optimizer=dict(type='AdamW', lr=1e-2, betas=(0.9, 0.95), weight_decay=0.05),
        constructor='UMTLayerDecayOptimWrapperConstructor',
        paramwise_cfg=dict(layer_decay_rate=1.0, no_decay_names=['pos_embed'])))
    in_optimizer = {id(p) for g in wrapper.optimizer.param_groups for p in g['params']}
    assert not in_optimizer & {id(p) for p in model.teacher.parameters()}
    student = [p for n, p in model.named_parameters() if not n.startswith('teacher.')]
    assert in_optimizer == {id(p) for p in student}
    student_before = [p.detach().clone() for p in student]
    x = torch.rand(2, 1, 3, 4, 32, 32) * 4 - 2
    for _ in range(3):
        losses = model(x, mode='loss')
        wrapper.update_params(losses['loss_distill'])
        assert all(p.grad is None for p in model.teacher.parameters())
    assert all(torch.equal(v, model.teacher.state_dict()[k]) for k, v in teacher_before.items())
    assert any(not torch.equal(a, b) for a, b in zip(student_before, student))
    assert not model.teacher.training


def test_checkpoint_round_trip_keeps_the_teacher_of_its_file():
    model = tiny_distiller()
    saved = model.state_dict()
    other = tiny_distiller()
    teacher = copy.deepcopy(other.teacher.state_dict())
    result = other.load_state_dict(saved, strict=True)  # no teacher key missing
    assert not result.missing_keys and not result.unexpected_keys
    assert all(torch.equal(saved[k], other.state_dict()[k]) for k in saved)
    assert all(torch.equal(v, other.teacher.state_dict()[k]) for k, v in teacher.items())


def test_loss_logs_every_block_and_refuses_predict():
    model = tiny_distiller()
    losses = model(torch.rand(2, 3, 4, 32, 32), mode='loss')
    assert list(losses) == ['loss_distill', 'cos_dist_block1', 'cos_dist_block2']
    assert 0 <= float(losses['loss_distill'].detach()) <= 4  # 2 - 2 cos of unit vectors
    assert losses['loss_distill'].requires_grad and not losses['cos_dist_block1'].requires_grad
    aligned, targets, mask = model(torch.rand(2, 3, 4, 32, 32))
    assert aligned.shape == targets.shape == (2, 2, 4 * 2, 16)  # 2 of 4 patches per frame
    assert mask.shape == (2, 16)
    with pytest.raises(RuntimeError, match='no predictions'):
        model(torch.rand(1, 3, 4, 32, 32), mode='predict')


def test_mismatched_teacher_is_explained():
    model = tiny_distiller(teacher=dict(
        type='CLIPVisionTeacher', input_resolution=64, num_return_layers=2,
        arch=dict(patch_size=16, width=32, layers=2, heads=2, output_dim=16)),
        mask_generator=dict(type='UMTMaskGenerator', mask_type='random'))
    with pytest.raises(ValueError, match='same grid as the student'):
        model(torch.rand(1, 3, 4, 32, 32), mode='loss')


@pytest.mark.parametrize('path,arch,teacher,res,align,drop_path', [
    (B16_CFG, 'base', 'b16', 224, 512, 0.1), (L16_CFG, 'large', 'l14', 196, 768, 0.2)])
def test_pretraining_recipes(repo_root, path, arch, teacher, res, align, drop_path):
    cfg = Config.fromfile(repo_root / path)
    model = cfg.model
    assert model.type == 'UMTDistiller' and model.num_return_layers == 6
    assert (model.encoder.arch, model.encoder.img_size, model.encoder.num_frames,
            model.encoder.tubelet_size, model.encoder.drop_path_rate) == (arch, 224, 8, 1,
                                                                          drop_path)
    assert (model.teacher.arch, model.teacher.input_resolution, model.align_dims) == (
        teacher, res, align)
    assert model.mask_generator == dict(type='UMTMaskGenerator', mask_type='attention',
                                        mask_ratio=0.8)
    assert model.data_preprocessor.mean == [123.675, 116.28, 103.53]
    assert model.data_preprocessor.std == [58.395, 57.12, 57.375]
    optim = cfg.optim_wrapper
    assert optim.type == 'AmpOptimWrapper'
    assert optim.optimizer == dict(type='AdamW', lr=1.2e-3, betas=(0.9, 0.95), eps=1e-8,
                                   weight_decay=0.05, fused=True)
    assert optim.paramwise_cfg.layer_decay_rate == 1.0
    assert set(optim.paramwise_cfg.no_decay_names) == {
        'pos_embed', 'cls_token', 'mask_token', 'clip_mask_token', 'clip_pos_embed'}
    assert cfg.train_cfg.max_epochs == 201 and cfg.auto_scale_lr.base_batch_size == 2048
    assert cfg.train_dataloader.batch_size == 64  # x 32 processes = 2048
    warm, cos = cfg.param_scheduler
    assert (warm.type, warm.start_factor, warm.begin, warm.end) == ('LinearLR', 1e-6, 0, 40)
    assert (cos.type, cos.begin, cos.end, cos.T_max) == ('CosineAnnealingLR', 40, 201, 161)
    assert cos.eta_min_ratio * optim.optimizer.lr == pytest.approx(8e-5)
    assert warm.convert_to_iter_based and cos.convert_to_iter_based
    pipeline = [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
    assert pipeline == ['DecordInit', 'UMTSampleFrames', 'DecordDecode', 'MultiScaleCrop',
                        'UMTPILResize', 'Flip', 'FormatShape', 'PackActionInputs']
    crop = cfg.train_dataloader.dataset.pipeline[3]
    assert (crop.scales, crop.max_wh_scale_gap, crop.num_fixed_crops) == (
        (1, 0.875, 0.75, 0.66), 1, 13)
    assert cfg.train_dataloader.dataset.pipeline[5].flip_ratio == 0.5


def test_b16_recipe_builds_with_the_reference_no_decay_groups(repo_root):
    cfg = Config.fromfile(repo_root / B16_CFG)
    cfg.model.teacher.init_cfg = None
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    optim = cfg.optim_wrapper
    wrapper = build_optim_wrapper(model, dict(
        type='OptimWrapper', optimizer=optim.optimizer, constructor=optim.constructor,
        paramwise_cfg=optim.paramwise_cfg))
    decay = {n for g in wrapper.optimizer.param_groups if g['weight_decay'] > 0
             for n in g['param_names']}
    no_decay = {n for g in wrapper.optimizer.param_groups if g['weight_decay'] == 0
                for n in g['param_names']}
    assert 'encoder.blocks.0.attn.qkv.weight' in decay
    assert 'clip_decoder.5.head.weight' in decay
    assert {'encoder.blocks.0.attn.q_bias', 'encoder.norm.weight', 'clip_decoder.0.head.bias',
            'encoder.patch_embed.proj.bias'} <= no_decay
    assert len(decay | no_decay) == 184  # the official student: 184 tensors, teacher excluded
    assert sum(p.numel() for g in wrapper.optimizer.param_groups for p in g['params']) == \
        88_005_888
    assert {g['lr'] for g in wrapper.optimizer.param_groups} == {1.2e-3}


def test_other_input_sizes_use_the_reference_1d_table_at_their_length():
    from umt_mm.models.layers import sincos_table_1d
    model = tiny_distiller(mask_generator=dict(type='UMTMaskGenerator', mask_type='random'),
                           teacher=dict(type='CLIPVisionTeacher', input_resolution=64,
                                        num_return_layers=2,
                                        arch=dict(patch_size=16, width=32, layers=2, heads=2,
                                                  output_dim=16))).eval()
    x = torch.rand(1, 3, 4, 64, 64)  # built for 32 px: 4 x 4 x 4 = 64 tokens instead of 16
    mask = torch.zeros(1, 64, dtype=torch.bool)
    with torch.no_grad():
        _, aligned = model.student(x, mask)
        returned = model.encoder.norm(model.encoder.forward_masked(x, mask, [1, 2]))
        expected = model.clip_decoder(returned + sincos_table_1d(64, 32))
    torch.testing.assert_close(aligned, expected)
    assert list(model._clip_pos_cache) == [(64, torch.device('cpu'))]
