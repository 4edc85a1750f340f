# The SSv2 B/16 recipe (../sthv2/umt-base-p16-res224_k710-pre_16xb16-u8-30e_sthv2-rgb.py) on
# frame folders (RawframeDataset / RawFrameDecode): same sampling (the SSv2 formula, decord's
# frame numbering, img_00001.jpg = frame 0), same augmentation (no flip). Prepare with
#   python tools/data/extract_frames.py data/sthv2/sthv2_train_list_videos.txt \
#       data/sthv2/rawframes --root data/sthv2/videos \
#       --list-out data/sthv2/sthv2_train_list_rawframes.txt
# (and the val list). See docs/data_pipeline.md ("Prepared data").
_base_ = ['../sthv2/umt-base-p16-res224_k710-pre_16xb16-u8-30e_sthv2-rgb.py']

dataset_type = 'RawframeDataset'
data_root = 'data/sthv2/rawframes'
data_root_val = 'data/sthv2/rawframes'
ann_file_train = 'data/sthv2/sthv2_train_list_rawframes.txt'
ann_file_val = 'data/sthv2/sthv2_val_list_rawframes.txt'
ann_file_test = 'data/sthv2/sthv2_val_list_rawframes.txt'

train_pipeline = [
    dict(type='UMTSampleFrames', clip_len=8, style='ssv2'),
    dict(type='RawFrameDecode'),
    dict(type='UMTRandAugment', policy='rand-m7-n4-mstd0.5-inc1', translate_const=100,
         interpolation='bicubic'),
    dict(type='UMTRandomResizedCrop', area_range=(0.08, 1.0),
         aspect_ratio_range=(0.75, 1.3333), to_float32=True),
    dict(type='Resize', scale=(224, 224), keep_ratio=False),
    dict(type='UMTRandomErasing', erase_prob=0.25, mode='pixel'),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
val_pipeline = [
    dict(type='UMTSampleFrames', clip_len=8, style='ssv2', test_mode=True),
    dict(type='RawFrameDecode'),
    dict(type='UMTShortSideResize', short_side=224),
    dict(type='UMTCenterCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
test_pipeline = [
    dict(type='UMTSampleFrames', clip_len=8, num_clips=2, style='ssv2', test_mode=True),
    dict(type='RawFrameDecode'),
    dict(type='UMTShortSideResize', short_side=224),
    dict(type='UMTMultiCrop', crop_size=224, num_crops=3),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
train_dataloader = dict(
    dataset=dict(
        type='RawframeRepeatAugDataset', ann_file=ann_file_train,
        data_prefix=dict(_delete_=True, img=data_root), pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type, ann_file=ann_file_val,
        data_prefix=dict(_delete_=True, img=data_root_val), pipeline=val_pipeline))
test_dataloader = dict(
    dataset=dict(
        type=dataset_type, ann_file=ann_file_test,
        data_prefix=dict(_delete_=True, img=data_root_val), pipeline=test_pipeline))
