# As umt-video_8x224-4x3 with 16 frames and 4 clips x 1 centre crop testing
# (the reference's 16-frame Kinetics scripts).
_base_ = ['./umt-video_8x224-4x3.py']

train_pipeline = [
    dict(type='DecordInit', num_threads=1),
    dict(type='UMTSampleFrames', clip_len=16, style='kinetics'),
    dict(type='DecordDecode'),
    # = UMTRandAugment then UMTRandomResizedCrop (the reference's order, draws and pixels),
    # computing only the pixels the crop keeps (docs/data_pipeline.md)
    dict(type='UMTRandAugmentCrop',
         rand_augment=dict(policy='rand-m7-n4-mstd0.5-inc1', translate_const=100,
                           interpolation='bicubic'),
         crop=dict(area_range=(0.08, 1.0), aspect_ratio_range=(0.75, 1.3333),
                   to_float32=True)),
    dict(type='Resize', scale=(224, 224), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='UMTRandomErasing', erase_prob=0.25, mode='pixel'),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
val_pipeline = [
    dict(type='DecordInit', num_threads=1),
    dict(type='UMTSampleFrames', clip_len=16, style='kinetics', test_mode=True),
    dict(type='DecordDecode'),
    dict(type='UMTShortSideResize', short_side=224),
    dict(type='UMTCenterCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
test_pipeline = [
    dict(type='DecordInit', num_threads=1),
    dict(type='UMTSampleFrames', clip_len=16, num_clips=4, style='kinetics', test_mode=True),
    dict(type='DecordDecode'),
    dict(type='UMTShortSideResize', short_side=224),
    dict(type='UMTMultiCrop', crop_size=224, num_crops=1),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
