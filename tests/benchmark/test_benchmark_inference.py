"""umt_mm.benchmark.inference: peaks, FLOPs, the op split and the reduced-form run."""
import pytest
import torch

from umt_mm.benchmark.cli import build_parser
from umt_mm.benchmark.inference import (
    DEFAULT_PATHS,
    EXPORTED_PATHS,
    INFERENCE_PATHS,
    available_paths,
    cpu_info,
    format_inference_report,
    forward_flops,
    gemm_shapes,
    inference_benchmark,
    op_group,
    op_group_seconds,
    paper_peaks,
)

#: the keys inference_benchmark documents
TOP_KEYS = {'cpu', 'paper_peak', 'gemm', 'auto', 'attention_kernels', 'recognizer',
            'detector', 'features', 'train_step', 'load_average_end'}
CPU_KEYS = {'cpu_model', 'cores', 'threads', 'flags', 'cpu_mhz', 'name_ghz', 'clock_ghz',
            'capability', 'load_average'}
PATH_KEYS = {'describe', 'time_s', 'best_s', 'setup_s', 'gflops', 'fraction_of_peak',
             'speedup_vs_fp32', 'cosine_to_fp32', 'attention_s', 'linears_s', 'rest_s',
             'linears_gflops', 'linears_fraction_of_peak', 'attention_gflops',
             'attention_fraction_of_peak'}
GEMM_KEYS = {'per_shape', 'block', 'peak', 'int8_kernel', 'best_s', 'shapes',
             'measured_over_paper', 'implied_clock_ghz'}


def _fractions(tree, prefix=''):
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from _fractions(value, f'{prefix}{key}.')
        elif 'fraction' in key:
            yield f'{prefix}{key}', value


def test_paper_peaks_follow_the_flags():
    avx512 = paper_peaks({'fma', 'avx2', 'avx512f', 'avx512_bf16', 'avx512_vnni'}, 2, 2.3)
    assert avx512['fp32']['gflops'] == pytest.approx(2 * 2.3 * 64)  # 294.4
    assert avx512['bf16']['gflops'] == pytest.approx(2 * avx512['fp32']['gflops'])
    assert avx512['int8']['gflops'] == pytest.approx(4 * avx512['fp32']['gflops'])
    assert avx512['fastest_native'].startswith('int8 (AVX512-VNNI')
    amx = paper_peaks({'avx512f', 'avx512_bf16', 'amx_bf16', 'amx_int8'}, 1, 2.0)
    assert amx['bf16']['per_cycle_per_core'] == 1024 and amx['int8']['gflops'] == 4096
    avx2 = paper_peaks({'fma', 'avx2'}, 4, 3.0)
    assert avx2['fp32']['per_cycle_per_core'] == 32 and avx2['int8']['per_cycle_per_core'] == 64
    assert avx2['bf16']['unit'].startswith('emulated') and avx2['bf16']['gflops'] == 384
    assert paper_peaks({'avx2', 'fma'}, 4, None)['fp32']['gflops'] is None


def test_cpu_info_reads_model_flags_and_clock(tmp_path):
    cpuinfo = tmp_path / 'cpuinfo'
    cpuinfo.write_text('model name\t: Intel(R) Xeon(R) Gold 6430 @ 2.10GHz\n'
                       'cpu MHz\t\t: 2800.000\nflags\t\t: fpu avx2 fma avx512f amx_bf16\n'
                       'model name\t: Intel(R) Xeon(R) Gold 6430 @ 2.10GHz\n'
                       'cpu MHz\t\t: 2600.000\n')
    info = cpu_info(str(cpuinfo))
    assert set(info) == CPU_KEYS
    assert info['name_ghz'] == 2.1 and info['cpu_mhz'] == 2700 and info['clock_ghz'] == 2.1
    assert info['flags'] == ['fma', 'avx2', 'avx512f', 'amx_bf16']
    missing = cpu_info(str(tmp_path / 'absent'))
    assert missing['cpu_model'] == 'unknown' and missing['clock_ghz'] is None


