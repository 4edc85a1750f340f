"""Every model-zoo recipe config against the reference's scripts (single_modality/exp/finetuning/).

The table below is typed from the spec (reference scripts), independently of the
configs, so a typo in a config fails here.
"""
from pathlib import Path

import pytest
import torch
from mmaction.registry import MODELS
from mmengine.config import Config

ROOT = Path(__file__).resolve().parents[2]

# config (relative to configs/): classes, arch, frames, img, batch/GPU, repeats, epochs,
# warmup, script lr, layer decay, drop path, wd, test clips, test crops, style,
# checkpointed blocks (0 = off), init
SPEC = {
    'k710/umt-base-p16-res224_k710-pre_16xb16-u8-35e_kinetics710-rgb.py':
        (710, 'base', 8, 224, 16, 2, 35, 2, 2e-4, .75, .1, .05, 4, 3, 'kinetics', 0, 'pre'),
    'k710/umt-large-p16-res224_k710-pre_16xb16-u8-20e_kinetics710-rgb.py':
        (710, 'large', 8, 224, 16, 2, 20, 2, 1e-4, .85, .2, .05, 4, 3, 'kinetics', 12, 'pre'),
    'mitv1/umt-base-p16-res224_k400-ft_16xb32-u8-40e_mit-rgb.py':
        (339, 'base', 8, 224, 32, 1, 40, 5, 1e-4, .75, .1, .05, 4, 3, 'kinetics', 0, 'k400'),
    'mitv1/umt-base-p16-res384_k400-ft_16xb16-u8-4e_mit-rgb.py':
        (339, 'base', 8, 384, 16, 1, 4, 1, 1e-5, .75, .1, .1, 4, 3, 'kinetics', 8, 'k400'),
    'mitv1/umt-large-p16-res224_k400-ft_16xb32-u8-20e_mit-rgb.py':
        (339, 'large', 8, 224, 32, 1, 20, 5, 1e-4, .85, .2, .05, 4, 3, 'kinetics', 12, 'k400'),
    'mitv1/umt-large-p16-res384_k400-ft_16xb8-u8-4e_mit-rgb.py':
        (339, 'large', 8, 384, 8, 1, 4, 1, 1e-5, .85, .2, .1, 6, 3, 'kinetics', 18, 'k400'),
    'sthv2/umt-base-p16-res224_k710-pre_16xb16-u8-30e_sthv2-rgb.py':
        (174, 'base', 8, 224, 16, 2, 30, 5, 2e-4, .75, .1, .05, 2, 3, 'ssv2', 0, 'pre'),
    'sthv2/umt-large-p16-res224_k710-pre_16xb16-u8-14e_sthv2-rgb.py':
        (174, 'large', 8, 224, 16, 2, 14, 4, 4e-4, .85, .2, .05, 2, 3, 'ssv2', 12, 'pre'),
}
for _ds, _n in (('400', 400), ('600', 600), ('700', 700)):
    SPEC.update({
        f'k{_ds}/umt-base-p16-res224_k710-ft_16xb16-u8-5e_kinetics{_ds}-rgb.py':
            (_n, 'base', 8, 224, 16, 2, 5, 1, 2e-5, .75, .1, .05, 4, 3, 'kinetics', 0, 'k710'),
        f'k{_ds}/umt-large-p16-res224_k710-ft_16xb16-u8-5e_kinetics{_ds}-rgb.py':
            (_n, 'large', 8, 224, 16, 2, 5, 1, 1e-5, .85, .2, .05, 4, 3, 'kinetics', 12, 'k710'),
        f'k{_ds}/umt-large-p16-res224_k710-ft_16xb8-u16-5e_kinetics{_ds}-rgb.py':
            (_n, 'large', 16, 224, 8, 2, 5, 1, 1e-5, .85, .2, .05, 4, 1, 'kinetics', 16, 'k710'),
    })

ARCH_PARAMS = {'base': (768, 12), 'large': (1024, 24)}


def _transform(pipeline, name):
    found = [t for t in pipeline if t['type'] == name]
    return found[0] if found else None


