# As umt-video_8x224-4x3 at 384 px (crop, short side and test crops) with 6 clips x 3 crops
# testing (the reference's MiT 384 scripts).
_base_ = ['./umt-video_8x224-4x3.py']

train_pipeline = [
    dict(type='DecordInit', num_threads=1),
    dict(type='UMTSampleFrames', clip_len=8, style='kinetics'),
    dict(type='DecordDecode'),
    # = UMTRandAugment then UMTRandomResizedCrop (the reference's order, draws and pixels),
    # computing only the pixels the crop keeps (docs/data_pipeline.md)
    dict(type='UMTRandAugmentCrop',
         rand_augment=dict(policy='rand-m7-n4-mstd0.5-inc1', translate_const=100,
                           interpolation='bicubic'),
         crop=dict(area_range=(0.08, 1.0), aspect_ratio_range=(0.75, 1.3333),
                   to_float32=True)),
    dict(type='Resize', scale=(384, 384), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='UMTRandomErasing', erase_prob=0.25, mode='pixel'),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
val_pipeline = [
    dict(type='DecordInit', num_threads=1),
    dict(type='UMTSampleFrames', clip_len=8, style='kinetics', test_mode=True),
    dict(type='DecordDecode'),
    dict(type='UMTShortSideResize', short_side=384),
    dict(type='UMTCenterCrop', crop_size=384),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
test_pipeline = [
    dict(type='DecordInit', num_threads=1),
    dict(type='UMTSampleFrames', clip_len=8, num_clips=6, style='kinetics', test_mode=True),
    dict(type='DecordDecode'),
    dict(type='UMTShortSideResize', short_side=384),
    dict(type='UMTMultiCrop', crop_size=384, num_crops=3),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
