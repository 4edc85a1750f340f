# A tiny recognition run on generated toy videos (see tools/quickstart.py). Data roots
# are set with --cfg-options by the quickstart tool and by the tests.
_base_ = ['../_base_/default_runtime.py']

num_frames = 4
data_root = 'work_dirs/quickstart/data/videos'
ann_file_train = 'work_dirs/quickstart/data/train_list.txt'
ann_file_val = 'work_dirs/quickstart/data/val_list.txt'

# A tiny UMT ViT (the recipes use arch='base' / 'large' at 224 px, 8 or 16 frames).
model = dict(
    type='Recognizer3D',
    backbone=dict(
        type='UMTVisionTransformer', arch=dict(embed_dims=32, depth=2, num_heads=2, mlp_ratio=2),
        img_size=32, patch_size=16, num_frames=num_frames, tubelet_size=1,
        drop_path_rate=0.1),
    cls_head=dict(type='UMTHead', num_classes=2, in_channels=32, init_scale=0.001,
                  label_smooth_eps=0.1, average_clips='prob'),
    data_preprocessor=dict(
        type='ActionDataPreprocessor', mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375], format_shape='NCTHW'))

train_pipeline = [
    dict(type='DecordInit'),
    dict(type='UMTSampleFrames', clip_len=num_frames),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 36)),
    dict(type='RandomCrop', size=32),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
val_pipeline = [
    dict(type='DecordInit'),
    dict(type='UMTSampleFrames', clip_len=num_frames, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 36)),
    dict(type='CenterCrop', crop_size=32),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
test_pipeline = [
    dict(type='DecordInit'),
    dict(type='UMTSampleFrames', clip_len=num_frames, num_clips=2, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 36)),
    dict(type='CenterCrop', crop_size=32),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
train_dataloader = dict(
    batch_size=2, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='VideoDataset', ann_file=ann_file_train,
                 data_prefix=dict(video=data_root), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=2, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='VideoDataset', ann_file=ann_file_val,
                 data_prefix=dict(video=data_root), pipeline=val_pipeline, test_mode=True))
test_dataloader = dict(
    batch_size=1, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='VideoDataset', ann_file=ann_file_val,
                 data_prefix=dict(video=data_root), pipeline=test_pipeline, test_mode=True))
val_evaluator = dict(type='AccMetric')
test_evaluator = val_evaluator

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=2, val_begin=1, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05),
    constructor='UMTLayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.75))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=2, eta_min=0, by_epoch=True,
                        convert_to_iter_based=True)]
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1, save_best=None))
auto_scale_lr = dict(enable=False, base_batch_size=2)
