"""The AVA detector exported to ONNX gives the PyTorch detector's scores (boxes as input)."""
import json

import numpy as np
import pytest
import torch
from deploy_helpers import run_in_fresh_process, tiny_ava_config, tiny_ava_detector

pytest.importorskip('onnxruntime', reason='the deploy extra (onnx, onnxruntime) is not installed')

TOL = 1e-4
SHAPE = (8, 64, 112)  # frames, padded height, padded width


@pytest.fixture(scope='module')
def detector(tmp_path_factory):
    return tiny_ava_detector(tmp_path_factory.mktemp('ava_cfg'))


@pytest.fixture(scope='module')
def exported(detector, tmp_path_factory):
    from umt_mm.deployment import example_inputs, export, make_wrapper
    _, model = detector
    wrapper = make_wrapper(model)
    path = tmp_path_factory.mktemp('ava') / 'det.onnx'
    export(wrapper, example_inputs(wrapper, SHAPE, num_boxes=3), path, 'onnx')
    return wrapper, path


def _pytorch_scores(model, clip, boxes, person_scores, img_shape):
    """``FastRCNN.predict`` on one clip with these proposals (the test path of the recipe)."""
    from mmaction.structures import ActionDataSample
    from mmengine.structures import InstanceData
    sample = ActionDataSample()
    sample.set_metainfo(dict(img_shape=img_shape))
    sample.proposals = InstanceData(bboxes=boxes.clone())
    sample.proposal_scores = person_scores.numpy()
    with torch.no_grad():
        return model.predict(clip, [sample])[0].pred_instances.scores


def test_onnx_scores_equal_the_detector_for_boxes_inside_and_at_the_border(detector,
                                                                          exported):
    from umt_mm.deployment import run_exported
    _, model = detector
    wrapper, path = exported
    img_h, img_w = 60, 107  # unpadded image inside the 64x112 padded clip
    gen = torch.Generator().manual_seed(3)
    clip = torch.randn(1, 3, *SHAPE, generator=gen)
    clip[..., img_h:, :] = 0  # the preprocessor's zero padding
    clip[..., img_w:] = 0
    boxes = torch.tensor([
        [0.0, 0.0, img_w - 1.0, img_h - 1.0],      # the whole image
        [0.0, 0.0, 20.0, 30.0],                    # top-left corner
        [80.0, 35.0, img_w - 1.0, img_h - 1.0],    # bottom-right corner
        [img_w - 6.0, 10.0, img_w - 1.0, 50.0],    # thin box on the right border
        [30.0, 20.0, 31.0, 21.0],                  # smaller than a feature cell
        [12.5, 7.25, 70.75, 44.5],                 # fractional corners inside
        [40.0, 0.0, 90.0, 59.0],                   # full height
    ])
    person = torch.tensor([0.95, 0.9, 0.85, 0.8, 0.99, 0.7, 1.0])
    expected = _pytorch_scores(model, clip, boxes, person, (img_h, img_w))
    assert expected.shape == (7, 81)
    assert expected.std() > 0.05  # scores spread by the O(1) classifier
    # 7 boxes through a graph exported with 3: the box axis is dynamic
    (scores, ) = run_exported(path, 'onnx', [clip, boxes, torch.tensor([img_h, img_w]).float(),
                                             person])
    np.testing.assert_allclose(scores, expected.numpy(), rtol=0, atol=TOL)


def test_graph_extends_boxes_like_alphaction_and_uses_onnx_roialign(detector, exported):
    import onnx

    from umt_mm.models.roi_heads import extend_boxes
    wrapper, path = exported
    boxes = torch.tensor([[0.0, 0.0, 106.0, 59.0], [10.0, 5.0, 50.0, 40.0],
                          [100.0, 50.0, 106.0, 59.0]])
    ours = wrapper.pooling_boxes(boxes, torch.tensor([60.0, 107.0]))
    assert torch.equal(ours, extend_boxes(boxes, (107, 60), (0.1, 0.05)))
    graph = onnx.load(str(path)).graph
    nodes = [n for n in graph.node if n.op_type == 'RoiAlign']
    assert len(nodes) == 1
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in nodes[0].attribute}
    assert attrs['coordinate_transformation_mode'] == b'output_half_pixel'
    assert attrs['mode'] == b'avg' and attrs['sampling_ratio'] == 0
    assert attrs['output_height'] == attrs['output_width'] == 7
    assert attrs['spatial_scale'] == pytest.approx(1 / 16)
    assert [i.name for i in graph.input] == ['inputs', 'boxes', 'img_shape', 'proposal_scores']


