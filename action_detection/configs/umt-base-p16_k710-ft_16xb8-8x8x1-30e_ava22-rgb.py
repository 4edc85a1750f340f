# UMT-B/16 AVA v2.2 spatio-temporal action detection, initialised from the
# K710-finetuned UMT-B/16 with its classifier dropped.
# Reference: single_modality/action_detection/exp/b16_ptk710_ftk710_ftava_f8_res224.sh;
# reported frame mAP@0.5IoU 33.5 (60-class v2.2 evaluation).
#
# Detector: FastRCNN (MMDet scope, proposals from the dataset) with the UMT backbone's
# normed feature map (no fc_norm), temporal mean -> RoIAlign 7x7 (1/16, sampling ratio 0,
# not aligned) -> spatial max pool -> linear (trunc-normal x 0.001), multi-label BCE x
# number of RoIs; training on the ground-truth boxes jittered by AlphAction's
# random_aug(0.2, 0.1, 0.1, 0.05); testing on person boxes with score >= 0.8, extended by
# (0.1, 0.05) for pooling, score = sigmoid x person score. What still differs from the
# reference is listed in action_detection/README.md.
#
# Input: the reference's 25-fps frames of seconds 895-1805 at short side <= 360
# (data/ava/rawframes_25fps/<video_id>/img_00001.jpg, written by
# tools/data/ava/prepare_ava_frames.py). MMAction2's 30-fps frames or 15-minute videos are
# a switch (action_detection/README.md, "25 or 30 fps; frames or videos"; the video
# pipelines are below): the same 8x8 frame offsets then span 20% less time.
_base_ = ['../../configs/_base_/default_runtime.py']

# ----------------------------------------------------------------------------- model
model = dict(
    type='FastRCNN',
    _scope_='mmdet',
    backbone=dict(
        type='mmaction.UMTVisionTransformer',
        arch='base',
        img_size=224,
        patch_size=16,
        num_frames=8,
        tubelet_size=1,
        drop_path_rate=0.2,
        output='feature_map',
        with_fc_norm=False,
        # also pad inside the model (zeros after normalisation, as the preprocessor) for
        # callers that bypass the preprocessor (MMAction2's demo_spatiotemporal_det.py)
        pad_to_patch=True),
    roi_head=dict(
        type='UMTAVARoIHead',
        train_on_gt=True,
        max_train_rois=100,
        train_jitter=(0.2, 0.1, 0.1, 0.05),
        test_extend=(0.1, 0.05),
        score_by_proposal=True,
        bbox_roi_extractor=dict(
            type='SingleRoIExtractor3D',
            roi_layer_type='RoIAlign',
            featmap_stride=16,
            output_size=7,
            sampling_ratio=0,
            pool_mode='avg',
            aligned=False,
            with_temporal_pool=True,
            temporal_pool_mode='avg'),
        bbox_head=dict(
            type='UMTBBoxHeadAVA',
            background_class=True,
            in_channels=768,
            num_classes=81,
            multilabel=True,
            temporal_pool_type='avg',
            spatial_pool_type='max',
            dropout_ratio=0.0,
            init_std=0.02,
            init_scale=0.001,
            loss_scale_by_num_rois=True)),
    # AlphAction's normalisation on 0-255 RGB; normalise, then zero-pad to multiples of 16
    data_preprocessor=dict(
        type='mmaction.UMTDetDataPreprocessor',
        mean=[122.7717, 115.9465, 102.9801],
        std=[57.375, 57.375, 57.375],
        pad_size_divisor=16),
    train_cfg=None,
    test_cfg=dict(rcnn=None))

# ----------------------------------------------------------------------------- data
dataset_type = 'UMTAVADataset'
# 25 fps from second 895 (AlphAction's clips): the key frame of timestamp t is frame
# 25 * (t - 895), img_{25 * (t - 895) + 1:05d}.jpg; the window spans -1.16 s ... +1.08 s
data_root = 'data/ava/rawframes_25fps'
frame_rate = dict(fps=25, timestamp_start=895, timestamp_end=1805)
# MMAction2's layout: 30 fps from second 900 (key frame 30 * (t - 900), -0.97 s ... +0.9 s)
data_root_30fps = 'data/ava/rawframes'
data_root_videos = 'data/ava/videos_15min'
frame_rate_30fps = dict(fps=30, timestamp_start=900, timestamp_end=1800)
anno_root = 'data/ava/annotations'
ann_file_train = f'{anno_root}/ava_train_v2.2.csv'
ann_file_val = f'{anno_root}/ava_val_v2.2.csv'
exclude_file_train = f'{anno_root}/ava_train_excluded_timestamps_v2.2.csv'
exclude_file_val = f'{anno_root}/ava_val_excluded_timestamps_v2.2.csv'
label_file = f'{anno_root}/ava_action_list_v2.2_for_activitynet_2019.pbtxt'
# the reference's person boxes (AlphAction's ava_val_det_person_bbox.json converted by
# tools/data/ava/convert_alphaction_proposals.py); MMAction2's
# ava_dense_proposals_val.FAIR.recall_93.9.pkl works too
proposal_file_val = f'{anno_root}/ava_val_det_person_bbox_alphaction.pkl'

