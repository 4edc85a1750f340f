# UMT-L/16 pretraining on Kinetics-710: a masked UMT-L/16 student (8 frames x 224 px, 40 of 196
# patches visible per frame, drawn by the teacher's CLS attention) aligned to the last 6 blocks
# of a frozen CLIP ViT-L/14 at 196 px (the clip is resized 224 -> 196, so both see 14x14
# patches). Reference (umt_spec.md §3.1):
#   single_modality/exp/pretraining/l16_ptk710_f8_res224.sh (201 epochs, 32 GPUs x 64;
#   clip_decoder 1024 -> 768).
#
# Teacher weights: any CLIP file, e.g. OpenAI's released ViT-L-14.pt (the format is detected;
# tools/convert_clip_checkpoint.py converts and checks one ahead of time). The teacher is never
# saved into checkpoints; it is reloaded from this file.
# Continue from the official pretrained student:
#   python tools/convert_umt_checkpoint.py l16_ptk710_f8_res224.pth \
#       checkpoints/umt-large-p16_k710-pre_distiller.pth --kind pretrain --keep-alignment-heads
# and add load_from='checkpoints/umt-large-p16_k710-pre_distiller.pth'.
# Finetune the result: tools/export_pretrained.py work_dirs/.../epoch_201.pth \
#   checkpoints/umt-large-p16_k710-pre.pth (the load_from of the K710 and SSv2 L/16 configs).
_base_ = [
    '../_base_/datasets/umt-pretrain_k710_8x224.py',
    '../_base_/schedules/umt-pretrain_adamw-amp.py'
]

teacher_checkpoint = 'checkpoints/clip/ViT-L-14.pt'

model = dict(
    type='UMTDistiller',
    encoder=dict(
        type='UMTVisionTransformer', arch='large', img_size=224, patch_size=16, num_frames=8,
        tubelet_size=1, drop_path_rate=0.2),
    teacher=dict(
        type='CLIPVisionTeacher', arch='l14', input_resolution=196, num_return_layers=6,
        init_cfg=dict(type='Pretrained', checkpoint=teacher_checkpoint)),
    align_dims=768,
    num_return_layers=6,
    mask_generator=dict(type='UMTMaskGenerator', mask_type='attention', mask_ratio=0.8),
    data_preprocessor=dict(
        type='ActionDataPreprocessor', mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375], format_shape='NCTHW'))
