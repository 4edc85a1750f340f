# UMT-L/16 video classifier (models/modeling_finetune.py): as umt-base-p16 with the large arch
# (1024 dims, 24 blocks, 16 heads), drop path 0.2 and gradient checkpointing of the
# first 12 blocks (the reference's --use_checkpoint --checkpoint_num 12; memory only).
_base_ = ['./umt-base-p16.py']

model = dict(
    backbone=dict(
        arch='large', drop_path_rate=0.2, use_checkpoint=True, checkpoint_num=12),
    cls_head=dict(in_channels=1024))
