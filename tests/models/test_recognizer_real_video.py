"""A Recognizer3D with UMTVisionTransformer + UMTHead on a real video: train_step and 2-view
test_step."""
import torch
from mmaction.registry import MODELS, TRANSFORMS
from mmengine.dataset import Compose, pseudo_collate
from mmengine.optim import OptimWrapper


def _pipeline(num_clips, test_mode):
    return Compose([TRANSFORMS.build(t) for t in [
        dict(type='DecordInit'),
        dict(type='UMTSampleFrames', clip_len=4, num_clips=num_clips, test_mode=test_mode),
        dict(type='DecordDecode'),
        dict(type='Resize', scale=(-1, 32)),
        dict(type='CenterCrop', crop_size=32),
        dict(type='FormatShape', input_format='NCTHW'),
        dict(type='PackActionInputs')]])


def _model():
    return MODELS.build(dict(
        type='Recognizer3D',
        backbone=dict(type='UMTVisionTransformer', arch=dict(embed_dims=32, depth=2, num_heads=2,
                                               mlp_ratio=2), img_size=32, num_frames=4),
        cls_head=dict(type='UMTHead', num_classes=5, in_channels=32, label_smooth_eps=0.1,
                      average_clips='prob'),
        data_preprocessor=dict(type='ActionDataPreprocessor', mean=[123.675, 116.28, 103.53],
                               std=[58.395, 57.12, 57.375], format_shape='NCTHW',
                               blending=dict(type='RandomBatchAugment', augments=[
                                   dict(type='MixupBlending', alpha=0.8, num_classes=5)]))))


def test_train_and_two_view_test_on_real_video(shared_data):
    video = str(shared_data / 'videos' / 'test.mp4')
    model = _model()
    model.init_weights()
    train = [_pipeline(1, False)(dict(filename=video, label=label, start_index=0,
                                      modality='RGB')) for label in (1, 3)]
    optim = OptimWrapper(torch.optim.AdamW(model.parameters(), lr=1e-3))
    before = model.backbone.blocks[0].attn.qkv.weight.detach().clone()
    losses = model.train_step(pseudo_collate(train), optim)
    assert torch.isfinite(losses['loss_cls']) and losses['loss_cls'] > 0
    assert not torch.equal(before, model.backbone.blocks[0].attn.qkv.weight)

    model.eval()
    sample = _pipeline(2, True)(dict(filename=video, label=2, start_index=0, modality='RGB'))
    assert tuple(sample['inputs'].shape) == (2, 3, 4, 32, 32)
    pred = model.test_step(pseudo_collate([sample]))[0].pred_score
    # 2 views: softmax per view, then the mean of the probabilities
    data = model.data_preprocessor(pseudo_collate([sample]), training=False)
    with torch.no_grad():
        per_view = model.cls_head(model.backbone(data['inputs'][0])).softmax(-1)
    torch.testing.assert_close(pred, per_view.mean(0), atol=1e-6, rtol=0)
    assert abs(pred.sum().item() - 1) < 1e-5
