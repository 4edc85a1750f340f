# UMT-B/16 pretraining on Kinetics-710: a masked UMT-B/16 student (8 frames x 224 px, 40 of 196
# patches visible per frame, drawn by the teacher's CLS attention) aligned to the last 6 blocks
# of a frozen CLIP ViT-B/16 at 224 px. Reference:
#   single_modality/exp/pretraining/b16_ptk710_f8_res224.sh (201 epochs, 32 GPUs x 64).
#
# Teacher weights: any CLIP file, e.g. OpenAI's released ViT-B-16.pt (the format is detected;
# tools/convert_clip_checkpoint.py converts and checks one ahead of time). The teacher is never
# saved into checkpoints; it is reloaded from this file.
# Continue from the official pretrained student:
#   python tools/convert_umt_checkpoint.py b16_ptk710_f8_res224.pth \
#       checkpoints/umt-base-p16_k710-pre_distiller.pth --kind pretrain --keep-alignment-heads
# and add load_from='checkpoints/umt-base-p16_k710-pre_distiller.pth'.
# Finetune the result: tools/export_pretrained.py work_dirs/.../epoch_201.pth \
#   checkpoints/umt-base-p16_k710-pre.pth (the load_from of the K710 and SSv2 B/16 configs).
#
# The reference's pretraining options are keys below, at the reference scripts' values
# (docs/pretraining.md): --clip_loss_type / --clip_loss_ratio -> model.loss_type / loss_ratio,
# --clip_return_layer / --clip_return_interval -> model.teacher.num_return_layers /
# return_interval, --clip_student_return_interval -> model.student_return_interval,
# --use_learnable_pos_emb -> model.encoder.use_learnable_pos_emb, --weight_decay_end ->
# default_hooks.weight_decay.weight_decay_end. The student starts from the reference's
# pretraining init (Xavier-uniform Linears, UMTDistiller's default), not the finetuning one.
# Restarted in the same work dir, `tools/train.py CONFIG --resume` continues from the latest
# checkpoint there (and starts from scratch when there is none): put --resume in the launch
# script to get the reference's auto-resume.
_base_ = [
    '../_base_/datasets/umt-pretrain_k710_8x224.py',
    '../_base_/schedules/umt-pretrain_adamw-amp.py'
]

teacher_checkpoint = 'checkpoints/clip/ViT-B-16.pt'

model = dict(
    type='UMTDistiller',
    encoder=dict(
        type='UMTVisionTransformer', arch='base', img_size=224, patch_size=16, num_frames=8,
        tubelet_size=1, drop_path_rate=0.1,
        use_learnable_pos_emb=False,  # --use_learnable_pos_emb (off: fixed sin-cos table)
        position_table='flat'),  # models/modeling_pretrain_umt.py: 1-D table of its tokens
    teacher=dict(
        type='CLIPVisionTeacher', arch='b16', input_resolution=224,
        num_return_layers=6,  # --clip_return_layer 6
        return_interval=1,  # --clip_return_interval 1: teacher blocks 6..11
        init_cfg=dict(type='Pretrained', checkpoint=teacher_checkpoint)),
    align_dims=512,
    num_return_layers=6,  # --clip_return_layer 6
    student_return_interval=1,  # --clip_student_return_interval 1: student blocks 6..11
    loss_type='l2',  # --clip_loss_type: 'l2' (2 - 2 cos), 'mse' or 'smooth_l1'
    loss_ratio=1.0,  # --clip_loss_ratio
    mask_generator=dict(type='UMTMaskGenerator', mask_type='attention', mask_ratio=0.8),
    data_preprocessor=dict(
        type='ActionDataPreprocessor', mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375], format_shape='NCTHW'))

default_hooks = dict(
    # a NaN/Inf loss stops the run (the reference exits: "Loss is nan, stopping training"),
    # also under fp16 AMP; action='skip' skips such steps instead
    numeric_guard=dict(type='NumericGuardHook', action='stop'),
    # --weight_decay_end: None keeps the weight decay constant (every UMT script); a value
    # gives the reference's per-iteration cosine from 0.05 to it on the decayed groups
    weight_decay=dict(type='CosineWeightDecayHook', weight_decay_end=None))
