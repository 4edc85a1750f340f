# The K400 B/16 recipe (../k400/umt-base-p16-res224_k710-ft_16xb16-u8-5e_kinetics400-rgb.py)
# on frame folders: the same model, schedule, sampling and augmentation; frames are read as
# JPEGs (MMAction2's RawframeDataset / RawFrameDecode) instead of decoded from videos.
# Prepare them with
#   python tools/data/extract_frames.py data/kinetics400/kinetics400_train_list_videos.txt \
#       data/kinetics400/rawframes_train --root data/kinetics400/videos_train \
#       --list-out data/kinetics400/kinetics400_train_list_rawframes.txt
# (and the same for val). img_00001.jpg is decord's frame 0 (start_index=1), so the sampled
# frames are the video recipe's; JPEG quality 95 changes pixels by ~2 grey levels on average.
# Disk and speed against videos: docs/data_pipeline.md ("Prepared data").
_base_ = ['../k400/umt-base-p16-res224_k710-ft_16xb16-u8-5e_kinetics400-rgb.py']

dataset_type = 'RawframeDataset'
data_root = 'data/kinetics400/rawframes_train'
data_root_val = 'data/kinetics400/rawframes_val'
ann_file_train = 'data/kinetics400/kinetics400_train_list_rawframes.txt'
ann_file_val = 'data/kinetics400/kinetics400_val_list_rawframes.txt'
ann_file_test = 'data/kinetics400/kinetics400_val_list_rawframes.txt'

train_pipeline = [
    dict(type='UMTSampleFrames', clip_len=8, style='kinetics'),
    dict(type='RawFrameDecode'),
    dict(type='UMTRandAugment', policy='rand-m7-n4-mstd0.5-inc1', translate_const=100,
         interpolation='bicubic'),
    dict(type='UMTRandomResizedCrop', area_range=(0.08, 1.0),
         aspect_ratio_range=(0.75, 1.3333), to_float32=True),
    dict(type='Resize', scale=(224, 224), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='UMTRandomErasing', erase_prob=0.25, mode='pixel'),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
val_pipeline = [
    dict(type='UMTSampleFrames', clip_len=8, style='kinetics', test_mode=True),
    dict(type='RawFrameDecode'),
    dict(type='UMTShortSideResize', short_side=224),
    dict(type='UMTCenterCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
test_pipeline = [
    dict(type='UMTSampleFrames', clip_len=8, num_clips=4, style='kinetics', test_mode=True),
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
