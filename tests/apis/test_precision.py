"""Inference precision and backend options: what auto decides, dtypes, accuracy gates."""
import copy
from pathlib import Path

import numpy as np
import pytest
import torch

from umt_mm.apis import load_config
from umt_mm.apis.precision import (
    BF16_MIN_COSINE,
    INT8_MIN_COSINE,
    fold_qkv_bias,
    output_cosine,
    prepare_inference,
    probe_inputs,
)
from umt_mm.engine.cpu_bf16 import CPUBf16Support

TOY = 'configs/quickstart/umt-tiny-p16-res32_scratch_1xb2-u4-2e_toy-rgb.py'
K400_B16 = 'umt-base-p16-res224_k710-ft_16xb16-u8-5e_kinetics400-rgb'
NATIVE = CPUBf16Support(True, 'AVX512', ('amx_bf16', ), 'the CPU runs bf16 natively (test)')
EMULATED = CPUBf16Support(False, 'AVX2', (), 'the CPU has no native bf16 (test)')


def _model(config=TOY, seed=0, cfg_options=None):
    from mmaction.registry import MODELS
    cfg = load_config(config, cfg_options)
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model.eval()


def test_auto_stays_fp32_where_bf16_is_not_faster():
    model = _model()
    choice = prepare_inference(model, 'auto', bf16_support=EMULATED)
    assert choice.precision == 'fp32' and 'no native bf16' in choice.reason
    assert choice.gate_cosine is None
    assert all(p.dtype == torch.float32 for p in model.parameters())


def test_auto_takes_bf16_where_native_and_the_gate_passes():
    model = _model()
    reference = copy.deepcopy(model)
    choice = prepare_inference(model, 'auto', bf16_support=NATIVE)
    assert choice.precision == 'bf16' and choice.gate_cosine >= BF16_MIN_COSINE
    assert 'gate passed' in choice.describe()
    assert model.backbone.blocks[0].attn.qkv.weight.dtype == torch.bfloat16
    assert model.backbone.fc_norm.weight.dtype == torch.float32
    clip = probe_inputs(model, batch=2, seed=3)
    with torch.no_grad():
        out, ref = model.backbone(clip), reference.backbone(clip)
    assert out.dtype == torch.float32 and out.shape == ref.shape == (2, 32)
    assert output_cosine(ref, out) >= BF16_MIN_COSINE


def test_auto_falls_back_to_fp32_when_the_gate_fails(monkeypatch):
    from umt_mm.apis import precision
    monkeypatch.setattr(precision, 'BF16_MIN_COSINE', 1.5)  # no output can pass
    model = _model()
    reference = copy.deepcopy(model)
    choice = prepare_inference(model, 'auto', bf16_support=NATIVE)
    assert choice.precision == 'fp32' and 'fails the accuracy gate' in choice.reason
    clip = probe_inputs(model, seed=4)
    with torch.no_grad():
        torch.testing.assert_close(model.backbone(clip), reference.backbone(clip),
                                   rtol=0, atol=0)


def test_bf16_where_it_is_slower_runs_with_one_warning():
    model = _model()
    choice = prepare_inference(model, 'bf16', bf16_support=EMULATED)
    assert choice.precision == 'bf16' and len(choice.warnings) == 1
    assert 'not faster here' in choice.warnings[0]


def test_folding_the_qkv_bias_keeps_the_output():
    model = _model()
    for block in model.backbone.blocks:  # non-zero biases
        torch.nn.init.normal_(block.attn.q_bias, std=0.5)
        torch.nn.init.normal_(block.attn.v_bias, std=0.5)
    clip = probe_inputs(model)
    with torch.no_grad():
        before = model.backbone(clip)
        assert fold_qkv_bias(model.backbone) == 2
        torch.testing.assert_close(model.backbone(clip), before, rtol=1e-5, atol=1e-6)
    assert model.backbone.blocks[0].attn.qkv.bias is not None