# 8 frames at stride 8 around the key frame, the reference's +3 offset, no jitter
clip_sampling = dict(type='UMTSampleAVAFrames', clip_len=8, frame_interval=8)
train_transforms = [
    dict(type='Resize', scale=(-1, 256)),
    dict(type='RandomCrop', size=224),
    dict(type='UMTHSVColorJitter', hue=20, saturation=0.1, value=0.1),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='FormatShape', input_format='NCTHW', collapse=True),
    dict(type='PackActionInputs')
]
test_transforms = [
    dict(type='Resize', scale=(-1, 256)),
    dict(type='FormatShape', input_format='NCTHW', collapse=True),
    dict(type='PackActionInputs', algorithm_keys=('proposal_scores', ))
]
train_pipeline_frames = [clip_sampling, dict(type='RawFrameDecode')] + train_transforms
val_pipeline_frames = [clip_sampling, dict(type='RawFrameDecode')] + test_transforms
train_pipeline_videos = [dict(type='DecordInit'), clip_sampling,
                         dict(type='DecordDecode')] + train_transforms
val_pipeline_videos = [dict(type='DecordInit'), clip_sampling,
                       dict(type='DecordDecode')] + test_transforms
# AlphAction's per-second clips as the reference reads them (UMT's AVA_compress download,
# data/ava/clips/<video_id>/<second>.mp4; action_detection/README.md)
data_root_clips = 'data/ava/clips'
train_pipeline_clips = [clip_sampling, dict(type='UMTAVAClipDecode')] + train_transforms
val_pipeline_clips = [clip_sampling, dict(type='UMTAVAClipDecode')] + test_transforms
# MMAction2's demo/demo_spatiotemporal_det.py reads `val_pipeline` only for the clip length
# and stride of a step named SampleAVAFrames (it then samples and decodes the frames itself);
# the datasets here use the recipe's UMTSampleAVAFrames, and so does tools/demo_spatiotemporal.py
val_pipeline = [dict(type='SampleAVAFrames', clip_len=clip_sampling['clip_len'],
                     frame_interval=clip_sampling['frame_interval'], test_mode=True)]

train_dataloader = dict(
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_train,
        exclude_file=exclude_file_train,
        label_file=label_file,
        proposal_file=None,  # the reference trains on ground-truth boxes
        pipeline=train_pipeline_frames,
        data_prefix=dict(img=data_root),
        use_frames=True,
        start_index=1,
        **frame_rate))
val_dataloader = dict(
    batch_size=1,  # MMAction2's AVARoIHead predicts one clip at a time
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_val,
        exclude_file=exclude_file_val,
        label_file=label_file,
        proposal_file=proposal_file_val,
        person_det_score_thr=0.8,
        # like the reference: also the timestamps with person boxes but no annotation
        include_unannotated=True,
        pipeline=val_pipeline_frames,
        data_prefix=dict(img=data_root),
        use_frames=True,
        start_index=1,
        test_mode=True,
        **frame_rate))
test_dataloader = val_dataloader

# the official AVA protocol (as the reference's evaluation); every action score is written
# (action_thr 0, the reference's action_thresh 0); frame mAP overall and per class go to the
# work dir
val_evaluator = dict(
    type='UMTAVAMetric', ann_file=ann_file_val, label_file=label_file,
    exclude_file=exclude_file_val, protocol='official', action_thr=0.0, num_workers=8)
test_evaluator = val_evaluator

# ----------------------------------------------------------------------------- schedule
# 16 GPUs x 8 clips: lr 2.5e-4 x 128 / 256 = 1.25e-4; AdamW (0.9, 0.999), weight decay
# 0.05 (none on 1-D parameters, biases and positions), layer decay 0.75, no gradient
# clipping, fp16 AMP with a dynamic loss scale (torch.cuda.amp as the reference's
# NativeScaler); warmup 5 epochs from 0, then per-iteration cosine to
# min_lr 1e-6 x 128 / 256 = 5e-7 (eta_min_ratio 5e-7 / 1.25e-4 = 0.004, per layer group).
optim_wrapper = dict(
    type='AmpOptimWrapper',
    dtype='float16',
    loss_scale='dynamic',
    optimizer=dict(type='AdamW', lr=1.25e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05),
    constructor='UMTLayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.75))
# (MMEngine's chained LinearLR cannot start at exactly 0, 0 x inf; from 1e-6 x lr it is the
# reference's linear warmup from 0 to within 1.25e-10)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=True, begin=0, end=5,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=25, eta_min_ratio=0.004, by_epoch=True, begin=5,
         end=30, convert_to_iter_based=True)
]
# the reference validates every 10 epochs and at the end
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=30, val_begin=1, val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

default_hooks = dict(
    checkpoint=dict(interval=10, max_keep_ckpts=3, save_best='mAP/overall', rule='greater'),
    # a run killed mid-epoch loses at most 1/10 of an epoch: iter_<n>.pth every 1/10 epoch
    # (the last 2 kept) beside the epoch checkpoints, and --resume continues exactly
    # (ExactResumeHook: the trained batches skipped, every draw seeded from the seed and the
    # position in training; docs/reliability.md)
    exact_resume=dict(type='ExactResumeHook'),
    iter_checkpoint=dict(type='EpochFractionCheckpointHook', fraction=0.1, max_keep_ckpts=2,
                         max_overhead=0.02),
    logger=dict(interval=100))
# seed + rank in every process, as the reference (seed 0)
randomness = dict(seed=0, diff_rank_seed=True)

# The lr above is the reference's for 16 GPUs x 8 clips (2.5e-4 per 256); on any other
# set-up EffectiveBatchLRHook scales lr, warmup and min lr of every layer group by
# processes x batch x accumulative_counts / 128, as the reference always does.
auto_scale_lr = dict(enable=True, base_batch_size=128)

# K710-finetuned UMT-B/16 without its 710-class head (the detection `norm` starts fresh,
# `fc_norm` is unused), converted with
#   python tools/convert_umt_checkpoint.py b16_ptk710_ftk710_f8_res224.pth \
#       checkpoints/umt-base-p16_k710-ft_nohead.pth --kind finetune --drop-head
load_from = 'checkpoints/umt-base-p16_k710-ft_nohead.pth'
