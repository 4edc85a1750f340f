# UMT-L/16 pretraining on Kinetics-710: a masked UMT-L/16 student (8 frames x 224 px, 40 of 196
# patches visible per frame, drawn by the teacher's CLS attention) aligned to the last 6 blocks
# of a frozen CLIP ViT-L/14 at 196 px (the clip is resized 224 -> 196, so both see 14x14
# patches). Reference:
#   single_modality/exp/pretraining/l16_ptk710_f8_res224.sh (201 epochs, 32 GPUs x 64;
#   clip_decoder 1024 -> 768; blocks 18..23 of the student and of the teacher aligned).
#   Data, schedule, options and the rest as the B/16 recipe.
#
# Teacher weights: any CLIP file, e.g. OpenAI's released ViT-L-14.pt (the format is detected;
# its 16x16 position table is resized to 14x14 on load, as the reference does), or the file
#   python tools/convert_clip_checkpoint.py ViT-L-14.pt clip_l14_196.pth --arch l14 \
#       --input-resolution 196
# writes (its table already 14x14).
# Continue from the official pretrained student:
#   python tools/convert_umt_checkpoint.py l16_ptk710_f8_res224.pth \
#       checkpoints/umt-large-p16_k710-pre_distiller.pth --kind pretrain --keep-alignment-heads
# and add load_from='checkpoints/umt-large-p16_k710-pre_distiller.pth'.
# Finetune the result: tools/export_pretrained.py work_dirs/.../epoch_201.pth \
#   checkpoints/umt-large-p16_k710-pre.pth (the load_from of the K710 and SSv2 L/16 configs).
_base_ = ['./umt-base-p16-res224_clip-b16-distill_32xb64-u8-201e_kinetics710-rgb.py']

teacher_checkpoint = 'checkpoints/clip/ViT-L-14.pt'

model = dict(
    encoder=dict(arch='large', drop_path_rate=0.2),
    teacher=dict(
        arch='l14', input_resolution=196,
        init_cfg=dict(type='Pretrained', checkpoint=teacher_checkpoint)),
    align_dims=768)
