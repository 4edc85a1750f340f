"""umt_mm.benchmark.export (tiny geometry): capability and consistent ratios."""
import json
import subprocess

import pytest
import torch

pytest.importorskip('onnxruntime', reason='the deploy extra (onnx, onnxruntime) is not installed')

EXPORT_KEYS = {'cpu_capability', 'threads', 'torch', 'onnxruntime', 'exporter', 'ort_provider',
               'ort_graph_optimization', 'onnx_mib', 'max_abs_diff_logits', 'eager_s',
               'onnxruntime_s', 'speedup_onnxruntime', 'speedup_onnxruntime_of_bests',
               'speedup_onnxruntime_rounds'}


def test_export_benchmark_reports_capability_and_ratios(repo_root, tmp_path, python):
    out = tmp_path / 'export_bench.json'
    result = subprocess.run(
        [python, 'tools/analysis_tools/benchmark.py', '--export', '--arch', 'tiny', '--frames',
         '2', '--size', '32', '--repeats', '3', '--json', str(out)], cwd=repo_root,
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    res = json.loads(out.read_text())
    assert set(res) == EXPORT_KEYS
    assert res['cpu_capability'] == torch.backends.cpu.get_cpu_capability()
    assert res['ort_provider'] == 'CPUExecutionProvider'
    assert res['ort_graph_optimization'] == 'ORT_ENABLE_ALL'
    assert res['exporter'].startswith('torch.onnx.export(dynamo=False)')
    assert res['eager_s'] > 0 and res['onnxruntime_s'] > 0
    assert res['speedup_onnxruntime_of_bests'] == pytest.approx(res['eager_s'] /
                                                                res['onnxruntime_s'])
    rounds = sorted(res['speedup_onnxruntime_rounds'])
    assert len(rounds) == 3 and res['speedup_onnxruntime'] == pytest.approx(rounds[1], abs=1e-3)
    assert res['max_abs_diff_logits'] < 1e-4
    assert '| UMT-tiny recognizer 2x32, batch 1: onnxruntime vs eager | value |' in result.stdout
    assert '| speedup_onnxruntime |' in result.stdout and '| cpu_capability |' in result.stdout


def test_export_benchmark_returns_the_documented_dict():
    from umt_mm.benchmark import export_benchmark
    res = export_benchmark('tiny', frames=2, size=32, repeats=1)
    assert set(res) == EXPORT_KEYS
    assert len(res['speedup_onnxruntime_rounds']) == 1
