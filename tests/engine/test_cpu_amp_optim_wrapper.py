"""CPUAmpOptimWrapper: bf16 autocast on the CPU, fp32 head outputs, fp32 parameters."""
import pytest
import torch
from mmaction.models.heads import TimeSformerHead
from mmaction.registry import OPTIM_WRAPPERS


class _Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.body = torch.nn.Linear(8, 8)
        self.cls_head = TimeSformerHead(num_classes=3, in_channels=8)

    def forward(self, x):
        feat = self.body(x)
        return feat, self.cls_head(feat)


def test_autocast_bf16_and_fp32_head_outputs():
    net = _Net()
    wrapper = OPTIM_WRAPPERS.build(dict(  # native_only=False: autocast on any CPU
        type='CPUAmpOptimWrapper', native_only=False,
        optimizer=torch.optim.SGD(net.parameters(), lr=0.1)))
    x = torch.randn(2, 8)
    with wrapper.optim_context(net):
        feat, scores = net(x)
    assert feat.dtype == torch.bfloat16
    assert scores.dtype == torch.float32
    wrapper.update_params(scores.sum())
    assert all(p.dtype == torch.float32 and p.grad is None for p in net.parameters())
    # the hooks are removed after the context
    assert net.cls_head(torch.randn(2, 8)).dtype == torch.float32
    assert not net.cls_head._forward_hooks


def test_rejects_unknown_dtype():
    net = torch.nn.Linear(2, 2)
    with pytest.raises(ValueError, match='bfloat16 or float16'):
        OPTIM_WRAPPERS.build(dict(type='CPUAmpOptimWrapper', dtype='int8',
                                  optimizer=torch.optim.SGD(net.parameters(), lr=0.1)))
