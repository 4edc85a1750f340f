# UMT-B/16, 8 frames x 384 px, finetuned on Moments in Time v1 (339 classes) from
# the K400-finetuned 224 px 8-frame model without its 400-class head.
# Reference:
#   single_modality/exp/finetuning/mitv1/b16_ptk710_ftk710_ftk400_ftmitv1_f8_res384.sh;
# reported top-1 45.5 (4 clips x 3 crops).
# The reference MiT-224 scripts point MODEL_PATH at their own output (a typo); like the
# 384 scripts we start from the K400-finetuned 224 px model.
# (The reference b16 384 script passes --eval, i.e. only evaluates; this config trains.)
_base_ = [
    '../_base_/models/umt-base-p16.py',
    '../_base_/datasets/umt-video_8x384-4x3.py',
    '../_base_/schedules/umt-finetune_adamw-amp.py'
]

model = dict(
    # the script's --use_checkpoint --checkpoint_num 8: the first 8 of 12 blocks recompute
    # their activations in the backward pass (memory only, same numbers)
    backbone=dict(img_size=384, use_checkpoint=True, checkpoint_num=8),
    cls_head=dict(num_classes=339),
    data_preprocessor=dict(blending=dict(num_classes=339)))

data_root = 'data/mit/videos/training'
data_root_val = 'data/mit/videos/validation'
ann_file_train = 'data/mit/mit_train_list_videos.txt'
ann_file_val = 'data/mit/mit_val_list_videos.txt'
ann_file_test = 'data/mit/mit_val_list_videos.txt'
train_dataloader = dict(
    batch_size=16,
    dataset=dict(
        num_repeats=1, ann_file=ann_file_train, data_prefix=dict(video=data_root)))
val_dataloader = dict(
    batch_size=16,
    dataset=dict(ann_file=ann_file_val, data_prefix=dict(video=data_root_val)))
test_dataloader = dict(
    dataset=dict(ann_file=ann_file_test, data_prefix=dict(video=data_root_val)))
auto_scale_lr = dict(base_batch_size=256)  # 16 GPUs x 16 videos

# lr 1e-05 x (16 GPUs x 16 videos x 1 repeat) / 256 = 1e-05; warmup from and cosine
# down to 1e-6 x the same factor (1e-06), per iteration.
optim_wrapper = dict(
    optimizer=dict(lr=1e-05, weight_decay=0.1),
    paramwise_cfg=dict(layer_decay_rate=0.75))
train_cfg = dict(max_epochs=4)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=3, eta_min_ratio=0.1, by_epoch=True,
         begin=1, end=4, convert_to_iter_based=True)
]

# Converted with
#   python tools/convert_umt_checkpoint.py b16_ptk710_ftk710_ftk400_f8_res224.pth \
#       checkpoints/umt-base-p16_k400-ft_no-head.pth --kind finetune --drop-head
load_from = 'checkpoints/umt-base-p16_k400-ft_no-head.pth'
