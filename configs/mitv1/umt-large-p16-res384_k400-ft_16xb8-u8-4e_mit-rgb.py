# UMT-L/16, 8 frames x 384 px, finetuned on Moments in Time v1 (339 classes) from
# the K400-finetuned 224 px 8-frame model without its 400-class head.
# Reference:
#   single_modality/exp/finetuning/mitv1/l16_ptk710_ftk710_ftk400_ftmitv1_f8_res384.sh;
# reported top-1 48.7 (6 clips x 3 crops).
# The reference MiT-224 scripts point MODEL_PATH at their own output (a typo); like the
# 384 scripts we start from the K400-finetuned 224 px model.
_base_ = [
    '../_base_/models/umt-large-p16.py',
    '../_base_/datasets/umt-video_8x384-6x3.py',
    '../_base_/schedules/umt-finetune_adamw-amp.py'
]

model = dict(
    backbone=dict(img_size=384, checkpoint_num=18),
    cls_head=dict(num_classes=339),
    data_preprocessor=dict(blending=dict(num_classes=339)))

data_root = 'data/mit/videos/training'
data_root_val = 'data/mit/videos/validation'
ann_file_train = 'data/mit/mit_train_list_videos.txt'
ann_file_val = 'data/mit/mit_val_list_videos.txt'
ann_file_test = 'data/mit/mit_val_list_videos.txt'
train_dataloader = dict(
    batch_size=8,
    dataset=dict(
        num_repeats=1, ann_file=ann_file_train, data_prefix=dict(video=data_root)))
val_dataloader = dict(
    batch_size=8,
    dataset=dict(ann_file=ann_file_val, data_prefix=dict(video=data_root_val)))
test_dataloader = dict(
    dataset=dict(ann_file=ann_file_test, data_prefix=dict(video=data_root_val)))
auto_scale_lr = dict(base_batch_size=128)  # 16 GPUs x 8 videos

# lr 1e-05 x (16 GPUs x 8 videos x 1 repeat) / 256 = 5e-06; warmup from and cosine
# down to 1e-6 x the same factor (5e-07), per iteration.
optim_wrapper = dict(
    optimizer=dict(lr=5e-06, weight_decay=0.1),
    paramwise_cfg=dict(layer_decay_rate=0.85))
train_cfg = dict(max_epochs=4)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=3, eta_min_ratio=0.1, by_epoch=True,
         begin=1, end=4, convert_to_iter_based=True)
]

# Converted with
#   python tools/convert_umt_checkpoint.py l16_ptk710_ftk710_ftk400_f8_res224.pth \
#       checkpoints/umt-large-p16_k400-ft_no-head.pth --kind finetune --drop-head
load_from = 'checkpoints/umt-large-p16_k400-ft_no-head.pth'