def test_int8_quantizes_the_linears_and_keeps_the_output_close():
    model = _model(cfg_options={'model.backbone.arch': dict(
        _delete_=True, embed_dims=64, depth=2, num_heads=2, mlp_ratio=4.0)})
    reference = copy.deepcopy(model)
    choice = prepare_inference(model, 'int8')
    assert choice.precision == 'int8'
    kinds = {type(m).__name__ for m in model.backbone.blocks.modules()}
    assert 'Linear' in kinds and any('Quantized' in k or k == 'Linear' for k in kinds)
    assert type(model.backbone.blocks[0].mlp.fc1).__module__.startswith('torch.ao.nn.quantized')
    clip = probe_inputs(model, batch=2)
    with torch.no_grad():
        out = model.backbone(clip)
        assert out.dtype == torch.float32
        assert output_cosine(reference.backbone(clip), out) >= INT8_MIN_COSINE


def test_bad_requests_fail_clearly():
    model = _model()
    with pytest.raises(ValueError, match="precision 'fp16': choose one of fp32, bf16"):
        prepare_inference(model, 'fp16')
    with pytest.raises(ValueError, match="backend 'tensorrt': choose one of eager, compile"):
        prepare_inference(model, 'fp32', backend='tensorrt')
    with pytest.raises(TypeError, match='UMT ViT backbone'):
        prepare_inference(torch.nn.Linear(2, 2), 'bf16')


