# UMT-B/16 pretraining on Kinetics-710: a masked UMT-B/16 student (8 frames x 224 px, 40 of 196
# patches visible per frame, drawn by the teacher's CLS attention) aligned to the last 6 blocks
# of a frozen CLIP ViT-B/16 at 224 px. Reference (umt_spec.md §3.1):
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
_base_ = [
    '../_base_/datasets/umt-pretrain_k710_8x224.py',
    '../_base_/schedules/umt-pretrain_adamw-amp.py'
]

teacher_checkpoint = 'checkpoints/clip/ViT-B-16.pt'

model = dict(
    type='UMTDistiller',
    encoder=dict(
        type='UMTVisionTransformer', arch='base', img_size=224, patch_size=16, num_frames=8,
        tubelet_size=1, drop_path_rate=0.1),
    teacher=dict(
        type='CLIPVisionTeacher', arch='b16', input_resolution=224, num_return_layers=6,
        init_cfg=dict(type='Pretrained', checkpoint=teacher_checkpoint)),
    align_dims=512,
    num_return_layers=6,
    mask_generator=dict(type='UMTMaskGenerator', mask_type='attention', mask_ratio=0.8),
    data_preprocessor=dict(
        type='ActionDataPreprocessor', mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375], format_shape='NCTHW'))