def test_forward_flops_of_b16_8x224():
    from umt_mm.models.backbones import UMTVisionTransformer
    backbone = UMTVisionTransformer(arch='base', img_size=224, num_frames=8)
    flops = forward_flops(backbone, (8, 224, 224))
    assert flops['total'] == pytest.approx(358.8, abs=0.05)  # FORWARD_GFLOP_B16_8X224
    assert flops['attention'] == pytest.approx(12 * 4 * 1568 ** 2 * 768 / 1e9)
    assert forward_flops(backbone, (8, 224, 224), batch=12)['linears'] == pytest.approx(
        12 * flops['linears'])
    assert gemm_shapes(768, 3072, 1568) == dict(qkv=(1568, 768, 2304), proj=(1568, 768, 768),
                                                fc1=(1568, 768, 3072),
                                                fc2=(1568, 3072, 768))


def test_op_groups():
    assert op_group('aten::_scaled_dot_product_flash_attention_for_cpu') == 'attention'
    assert op_group('aten::linear') == op_group('aten::addmm') == 'linears'
    assert op_group('quantized::linear_dynamic') == 'linears'
    assert op_group('aten::layer_norm') is None and op_group('aten::conv3d') is None
    x, w = torch.randn(64, 32), torch.randn(48, 32)
    q = torch.randn(1, 2, 16, 8)
    split = op_group_seconds(lambda: (torch.nn.functional.linear(x, w).relu(),
                                      torch.nn.functional.scaled_dot_product_attention(q, q,
                                                                                       q)))
    assert set(split) == {'attention', 'linears', 'rest'}
    assert split['attention'] > 0 and split['linears'] > 0


def test_cli_flags():
    args = build_parser().parse_args(['--inference', '--inference-batches', '1,12',
                                      '--compile', '--inference-threads', '1'])
    assert args.inference and args.compile and args.inference_threads == 1
    args = build_parser().parse_args([])
    assert not args.inference and args.inference_batches == '1' and not args.compile
    assert args.inference_paths is None


def test_paths_name_a_precision_and_a_backend(monkeypatch):
    from umt_mm.apis import exported_backends
    from umt_mm.benchmark.inference import path_spec
    assert path_spec('int8') == ('int8', 'eager')
    assert path_spec('compile') == ('fp32', 'compile')
    assert path_spec('openvino-bf16') == ('bf16', 'openvino')
    with pytest.raises(ValueError, match="inference path 'openvino-fp16'"):
        path_spec('openvino-fp16')
    assert set(INFERENCE_PATHS) == set(DEFAULT_PATHS) | {'compile'}
    # an engine that is not installed drops its paths (and onnxruntime's int8 tool, which
    # OpenVINO's int8 needs, drops both)
    monkeypatch.setattr(exported_backends, 'installed', lambda name: name != 'openvino')
    assert available_paths() == ('fp32', 'bf16', 'int8', 'onnxruntime-fp32',
                                 'onnxruntime-int8')
    monkeypatch.setattr(exported_backends, 'installed', lambda name: False)
    assert available_paths() == ('fp32', 'bf16', 'int8')


def test_cli_refuses_an_unknown_path(capsys):
    from umt_mm.benchmark.cli import main
    with pytest.raises(SystemExit, match='--inference-paths: unknown int4'):
        main(['--inference', '--inference-paths', 'fp32,int4'])
    with pytest.raises(SystemExit, match='--inference-parts: unknown trains'):
        main(['--inference', '--inference-parts', 'detector,trains'])


def test_cli_runs_only_the_parts_and_paths_asked(capsys):
    from umt_mm.benchmark.cli import main
    results = main(['--inference', '--arch', 'tiny', '--frames', '4', '--size', '32',
                    '--repeats', '1', '--inference-parts', 'none',
                    '--inference-paths', 'int8'])
    assert 'detector' not in results and 'features' not in results
    assert 'train_step' not in results
    assert tuple(results['recognizer']['batch1']['paths']) == ('fp32', 'int8')


