# UMT-L/16 AVA v2.2 spatio-temporal action detection, initialised from the
# K710-finetuned UMT-L/16 with its classifier dropped; everything not set here is the
# B/16 config's (model head, pipelines, datasets, evaluation).
# Reference: single_modality/action_detection/exp/l16_ptk710_ftk710_ftava_f8_res224.sh;
# reported frame mAP@0.5IoU 39.8 (60-class v2.2 evaluation).
_base_ = ['umt-base-p16_k710-ft_16xb8-8x8x1-30e_ava22-rgb.py']

model = dict(
    backbone=dict(arch='large', drop_path_rate=0.4),
    roi_head=dict(bbox_head=dict(in_channels=1024)))

train_dataloader = dict(batch_size=4)

# 32 GPUs x 4 clips: lr 2.5e-4 x 128 / 256 = 1.25e-4, layer decay 0.85, fp32
# (--close_amp), warmup 5 epochs from 0, cosine to 5e-7 over the remaining 20 epochs.
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1.25e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05),
    constructor='UMTLayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.85))
# (MMEngine's chained LinearLR cannot start at exactly 0, 0 x inf; from 1e-6 x lr it is the
# reference's linear warmup from 0 to within 1.25e-10)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=True, begin=0, end=5,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=20, eta_min_ratio=0.004, by_epoch=True, begin=5,
         end=25, convert_to_iter_based=True)
]
# the reference validates every 20 epochs and at the end (25)
train_cfg = dict(max_epochs=25, val_interval=20)
default_hooks = dict(checkpoint=dict(interval=5))
randomness = dict(seed=6666, diff_rank_seed=True)  # the script's --seed 6666, + rank

auto_scale_lr = dict(enable=True, base_batch_size=128)  # 32 GPUs x 4 clips

#   python tools/convert_umt_checkpoint.py l16_ptk710_ftk710_f8_res224.pth \
#       checkpoints/umt-large-p16_k710-ft_nohead.pth --kind finetune --drop-head
load_from = 'checkpoints/umt-large-p16_k710-ft_nohead.pth'
