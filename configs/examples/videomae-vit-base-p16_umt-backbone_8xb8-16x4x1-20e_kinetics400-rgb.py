# Mixing with MMAction2 (1/2): MMAction2's own VideoMAE ViT-B/16 Kinetics-400 recipe with its
# backbone replaced by the UMT backbone through `_base_` inheritance. Everything else comes from
# MMAction2's file (mmaction/.mim/configs): Recognizer3D, the TimeSformerHead, the data
# preprocessor, the 16x4x1 test pipeline with 5 clips x 3 crops and the runtime. MMAction2's
# VideoMAE recipe is test-only, so the training part below is added here with MMAction2's own
# transforms; only the backbone and the layer-decay constructor are umt_mm's.
#
#   CFG=configs/examples/videomae-vit-base-p16_umt-backbone_8xb8-16x4x1-20e_kinetics400-rgb.py
#   python tools/train.py $CFG      # or: mim train mmaction $CFG
#
# TensorBoard (optional, `pip install tensorboard`; `tensorboard --logdir work_dirs`):
# uncomment to log to TensorBoard as well, or pass
# --cfg-options visualizer.vis_backends.0.type=TensorboardVisBackend (instead)
# visualizer = dict(
#     vis_backends=[dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')])
_base_ = ['mmaction::recognition/videomae/vit-base-p16_videomae-k400-pre_16x4x1_kinetics-400.py']
custom_imports = dict(imports=['umt_mm'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        _delete_=True,  # drop VideoMAE's VisionTransformer arguments
        type='UMTVisionTransformer',
        arch='base',
        img_size=224,
        patch_size=16,
        num_frames=16,
        tubelet_size=1,
        drop_path_rate=0.1))
# Start from a UMT checkpoint converted with tools/convert_umt_checkpoint.py, e.g. the
# pretrained student (`--kind pretrain`) or a K710 finetuned model (`--kind finetune
# --drop-head`); VideoMAE checkpoints do not fit this backbone.
# load_from = 'checkpoints/umt-base-p16_k710-pre.pth'

dataset_type = 'VideoDataset'
data_root = 'data/kinetics400/videos_train'
data_root_val = 'data/kinetics400/videos_val'
ann_file_train = 'data/kinetics400/kinetics400_train_list_videos.txt'
ann_file_val = 'data/kinetics400/kinetics400_val_list_videos.txt'

train_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=16, frame_interval=4, num_clips=1),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='RandomResizedCrop'),
    dict(type='Resize', scale=(224, 224), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
val_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=16, frame_interval=4, num_clips=1, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 224)),
    dict(type='CenterCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
train_dataloader = dict(
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    drop_last=True,  # full batches only, as the UMT recipes (and the reference) train
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_train,
        data_prefix=dict(video=data_root),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_val,
        data_prefix=dict(video=data_root_val),
        pipeline=val_pipeline,
        test_mode=True))
val_evaluator = dict(type='AccMetric')

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=20, val_begin=1, val_interval=1)
val_cfg = dict(type='ValLoop')
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=5e-4, betas=(0.9, 0.999), weight_decay=0.05),
    constructor='UMTLayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.75))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=2,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=18, eta_min=1e-6, by_epoch=True, begin=2, end=20,
         convert_to_iter_based=True)
]
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=3, save_best='auto'))
auto_scale_lr = dict(enable=False, base_batch_size=64)
