# UMT-L/16, 8 frames x 224 px, finetuned on Moments in Time v1 (339 classes) from
# the K400-finetuned 224 px 8-frame model without its 400-class head.
# Reference:
#   single_modality/exp/finetuning/mitv1/l16_ptk710_ftk710_ftk400_ftmitv1_f8_res224.sh;
# reported top-1 48.0 (4 clips x 3 crops).
# The reference MiT-224 scripts point MODEL_PATH at their own output (a typo); like the
# 384 scripts we start from the K400-finetuned 224 px model.
# Data, pipelines and test views as the B/16 recipe; the L/16 model, checkpointing
# of the first 12 blocks and its own optimisation below.
_base_ = ['./umt-base-p16-res224_k400-ft_16xb32-u8-40e_mit-rgb.py']

model = dict(
    backbone=dict(arch='large', drop_path_rate=0.2, use_checkpoint=True, checkpoint_num=12),
    cls_head=dict(in_channels=1024))
auto_scale_lr = dict(base_batch_size=512)  # 16 GPUs x 32 videos

# lr 0.0001 x (16 GPUs x 32 videos x 1 repeat) / 256 = 0.0002; warmup from and cosine
# down to 1e-6 x the same factor (2e-06), per iteration.
optim_wrapper = dict(
    optimizer=dict(lr=0.0002, weight_decay=0.05),
    paramwise_cfg=dict(layer_decay_rate=0.85))
train_cfg = dict(max_epochs=20)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=5,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=15, eta_min_ratio=0.01, by_epoch=True,
         begin=5, end=20, convert_to_iter_based=True)
]

# Converted with
#   python tools/convert_umt_checkpoint.py l16_ptk710_ftk710_ftk400_f8_res224.pth \
#       checkpoints/umt-large-p16_k400-ft_no-head.pth --kind finetune --drop-head
load_from = 'checkpoints/umt-large-p16_k400-ft_no-head.pth'
