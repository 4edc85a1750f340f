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
