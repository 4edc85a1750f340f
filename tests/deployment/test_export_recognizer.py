"""ONNX and TorchScript exports of a tiny UMT recognizer give the PyTorch logits and scores."""
import json

import numpy as np
import pytest
import torch
from deploy_helpers import QUICKSTART, ROOT, run_in_fresh_process, tiny_recognizer
from mmengine.dataset import pseudo_collate

pytest.importorskip('onnxruntime', reason='the deploy extra (onnx, onnxruntime) is not installed')

TOL = 1e-4


@pytest.fixture(scope='module')
def recognizer():
    return tiny_recognizer()


def _real_sample(cfg, video):
    from mmaction.registry import TRANSFORMS
    from mmengine.dataset import Compose

    from umt_mm.deployment.deploy_info import test_pipeline
    pipeline = Compose([TRANSFORMS.build(s) for s in test_pipeline(cfg)])
    return pipeline(dict(filename=str(video), label=-1, start_index=0, modality='RGB'))


@pytest.mark.parametrize('fmt', ['onnx', 'torchscript'])
def test_export_matches_pytorch_on_random_and_real_clip(recognizer, fmt, shared_data, tmp_path):
    from umt_mm.deployment import example_inputs, export, make_wrapper, run_exported
    cfg, model = recognizer
    # the quickstart test protocol: 2 clips x 1 crop, probabilities averaged
    wrapper = make_wrapper(model, num_views=2)
    path = export(wrapper, example_inputs(wrapper, (4, 32, 32)), tmp_path / f'm.{fmt}', fmt)

    # random clips, a batch of 3 videos (the batch axis is dynamic: exported with 1)
    (clips, ) = example_inputs(wrapper, (4, 32, 32), batch=3, seed=5)
    scores, logits = run_exported(path, fmt, [clips])
    with torch.no_grad():
        expected_logits = model.cls_head(model.backbone(clips.flatten(0, 1))).reshape(3, 2, -1)
    assert logits.shape == (3, 2, 2) and scores.shape == (3, 2)
    assert expected_logits.abs().max() > 0.5  # logits of order 1, not the x0.001 init's
    np.testing.assert_allclose(logits, expected_logits.numpy(), rtol=0, atol=TOL)
    np.testing.assert_allclose(scores, expected_logits.softmax(-1).mean(1).numpy(), rtol=0,
                               atol=TOL)

    # a real clip through the recipe's test pipeline: the recognizer's own test_step
    sample = _real_sample(cfg, shared_data / 'videos' / 'test.mp4')
    data = model.data_preprocessor(pseudo_collate([sample]), False)
    views = data['inputs']
    assert tuple(views.shape) == (1, 2, 3, 4, 32, 32)
    with torch.no_grad():
        pred = model.test_step(pseudo_collate([sample]))[0].pred_score
        view_logits = model.cls_head(model.backbone(views[0]))
    scores, logits = run_exported(path, fmt, [views])
    np.testing.assert_allclose(scores[0], pred.numpy(), rtol=0, atol=TOL)
    np.testing.assert_allclose(logits[0], view_logits.numpy(), rtol=0, atol=TOL)


@pytest.mark.parametrize('fmt', ['onnx', 'torchscript'])
def test_exported_file_runs_in_a_fresh_process_without_umt_mm(recognizer, fmt, tmp_path):
    from umt_mm.deployment import example_inputs, export, make_wrapper
    _, model = recognizer
    wrapper = make_wrapper(model, num_views=1)
    path = export(wrapper, example_inputs(wrapper, (4, 32, 32)), tmp_path / f'm.{fmt}', fmt)
    inputs = example_inputs(wrapper, (4, 32, 32), batch=2, seed=3)
    outputs, loaded = run_in_fresh_process(path, fmt, inputs, tmp_path / 'fresh')
    assert loaded == []
    with torch.no_grad():
        scores, logits = wrapper(*inputs)
    np.testing.assert_allclose(outputs[0], scores.numpy(), rtol=0, atol=TOL)
    np.testing.assert_allclose(outputs[1], logits.numpy(), rtol=0, atol=TOL)


