# Data pipeline of the reference Kinetics_sparse / mitv1_sparse loaders (datasets/*_sparse.py)
# at 8 frames x 224 px with 4 clips x 3 crops testing. Recipes set the annotation files
# and video folders (MMAction2's layout; one `path label` line per video).
dataset_type = 'VideoDataset'
data_root = 'data/kinetics400/videos_train'
data_root_val = 'data/kinetics400/videos_val'
ann_file_train = 'data/kinetics400/kinetics400_train_list_videos.txt'
ann_file_val = 'data/kinetics400/kinetics400_val_list_videos.txt'
ann_file_test = 'data/kinetics400/kinetics400_val_list_videos.txt'

train_pipeline = [
    dict(type='DecordInit', num_threads=1),
    dict(type='UMTSampleFrames', clip_len=8, style='kinetics'),
    dict(type='DecordDecode'),
    # on the decoded frames at their native size, the same ops for every frame
    # = UMTRandAugment then UMTRandomResizedCrop (the reference's order, draws and pixels),
    # computing only the pixels the crop keeps (docs/data_pipeline.md)
    dict(type='UMTRandAugmentCrop',
         rand_augment=dict(policy='rand-m7-n4-mstd0.5-inc1', translate_const=100,
                           interpolation='bicubic'),
         crop=dict(area_range=(0.08, 1.0), aspect_ratio_range=(0.75, 1.3333),
                   to_float32=True)),
    dict(type='Resize', scale=(224, 224), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5),
    # pixel-mode erasing, one box shared by all frames (float32 output)
    dict(type='UMTRandomErasing', erase_prob=0.25, mode='pixel'),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
val_pipeline = [
    dict(type='DecordInit', num_threads=1),
    dict(type='UMTSampleFrames', clip_len=8, style='kinetics', test_mode=True),
    dict(type='DecordDecode'),
    dict(type='UMTShortSideResize', short_side=224),
    dict(type='UMTCenterCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
test_pipeline = [
    dict(type='DecordInit', num_threads=1),
    dict(type='UMTSampleFrames', clip_len=8, num_clips=4, style='kinetics', test_mode=True),
    dict(type='DecordDecode'),
    dict(type='UMTShortSideResize', short_side=224),
    dict(type='UMTMultiCrop', crop_size=224, num_crops=3),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]

# Repeated augmentation (the reference's --num_sample): each video is decoded once and
# augmented num_repeats times; a batch of 16 videos gives 32 samples.
# DataLoader workers per GPU: 12, the reference's --num_workers 12 (one decode thread each:
# DecordInit(num_threads=1), the workers are the parallelism). A train video of a 10 s
# 340x256 Kinetics clip costs ~0.18 core-seconds (decoding 8 sparse frames ~0.14 + two
# augmentations ~0.04; docs/benchmarks.md), so 12 workers supply ~65 videos/s per GPU if the
# node has the cores (8 GPUs x 12 = 96); DataTimeHook warns with the count needed when the
# loader bounds a run (PyAVSparseDecode: same frames, ~1.5x; configs/rawframes/: ~4x).
# Persistent workers keep their decoders and imports across epochs; pinned memory as the
# reference (--pin_mem).
train_dataloader = dict(
    batch_size=16,
    num_workers=12,
    persistent_workers=True,
    pin_memory=True,
    # the reference's train loader (run_class_finetuning.py: drop_last=True): every step a
    # full per-GPU batch (its Mixup asserts an even batch)
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='repeat_pseudo_collate'),
    dataset=dict(
        type='RepeatAugDataset',
        num_repeats=2,
        sample_once=True,
        ann_file=ann_file_train,
        data_prefix=dict(video=data_root),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16,
    num_workers=12,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_val,
        data_prefix=dict(video=data_root_val),
        pipeline=val_pipeline,
        test_mode=True))
test_dataloader = dict(
    batch_size=1,
    num_workers=12,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_test,
        data_prefix=dict(video=data_root_val),
        pipeline=test_pipeline,
        test_mode=True))
