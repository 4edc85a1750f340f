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
