# UMT-L/16, 16 frames x 224 px, finetuned on Kinetics-700 (700 classes) from
# the K710-finetuned 8-frame model, its 710-class head mapped to the
# 700 Kinetics-700 classes (run_class_finetuning.py).
# Reference:
#   single_modality/exp/finetuning/k700/l16_ptk710_ftk710_ftk700_f16_res224.sh;
# reported top-1 83.6 (4 clips x 1 crop).
_base_ = [
    '../_base_/models/umt-large-p16.py',
    '../_base_/datasets/umt-video_16x224-4x1.py',
    '../_base_/schedules/umt-finetune_adamw-amp.py'
]

model = dict(
    backbone=dict(num_frames=16, checkpoint_num=16),
    cls_head=dict(num_classes=700),
    data_preprocessor=dict(blending=dict(num_classes=700)))

data_root = 'data/kinetics700/videos_train'
data_root_val = 'data/kinetics700/videos_val'
ann_file_train = 'data/kinetics700/kinetics700_train_list_videos.txt'
ann_file_val = 'data/kinetics700/kinetics700_val_list_videos.txt'
ann_file_test = 'data/kinetics700/kinetics700_val_list_videos.txt'
train_dataloader = dict(
    batch_size=8,
    dataset=dict(
        num_repeats=2, ann_file=ann_file_train, data_prefix=dict(video=data_root)))
val_dataloader = dict(
    batch_size=8,
    dataset=dict(ann_file=ann_file_val, data_prefix=dict(video=data_root_val)))
test_dataloader = dict(
    dataset=dict(ann_file=ann_file_test, data_prefix=dict(video=data_root_val)))
auto_scale_lr = dict(base_batch_size=256)  # 16 GPUs x 8 videos x 2 repeats

# lr 1e-05 x (16 GPUs x 8 videos x 2 repeats) / 256 = 1e-05; warmup from and cosine
# down to 1e-6 x the same factor (1e-06), per iteration.
optim_wrapper = dict(
    optimizer=dict(lr=1e-05, weight_decay=0.05),
    paramwise_cfg=dict(layer_decay_rate=0.85))
train_cfg = dict(max_epochs=5)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=4, eta_min_ratio=0.1, by_epoch=True,
         begin=1, end=5, convert_to_iter_based=True)
]

# Converted with
#   python tools/convert_umt_checkpoint.py l16_ptk710_ftk710_f8_res224.pth \
#       checkpoints/umt-large-p16_k710-ft_k700-head.pth --kind finetune --dataset k700 \
#       --target-labels label_map_k700.txt --k710-labels label_map_k710.txt
load_from = 'checkpoints/umt-large-p16_k710-ft_k700-head.pth'
