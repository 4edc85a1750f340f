# Data of the UMT pretraining recipes (datasets/mae.py): 8 frames, one per
# TSN segment (datasets/mae.py), GroupMultiScaleCrop to 224 (scales 1, .875, .75, .66, max
# distort 1, 13 fixed offsets) resized with PIL bilinear + horizontal flip 0.5, no colour jitter,
# no labels used.
#
# The K710 train list of the finetuning recipes (built by tools/data/build_k710_lists.py, or the
# official train.csv, `path,label`, with data_prefix = the reference's --prefix) is read for its
# paths only. To pretrain on your own videos without any list file, set
#   train_dataloader.dataset.ann_file=''  train_dataloader.dataset.data_prefix.video=FOLDER
# and every video under FOLDER (recursively; mp4, avi, webm, mkv, ...) is used.
data_root = 'data'
ann_file_train = 'data/kinetics710/kinetics710_train_list_videos.txt'

train_pipeline = [
    dict(type='DecordInit', num_threads=1),  # one decode thread per worker
    dict(type='UMTSampleFrames', clip_len=8, style='tsn'),
    dict(type='DecordDecode'),
    dict(type='MultiScaleCrop', input_size=224, scales=(1, 0.875, 0.75, 0.66),
         max_wh_scale_gap=1, random_crop=False, num_fixed_crops=13),
    # the reference resizes the crops with PIL Image.BILINEAR (antialiased when shrinking)
    dict(type='UMTPILResize', scale=(224, 224), keep_ratio=False),
    # the reference's --color_jitter S (off in the official runs) would go here:
    # dict(type='UMTGroupColorJitter', strength=S),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
# DataLoader workers per GPU: 12, the reference's --num_workers 12, one decode thread each.
# A pretraining clip of a 10 s 340x256 Kinetics video costs ~0.145 core-seconds (8 TSN frames,
# decoding ~0.14, cheap crops; docs/benchmarks.md), so 12 workers supply ~80 clips/s per GPU,
# less than a B/16 step consumes on a current GPU (~200): the loader bounds pretraining unless
# the data is prepared. PyAVSparseInit / PyAVSparseDecode (same frames, ~1.7x per core) or
# frame folders (configs/rawframes/, ~20x) give the headroom; DataTimeHook warns with the
# count needed when the loader bounds a run.
train_dataloader = dict(
    batch_size=64,
    num_workers=12,
    persistent_workers=True,
    pin_memory=True,
    # the reference's train loader (run_umt_pretraining.py: drop_last=True): every step
    # a full per-GPU batch
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='VideoFolderDataset',
        ann_file=ann_file_train,
        data_prefix=dict(video=data_root),
        pipeline=train_pipeline))
