# UMT-B/16, 8 frames x 224 px, finetuned on Kinetics-710 (710 classes) from
# the K710-pretrained student (alignment heads dropped, fresh fc_norm and head).
# Reference:
#   single_modality/exp/finetuning/k710/b16_ptk710_ftk710_f8_res224.sh;
# reported top-1 81.9 (4 clips x 3 crops).
_base_ = [
    '../_base_/models/umt-base-p16.py',
    '../_base_/datasets/umt-video_8x224-4x3.py',
    '../_base_/schedules/umt-finetune_adamw-amp.py'
]

model = dict(
    cls_head=dict(num_classes=710),
    data_preprocessor=dict(blending=dict(num_classes=710)))

data_root = 'data'
data_root_val = 'data'
ann_file_train = 'data/kinetics710/kinetics710_train_list_videos.txt'
ann_file_val = 'data/kinetics710/kinetics710_val_list_videos.txt'
ann_file_test = 'data/kinetics710/kinetics710_val_list_videos.txt'
# built from the K400/K600/K700 lists by tools/data/build_k710_lists.py; paths are
# relative to data/ (e.g. kinetics400/videos_train/xxx.mp4)
train_dataloader = dict(
    batch_size=16,
    dataset=dict(
        num_repeats=2, ann_file=ann_file_train, data_prefix=dict(video=data_root)))
val_dataloader = dict(
    batch_size=16,
    dataset=dict(ann_file=ann_file_val, data_prefix=dict(video=data_root_val)))
test_dataloader = dict(
    dataset=dict(ann_file=ann_file_test, data_prefix=dict(video=data_root_val)))
auto_scale_lr = dict(base_batch_size=512)  # 16 GPUs x 16 videos x 2 repeats

# lr 0.0002 x (16 GPUs x 16 videos x 2 repeats) / 256 = 0.0004; warmup from and cosine
# down to 1e-6 x the same factor (2e-06), per iteration.
optim_wrapper = dict(
    optimizer=dict(lr=0.0004, weight_decay=0.05),
    paramwise_cfg=dict(layer_decay_rate=0.75))
train_cfg = dict(max_epochs=35)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.005, by_epoch=True, begin=0, end=2,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=33, eta_min_ratio=0.005, by_epoch=True,
         begin=2, end=35, convert_to_iter_based=True)
]

# Converted with
#   python tools/convert_umt_checkpoint.py b16_ptk710_f8_res224.pth \
#       checkpoints/umt-base-p16_k710-pre.pth --kind pretrain
load_from = 'checkpoints/umt-base-p16_k710-pre.pth'
