# Mixing with MMAction2 (2/2): the UMT backbone with one of MMAction2's own heads. The backbone
# returns its token feature map (B, C, T', H', W') (`output='feature_map'`) and MMAction2's
# I3DHead average-pools it and classifies (dropout 0.5, init std 0.01), in place of UMT's
# fc_norm + UMTHead. Data pipeline, mixup/cutmix, schedule and 4 clips x 3 crops testing are
# the UMT K400 recipe's
# (configs/k400/umt-base-p16-res224_k710-ft_16xb16-u8-5e_kinetics400-rgb.py).
#
#   python tools/train.py \
#       configs/examples/umt-base-p16-res224_i3d-head_16xb16-u8-5e_kinetics400-rgb.py
#
# TensorBoard (optional, `pip install tensorboard`; `tensorboard --logdir work_dirs`):
# uncomment to log to TensorBoard as well, or pass
# --cfg-options visualizer.vis_backends.0.type=TensorboardVisBackend (instead)
# visualizer = dict(
#     vis_backends=[dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')])
_base_ = ['../k400/umt-base-p16-res224_k710-ft_16xb16-u8-5e_kinetics400-rgb.py']

model = dict(
    backbone=dict(output='feature_map', with_fc_norm=False),
    cls_head=dict(
        _delete_=True,  # MMAction2's I3DHead instead of UMTHead
        type='I3DHead',
        num_classes=400,
        in_channels=768,
        spatial_type='avg',
        dropout_ratio=0.5,
        init_std=0.01,
        label_smooth_eps=0.1,
        average_clips='prob'))
# `load_from` is the K400 recipe's (the K710 model with its head mapped to K400): the
# backbone loads, and so does the head's `fc_cls` (UMTHead and I3DHead share the name and
# shape); `fc_norm` is not used here and the token `norm` starts as identity.
