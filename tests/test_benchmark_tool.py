"""tools/benchmark.py runs end to end (tiny geometry) and reports consistent numbers."""
import json
import subprocess

import pytest
import torch


def test_benchmark_reports_ratios_and_memory(repo_root, tmp_path, python):
    out = tmp_path / 'bench.json'
    result = subprocess.run(
        [python, 'tools/benchmark.py', '--arch', 'base', '--frames', '2', '--size', '32',
         '--repeats', '2', '--json', str(out)], cwd=repo_root, capture_output=True, text=True,
        timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    res = json.loads(out.read_text())
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
    assert '| speedup_infer_fp32 |' in result.stdout
    # the 358.8 GFLOP fraction-of-peak line is only for the UMT-B/16 8x224 geometry
    assert 'infer_fp32_fraction_of_peak' not in res


# ---------------------------------------------------------------- data pipelines (issue 17)
def _load_benchmark(repo_root):
    import importlib.util
    spec = importlib.util.spec_from_file_location('umt_benchmark_data',
                                                  repo_root / 'tools/benchmark.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_data_benchmark_reduced_prints_every_stage(repo_root, tmp_path, python):
    out = tmp_path / 'data.json'
    result = subprocess.run(
        [python, 'tools/benchmark.py', '--data', '--data-no-shared', '--data-generated', '1',
         '--data-frames', '24', '--repeats', '1', '--json', str(out)], cwd=repo_root,
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'CPU: ' in result.stdout and 'capability' in result.stdout
    header = next(line for line in result.stdout.splitlines() if line.startswith('| recipe'))
    for stage in ('open', 'index', 'decode', 'augment', 'format'):
        assert f'{stage} ms' in header
    res = json.loads(out.read_text())
    recipes = ('pretrain', 'k400_train', 'k400_test', 'ssv2_train', 'ssv2_test', 'ava_train')
    for recipe in recipes:
        for key in ('generated/reference', 'generated/decord_sparse', 'generated/pyav_sparse',
                    'reencoded/pyav_sparse', 'frames/frames'):
            row = res[f'{recipe}/{key}']
            assert row['clips_per_cpu_s'] > 0 and row['decode_cpu_ms'] > 0
            assert row['format_cpu_ms'] > 0 and row['augment_cpu_ms'] > 0
        # same sampled indices and the same frames as the reference decoding
        for variant in ('decord_sparse', 'pyav_sparse'):
            assert res[f'{recipe}/generated/{variant}']['max_pixel_diff'] == 0
        assert res[f'{recipe}/generated/reference']['speedup_per_core'] == 1
        assert res[f'{recipe}/generated/reference']['open_cpu_ms'] > 0
        assert res[f'{recipe}/frames/frames']['open_cpu_ms'] == 0  # nothing to open
        # JPEG frames: close to, not equal to, the decoded frames
        assert res[f'{recipe}/frames/frames']['mean_pixel_diff'] < 4
    for line in (f'| {r} | generated | pyav_sparse |' for r in recipes):
        assert line in result.stdout


def test_data_stages_and_variants(repo_root):
    bench = _load_benchmark(repo_root)
    pipeline, repeats = bench.recipe_pipeline('k400_train', repo_root)
    assert repeats == 2
    assert [bench.data_stage(t['type']) for t in pipeline][:3] == ['open', 'index', 'decode']
    assert bench.data_stage('FormatShape') == bench.data_stage('PackActionInputs') == 'format'
    assert bench.data_stage('UMTRandAugment') == 'augment'
    ours = [t['type'] for t in bench.variant_pipeline(pipeline, 'pyav_sparse')[:3]]
    assert ours == ['PyAVSparseInit', 'UMTSampleFrames', 'PyAVSparseDecode']
    frames = [t['type'] for t in bench.variant_pipeline(pipeline, 'frames')[:2]]
    assert frames == ['UMTSampleFrames', 'RawFrameDecode']
    # ours: RandAugment and the crop fused; the reference: whole-frame RandAugment, then crop
    assert [t['type'] for t in bench.variant_pipeline(pipeline, 'pyav_sparse')][3] == \
        'UMTRandAugmentCrop'
    reference = bench.variant_pipeline(pipeline, 'reference')
    assert [t['type'] for t in reference[:5]] == [
        'DecordInit', 'UMTSampleFrames', 'DecordDecode', 'UMTRandAugment',
        'UMTRandomResizedCrop']
    assert reference[3]['policy'] == 'rand-m7-n4-mstd0.5-inc1'
    assert reference[4]['to_float32'] and reference[4]['area_range'] == (0.08, 1.0)
    assert bench.recipe_pipeline('pretrain', repo_root)[1] == 1
    with pytest.raises(ValueError, match='variant must be one of'):
        bench.variant_pipeline(pipeline, 'nvdec')


# ---------------------------------------------------------------- CUDA logic, tested on CPU
def test_device_peak_table_lookup(repo_root):
    bench = _load_benchmark(repo_root)
    assert bench.device_peak_tflops('NVIDIA H100 80GB HBM3') == 989.4
    assert bench.device_peak_tflops('NVIDIA H100 PCIe') == 756.5
    assert bench.device_peak_tflops('NVIDIA H100 NVL') == 835.0
    assert bench.device_peak_tflops('NVIDIA H200') == 989.4
    assert bench.device_peak_tflops('NVIDIA A100-SXM4-80GB') == 312.0  # not the A10's
    assert bench.device_peak_tflops('NVIDIA A10') == 125.0
    assert bench.device_peak_tflops('NVIDIA L40S') == 362.1  # not the L40's or L4's
    assert bench.device_peak_tflops('NVIDIA L4') == 121.0
    assert bench.device_peak_tflops('NVIDIA A100-PCIE-40GB', 'fp32') == 19.5
    assert bench.device_peak_tflops('Some Future GPU') is None
    with pytest.raises(ValueError, match='dtype'):
        bench.device_peak_tflops('NVIDIA A100', 'fp8')


def test_mfu_arithmetic(repo_root):
    bench = _load_benchmark(repo_root)
    # B/16 8x224 train step ~ 3 x 358.8 GFLOP per clip at 200 clips/s on a 989.4 TFLOP/s H100
    mfu = bench.model_flops_utilization(3 * 358.8e9, 200.0, 989.4)
    assert mfu == pytest.approx(3 * 358.8e9 * 200 / 989.4e12)
    assert 0.2 < mfu < 0.25
    assert bench.model_flops_utilization(1e12, 1.0, None) is None
    with pytest.raises(ValueError, match='positive'):
        bench.model_flops_utilization(1e12, 1.0, 0.0)


def test_device_selection(repo_root, monkeypatch):
    bench = _load_benchmark(repo_root)
    assert bench.select_device('cpu').type == 'cpu'
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    assert bench.select_device('auto').type == 'cpu'
    with pytest.raises(RuntimeError, match='CUDA is not available'):
        bench.select_device('cuda')
    with pytest.raises(RuntimeError, match='only cpu and cuda'):
        bench.select_device('meta')
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'device_count', lambda: 1)
    assert bench.select_device('auto').type == 'cuda'
    with pytest.raises(RuntimeError, match='only 1 CUDA'):
        bench.select_device('cuda:3')


def test_device_steps_flops_and_sdpa_on_cpu(repo_root):
    bench = _load_benchmark(repo_root)
    device = torch.device('cpu')
    attention = bench.sdpa_backend(device, torch.float32, heads=2, tokens=16, head_dims=8)
    assert 'MATH' in attention['usable'] and attention['chosen'] in attention['usable']
    steps = bench.build_device_steps(device, batch=2, frames=2, size=32,
                                     arch=dict(embed_dims=32, depth=2, num_heads=2),
                                     teacher_arch=dict(patch_size=16, width=32, layers=2,
                                                       heads=2, output_dim=16),
                                     align_dims=16, num_return_layers=2)
    assert set(steps) == {'recognizer_train', 'pretrain_step'}
    for step, clips in steps.values():
        assert clips == 2
        flops = bench.step_flops(step)
        assert flops > 1e6
        assert bench.timed_steps(step, 1, device) > 0