def test_threads_are_set():
    before = torch.get_num_threads()
    try:
        assert prepare_inference(_model(), 'fp32', threads=1).threads == 1
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_ava_detector_feature_map_in_bf16_and_int8(repo_root):
    """The AVA detector's backbone runs reduced (eager, and in OpenVINO where installed);
    its feature map (RoI pooling input) is fp32."""
    tiny = {'model.backbone.arch': dict(_delete_=True, embed_dims=32, depth=1, num_heads=2,
                                        mlp_ratio=2.0),
            'model.roi_head.bbox_head.in_channels': 32}
    config = 'umt-base-p16_k710-ft_16xb8-8x8x1-30e_ava22-rgb'
    from umt_mm.apis.exported_backends import installed
    paths = [('bf16', 'eager'), ('int8', 'eager')] + (
        [('bf16', 'openvino'), ('int8', 'openvino')] if installed('openvino') else [])
    for precision, backend in paths:
        model = _model(config, cfg_options=tiny)
        reference = copy.deepcopy(model)
        prepare_inference(model, precision, backend, bf16_support=NATIVE)
        clip = torch.randn(1, 3, 8, 64, 96, generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            out, ref = model.backbone(clip), reference.backbone(clip)
        assert out.dtype == torch.float32 and out.shape == ref.shape == (1, 32, 8, 4, 6)
        assert output_cosine(ref, out) >= INT8_MIN_COSINE


def _sample_clip(video, frames: int = 8, size: int = 224) -> torch.Tensor:
    """``frames`` evenly spaced frames, short side ``size`` (bilinear), centre crop,
    normalised with ImageNet mean / std: ``(1, 3, T, size, size)``."""
    import cv2
    import decord
    reader = decord.VideoReader(str(video), num_threads=1)
    index = np.linspace(0, len(reader) - 1, frames).round().astype(int)
    out = []
    for frame in reader.get_batch(list(index)).asnumpy():
        h, w = frame.shape[:2]
        scale = size / min(h, w)
        frame = cv2.resize(frame, (round(w * scale), round(h * scale)),
                           interpolation=cv2.INTER_LINEAR)
        top, left = (frame.shape[0] - size) // 2, (frame.shape[1] - size) // 2
        out.append(frame[top:top + size, left:left + size])
    clip = (np.stack(out).astype(np.float32) - [123.675, 116.28, 103.53]) / [58.395, 57.12, 57.375]
    return torch.from_numpy(clip).permute(3, 0, 1, 2)[None].float()


#: (precision, backend) paths the gates cover: eager, and the engines where installed
GATED_PATHS = (('bf16', 'eager'), ('int8', 'eager'), ('int8', 'onnxruntime'),
               ('bf16', 'openvino'), ('int8', 'openvino'))


def _check_gates(model, clips, calibration):
    from umt_mm.apis.exported_backends import installed
    gates = {'bf16': BF16_MIN_COSINE, 'int8': INT8_MIN_COSINE}
    with torch.no_grad():
        reference = model.cls_head(model.backbone(clips))
        for precision, backend in GATED_PATHS:
            if backend != 'eager' and not installed(backend):
                continue
            reduced = copy.deepcopy(model)
            # OpenVINO's static int8 calibrates on other real clips than those it is gated on
            prepare_inference(reduced, precision, backend, bf16_support=NATIVE,
                              calibration=calibration)
            logits = reduced.cls_head(reduced.backbone(clips))
            for ref, out in zip(reference, logits):
                assert output_cosine(ref, out) >= gates[precision], (precision, backend)


VIDEOS = ('test.mp4', 'demo_spatiotemporal_det.mp4')
#: the clips static int8 calibrates on (one clip per call, as the gated batch of two)
CALIBRATION_VIDEOS = ('part_0.mp4', 'part_1.mp4')


@pytest.mark.slow
def test_b16_gates_on_real_videos(shared_data):
    """B/16 8x224 with seeded random weights on the real sample videos: the logits' cosine
    to fp32 is >= 0.999 in bf16 and >= 0.99 in int8, eager and through the engines
    (about 3 min on an idle 2-core CPU)."""
    clips = torch.cat([_sample_clip(shared_data / 'videos' / name) for name in VIDEOS])
    calibration = torch.cat([_sample_clip(shared_data / 'videos' / name)
                             for name in CALIBRATION_VIDEOS])
    _check_gates(_model(K400_B16), clips, calibration)


def test_b16_width_gates_on_real_videos(shared_data):
    """The same gates with the B/16 width and heads at 2 blocks on 8 x 64 px clips."""
    clips = torch.cat([_sample_clip(shared_data / 'videos' / name, size=64) for name in VIDEOS])
    calibration = torch.cat([_sample_clip(shared_data / 'videos' / name, size=64)
                             for name in CALIBRATION_VIDEOS])
    _check_gates(_model(K400_B16, cfg_options={
        'model.backbone.arch': dict(_delete_=True, embed_dims=768, depth=2, num_heads=12,
                                    mlp_ratio=4.0),
        'model.backbone.img_size': 64}), clips, calibration)


@pytest.mark.slow
def test_compiled_detector_backbone_takes_a_second_frame_size():
    # the AVA detector sees each video's frame size: its compiled backbone recompiles for a
    # new one (static shapes) instead of failing in Inductor's dynamic-shape path
    tiny = {'model.backbone.arch': dict(_delete_=True, embed_dims=32, depth=1, num_heads=2,
                                        mlp_ratio=2.0),
            'model.backbone.num_frames': 4, 'model.roi_head.bbox_head.in_channels': 32}
    model = _model('umt-base-p16_k710-ft_16xb8-8x8x1-30e_ava22-rgb', cfg_options=tiny)
    reference = copy.deepcopy(model)
    prepare_inference(model, 'fp32', 'compile')
    for shape in ((1, 3, 4, 64, 64), (1, 3, 4, 64, 128)):
        clip = torch.randn(*shape, generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            torch.testing.assert_close(model.backbone(clip), reference.backbone(clip),
                                       rtol=1e-4, atol=1e-4)


def test_compiled_bf16_and_int8_keep_the_eager_numbers():
    """The compile backend (Inductor, frozen weights) on the bf16 and int8 backbones gives
    the eager path's output, with and without grad mode."""
    for precision in ('bf16', 'int8'):
        eager, compiled = _model(), _model()
        prepare_inference(eager, precision, bf16_support=NATIVE)
        prepare_inference(compiled, precision, 'compile', bf16_support=NATIVE)
        clip = probe_inputs(eager, batch=1, seed=3)
        with torch.no_grad():
            expected = eager.backbone(clip)
            assert output_cosine(expected, compiled.backbone(clip)) > 0.9999, precision
        assert output_cosine(expected, compiled.backbone(clip).detach()) > 0.9999, precision


def test_onnxruntime_backend_fp32_and_int8():
    """The backbone exported per input shape and run by onnxruntime: fp32 equals eager,
    int8 (onnxruntime's dynamic quantization) passes the int8 gate; bf16 is refused."""
    from umt_mm.apis.precision import OnnxRuntimeBackbone
    reference = _model()
    clip = probe_inputs(reference, batch=2, seed=5)
    with torch.no_grad():
        expected = reference.backbone(clip)
    for precision, check in (('fp32', 'exact'), ('auto', 'exact'), ('int8', 'gate')):
        model = copy.deepcopy(reference)
        choice = prepare_inference(model, precision, 'onnxruntime')
        assert isinstance(model.backbone, OnnxRuntimeBackbone)
        assert choice.backend == 'onnxruntime'
        assert choice.precision == ('int8' if precision == 'int8' else 'fp32')
        with torch.no_grad():
            out = model.backbone(clip)
            again = model.backbone(clip[:1])  # another shape: a second export
        assert out.dtype == torch.float32 and out.shape == expected.shape
        assert len(model.backbone._sessions) == 2 and again.shape == (1, 32)
        if check == 'exact':
            torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-5)
        else:
            assert output_cosine(expected, out) >= INT8_MIN_COSINE
    with pytest.raises(ValueError, match='the onnxruntime backend runs fp32 or int8'):
        prepare_inference(copy.deepcopy(reference), 'bf16', 'onnxruntime')


def _clip_calibration_expected(reference, batch: int, calibration_batch: int):
    """A probe clip, calibration clips (other seeds) and the fp32 backbone output on the clip."""
    clip = probe_inputs(reference, batch=batch, seed=5)
    calibration = probe_inputs(reference, batch=calibration_batch, seed=6)
    with torch.no_grad():
        return clip, calibration, reference.backbone(clip)


def test_openvino_backend_fp32_bf16_and_calibrated_int8():
    """The export run by OpenVINO: fp32 pinned to f32 equals eager; bf16 passes the bf16
    gate; int8 calibrated on given clips passes the int8 gate and keeps the attention
    products and the patch embedding in float."""
    pytest.importorskip('openvino', reason='the openvino extra is not installed')
    import onnx

    from umt_mm.apis.precision import OpenVinoBackbone
    reference = _model()
    clip, calibration, expected = _clip_calibration_expected(reference, 2, 4)
    for precision, minimum in (('fp32', None), ('bf16', BF16_MIN_COSINE),
                               ('int8', INT8_MIN_COSINE)):
        model = copy.deepcopy(reference)
        choice = prepare_inference(model, precision, 'openvino', bf16_support=NATIVE,
                                   calibration=calibration)
        assert isinstance(model.backbone, OpenVinoBackbone)
        assert (choice.backend, choice.precision) == ('openvino', precision)
        with torch.no_grad():
            out = model.backbone(clip)
        assert out.dtype == torch.float32 and out.shape == expected.shape
        if minimum is None:
            torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-5)
        else:
            assert output_cosine(expected, out) >= minimum
    quantized = onnx.load(next(Path(model.backbone._dir.name).glob('*.int8.onnx')))
    ops = [node.op_type for node in quantized.graph.node]
    assert ops.count('DequantizeLinear') > 0
    # every quantized MatMul has a constant (weight) operand; the attention products and
    # the patch-embedding Conv read float activations
    consts = {init.name for init in quantized.graph.initializer}
    dequantized = {n.output[0]: n.input[0] for n in quantized.graph.node
                   if n.op_type == 'DequantizeLinear'}
    for node in quantized.graph.node:
        if node.op_type == 'MatMul' and all(i in dequantized for i in node.input):
            assert any(dequantized[i] in consts for i in node.input), node.name
        if node.op_type == 'Conv':
            assert node.input[1] in consts


