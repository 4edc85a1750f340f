# UMT-L/16, 8 frames x 224 px, finetuned on Kinetics-710 (710 classes) from
# the K710-pretrained student (alignment heads dropped, fresh fc_norm and head).
# Reference:
#   single_modality/exp/finetuning/k710/l16_ptk710_ftk710_f8_res224.sh;
# reported top-1 86.0 (4 clips x 3 crops).
# Data, pipelines and test views as the B/16 recipe; the L/16 model, checkpointing
# of the first 12 blocks and its own optimisation below.
_base_ = ['./umt-base-p16-res224_k710-pre_16xb16-u8-35e_kinetics710-rgb.py']

model = dict(
    backbone=dict(arch='large', drop_path_rate=0.2, use_checkpoint=True, checkpoint_num=12),
    cls_head=dict(in_channels=1024))
auto_scale_lr = dict(base_batch_size=512)  # 16 GPUs x 16 videos x 2 repeats

# lr 0.0001 x (16 GPUs x 16 videos x 2 repeats) / 256 = 0.0002; warmup from and cosine
# down to 1e-6 x the same factor (2e-06), per iteration.
optim_wrapper = dict(
    optimizer=dict(lr=0.0002, weight_decay=0.05),
    paramwise_cfg=dict(layer_decay_rate=0.85))
train_cfg = dict(max_epochs=20)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=2,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=18, eta_min_ratio=0.01, by_epoch=True,
         begin=2, end=20, convert_to_iter_based=True)
]

# Converted with
#   python tools/convert_umt_checkpoint.py l16_ptk710_f8_res224.pth \
#       checkpoints/umt-large-p16_k710-pre.pth --kind pretrain
load_from = 'checkpoints/umt-large-p16_k710-pre.pth'
