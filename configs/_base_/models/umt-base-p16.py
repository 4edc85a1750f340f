# UMT-B/16 video classifier as finetuned by the reference (models/modeling_finetune.py): 8 frames,
# tubelet 1, 224 px, fixed sin-cos positions, mean pooling + fc_norm, head init x0.001,
# timm batch mixup 0.8 / cutmix 1.0 (switch 0.5), label smoothing 0.1, soft-target CE,
# ImageNet mean/std on 0-255 RGB. Recipes override num_classes (head and blending),
# frames, image size and drop path.
model = dict(
    type='Recognizer3D',
    backbone=dict(
        type='UMTVisionTransformer',
        arch='base',
        img_size=224,
        patch_size=16,
        num_frames=8,
        tubelet_size=1,
        drop_path_rate=0.1),
    cls_head=dict(
        type='UMTHead',
        num_classes=400,
        in_channels=768,
        dropout_ratio=0.0,
        init_scale=0.001,
        label_smooth_eps=0.1,
        loss_cls=dict(type='CrossEntropyLoss'),
        average_clips='prob'),
    data_preprocessor=dict(
        type='ActionDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        format_shape='NCTHW',
        blending=dict(
            type='UMTMixupCutmix',
            num_classes=400,
            mixup_alpha=0.8,
            cutmix_alpha=1.0,
            prob=1.0,
            switch_prob=0.5)))