def test_openvino_auto_follows_the_cpu_bf16_decision():
    pytest.importorskip('openvino', reason='the openvino extra is not installed')
    model = _model()
    choice = prepare_inference(model, 'auto', 'openvino', bf16_support=EMULATED)
    assert choice.precision == 'fp32' and model.backbone.precision == 'fp32'
    model = _model()
    choice = prepare_inference(model, 'auto', 'openvino', bf16_support=NATIVE)
    assert choice.precision == 'bf16' and choice.gate_cosine >= BF16_MIN_COSINE
    assert len(model.backbone._sessions) == 1  # the gate's export is kept


def test_exported_backends_without_their_package_fail_clearly(monkeypatch):
    from umt_mm.apis import exported_backends
    monkeypatch.setattr(exported_backends, 'installed', lambda package: False)
    for backend, extra in (('onnxruntime', 'deploy'), ('openvino', 'openvino')):
        with pytest.raises(ValueError, match=rf'needs {backend} \(pip install -e \.\[{extra}\]'):
            prepare_inference(_model(), 'fp32', backend)
    # OpenVINO installed, onnxruntime (its int8 quantizer) not
    monkeypatch.setattr(exported_backends, 'installed', lambda package: package != 'onnxruntime')
    with pytest.raises(ValueError, match=r'openvino backend in int8 needs onnxruntime \(pip '
                       r'install -e \.\[openvino\]'):
        prepare_inference(_model(), 'int8', 'openvino')


