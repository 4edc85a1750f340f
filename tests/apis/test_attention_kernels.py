"""The attention kernels of the UMT backbone at inference: the GEMM form equals the fused
kernel, and the measured choice keeps it only where it is faster with the same numbers."""
import copy

import pytest
import torch
import torch.nn.functional as F

from umt_mm.apis import load_config
from umt_mm.apis.attention_kernels import (
    EQUAL_NUMBERS,
    attention_modules,
    choose_attention_kernel,
    time_attention_kernels,
)
from umt_mm.apis.precision import output_cosine, prepare_inference, probe_inputs
from umt_mm.models.layers import UMTAttention, matmul_attention

TOY = 'configs/quickstart/umt-tiny-p16-res32_scratch_1xb2-u4-2e_toy-rgb.py'


def _model(seed=0):
    from mmaction.registry import MODELS
    torch.manual_seed(seed)
    model = MODELS.build(load_config(TOY).model)
    model.init_weights()
    return model.eval()


@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
def test_matmul_attention_equals_the_fused_kernel(dtype):
    """Blocks of queries that do not divide the tokens, fp32 and bf16."""
    gen = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 3, 37, 16, generator=gen).to(dtype) for _ in range(3))
    expected = F.scaled_dot_product_attention(q, k, v).float()
    for block in (8, 16, 37, 256):
        out = matmul_attention(q, k, v, block=block)
        assert out.dtype == dtype and out.shape == q.shape
        tolerance = 1e-5 if dtype == torch.float32 else 2e-2
        torch.testing.assert_close(out.float(), expected, rtol=tolerance, atol=tolerance)


def test_attention_module_runs_either_kernel_and_trains_with_the_gemm_form():
    torch.manual_seed(0)
    attention = UMTAttention(32, 4)
    x = torch.randn(2, 20, 32)
    expected = attention(x)
    attention.kernel = 'matmul'
    out = attention(x)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-6)
    out.square().sum().backward()
    assert attention.qkv.weight.grad is not None
    assert attention.qkv.weight.grad.abs().sum() > 0


def test_choice_keeps_the_gemm_form_only_when_faster_with_the_same_numbers():
    model = _model()
    backbone = model.backbone
    seen = []

    def timings(ratio, difference=0.0):
        def measure(shape, dtype):
            seen.append((shape, dtype))
            return {'sdpa': 1.0, 'matmul': ratio}, difference
        return measure
    picked = choose_attention_kernel(backbone, timings=timings(0.5))
    assert picked.kernel == 'matmul' and 'matmul 0.50x' in picked.reason
    assert {m.kernel for m in attention_modules(backbone)} == {'matmul'}
    # (batch 1, heads, T x H/p x W/p tokens, head dims) in the blocks' dtype
    heads = backbone.blocks[0].attn.num_heads
    tokens = backbone.grid[0] * backbone.grid[1] * backbone.grid[2]
    assert seen[-1] == ((1, heads, tokens, backbone.embed_dims // heads), torch.float32)
    assert choose_attention_kernel(backbone, timings=timings(0.95)).kernel == 'sdpa'
    assert {m.kernel for m in attention_modules(backbone)} == {'sdpa'}
    differs = choose_attention_kernel(
        backbone, timings=timings(0.5, 10 * EQUAL_NUMBERS[torch.float32]))
    assert differs.kernel == 'sdpa' and 'numbers differ' in differs.reason
    bf16 = copy.deepcopy(model)
    prepare_inference(bf16, 'bf16', attention='sdpa')
    choose_attention_kernel(bf16.backbone, timings=timings(0.5))
    assert seen[-1][1] == torch.bfloat16
    # int8 blocks run their attention in fp32
    int8 = copy.deepcopy(model)
    prepare_inference(int8, 'int8', attention='sdpa')
    choose_attention_kernel(int8.backbone, timings=timings(0.5))
    assert seen[-1][1] == torch.float32


def test_time_attention_kernels_measures_both():
    seconds, difference = time_attention_kernels((1, 2, 64, 16), torch.float32, rounds=2)
    assert set(seconds) == {'sdpa', 'matmul'} and all(t > 0 for t in seconds.values())
    assert difference < EQUAL_NUMBERS[torch.float32]


def test_prepare_inference_sets_the_kernel_and_says_which():
    reference = _model()
    clip = probe_inputs(reference, batch=2, seed=4)
    with torch.no_grad():
        expected = reference.backbone(clip)
    model = copy.deepcopy(reference)
    choice = prepare_inference(model, 'fp32', attention='matmul')
    assert choice.attention == 'matmul' and choice.describe().endswith(', matmul attention')
    assert choice.as_dict()['attention'] == 'matmul'
    assert {m.kernel for m in attention_modules(model.backbone)} == {'matmul'}
    with torch.no_grad():
        assert output_cosine(expected, model.backbone(clip)) > 0.999999
    auto = prepare_inference(copy.deepcopy(reference), 'fp32')
    assert auto.attention in ('sdpa', 'matmul') and 'fused kernel' in auto.attention_reason
    with pytest.raises(ValueError, match="attention 'flash': choose auto, sdpa, matmul"):
        prepare_inference(copy.deepcopy(reference), 'fp32', attention='flash')
    with pytest.raises(ValueError, match='runs its own attention'):
        prepare_inference(copy.deepcopy(reference), 'fp32', 'onnxruntime', attention='matmul')
