# The quickstart recipe (`make quickstart`, tools/quickstart.py): a small UMT ViT trained from
# scratch on the generated eight-class motion set (tools/data/make_motion_dataset.py), where
# the classes come in time-reversed pairs, so the model has to use the frame order. The data
# pipeline is the recipes' one at 64 px (UMT frame sampling, centre crop for validation,
# 2 clips x 3 crops for testing) without horizontal flip: a flip turns "moving left" into
# "moving right" and "clockwise" into "counter-clockwise".
#
#   python tools/data/make_motion_dataset.py data/motion8 --train 64
#   python tools/train.py configs/quickstart/umt-tiny-p16-res64_scratch_1xb16-u8-16e_motion8-rgb.py
#
_base_ = ['../_base_/default_runtime.py']

# TensorBoard (optional, `pip install tensorboard`; `tensorboard --logdir work_dirs`):
# uncomment to log to TensorBoard as well, or pass
# --cfg-options visualizer.vis_backends.0.type=TensorboardVisBackend (instead)
# visualizer = dict(
#     vis_backends=[dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')])

num_classes = 8
num_frames = 8
img_size = 64
data_root = 'data/motion8/videos'
ann_file_train = 'data/motion8/train_list.txt'
ann_file_val = 'data/motion8/val_list.txt'
ann_file_test = 'data/motion8/test_list.txt'

# UMT ViT at 64 px: 4x4 patches of 16 px per frame, 8 frames in tubelets of 2 (each token
# sees two frames, so local motion is visible to the patch embedding), 4 blocks of width 96.
# Trained from scratch: no layer-wise lr decay (rate 1.0), no drop path. The recipes use
# arch='base' / 'large' at 224 px, tubelet 1, finetuned from a pretrained student.
model = dict(
    type='Recognizer3D',
    backbone=dict(
        type='UMTVisionTransformer',
        arch=dict(embed_dims=96, depth=4, num_heads=4, mlp_ratio=4),
        img_size=img_size,
        patch_size=16,
        num_frames=num_frames,
        tubelet_size=2,
        drop_path_rate=0.0),
    cls_head=dict(
        type='UMTHead',
        num_classes=num_classes,
        in_channels=96,
        dropout_ratio=0.0,
        init_scale=0.02,
        label_smooth_eps=0.1,
        average_clips='prob'),
    data_preprocessor=dict(
        type='ActionDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        format_shape='NCTHW'))

# videos are 80x64 (width x height), 16 frames
train_pipeline = [
    dict(type='DecordInit', num_threads=1),
    dict(type='UMTSampleFrames', clip_len=num_frames),
    dict(type='DecordDecode'),
    dict(type='RandomCrop', size=img_size),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
val_pipeline = [
    dict(type='DecordInit', num_threads=1),
    dict(type='UMTSampleFrames', clip_len=num_frames, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='UMTShortSideResize', short_side=img_size),
    dict(type='UMTCenterCrop', crop_size=img_size),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
test_pipeline = [
    dict(type='DecordInit', num_threads=1),
    dict(type='UMTSampleFrames', clip_len=num_frames, num_clips=2, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='UMTShortSideResize', short_side=img_size),
    dict(type='UMTMultiCrop', crop_size=img_size, num_crops=3),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]

train_dataloader = dict(
    batch_size=16,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='VideoDataset',
        ann_file=ann_file_train,
        data_prefix=dict(video=data_root),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='VideoDataset',
        ann_file=ann_file_val,
        data_prefix=dict(video=data_root),
        pipeline=val_pipeline,
        test_mode=True))
test_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='VideoDataset',
        ann_file=ann_file_test,
        data_prefix=dict(video=data_root),
        pipeline=test_pipeline,
        test_mode=True))
val_evaluator = dict(type='AccMetric')
test_evaluator = val_evaluator

max_epochs = 16
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_begin=1, val_interval=4)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05),
    constructor='UMTLayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, eta_min=1e-5, by_epoch=True,
         begin=1, end=max_epochs, convert_to_iter_based=True)
]
default_hooks = dict(
    logger=dict(interval=5),
    checkpoint=dict(interval=max_epochs, save_best='acc/top1', max_keep_ckpts=1))
log_processor = dict(window_size=5)
auto_scale_lr = dict(enable=False, base_batch_size=16)
randomness = dict(seed=0)