def test_static_int8_calibration_clips_must_match_the_input():
    from umt_mm.apis.exported_backends import ExportedBackbone
    model = _model()
    wrapper = ExportedBackbone(model.backbone, 'int8',
                               calibration=torch.zeros(3, 3, 4, 32, 32))
    clips = wrapper.calibration_clips(torch.zeros(1, 3, 4, 32, 32))
    assert [c.shape for c in clips] == [(1, 3, 4, 32, 32)] * 3
    assert len(wrapper.calibration_clips(torch.zeros(2, 3, 4, 32, 32))) == 1
    with pytest.raises(ValueError, match='do not match the input'):
        wrapper.calibration_clips(torch.zeros(1, 3, 4, 32, 64))


def test_calibration_ranges_are_the_min_max_of_the_quantized_inputs(tmp_path):
    """The ranges static int8 uses: per weight MatMul input, the min / max over every
    calibration clip, the same whether the tensors fit one pass or take one pass each."""
    pytest.importorskip('onnxruntime', reason='the deploy extra is not installed')
    import onnx

    from umt_mm.apis.exported_backends import (
        ExportedBackbone,
        calibration_ranges,
        quantized_inputs,
    )
    model = _model()
    clips = [probe_inputs(model, batch=1, seed=seed) for seed in (1, 2)]
    wrapper = ExportedBackbone(model.backbone)
    path = wrapper.export(clips[0])
    tensors, weighted, products = quantized_inputs(onnx.load(path).graph)
    # per block: qkv, proj, fc1, fc2 carry weights; q @ k and attention @ v do not
    depth = len(model.backbone.blocks)
    assert len(weighted) == 4 * depth and len(products) == 2 * depth
    feeds = [c.numpy() for c in clips]
    ranges = calibration_ranges(path, feeds)
    assert set(ranges) == set(tensors)
    assert calibration_ranges(path, feeds, budget=1) == ranges  # one tensor per pass
    seen = []
    # the first quantized input: block 0's qkv reads its first norm's output
    hook = model.backbone.blocks[0].norm1.register_forward_hook(
        lambda module, args, out: seen.append(out))
    with torch.no_grad():
        for clip in clips:
            model.backbone(clip)
    hook.remove()
    first = torch.cat(seen)
    low, high = ranges[tensors[0]]
    assert low == pytest.approx(float(first.min()), abs=1e-5)
    assert high == pytest.approx(float(first.max()), abs=1e-5)