def test_every_zoo_row_has_a_config_and_nothing_else():
    # finetuning rows only: pretraining recipes are checked in tests/models/test_umt_distiller.py,
    # examples in tests/test_examples.py
    found = {str(p.relative_to(ROOT / 'configs')) for p in (ROOT / 'configs').glob('*/*.py')
             if p.parent.name not in ('_base_', 'quickstart', 'pretrain', 'examples',
                                      'rawframes')}
    assert found == set(SPEC)
    assert len(SPEC) == 17  # 2 K710 + 3 x 3 Kinetics + 4 MiT + 2 SSv2


@pytest.mark.parametrize('name', sorted(SPEC))
def test_recipe_matches_spec_table(name):
    (classes, arch, frames, img, bs, repeats, epochs, warmup, lr, ld, dp, wd, clips, crops,
     style, ckpt_blocks, init) = SPEC[name]
    cfg = Config.fromfile(ROOT / 'configs' / name)
    assert cfg.custom_imports.imports == ['umt_mm'] and cfg.default_scope == 'mmaction'

    # model
    bb = cfg.model.backbone
    assert (bb.type, bb.arch, bb.num_frames, bb.img_size) == (
        'UMTVisionTransformer', arch, frames, img)
    assert bb.tubelet_size == 1 and bb.patch_size == 16
    assert bb.drop_path_rate == pytest.approx(dp)
    assert bool(bb.get('use_checkpoint', False)) == (ckpt_blocks > 0)
    if ckpt_blocks:
        assert bb.checkpoint_num == ckpt_blocks
    head = cfg.model.cls_head
    assert (head.type, head.num_classes, head.in_channels) == (
        'UMTHead', classes, ARCH_PARAMS[arch][0])
    assert head.init_scale == 0.001 and head.label_smooth_eps == 0.1
    assert head.average_clips == 'prob'
    pre = cfg.model.data_preprocessor
    assert pre.mean == [123.675, 116.28, 103.53] and pre.std == [58.395, 57.12, 57.375]
    blend = pre.blending
    assert (blend.type, blend.num_classes, blend.mixup_alpha, blend.cutmix_alpha, blend.prob,
            blend.switch_prob) == ('UMTMixupCutmix', classes, 0.8, 1.0, 1.0, 0.5)

    # optimisation: actual lr = lr x (16 GPUs x batch x repeats) / 256, warmup_lr and
    # min_lr = 1e-6 x the same factor
    factor = 16 * bs * repeats / 256
    opt = cfg.optim_wrapper
    assert opt.type == 'AmpOptimWrapper' and opt.dtype == 'float16'
    assert opt.loss_scale == dict(init_scale=128.0, growth_interval=128)
    assert opt.optimizer.type == 'AdamW'
    assert opt.optimizer.lr == pytest.approx(lr * factor, rel=1e-9)
    assert tuple(opt.optimizer.betas) == (0.9, 0.999) and opt.optimizer.eps == 1e-8
    assert opt.optimizer.weight_decay == pytest.approx(wd)
    assert 'clip_grad' not in opt or opt.clip_grad is None
    assert opt.constructor == 'UMTLayerDecayOptimWrapperConstructor'
    assert opt.paramwise_cfg.layer_decay_rate == pytest.approx(ld)
    # scaled by effective batch / base_batch_size elsewhere (tests/engine/test_lr_scaling.py)
    assert cfg.auto_scale_lr == dict(enable=True, base_batch_size=16 * bs * repeats)
    assert cfg.train_cfg.max_epochs == epochs
    warm, cos = cfg.param_scheduler
    assert warm.type == 'LinearLR' and (warm.begin, warm.end) == (0, warmup)
    assert warm.start_factor * lr * factor == pytest.approx(1e-6 * factor, rel=1e-6)
    assert cos.type == 'CosineAnnealingLR' and (cos.begin, cos.end) == (warmup, epochs)
    assert cos.T_max == epochs - warmup
    assert cos.eta_min_ratio * lr * factor == pytest.approx(1e-6 * factor, rel=1e-6)
    assert warm.convert_to_iter_based and cos.convert_to_iter_based  # per-iteration

    # data
    train = cfg.train_dataloader
    assert train.batch_size == bs
    assert train.dataset.type == 'RepeatAugDataset'
    assert train.dataset.num_repeats == repeats and train.dataset.sample_once
    assert train.collate_fn.type == 'repeat_pseudo_collate'
    pipe = train.dataset.pipeline
    assert [t['type'] for t in pipe[:3]] == ['DecordInit', 'UMTSampleFrames', 'DecordDecode']
    assert pipe[1].clip_len == frames and pipe[1].style == style
    assert not pipe[1].get('test_mode', False)
    # RandAugment then the random resized crop, fused (same draws and pixels)
    fused = _transform(pipe, 'UMTRandAugmentCrop')
    augment, rrc = fused.rand_augment, fused.crop
    assert augment.policy == 'rand-m7-n4-mstd0.5-inc1' and augment.translate_const == 100
    assert augment.get('interpolation', 'bicubic') == 'bicubic'
    assert tuple(rrc.area_range) == (0.08, 1.0)
    assert tuple(rrc.aspect_ratio_range) == (0.75, 1.3333)
    assert rrc.to_float32  # the reference interpolates the crop in float
    resize = _transform(pipe, 'Resize')
    assert tuple(resize.scale) == (img, img) and resize.keep_ratio is False
    flip = _transform(pipe, 'Flip')
    if style == 'ssv2':
        assert flip is None  # left/right matters in Something-Something
    else:
        assert flip.flip_ratio == 0.5
    erase = _transform(pipe, 'UMTRandomErasing')
    assert erase.erase_prob == 0.25 and erase.mode == 'pixel'
    order = [t['type'] for t in pipe]
    assert order.index('DecordDecode') < order.index('UMTRandAugmentCrop') < \
        order.index('Resize') < order.index('UMTRandomErasing') < order.index('FormatShape')

    val = cfg.val_dataloader.dataset.pipeline
    vs = _transform(val, 'UMTSampleFrames')
    assert (vs.clip_len, vs.style, vs.test_mode, vs.get('num_clips', 1)) == (
        frames, style, True, 1)
    assert _transform(val, 'UMTShortSideResize').short_side == img
    assert _transform(val, 'UMTCenterCrop').crop_size == img

    test = cfg.test_dataloader.dataset.pipeline
    ts = _transform(test, 'UMTSampleFrames')
    assert (ts.clip_len, ts.style, ts.test_mode, ts.num_clips) == (frames, style, True, clips)
    assert _transform(test, 'UMTShortSideResize').short_side == img
    crop = _transform(test, 'UMTMultiCrop')
    assert (crop.crop_size, crop.num_crops) == (img, crops)

    for evaluator in (cfg.val_evaluator, cfg.test_evaluator):
        assert evaluator.type == 'AccMetric'
        assert set(evaluator.metric_list) == {'top_k_accuracy', 'mean_class_accuracy'}
        assert tuple(evaluator.metric_options.top_k_accuracy.topk) == (1, 5)

    # initialisation from the previous stage, converted with the checkpoint tool
    assert cfg.load_from.startswith('checkpoints/')
    expected_init = {'pre': 'k710-pre', 'k710': f'k710-ft_k{classes}-head',
                     'k400': 'k400-ft_no-head'}[init]
    assert expected_init in cfg.load_from


