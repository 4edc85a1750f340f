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


def frames(pipeline):
    """The recipe's ``pipeline`` on frame folders: RawFrameDecode for DecordInit/Decode."""
    return [dict(type='RawFrameDecode') if step.type == 'DecordDecode' else step
            for step in pipeline if step.type != 'DecordInit']


train_pipeline = frames(_base_.train_pipeline)
train_dataloader = dict(
    dataset=dict(
        _delete_=True, type='RawframeDataset', ann_file=ann_file_train,
        data_prefix=dict(img=data_root), pipeline=train_pipeline))