def test_calibration_learns_the_dimensions_shape_inference_leaves_open(monkeypatch):
    """The AVA detector's export pads frames to whole patches with computed pads, so ONNX
    shape inference leaves the batch dimension symbolic: the first pass learns it, and the
    rest of the tensors share one pass instead of taking one full forward each."""
    pytest.importorskip('onnxruntime', reason='the deploy extra is not installed')
    import onnx
    import onnxruntime as ort

    from umt_mm.apis import exported_backends
    from umt_mm.apis.exported_backends import ExportedBackbone, calibration_ranges
    tiny = {'model.backbone.arch': dict(_delete_=True, embed_dims=32, depth=2, num_heads=2,
                                        mlp_ratio=2.0),
            'model.backbone.num_frames': 4, 'model.roi_head.bbox_head.in_channels': 32}
    model = _model('umt-base-p16_k710-ft_16xb8-8x8x1-30e_ava22-rgb', cfg_options=tiny)
    clips = [torch.randn(1, 3, 4, 64, 96, generator=torch.Generator().manual_seed(seed))
             for seed in (0, 1)]
    wrapper = ExportedBackbone(model.backbone)  # its folder lives as long as it
    path = wrapper.export(clips[0])
    graph = onnx.load(path).graph
    tensors = exported_backends.quantized_inputs(graph)[0]
    shapes = exported_backends._inferred_shapes(onnx.load(path))
    assert any(isinstance(d, str) for d in shapes[tensors[-1]])  # the symbolic batch
    sessions = []
    session_class = ort.InferenceSession

    def counted(*args, **kwargs):
        sessions.append(1)
        return session_class(*args, **kwargs)
    monkeypatch.setattr(ort, 'InferenceSession', counted)
    feeds = [c.numpy() for c in clips]
    ranges = calibration_ranges(path, feeds)
    assert len(sessions) == 2 and set(ranges) == set(tensors)
    assert calibration_ranges(path, feeds, budget=1) == ranges
    assert len(sessions) == 2 + len(tensors)  # one tensor per pass under a 1-byte budget


def _outlier_model():
    """The toy recognizer with one outlier channel into block 0's fc2: fc1's bias drives
    channel 3 to ~100 while fc2 ignores it (zero weights), and fc2's output carries the
    block (weights x30). Per-tensor uint8 over [0, 100] leaves fc2's real inputs ~0."""
    model = _model()
    mlp = model.backbone.blocks[0].mlp
    with torch.no_grad():
        mlp.fc1.bias[3] = 100.0
        mlp.fc2.weight.mul_(30)
        mlp.fc2.weight[:, 3] = 0
    return model


OUTLIER_FC2 = '/blocks.0/mlp/fc2/MatMul'


def test_layer_errors_rank_the_layer_int8_breaks():
    """Each weight layer's relative output error under int8 alone: small everywhere on the
    toy model; the fc2 that reads the outlier channel loses its whole output."""
    pytest.importorskip('onnxruntime', reason='the deploy extra is not installed')
    import onnx

    from umt_mm.apis.exported_backends import (
        ExportedBackbone,
        calibration_ranges,
        layer_errors,
        quantized_inputs,
    )
    for model, worst in ((_model(), None), (_outlier_model(), OUTLIER_FC2)):
        clips = [probe_inputs(model, batch=1, seed=seed).numpy() for seed in (1, 2)]
        wrapper = ExportedBackbone(model.backbone)  # its folder lives as long as it
        path = wrapper.export(torch.from_numpy(clips[0]))
        errors = layer_errors(path, clips, calibration_ranges(path, clips))
        assert set(errors) == set(quantized_inputs(onnx.load(path).graph)[1])
        ranked = sorted(errors, key=errors.get, reverse=True)
        if worst is None:
            assert max(errors.values()) < 1e-3
        else:
            assert ranked[0] == worst and errors[worst] > 0.5
            assert errors[ranked[1]] < 1e-3
        assert layer_errors(path, clips, calibration_ranges(path, clips), budget=1) == \
            pytest.approx(errors)


