"""umt_mm.benchmark.model through the command line (tiny geometry): consistent numbers."""
import json
import subprocess

import pytest

from umt_mm.benchmark import train_step_memory

#: the keys umt_mm.benchmark.model_benchmark documents (besides the B/16 8x224-only GFLOP lines)
MODEL_KEYS = {'threads', 'peak_gflops_fp32', 'cpu_capability', 'cpu_native_bf16',
              'cpu_bf16_flags', 'memory_ratio_train_fp32'} | {
    f'{kind}_{attention}_s' for kind in ('infer_fp32', 'infer_bf16', 'train_fp32')
    for attention in ('sdpa', 'naive')} | {
    f'speedup_{kind}{suffix}' for kind in ('infer_fp32', 'infer_bf16', 'train_fp32')
    for suffix in ('', '_of_bests')} | {
    f'train_fp32_{attention}_peak_mib' for attention in ('sdpa', 'naive')}


def test_benchmark_reports_ratios_and_memory(repo_root, tmp_path, python):
    out = tmp_path / 'bench.json'
    result = subprocess.run(
        [python, 'tools/analysis_tools/benchmark.py', '--arch', 'tiny', '--frames', '2',
         '--size', '32', '--repeats', '2', '--json', str(out)], cwd=repo_root,
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    res = json.loads(out.read_text())
    assert set(res) == MODEL_KEYS
    for kind in ('infer_fp32', 'infer_bf16', 'train_fp32'):
        assert res[f'{kind}_sdpa_s'] > 0 and res[f'{kind}_naive_s'] > 0
        assert res[f'speedup_{kind}_of_bests'] == pytest.approx(
            res[f'{kind}_naive_s'] / res[f'{kind}_sdpa_s'])
        assert res[f'speedup_{kind}'] > 0  # median of the per-round ratios
    assert res['peak_gflops_fp32'] > 1
    # each child measures its own peak (not the parent's, which trained both variants)
    assert 0 < res['train_fp32_sdpa_peak_mib'] < 2000
    assert res['memory_ratio_train_fp32'] == (res['train_fp32_sdpa_peak_mib'] /
                                              res['train_fp32_naive_peak_mib'])
    assert '| UMT-tiny 2x32 | value |' in result.stdout
    assert '| speedup_infer_fp32 |' in result.stdout
    # the 358.8 GFLOP fraction-of-peak line is only for the UMT-B/16 8x224 geometry
    assert 'infer_fp32_fraction_of_peak' not in res


def test_train_step_memory_returns_time_and_peak():
    res = train_step_memory('naive', arch='tiny', frames=2, size=32, repeats=2)
    assert set(res) == {'time_s', 'peak_mib'}
    assert res['time_s'] > 0 and res['peak_mib'] >= 0
    with pytest.raises(ValueError, match='variant must be one of'):
        train_step_memory('flash', frames=2, size=32)
