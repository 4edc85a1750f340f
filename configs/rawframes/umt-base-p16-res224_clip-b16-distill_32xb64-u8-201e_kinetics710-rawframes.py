# The B/16 pretraining recipe
# (../pretrain/umt-base-p16-res224_clip-b16-distill_32xb64-u8-201e_kinetics710-rgb.py) on frame
# folders: 8 TSN-sparse frames read as JPEGs (RawframeDataset / RawFrameDecode; labels in the
# list are not used). Prepare with
#   python tools/data/extract_frames.py data/kinetics710/kinetics710_train_list_videos.txt \
#       data/kinetics710/rawframes --root data --list-out \
#       data/kinetics710/kinetics710_train_list_rawframes.txt
# Pretraining reads 64 clips per GPU per step with cheap augmentation, so decoding is most of
# its loading cost: frames are where prepared data pays most (docs/benchmarks.md).
_base_ = ['../pretrain/umt-base-p16-res224_clip-b16-distill_32xb64-u8-201e_kinetics710-rgb.py']

data_root = 'data/kinetics710/rawframes'
ann_file_train = 'data/kinetics710/kinetics710_train_list_rawframes.txt'

train_pipeline = [
    dict(type='UMTSampleFrames', clip_len=8, style='tsn'),
    dict(type='RawFrameDecode'),
    dict(type='MultiScaleCrop', input_size=224, scales=(1, 0.875, 0.75, 0.66),
         max_wh_scale_gap=1, random_crop=False, num_fixed_crops=13),
    dict(type='UMTPILResize', scale=(224, 224), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
train_dataloader = dict(
    dataset=dict(
        _delete_=True, type='RawframeDataset', ann_file=ann_file_train,
        data_prefix=dict(img=data_root), pipeline=train_pipeline))