def test_static_int8_keeps_the_most_sensitive_layers_in_float(tmp_path):
    """Below ``min_cosine`` on the calibration clips, the layers int8 hurts most stay in
    float until the output is back above it; every layer in float writes the fp32 graph."""
    pytest.importorskip('onnxruntime', reason='the deploy extra is not installed')
    import onnx

    from umt_mm.apis.exported_backends import ExportedBackbone, quantize_static_int8
    model = _outlier_model()
    clips = [probe_inputs(model, batch=1, seed=seed).numpy() for seed in (1, 2)]
    wrapper = ExportedBackbone(model.backbone)  # its folder lives as long as it
    path = wrapper.export(torch.from_numpy(clips[0]))
    target = str(tmp_path / 'int8.onnx')
    unchecked = quantize_static_int8(path, target, clips)
    assert unchecked.cosine is None and len(unchecked.layers) == 8 and not unchecked.kept_float
    report = quantize_static_int8(path, target, clips, min_cosine=INT8_MIN_COSINE)
    assert report.first_cosine < INT8_MIN_COSINE <= report.cosine
    assert report.kept_float == [OUTLIER_FC2] and len(report.layers) == 7
    assert OUTLIER_FC2 in report.describe()
    graph = onnx.load(target).graph
    dequantized = {n.output[0] for n in graph.node if n.op_type == 'DequantizeLinear'}
    matmuls = {n.name: n for n in graph.node if n.op_type == 'MatMul'}
    assert not set(matmuls[OUTLIER_FC2].input) & dequantized
    assert set(matmuls['/blocks.1/mlp/fc2/MatMul'].input) <= dequantized
    everything = quantize_static_int8(path, target, clips, min_cosine=1.5)
    assert everything.layers == [] and len(everything.kept_float) == 8
    assert not any(n.op_type == 'DequantizeLinear' for n in onnx.load(target).graph.node)


def test_eager_int8_keeps_what_int8_breaks_in_float():
    """PyTorch's dynamic int8 checks the quantized backbone on the calibration clips: the
    fc2 reading the outlier channel stays a float ``Linear`` and the output passes the
    int8 gate, which it fails with every ``Linear`` in int8; every layer in float leaves
    no quantized module."""
    from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear

    from umt_mm.apis.precision import to_int8
    reference = _outlier_model()
    clip, calibration, expected = _clip_calibration_expected(reference, 1, 2)

    def cosine(model):
        with torch.no_grad():
            return output_cosine(expected, model.backbone(clip))
    unchecked = copy.deepcopy(reference)
    report = to_int8(unchecked)
    assert report.cosine is None and len(report.layers) == 8
    assert cosine(unchecked) < INT8_MIN_COSINE
    model = copy.deepcopy(reference)
    choice = prepare_inference(model, 'int8', calibration=calibration)
    assert choice.precision == 'int8' and choice.gate_cosine >= INT8_MIN_COSINE
    assert 'kept in float as the most sensitive: blocks.0.mlp.fc2' in choice.reason
    assert type(model.backbone.blocks[0].mlp.fc2) is torch.nn.Linear
    assert isinstance(model.backbone.blocks[1].mlp.fc2, DynamicLinear)
    assert isinstance(model.backbone.blocks[0].attn.qkv, DynamicLinear)
    assert cosine(model) >= INT8_MIN_COSINE
    everything = copy.deepcopy(reference)
    report = to_int8(everything, calibration, min_cosine=1.5)
    assert report.layers == [] and len(report.kept_float) == 8
    assert not any(isinstance(m, DynamicLinear) for m in everything.modules())
    torch.testing.assert_close(everything.backbone(clip), expected)


