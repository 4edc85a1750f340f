"""UMTHead: init scale, shapes, soft targets and label smoothing."""
import torch
from mmaction.structures import ActionDataSample

from umt_mm.models import UMTHead


def test_init_scale_and_shape():
    torch.manual_seed(0)
    head = UMTHead(num_classes=10, in_channels=64, init_scale=0.001)
    head.init_weights()
    # truncated normal std 0.02, then x0.001
    assert 0.8 * 2e-5 < head.fc_cls.weight.std().item() < 1.2 * 2e-5
    assert torch.count_nonzero(head.fc_cls.bias) == 0
    assert head(torch.rand(3, 64)).shape == (3, 10)


def test_soft_targets_with_label_smoothing():
    head = UMTHead(num_classes=4, in_channels=8, label_smooth_eps=0.1)
    head.init_weights()
    feats = torch.rand(2, 8)
    samples = [ActionDataSample().set_gt_label(torch.tensor([0.7, 0.3, 0.0, 0.0])),
               ActionDataSample().set_gt_label(torch.tensor([0.0, 0.0, 1.0, 0.0]))]
    losses = head.loss(feats, samples)
    scores = head(feats)
    targets = torch.tensor([[0.7, 0.3, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]]) * 0.9 + 0.1 / 4
    expected = -(targets * scores.log_softmax(-1)).sum(-1).mean()
    torch.testing.assert_close(losses['loss_cls'], expected)


def test_dropout_then_linear_and_registry():
    from mmaction.registry import MODELS
    head = MODELS.build(dict(type='UMTHead', num_classes=3, in_channels=8, dropout_ratio=0.5))
    assert isinstance(head, UMTHead)
    assert isinstance(head.dropout, torch.nn.Dropout) and head.dropout.p == 0.5
    assert sorted(head.state_dict()) == ['fc_cls.bias', 'fc_cls.weight']
    head.eval()
    feats = torch.rand(2, 8)
    torch.testing.assert_close(head(feats), head.fc_cls(feats))


def test_multi_view_prob_averaging():
    head = UMTHead(num_classes=3, in_channels=8, average_clips='prob')
    head.init_weights()
    head.fc_cls.weight.data.normal_()
    feats = torch.rand(4, 8)  # 2 samples x 2 views
    samples = [ActionDataSample(), ActionDataSample()]
    out = head.predict(feats, samples)
    expected = head(feats).softmax(-1).reshape(2, 2, 3).mean(1)
    torch.testing.assert_close(out[0].pred_score, expected[0])
    torch.testing.assert_close(out[1].pred_score, expected[1])


def test_in_recognizer3d():
    from mmaction.registry import MODELS
    model = MODELS.build(dict(
        type='Recognizer3D',
        backbone=dict(type='UMTVisionTransformer', arch=dict(embed_dims=32, depth=1, num_heads=2),
                      img_size=32, num_frames=2),
        cls_head=dict(type='UMTHead', num_classes=3, in_channels=32, label_smooth_eps=0.1,
                      average_clips='prob'),
        data_preprocessor=dict(type='ActionDataPreprocessor', format_shape='NCTHW')))
    model.init_weights()
    samples = [ActionDataSample().set_gt_label(torch.tensor(i)) for i in range(2)]
    inputs = [torch.rand(1, 3, 2, 32, 32) * 255 for _ in range(2)]  # 1 clip each
    data = model.data_preprocessor(dict(inputs=inputs, data_samples=samples), training=True)
    losses = model(**data, mode='loss')
    assert losses['loss_cls'].ndim == 0 and torch.isfinite(losses['loss_cls'])
    inputs = [torch.rand(2, 3, 2, 32, 32) * 255 for _ in range(2)]  # 2 test views each
    data = model.data_preprocessor(dict(inputs=inputs, data_samples=samples))
    preds = model(**data, mode='predict')
    assert preds[0].pred_score.shape == (3,)
    torch.testing.assert_close(preds[0].pred_score.sum(), torch.tensor(1.0))
