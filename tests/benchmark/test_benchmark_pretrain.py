"""umt_mm.benchmark.pretrain computes the same step with every variant."""
import pytest
import torch

from umt_mm.benchmark import pretrain as bench

TINY = dict(frames=2, size=32, arch=dict(embed_dims=32, depth=2, num_heads=2),
            teacher_arch=dict(patch_size=16, width=32, layers=2, heads=2, output_dim=16),
            align_dims=16, num_return_layers=2)


def test_naive_step_is_the_same_computation():
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
    model, _ = bench.build_pretrain_step('sdpa', **TINY)
    x = torch.randn(2, 3, 2, 32, 32)
    features, cls_attn = model.teacher(x)
    with bench.naive_pretraining(model):
        naive_features, naive_cls_attn = model.teacher(x)
    torch.testing.assert_close(naive_features, features, atol=1e-5, rtol=0)
    torch.testing.assert_close(naive_cls_attn, cls_attn, atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match='variant'):
        bench.build_pretrain_step('flash', **TINY)


def test_naive_step_gathers_full_teacher_features_and_ours_skips_that_work(monkeypatch):
    gflop = {}
    for variant in ('sdpa', 'naive'):
        model, step = bench.build_pretrain_step(variant, **TINY)
        calls = []

        def spy(*args, _forward=model.teacher.forward, _calls=calls, **kwargs):
            _calls.append(kwargs.get('make_mask') is not None)
            return _forward(*args, **kwargs)

        monkeypatch.setattr(model.teacher, 'forward', spy)
        gflop[variant] = bench.step_gemm_gflop(step)
        # ours draws the mask inside the teacher; naive computes every token, then gathers
        assert calls == [variant == 'sdpa']
    # TINY: 2 frames of 2x2 patches, 1 visible per frame (mask 0.8), teacher width 32,
    # MLP 128, 2 returned layers of 16 channels. Ours leaves out, per frame, the last block's
    # query, out_proj and MLP of the 3 masked tokens, out_proj and MLP of the CLS token,
    # and ln_post/proj of the 3 masked tokens in both returned layers.
    q, out, mlp, proj = 2 * 32 * 32, 2 * 32 * 32, 2 * 2 * 32 * 128, 2 * 32 * 16
    saved = 2 * (3 * (q + out + mlp) + (out + mlp) + 2 * 3 * proj)
    assert round((gflop['naive'] - gflop['sdpa']) * 1e9) == saved


def test_pretrain_benchmark_returns_the_documented_dict(monkeypatch):
    build = bench.build_pretrain_step
    monkeypatch.setattr(bench, 'build_pretrain_step', lambda variant: build(variant, **TINY))
    memory = bench.pretrain_step_memory('naive')
    assert set(memory) == {'peak_mib'} and memory['peak_mib'] >= 0
    flags = []
    monkeypatch.setattr(bench, 'child_json', lambda *f: flags.append(f) or {'peak_mib': 2.0})
    monkeypatch.setattr(bench, 'matmul_peak_gflops', lambda: 100.0)
    res = bench.pretrain_benchmark(repeats=1)
    variants = bench.PRETRAIN_VARIANTS
    assert set(res) == {
        'cpu_capability', 'threads', 'matmul_peak_gflops', 'pretrain_sdpa_gemm_gflop',
        'pretrain_naive_gemm_gflop', 'gemm_floor_s', 'time_ratio_sdpa_over_naive',
        'time_ratio_sdpa_over_naive_attention', 'time_ratio_bf16_teacher_over_naive',
        'time_ratio_bf16_teacher_over_sdpa', 'gemm_floor_over_naive',
        'memory_ratio_sdpa_over_naive'} | {f'pretrain_{v}_s' for v in variants} | {
        f'pretrain_{v}_peak_mib' for v in variants}
    assert flags == [('--child-pretrain', v) for v in variants]
    assert res['gemm_floor_s'] == pytest.approx(res['pretrain_sdpa_gemm_gflop'] / 100.0)