def test_openvino_int8_keeps_what_int8_breaks_in_float():
    """The OpenVINO int8 backbone checks its own quantized export (run by OpenVINO) on the
    calibration clips: fc2 stays in float and the output passes the int8 gate, which it
    fails with every layer in int8."""
    pytest.importorskip('openvino', reason='the openvino extra is not installed')
    from umt_mm.apis.precision import OpenVinoBackbone
    reference = _outlier_model()
    clip, calibration, expected = _clip_calibration_expected(reference, 1, 2)
    model = copy.deepcopy(reference)
    prepare_inference(model, 'int8', 'openvino', calibration=calibration)
    with torch.no_grad():
        out = model.backbone(clip)
    assert output_cosine(expected, out) >= INT8_MIN_COSINE
    report = model.backbone.int8[tuple(clip.shape)]
    assert report.kept_float == [OUTLIER_FC2] and report.first_cosine < INT8_MIN_COSINE
    unchecked = OpenVinoBackbone(copy.deepcopy(reference.backbone), 'int8',
                                 calibration=calibration, min_cosine=None)
    with torch.no_grad():
        assert output_cosine(expected, unchecked(clip)) < INT8_MIN_COSINE
    assert unchecked.int8[tuple(clip.shape)].kept_float == []


#: the official UMT-B/16 K400 release (``b16_ptk710_ftk710_ftk400_f8_res224.pth``), given by
#: path; unconverted (converted in memory) or converted by tools/convert_umt_checkpoint.py
OFFICIAL_K400_B16 = 'UMT_MM_K400_B16_CHECKPOINT'


@pytest.mark.slow
def test_official_k400_b16_keeps_its_logits_in_every_path(shared_data):
    """The official K400 B/16 weights on the real sample videos: every precision and
    engine passes its gate (about 5 min on an idle 2-core CPU)."""
    import os

    from umt_mm.apis import model_loading
    from umt_mm.converters.checkpoint_layouts import detect_layout
    path = os.environ.get(OFFICIAL_K400_B16)
    if not path or not os.path.isfile(path):
        pytest.skip(f'set {OFFICIAL_K400_B16} to the official b16_ptk710_ftk710_ftk400_f8_'
                    'res224.pth (or its conversion) to run this gate')
    model = _model(K400_B16)
    official = detect_layout(model_loading.read_state_dict(path)).name == 'official_finetune'
    model_loading.load_checkpoint_strictly(model, path,
                                           convert_kind='finetune' if official else None)
    clips = torch.cat([_sample_clip(shared_data / 'videos' / name) for name in VIDEOS])
    calibration = torch.cat([_sample_clip(shared_data / 'videos' / name)
                             for name in CALIBRATION_VIDEOS])
    _check_gates(model, clips, calibration)


def test_openvino_models_share_one_core_that_outlives_them():
    """A Core destroyed before its compiled models corrupted the heap later in the process
    (seen as a crash in a forked data loader): every model is compiled by one Core that
    lives as long as the process, and each request's closure holds its compiled model."""
    pytest.importorskip('openvino', reason='the openvino extra is not installed')
    from umt_mm.apis.exported_backends import openvino_core
    assert openvino_core() is openvino_core()
    model = _model()
    clip = probe_inputs(model)
    prepare_inference(model, 'fp32', 'openvino')
    with torch.no_grad():
        model.backbone(clip)
    (run, ) = model.backbone._sessions.values()
    assert type(run.__defaults__[0]).__name__ == 'CompiledModel'