def test_reduced_form_reports_every_path_as_a_fraction_of_its_peak():
    threads = torch.get_num_threads()
    # one thread: the reduced form is short enough for a stall of a shared core to dominate
    results = inference_benchmark('tiny', frames=4, size=64, repeats=2, threads=1)
    assert torch.get_num_threads() == threads  # restored
    assert set(results) == TOP_KEYS
    assert set(results['cpu']) == CPU_KEYS and results['cpu']['threads'] == 1
    assert set(results['gemm']) == GEMM_KEYS
    assert set(results['gemm']['peak']) == {'fp32', 'bf16', 'int8'}
    # measured / paper is not a fraction: it exceeds 1 where the CPU reports a base clock
    # below the one it runs at (a VM's cpu MHz)
    assert all(v > 0 for v in results['gemm']['measured_over_paper'].values())
    assert results['gemm']['implied_clock_ghz']['fp32'] == pytest.approx(
        results['gemm']['peak']['fp32'] / 64)  # one core, 64 fp32 FLOP per cycle
    assert results['gemm']['shapes']['qkv'] == [64, 64, 192]  # 4 x 4 x 4 tokens, 64 channels
    attention = results['attention_kernels']
    heads = attention['shape'][1]
    assert attention['shape'] == [1, heads, 64, 64 // heads]
    assert attention['gflop'] == pytest.approx(4 * heads * 64 * 64 * (64 // heads) / 1e9)
    for precision in ('fp32', 'bf16'):
        assert attention[precision]['auto'] in ('sdpa', 'matmul')
        for kernel in ('sdpa', 'matmul'):
            row = attention[precision][kernel]
            assert row['gflops'] == pytest.approx(attention['gflop'] / row['s'])
            assert row['of_peak'] == pytest.approx(
                row['gflops'] / results['gemm']['peak'][precision])
    paths = available_paths()
    exported = set(paths) & set(EXPORTED_PATHS)
    for entry in (results['recognizer']['batch1'], results['detector']):
        assert tuple(entry['paths']) == paths
        for path, row in entry['paths'].items():
            assert set(row) == PATH_KEYS, path
            assert row['time_s'] > 0 and row['gflops'] > 0
            # preparing and the first call (copy, int8 check, export...) come on top
            assert row['setup_s'] > row['best_s']
            assert row['cosine_to_fp32'] > 0.99
            if path in exported:  # the engine's ops: no profiler split
                assert row['attention_s'] is row['linears_fraction_of_peak'] is None
                continue
            assert row['attention_s'] + row['linears_s'] + row['rest_s'] == pytest.approx(
                row['time_s'])
        assert entry['paths']['fp32']['speedup_vs_fp32'] == 1.0
    assert results['detector']['clip'] == [1, 3, 4, 64, 128]
    fractions = {k: v for k, v in _fractions(results)
                 if not any(f'.{p}.' in k for p in exported) or k.endswith('.fraction_of_peak')}
    # two models; whole / linears / attention of the eager paths, whole of the exported ones
    assert len(fractions) == 2 * (3 * 3 + len(exported))
    bad = {k: v for k, v in fractions.items()
           if not isinstance(v, float) or not 0 < v <= 1.5}
    assert not bad, bad
    assert results['features']['clips'] == 2
    assert set(results['features']) == {'clips', *paths}
    assert all(results['features'][p]['clips_per_s'] > 0 for p in paths)
    assert set(results['train_step']) == {'batch', 'fp32_s', 'bf16_autocast_s',
                                          'speedup_bf16_autocast', 'amp_uses_bf16_here',
                                          'amp_reason'}
    report = format_inference_report(results)
    assert '| precision | paper unit |' in report
    assert '| kernel | fp32 s | fp32 GFLOP/s | of fp32 GEMM peak |' in report
    assert '| path | median s | first call s |' in report
    assert 'AVA detector backbone, input [1, 3, 4, 64, 128]' in report
    assert 'Finetuning step, batch 1' in report
