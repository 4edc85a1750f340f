# UMT-B/16, 8 frames x 224 px, finetuned on Something-Something v2 (174 classes) from
# the K710-pretrained student (alignment heads dropped, fresh fc_norm and head).
# Reference:
#   single_modality/exp/finetuning/ssv2/b16_ptk710_ftssv2_f8_res224.sh;
# reported top-1 70.8 (2 clips x 3 crops).
_base_ = [
    '../_base_/models/umt-base-p16.py',
    '../_base_/datasets/umt-sthv2_8x224-2x3.py',
    '../_base_/schedules/umt-finetune_adamw-amp.py'
]

model = dict(
    cls_head=dict(num_classes=174),
    data_preprocessor=dict(blending=dict(num_classes=174)))

data_root = 'data/sthv2/videos'
data_root_val = 'data/sthv2/videos'
ann_file_train = 'data/sthv2/sthv2_train_list_videos.txt'
ann_file_val = 'data/sthv2/sthv2_val_list_videos.txt'
ann_file_test = 'data/sthv2/sthv2_val_list_videos.txt'
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
train_cfg = dict(max_epochs=30)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.005, by_epoch=True, begin=0, end=5,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=25, eta_min_ratio=0.005, by_epoch=True,
         begin=5, end=30, convert_to_iter_based=True)
]

# Converted with
#   python tools/convert_umt_checkpoint.py b16_ptk710_f8_res224.pth \
#       checkpoints/umt-base-p16_k710-pre.pth --kind pretrain
load_from = 'checkpoints/umt-base-p16_k710-pre.pth'
