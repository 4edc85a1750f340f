"""The AVA configs: §4 hyper-parameters, model build, layer decay on the detector."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / 'action_detection/configs'
B16 = CONFIGS / 'umt-base-p16_k710-ft_16xb8-8x8x1-30e_ava22-rgb.py'
L16 = CONFIGS / 'umt-large-p16_k710-ft_32xb4-8x8x1-25e_ava22-rgb.py'

SPEC = {  # single_modality/action_detection/exp/*.sh
    B16: dict(arch='base', dims=768, dp=0.2, ld=0.75, epochs=30, batch=8, amp=True, seed=0,
              val_interval=10),
    L16: dict(arch='large', dims=1024, dp=0.4, ld=0.85, epochs=25, batch=4, amp=False,
              seed=6666, val_interval=20),
}


@pytest.mark.parametrize('path', [B16, L16], ids=['B16', 'L16'])
def test_config_has_the_reference_hyper_parameters(path):
    spec = SPEC[path]
    cfg = Config.fromfile(path)
    assert cfg.custom_imports.imports == ['umt_mm'] and cfg.default_scope == 'mmaction'
    model = cfg.model
    assert model.type == 'FastRCNN' and model._scope_ == 'mmdet'
    bb = model.backbone
    assert bb.type == 'mmaction.UMTVisionTransformer' and bb.arch == spec['arch']
    assert (bb.output, bb.with_fc_norm, bb.num_frames, bb.tubelet_size, bb.patch_size) == (
        'feature_map', False, 8, 1, 16)
    assert bb.drop_path_rate == spec['dp']
    roi = model.roi_head
    assert roi.type == 'UMTAVARoIHead' and roi.train_on_gt and roi.max_train_rois == 100
    assert tuple(roi.train_jitter) == (0.2, 0.1, 0.1, 0.05)
    assert tuple(roi.test_extend) == (0.1, 0.05) and roi.score_by_proposal
    ext = roi.bbox_roi_extractor
    assert (ext.roi_layer_type, ext.output_size, ext.featmap_stride, ext.sampling_ratio,
            ext.aligned, ext.with_temporal_pool, ext.temporal_pool_mode) == (
        'RoIAlign', 7, 16, 0, False, True, 'avg')
    head = roi.bbox_head
    assert (head.type, head.in_channels, head.num_classes, head.spatial_pool_type,
            head.init_scale, head.init_std, head.loss_scale_by_num_rois, head.multilabel,
            head.dropout_ratio) == ('UMTBBoxHeadAVA', spec['dims'], 81, 'max', 0.001, 0.02,
                                    True, True, 0.0)
    pre = model.data_preprocessor
    assert pre.mean == [122.7717, 115.9465, 102.9801] and pre.std == [57.375] * 3
    assert pre.pad_size_divisor == 16
    # data: 8 frames at stride 8, short side 256 at test, 224 crops in training
    train_ds, val_ds = cfg.train_dataloader.dataset, cfg.val_dataloader.dataset
    assert cfg.train_dataloader.batch_size == spec['batch'] and cfg.val_dataloader.batch_size == 1
    assert train_ds.type == val_ds.type == 'UMTAVADataset'
    assert train_ds.proposal_file is None and val_ds.person_det_score_thr == 0.8
    assert train_ds.ann_file == 'data/ava/annotations/ava_train_v2.2.csv'
    assert val_ds.label_file.endswith('ava_action_list_v2.2_for_activitynet_2019.pbtxt')
    types = [t.type for t in train_ds.pipeline]
    assert types == ['UMTSampleAVAFrames', 'RawFrameDecode', 'Resize', 'RandomCrop',
                     'UMTHSVColorJitter', 'Flip', 'FormatShape', 'PackActionInputs']
    sampling = train_ds.pipeline[0]
    assert (sampling.clip_len, sampling.frame_interval) == (8, 8)
    assert train_ds.pipeline[3].size == 224 and val_ds.pipeline[2].scale == (-1, 256)
    assert [t.type for t in cfg.val_pipeline_videos][:3] == [
        'DecordInit', 'UMTSampleAVAFrames', 'DecordDecode']
    assert val_ds.include_unannotated and train_ds.get('include_unannotated') is None
    assert cfg.val_evaluator.type == 'UMTAVAMetric'
    assert cfg.val_evaluator.protocol == 'official' and cfg.val_evaluator.action_thr == 0.0
    # schedule: lr 2.5e-4 x 128 / 256, AdamW, wd 0.05, layer decay, warmup 5 from 0
    opt = cfg.optim_wrapper
    assert opt.type == ('AmpOptimWrapper' if spec['amp'] else 'OptimWrapper')
    assert opt.optimizer.type == 'AdamW' and opt.optimizer.lr == 1.25e-4
    assert tuple(opt.optimizer.betas) == (0.9, 0.999) and opt.optimizer.weight_decay == 0.05
    assert opt.constructor == 'UMTLayerDecayOptimWrapperConstructor'
    assert opt.paramwise_cfg.layer_decay_rate == spec['ld'] and 'clip_grad' not in opt
    warmup, cosine = cfg.param_scheduler
    assert warmup.type == 'LinearLR' and warmup.start_factor == 1e-6 and warmup.end == 5
    assert cosine.type == 'CosineAnnealingLR' and cosine.begin == 5
    assert cosine.end == cosine.T_max + 5 == spec['epochs']
    assert cosine.eta_min_ratio == pytest.approx(1e-6 * 128 / 256 / 1.25e-4)
    assert cfg.train_cfg.max_epochs == spec['epochs']
    assert cfg.train_cfg.val_interval == spec['val_interval']
    assert cfg.randomness.seed == spec['seed']
    assert cfg.auto_scale_lr.base_batch_size == 128
    assert cfg.load_from.endswith('_k710-ft_nohead.pth')


@pytest.mark.parametrize('path', [B16, L16], ids=['B16', 'L16'])
def test_config_model_builds_on_meta_device(path):
    from mmdet.registry import MODELS
    cfg = Config.fromfile(path)
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    dims, depth = (768, 12) if path == B16 else (1024, 24)
    assert model.backbone.embed_dims == dims and len(model.backbone.blocks) == depth
    assert model.roi_head.bbox_head.fc_cls.weight.shape == (81, dims)
    assert type(model.data_preprocessor).__name__ == 'UMTDetDataPreprocessor'


def test_layer_decay_constructor_sees_the_backbone_inside_fastrcnn():
    from mmdet.registry import MODELS
    from mmengine.optim import build_optim_wrapper
    cfg = Config.fromfile(B16)
    cfg.model.backbone.arch = dict(embed_dims=32, depth=2, num_heads=2, mlp_ratio=2.0)
    cfg.model.roi_head.bbox_head.in_channels = 32
    model = MODELS.build(cfg.model)
    optim = dict(cfg.optim_wrapper)
    optim['type'] = 'OptimWrapper'
    optim.pop('dtype'), optim.pop('loss_scale')
    wrapper = build_optim_wrapper(model, optim)
    lr_of = {}
    for group in wrapper.optimizer.param_groups:
        for name in group['param_names']:
            lr_of[name] = (group['lr'], group['weight_decay'])
    base = 1.25e-4
    assert lr_of['backbone.patch_embed.proj.weight'] == pytest.approx((base * 0.75 ** 3, 0.05))
    assert lr_of['backbone.blocks.0.attn.qkv.weight'] == pytest.approx((base * 0.75 ** 2, 0.05))
    assert lr_of['backbone.blocks.1.mlp.fc1.weight'] == pytest.approx((base * 0.75, 0.05))
    assert lr_of['backbone.norm.weight'] == pytest.approx((base, 0.0))
    assert lr_of['roi_head.bbox_head.fc_cls.weight'] == pytest.approx((base, 0.05))
    assert lr_of['roi_head.bbox_head.fc_cls.bias'] == pytest.approx((base, 0.0))


def test_k710_checkpoint_with_dropped_head_initialises_the_detector(tmp_path):
    """convert_umt_checkpoint --drop-head output loads: backbone matches, norm stays fresh."""
    import subprocess
    import sys

    from mmaction.registry import MODELS as ACTION_MODELS
    from mmdet.registry import MODELS
    from mmengine.runner import load_checkpoint
    tiny = dict(embed_dims=32, depth=2, num_heads=2, mlp_ratio=2.0)
    recognizer = ACTION_MODELS.build(dict(
        type='Recognizer3D',
        backbone=dict(type='UMTVisionTransformer', arch=tiny, img_size=64, num_frames=8),
        cls_head=dict(type='UMTHead', num_classes=710, in_channels=32)))
    recognizer.init_weights()
    src, dst = tmp_path / 'k710.pth', tmp_path / 'init.pth'
    torch.save(dict(state_dict=recognizer.state_dict(), meta={}), src)
    child = tmp_path / 'tiny_det.py'
    child.write_text(f"_base_ = ['{B16}']\n"
                     f"model = dict(backbone=dict(arch=dict(_delete_=True, **{tiny!r})), "
                     "roi_head=dict(bbox_head=dict(in_channels=32)))\n")
    proc = subprocess.run(
        [sys.executable, str(ROOT / 'tools/convert_umt_checkpoint.py'), str(src), str(dst),
         '--kind', 'umt-mm', '--drop-head', '--config', str(child)],
        capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    # the report names exactly the fresh detection parts and the unused fc_norm
    assert 'backbone.norm.weight' in proc.stdout and 'backbone.fc_norm.weight' in proc.stdout
    assert 'backbone.blocks.0.attn.qkv.weight' not in proc.stdout
    det = MODELS.build(Config.fromfile(child).model)
    det.init_weights()
    norm_before = det.backbone.norm.weight.detach().clone()
    load_checkpoint(det, str(dst), map_location='cpu', strict=False)
    for name, param in det.backbone.named_parameters():
        if name.startswith('norm.'):
            continue
        torch.testing.assert_close(param, recognizer.backbone.state_dict()[name], msg=name)
    torch.testing.assert_close(det.backbone.norm.weight, norm_before)


def readme_switch_blocks(tmp_path) -> list[Config]:
    """The child configs of action_detection/README.md ("25 or 30 fps") as written there."""
    text = (ROOT / 'action_detection/README.md').read_text()
    section = text.split('### 25 or 30 fps; frames or videos', 1)[1].split('\n## ', 1)[0]
    blocks = [part.split('```')[0] for part in section.split('```python\n')[1:]]
    assert len(blocks) == 3
    cfgs = []
    for i, block in enumerate(blocks):
        child = tmp_path / f'switch{i}.py'
        child.write_text(block.replace("_base_ = ['umt-base-p16",
                                       f"_base_ = ['{CONFIGS}/umt-base-p16"))
        cfgs.append(Config.fromfile(child))
    return cfgs


def test_readme_switches_give_30_fps_frames_videos_and_the_reference_clips(tmp_path):
    default = Config.fromfile(CONFIGS / 'umt-base-p16_k710-ft_16xb8-8x8x1-30e_ava22-rgb.py')
    for loader in (default.train_dataloader, default.val_dataloader):
        ds = loader.dataset
        assert (ds.fps, ds.timestamp_start, ds.timestamp_end) == (25, 895, 1805)
        assert ds.data_prefix.img == 'data/ava/rawframes_25fps'
    frames30, videos30, clips = readme_switch_blocks(tmp_path)
    for loader in (frames30.train_dataloader, frames30.val_dataloader, frames30.test_dataloader):
        ds = loader.dataset
        assert (ds.fps, ds.timestamp_start, ds.timestamp_end) == (30, 900, 1800)
        assert ds.use_frames is True and ds.start_index == 1
        assert ds.data_prefix.img == 'data/ava/rawframes'
        assert [t.type for t in ds.pipeline][:2] == ['UMTSampleAVAFrames', 'RawFrameDecode']
    for loader in (videos30.train_dataloader, videos30.val_dataloader, videos30.test_dataloader):
        ds = loader.dataset
        assert (ds.fps, ds.timestamp_start, ds.timestamp_end) == (30, 900, 1800)
        assert ds.use_frames is False and ds.start_index == 0
        assert ds.data_prefix.img == 'data/ava/videos_15min'
        assert [t.type for t in ds.pipeline][:3] == ['DecordInit', 'UMTSampleAVAFrames',
                                                     'DecordDecode']
    for loader in (clips.train_dataloader, clips.val_dataloader, clips.test_dataloader):
        ds = loader.dataset
        assert (ds.fps, ds.timestamp_start, ds.timestamp_end) == (25, 895, 1805)
        assert ds.use_frames is True and ds.start_index == 0
        assert ds.data_prefix.img == 'data/ava/clips'
        assert [t.type for t in ds.pipeline][:2] == ['UMTSampleAVAFrames', 'UMTAVAClipDecode']
    assert videos30.val_dataloader.dataset.proposal_file.endswith('_alphaction.pkl')
    assert videos30.val_dataloader.dataset.test_mode is True
