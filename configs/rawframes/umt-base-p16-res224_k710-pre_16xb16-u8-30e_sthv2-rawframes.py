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


def frames(pipeline):
    """The recipe's ``pipeline`` on frame folders: RawFrameDecode for DecordInit/Decode."""
    return [dict(type='RawFrameDecode') if step.type == 'DecordDecode' else step
            for step in pipeline if step.type != 'DecordInit']


train_pipeline = frames(_base_.train_pipeline)
val_pipeline = frames(_base_.val_pipeline)
test_pipeline = frames(_base_.test_pipeline)
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
