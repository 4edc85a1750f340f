"""The pretraining case of tools/benchmark.py computes the same step with every variant."""
import importlib.util
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
TINY = dict(frames=2, size=32, arch=dict(embed_dims=32, depth=2, num_heads=2),
            teacher_arch=dict(patch_size=16, width=32, layers=2, heads=2, output_dim=16),
            align_dims=16, num_return_layers=2)


def load_benchmark():
    spec = importlib.util.spec_from_file_location('umt_benchmark', ROOT / 'tools/benchmark.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_naive_step_is_the_same_computation():
    bench = load_benchmark()
    losses = {}
    for variant in ('sdpa', 'naive', 'naive_attention'):
        model, step = bench.build_pretrain_step(variant, **TINY)
        torch.manual_seed(1)  # the same mask draw
        losses[variant] = [float(step()) for _ in range(3)]
        assert all(p.grad is None for p in model.teacher.parameters())
    for variant in ('naive', 'naive_attention'):
        assert losses[variant] == pytest.approx(losses['sdpa'], abs=1e-5)
    assert losses['sdpa'][2] != losses['sdpa'][0]  # the optimizer steps


def test_naive_teacher_attention_matches_the_fused_one():
    bench = load_benchmark()
    model, _ = bench.build_pretrain_step('sdpa', **TINY)
    x = torch.randn(2, 3, 2, 32, 32)
    features, cls_attn = model.teacher(x)
    with bench.naive_pretraining(model):
        naive_features, naive_cls_attn = model.teacher(x)
    torch.testing.assert_close(naive_features, features, atol=1e-5, rtol=0)
    torch.testing.assert_close(naive_cls_attn, cls_attn, atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match='variant'):
        bench.build_pretrain_step('flash', **TINY)