@pytest.mark.filterwarnings('ignore::torch.jit.TracerWarning')  # mmcv's shape assert
def test_onnx_roialign_equals_mmcv_not_aligned(tmp_path):
    """The coordinate mode alone: random maps and boxes, including boxes partly outside."""
    from mmcv.ops import roi_align

    from umt_mm.deployment import roi_align_legacy, run_exported

    class Pool(torch.nn.Module):
        def forward(self, feat, boxes, index):
            return roi_align_legacy(feat, boxes, index, (7, 7), 1 / 16, 0, 'avg')

    gen = torch.Generator().manual_seed(0)
    feat = torch.randn(2, 5, 6, 9, generator=gen)
    boxes = torch.tensor([[0.0, 0.0, 143.0, 95.0], [-20.0, -10.0, 30.0, 40.0],
                          [120.0, 70.0, 170.0, 120.0], [50.0, 50.0, 50.5, 50.5],
                          [3.3, 17.7, 99.9, 61.2]])
    index = torch.tensor([0, 1, 0, 1, 1])
    path = tmp_path / 'roi.onnx'
    torch.onnx.export(Pool(), (feat, boxes, index), str(path), dynamo=False, opset_version=17,
                      input_names=['feat', 'boxes', 'index'])
    (ours, ) = run_exported(path, 'onnx', [feat, boxes, index])
    rois = torch.cat([index[:, None].float(), boxes], 1)
    expected = roi_align(feat, rois, (7, 7), 1 / 16, 0, 'avg', False)
    np.testing.assert_allclose(ours, expected.numpy(), rtol=0, atol=1e-5)
    # the other ONNX mode ('half_pixel', mmcv aligned=True) would differ
    aligned = roi_align(feat, rois, (7, 7), 1 / 16, 0, 'avg', True)
    assert np.abs(ours - aligned.numpy()).max() > 1e-2


def test_real_clip_and_fresh_process(detector, exported, shared_data, tmp_path):
    from umt_mm.deployment import largest_difference, real_clip_inputs
    cfg, model = detector
    wrapper, path = exported
    video = shared_data / 'videos' / 'demo_spatiotemporal_det.mp4'
    inputs = real_clip_inputs(cfg, model, wrapper, video, SHAPE)
    clip, boxes, img_shape, person = inputs
    assert clip.shape == (1, 3) + SHAPE and boxes.shape == (4, 4)
    img_h, img_w = (int(v) for v in img_shape)
    assert img_h == 64 and img_w <= SHAPE[2]
    assert boxes[0].tolist() == [0.0, 0.0, img_w - 1.0, img_h - 1.0]
    assert max(largest_difference(wrapper, path, 'onnx', inputs).values()) <= TOL
    expected = _pytorch_scores(model, clip, boxes, person, (img_h, img_w))
    outputs, loaded = run_in_fresh_process(path, 'onnx', inputs, tmp_path / 'fresh')
    assert loaded == []
    np.testing.assert_allclose(outputs[0], expected.numpy(), rtol=0, atol=TOL)


def test_detector_sidecar_and_torchscript_refusal(detector, tmp_path):
    from umt_mm.deployment import ExportError, deploy_info, export, make_wrapper
    cfg, model = detector
    wrapper = make_wrapper(model)
    with pytest.raises(ExportError, match=r'roi_head\.bbox_roi_extractor\.roi_layer '
                                          r'\(RoIAlign\).*--format onnx'):
        export(wrapper, (), tmp_path / 'det.pt', 'torchscript')
    info = deploy_info(cfg, model, wrapper, SHAPE, 'onnx', tmp_path / 'det.onnx')
    json.dumps(info)
    assert info['task'] == 'ava_detection'
    assert [i['name'] for i in info['inputs']] == ['inputs', 'boxes', 'img_shape',
                                                   'proposal_scores']
    assert info['inputs'][0]['shape'] == [1, 3, 8, 64, 112]
    assert info['preprocessing']['mean'] == pytest.approx([122.7717, 115.9465, 102.9801])
    assert info['preprocessing']['pad_size_divisor'] == 16
    protocol = info['test_protocol']
    assert protocol['test_extend'] == [0.1, 0.05] and protocol['score_by_proposal']
    assert protocol['person_det_score_thr'] == 0.8
    assert protocol['roi_align']['onnx_coordinate_transformation_mode'] == 'output_half_pixel'
    assert info['labels']['num_classes'] == 81 and info['labels']['background_class']


def test_export_tool_on_the_detector(tmp_path, shared_data, capsys):
    import importlib.util

    from deploy_helpers import ROOT
    spec = importlib.util.spec_from_file_location('export_tool',
                                                  ROOT / 'tools/deployment/export.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    out = tmp_path / 'det.onnx'
    video = shared_data / 'videos' / 'demo_spatiotemporal_det.mp4'
    code = tool.main([str(tiny_ava_config(tmp_path)), 'none', '--out', str(out),
                      '--shape', *map(str, SHAPE), '--verify', '--video', str(video),
                      '--label-map', 'ava'])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert 'real clip demo_spatiotemporal_det.mp4' in printed and 'within 0.0001' in printed
    info = json.loads(out.with_suffix('.json').read_text())
    assert info['file'] == 'det.onnx'
    names = info['labels']['names']
    assert len(names) == 60 and names['80'] == 'watch (a person)'
