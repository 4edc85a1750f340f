# UMT-B/16, 8 frames x 224 px, finetuned on Kinetics-400 (400 classes) from
# the K710-finetuned 8-frame model, its 710-class head mapped to the
# 400 Kinetics-400 classes (run_class_finetuning.py).
# Reference:
#   single_modality/exp/finetuning/k400/b16_ptk710_ftk710_ftk400_f8_res224.sh;
# reported top-1 87.4 (4 clips x 3 crops).
_base_ = [
    '../_base_/models/umt-base-p16.py',
    '../_base_/datasets/umt-video_8x224-4x3.py',
    '../_base_/schedules/umt-finetune_adamw-amp.py'
]

model = dict(
    cls_head=dict(num_classes=400),
    data_preprocessor=dict(blending=dict(num_classes=400)))

data_root = 'data/kinetics400/videos_train'
data_root_val = 'data/kinetics400/videos_val'
ann_file_train = 'data/kinetics400/kinetics400_train_list_videos.txt'
ann_file_val = 'data/kinetics400/kinetics400_val_list_videos.txt'
ann_file_test = 'data/kinetics400/kinetics400_val_list_videos.txt'
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

# lr 2e-05 x (16 GPUs x 16 videos x 2 repeats) / 256 = 4e-05; warmup from and cosine
# down to 1e-6 x the same factor (2e-06), per iteration.
optim_wrapper = dict(
    optimizer=dict(lr=4e-05, weight_decay=0.05),
    paramwise_cfg=dict(layer_decay_rate=0.75))
train_cfg = dict(max_epochs=5)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.05, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=4, eta_min_ratio=0.05, by_epoch=True,
         begin=1, end=5, convert_to_iter_based=True)
]

# Converted with
#   python tools/convert_umt_checkpoint.py b16_ptk710_ftk710_f8_res224.pth \
#       checkpoints/umt-base-p16_k710-ft_k400-head.pth --kind finetune --dataset k400 \
#       --target-labels label_map_k400.txt --k710-labels label_map_k710.txt
load_from = 'checkpoints/umt-base-p16_k710-ft_k400-head.pth'