def test_average_clips_score_and_none(recognizer):
    from umt_mm.deployment import make_wrapper
    _, model = recognizer
    clips = torch.randn(2, 3, 3, 4, 32, 32)
    with torch.no_grad():
        logits = model.cls_head(model.backbone(clips.flatten(0, 1))).reshape(2, 3, -1)
        try:
            model.cls_head.average_clips = 'score'
            scores, _ = make_wrapper(model, 3)(clips)
            torch.testing.assert_close(scores, logits.mean(1))
            # MMAction2's average_clip with None returns the views' logits unaveraged
            model.cls_head.average_clips = None
            scores, _ = make_wrapper(model, 3)(clips)
            torch.testing.assert_close(scores, logits)
        finally:
            model.cls_head.average_clips = 'prob'


def test_export_tool_writes_sidecar_and_verifies(shared_data, tmp_path, capsys):
    import importlib.util
    spec = importlib.util.spec_from_file_location('export_tool',
                                                  ROOT / 'tools/deployment/export.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    out = tmp_path / 'deploy' / 'tiny.onnx'
    label_map = tmp_path / 'labels.txt'
    label_map.write_text('walking\nrunning\n')
    code = tool.main([str(QUICKSTART), 'none', '--format', 'onnx', '--out', str(out),
                      '--views', '2', '--label-map', str(label_map), '--verify',
                      '--video', str(shared_data / 'videos' / 'test.mp4')])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert out.is_file()
    info = json.loads(out.with_suffix('.json').read_text())
    assert info['task'] == 'recognition' and info['format'] == 'onnx'
    assert info['exporter'].startswith('torch.onnx.export(dynamo=False)')
    assert info['inputs'][0]['shape'] == ['batch', 2, 3, 4, 32, 32]
    assert info['preprocessing']['mean'] == pytest.approx([123.675, 116.28, 103.53])
    assert info['preprocessing']['std'] == pytest.approx([58.395, 57.12, 57.375])
    assert info['labels'] == dict(num_classes=2, label_map=str(label_map),
                                  names=['walking', 'running'])
    protocol = info['test_protocol']
    assert (protocol['num_clips'], protocol['num_crops'], protocol['views_per_video']) == (2, 1, 2)
    assert protocol['average_clips'] == 'prob' and protocol['exported_views'] == 2
    # three checks (random, random batch 2, real clip), each with its largest difference
    lines = [line for line in printed.splitlines() if line.startswith('[export] verify ')]
    assert len(lines) == 3 and 'real clip test.mp4 (1, 2, 3, 4, 32, 32)' in lines[2]
    for line in lines:
        worst = max(float(v) for v in
                    [part.split()[-1] for part in line.split(': largest')[1].split(',')])
        assert worst <= 1e-4
    assert 'largest difference' in printed and 'within 0.0001' in printed


@pytest.mark.slow
@pytest.mark.parametrize('fmt', ['onnx', 'torchscript'])
def test_full_size_b16_parity_on_random_and_real_clip(fmt, shared_data, tmp_path):
    """UMT-B/16 K400 recipe at 8x224 (random weights, head spread to O(1) logits)."""
    from deploy_helpers import spread_weights

    from umt_mm.deployment import (
        build_model,
        example_inputs,
        export,
        largest_difference,
        make_wrapper,
        real_clip_inputs,
    )
    config = ROOT / 'configs/k400/umt-base-p16-res224_k710-ft_16xb16-u8-5e_kinetics400-rgb.py'
    cfg, model = build_model(config)
    spread_weights(model)
    wrapper = make_wrapper(model, num_views=1)
    inputs = example_inputs(wrapper, (8, 224, 224))
    path = export(wrapper, inputs, tmp_path / f'b16.{fmt}', fmt)
    assert max(largest_difference(wrapper, path, fmt, inputs).values()) <= TOL
    real = real_clip_inputs(cfg, model, wrapper, shared_data / 'videos' / 'test.mp4',
                            (8, 224, 224))
    assert real[0].shape == (12, 1, 3, 8, 224, 224)  # 4 clips x 3 crops
    assert max(largest_difference(wrapper, path, fmt, real).values()) <= TOL
