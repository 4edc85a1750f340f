# UMT-L/16, 8 frames x 224 px, finetuned on Kinetics-600 (600 classes) from
# the K710-finetuned 8-frame model, its 710-class head mapped to the
# 600 Kinetics-600 classes (run_class_finetuning.py).
# Reference:
#   single_modality/exp/finetuning/k600/l16_ptk710_ftk710_ftk600_f8_res224.sh;
# reported top-1 90.4 (4 clips x 3 crops).
# Data, pipelines and test views as the B/16 recipe; the L/16 model, checkpointing
# of the first 12 blocks and its own optimisation below.
_base_ = ['./umt-base-p16-res224_k710-ft_16xb16-u8-5e_kinetics600-rgb.py']

model = dict(
    backbone=dict(arch='large', drop_path_rate=0.2, use_checkpoint=True, checkpoint_num=12),
    cls_head=dict(in_channels=1024))
auto_scale_lr = dict(base_batch_size=512)  # 16 GPUs x 16 videos x 2 repeats

# lr 1e-05 x (16 GPUs x 16 videos x 2 repeats) / 256 = 2e-05; warmup from and cosine
# down to 1e-6 x the same factor (2e-06), per iteration.
optim_wrapper = dict(
    optimizer=dict(lr=2e-05, weight_decay=0.05),
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
#       checkpoints/umt-large-p16_k710-ft_k600-head.pth --kind finetune --dataset k600 \
#       --target-labels label_map_k600.txt --k710-labels label_map_k710.txt
load_from = 'checkpoints/umt-large-p16_k710-ft_k600-head.pth'
