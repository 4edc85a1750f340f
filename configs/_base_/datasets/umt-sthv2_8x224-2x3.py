# Data pipeline of the reference SSV2 loader (datasets/ssv2.py): TSN-style sampling
# (the union sampling for the 2 test clips), no horizontal flip (left/right matters in
# Something-Something), 8 frames x 224 px, 2 clips x 3 crops testing. MMAction2's layout.
_base_ = ['./umt-video_8x224-4x3.py']

data_root = 'data/sthv2/videos'
ann_file_train = 'data/sthv2/sthv2_train_list_videos.txt'
ann_file_val = 'data/sthv2/sthv2_val_list_videos.txt'

train_pipeline = [
    dict(type='DecordInit', num_threads=1),
    dict(type='UMTSampleFrames', clip_len=8, style='ssv2'),
    dict(type='DecordDecode'),
    # = UMTRandAugment then UMTRandomResizedCrop (the reference's order, draws and pixels),
    # computing only the pixels the crop keeps (docs/data_pipeline.md)
    dict(type='UMTRandAugmentCrop',
         rand_augment=dict(policy='rand-m7-n4-mstd0.5-inc1', translate_const=100,
                           interpolation='bicubic'),
         crop=dict(area_range=(0.08, 1.0), aspect_ratio_range=(0.75, 1.3333),
                   to_float32=True)),
    dict(type='Resize', scale=(224, 224), keep_ratio=False),
    dict(type='UMTRandomErasing', erase_prob=0.25, mode='pixel'),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
val_pipeline = [
    dict(type='DecordInit', num_threads=1),
    dict(type='UMTSampleFrames', clip_len=8, style='ssv2', test_mode=True),
    dict(type='DecordDecode'),
    dict(type='UMTShortSideResize', short_side=224),
    dict(type='UMTCenterCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
test_pipeline = [
    dict(type='DecordInit', num_threads=1),
    dict(type='UMTSampleFrames', clip_len=8, num_clips=2, style='ssv2', test_mode=True),
    dict(type='DecordDecode'),
    dict(type='UMTShortSideResize', short_side=224),
    dict(type='UMTMultiCrop', crop_size=224, num_crops=3),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
train_dataloader = dict(
    dataset=dict(
        ann_file=ann_file_train, data_prefix=dict(video=data_root), pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(ann_file=ann_file_val, data_prefix=dict(video=data_root), pipeline=val_pipeline))
test_dataloader = dict(
    dataset=dict(
        ann_file=ann_file_val, data_prefix=dict(video=data_root), pipeline=test_pipeline))
