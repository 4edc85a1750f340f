"""umt_mm.benchmark.data: stages, decoding variants and a reduced end-to-end run."""
import json
import subprocess

import pytest

from umt_mm.benchmark import data as bench

RECIPES = ('pretrain', 'k400_train', 'k400_test', 'ssv2_train', 'ssv2_test', 'ava_train')
ROW_KEYS = {f'{stage}_cpu_ms' for stage in bench.DATA_STAGES} | {
    'clips_per_cpu_s', 'clips_per_wall_s', 'max_pixel_diff', 'mean_pixel_diff',
    'speedup_per_core'}


def test_data_benchmark_reduced_prints_every_stage(repo_root, tmp_path, python):
    out = tmp_path / 'data.json'
    result = subprocess.run(
        [python, 'tools/analysis_tools/benchmark.py', '--data', '--data-no-shared',
         '--data-generated', '1', '--data-frames', '24', '--repeats', '1', '--json', str(out)],
        cwd=repo_root, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'CPU: ' in result.stdout and 'capability' in result.stdout
    assert 'load average at the end: ' in result.stdout
    header = next(line for line in result.stdout.splitlines() if line.startswith('| recipe'))
    for stage in bench.DATA_STAGES:
        assert f'{stage} ms' in header
    res = json.loads(out.read_text())
    for key in ('cpu_model', 'cpu_cores', 'cpu_capability', 'load_average', 'torch_threads',
                'augment_kernel', 'load_average_end'):
        assert key in res
    for recipe in RECIPES:
        for key in ('generated/reference', 'generated/decord_sparse', 'generated/pyav_sparse',
                    'reencoded/pyav_sparse', 'frames/frames'):
            row = res[f'{recipe}/{key}']
            assert set(row) == ROW_KEYS
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
    # K400 / SSv2 train: one decode, 2 augmentations; the others: 1
    assert '| k400_train | generated | pyav_sparse | 2 |' in result.stdout
    for line in (f'| {r} | generated | pyav_sparse |' for r in RECIPES):
        assert line in result.stdout


def test_data_stages_and_variants(repo_root):
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
    # without a root: the configs are found from the package
    assert bench.recipe_pipeline('k400_train') == (pipeline, repeats)
    with pytest.raises(ValueError, match='variant must be one of'):
        bench.variant_pipeline(pipeline, 'nvdec')
    with pytest.raises(ValueError, match='recipe must be one of'):
        bench.recipe_pipeline('k800_train')


def test_data_rows_follow_the_results():
    values = {'open_cpu_ms': 1.0}
    results = {'cpu_model': 'x', 'k400_train/generated/reference': values,
               'pretrain/frames/frames': values, 'load_average_end': '0.1 0.1 0.1'}
    assert bench.data_rows(results) == [('k400_train', 'generated', 'reference', 2, values),
                                        ('pretrain', 'frames', 'frames', 1, values)]
