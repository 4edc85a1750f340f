"""umt_mm.benchmark.device: the CUDA logic, tested on the CPU."""
import pytest
import torch

from umt_mm.benchmark import device as bench


def test_device_peak_table_lookup():
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


def test_mfu_arithmetic():
    # B/16 8x224 train step ~ 3 x 358.8 GFLOP per clip at 200 clips/s on a 989.4 TFLOP/s H100
    mfu = bench.model_flops_utilization(3 * 358.8e9, 200.0, 989.4)
    assert mfu == pytest.approx(3 * 358.8e9 * 200 / 989.4e12)
    assert 0.2 < mfu < 0.25
    assert bench.model_flops_utilization(1e12, 1.0, None) is None
    with pytest.raises(ValueError, match='positive'):
        bench.model_flops_utilization(1e12, 1.0, 0.0)


def test_device_selection(monkeypatch):
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


TINY = dict(frames=2, size=32, arch=dict(embed_dims=32, depth=2, num_heads=2),
            teacher_arch=dict(patch_size=16, width=32, layers=2, heads=2, output_dim=16),
            align_dims=16, num_return_layers=2)


def test_device_steps_flops_and_sdpa_on_cpu():
    device = torch.device('cpu')
    attention = bench.sdpa_backend(device, torch.float32, heads=2, tokens=16, head_dims=8)
    assert set(attention) == {'chosen', 'usable'}
    assert 'MATH' in attention['usable'] and attention['chosen'] in attention['usable']
    steps = bench.build_device_steps(device, batch=2, **TINY)
    assert set(steps) == {'recognizer_train', 'pretrain_step'}
    for step, clips in steps.values():
        assert clips == 2
        flops = bench.step_flops(step)
        assert flops > 1e6
        assert bench.timed_steps(step, 1, device) > 0


def test_device_benchmark_on_cpu_returns_the_documented_dict():
    res = bench.device_benchmark('cpu', batch=1, repeats=1, loader_workers=0, loader_clips=2,
                                 num_generated=1, num_frames=24, **TINY)
    keys = {'device', 'device_type', 'autocast', 'optimizer', 'peak_tflops', 'sdpa_backend',
            'sdpa_usable'}
    for step in ('recognizer_train', 'pretrain_step'):
        keys |= {f'{step}_clips_per_s', f'{step}_tflop_per_clip', f'{step}_mfu'}
    for variant in ('reference', 'pyav_sparse'):
        keys |= {f'loader_{variant}_clips_per_s_per_worker', f'workers_per_device_{variant}'}
    assert set(res) == keys  # no *_peak_mem_gib off CUDA
    assert res['device_type'] == 'cpu' and res['autocast'] == 'off (fp32)'
    assert res['peak_tflops'] is None and res['recognizer_train_mfu'].startswith('n/a')
    assert res['recognizer_train_clips_per_s'] > 0
    assert res['workers_per_device_pyav_sparse'] == pytest.approx(
        res['recognizer_train_clips_per_s'] / res['loader_pyav_sparse_clips_per_s_per_worker'])