@pytest.mark.parametrize('name', sorted(SPEC))
def test_recipe_model_builds_with_recipe_geometry(name):
    classes, arch, frames, img = SPEC[name][:4]
    cfg = Config.fromfile(ROOT / 'configs' / name)
    with torch.device('meta'):  # shapes only: L models are not run here
        model = MODELS.build(cfg.model)
    dim, depth = ARCH_PARAMS[arch]
    assert len(model.backbone.blocks) == depth
    grid = frames * (img // 16) ** 2
    assert tuple(model.backbone.pos_embed.shape) == (1, grid, dim)
    assert tuple(model.cls_head.fc_cls.weight.shape) == (classes, dim)
    assert tuple(model.backbone.patch_embed.proj.weight.shape) == (dim, 3, 1, 16, 16)
    # parameter count of the reference model (models/modeling_finetune.py: B/16 with 400 classes has
    # 85,944,976 elements; pos_embed is a fixed buffer, not a parameter)
    per_block = 2 * dim + 2 * dim + 3 * dim * dim + dim * dim + dim + 2 * dim + \
        4 * dim * dim + 4 * dim + 4 * dim * dim + dim
    expected = depth * per_block + dim * 3 * 256 + dim + 2 * dim + classes * dim + classes
    assert sum(p.numel() for p in model.parameters()) == expected
    if (arch, classes) == ('base', 400):
        assert expected == 85_944_976
