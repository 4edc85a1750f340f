"""UMT backbones run by an inference engine from an ONNX export: onnxruntime and OpenVINO.

Both wrap the fp32 PyTorch backbone and export it with the TorchScript-based ONNX exporter
(as :mod:`umt_mm.deployment`, opset 17) at the first input of each shape (the AVA detector
sees one shape per frame size), into a temporary folder that lives as long as the wrapper.

* :class:`OnnxRuntimeBackbone`: onnxruntime's CPU execution provider; ``int8`` quantizes the
  exported graph with onnxruntime's dynamic quantization (int8 weights, activations
  quantized per call: its VNNI / AMX kernels).
* :class:`OpenVinoBackbone`: OpenVINO's CPU plugin with an explicit inference precision
  (``fp32`` is pinned to f32: left alone, OpenVINO runs bf16 on CPUs with AMX or
  AVX512-BF16); ``bf16`` sets its bf16 precision hint; ``int8`` is static post-training
  quantization calibrated on real clips (:func:`quantize_static_int8`), which OpenVINO
  runs with its int8 kernels; the quantized export is checked on those clips, and the
  weight layers int8 hurts most (:func:`layer_errors`) stay in float where it fails.
"""
from __future__ import annotations

import functools
import logging
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import torch
import torch.nn as nn

from .quantization import (
    INT8_MIN_COSINE,
    Int8Report,
    keep_sensitive_in_float,
    output_cosine,
    relative_error,
)

#: attributes of the wrapped backbone that the recognizers and detectors read
MIRRORED = ('num_frames', 'img_size', 'output', 'embed_dims', 'patch_size')
#: OpenVINO's inference precision per umt_mm precision
OPENVINO_PRECISION = {'fp32': 'f32', 'bf16': 'bf16', 'int8': 'f32'}


@contextmanager
def _quiet_root_logger():
    """onnxruntime's quantization logs advice (pre-process the model) on the root logger."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


#: bytes of calibrated tensors one calibration pass may hold (the passes split the tensors)
CALIBRATION_BUDGET = 1 << 30


def quantized_inputs(graph) -> tuple[list[str], list[str], list[str]]:
    """The layers static int8 quantizes, and what it keeps in float.

    Args:
        graph (onnx.GraphProto): The exported backbone.

    Returns:
        tuple[list[str], list[str], list[str]]: The activation tensors read by the weight
        ``MatMul`` / ``Gemm`` nodes (their ranges are calibrated), those nodes' names, and
        the names of the ``MatMul`` nodes between two activations (the attention products,
        kept in float).
    """
    constants = {init.name for init in graph.initializer}
    tensors, weighted, products = [], [], []
    for node in graph.node:
        if node.op_type not in ('MatMul', 'Gemm'):
            continue
        if not set(node.input) & constants:
            products.append(node.name)
            continue
        weighted.append(node.name)
        tensors += [t for t in node.input if t and t not in constants and t not in tensors]
    return tensors, weighted, products


def _weight_layers(graph) -> dict[str, tuple[str, np.ndarray]]:
    """``{node: (activation input, weight as (in, out))}`` of the weight ``MatMul`` / ``Gemm``."""
    from onnx import numpy_helper
    constants = {init.name: init for init in graph.initializer}
    layers = {}
    for node in graph.node:
        if node.op_type not in ('MatMul', 'Gemm') or node.input[1] not in constants:
            continue
        weight = numpy_helper.to_array(constants[node.input[1]]).astype(np.float32)
        if node.op_type == 'Gemm' and any(a.name == 'transB' and a.i for a in node.attribute):
            weight = weight.T
        layers[node.name] = (node.input[0], weight)
    return layers


def _inferred_shapes(model) -> dict[str, list[int | str]]:
    """Every tensor's shape from ONNX shape inference: sizes, or the names of symbolic
    dimensions (a batch dimension that a ``Pad`` with computed pads leaves unknown)."""
    import onnx
    # data propagation resolves the shapes the blocks' reshapes compute
    inferred = onnx.shape_inference.infer_shapes(model, data_prop=True).graph
    shapes = {}
    for info in [*inferred.value_info, *inferred.input, *inferred.output]:
        shapes[info.name] = [d.dim_value if d.HasField('dim_value') and d.dim_value > 0 else
                             (d.dim_param or '?') for d in info.type.tensor_type.shape.dim]
    return shapes


def _next_pass(tensors: list[str], shapes: dict[str, list[int | str]], known: dict[str, int],
               budget: int) -> list[str]:
    """The first of ``tensors`` that fit in ``budget`` bytes together (at least one): sizes
    from ``shapes`` with the symbolic dimensions ``known`` so far; a tensor whose size is
    still unknown counts as the whole budget."""
    names, used = [], 0
    for name in tensors:
        dims = [known.get(d, 0) if isinstance(d, str) else d for d in shapes.get(name, [])]
        size = 4 * int(np.prod(dims)) if dims and all(dims) else budget
        if names and used + size > budget:
            break
        names.append(name)
        used += size
    return names


def _activations(source: str, calibration: list[np.ndarray], tensors: list[str],
                 input_name: str, threads: int | None, budget: int,
                 with_output: bool = False) -> Iterator[tuple[int, str, np.ndarray]]:
    """``(clip index, tensor, value)`` of ``tensors`` in the fp32 graph on every clip.

    onnxruntime runs the graph without optimisation, with as many of ``tensors`` as extra
    outputs per pass as fit in ``budget`` bytes; each pass binds the symbolic dimensions
    of the tensors it fetched to their real sizes, so a dimension shape inference left
    unknown costs one pass, not one pass per tensor. ``with_output`` adds the graph's
    first output (its name is ``onnx.load(source).graph.output[0].name``) to the first pass.
    """
    import onnx
    import onnxruntime as ort
    model = onnx.load(source)
    output = model.graph.output[0].name
    shapes = _inferred_shapes(model)
    known: dict[str, int] = {}
    if input_name in tensors:
        for index, clip in enumerate(calibration):
            yield index, input_name, clip
    pending = [name for name in tensors if name != input_name]
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    if threads:
        options.intra_op_num_threads = int(threads)
    first = True
    while pending or (with_output and first):
        names = _next_pass(pending, shapes, known, budget)
        pending = pending[len(names):]
        del model.graph.output[1:]
        model.graph.output.extend(onnx.helper.make_tensor_value_info(
            name, onnx.TensorProto.FLOAT, None) for name in names)
        fetched = names + [output] if with_output and first else names
        session = ort.InferenceSession(model.SerializeToString(), options,
                                       providers=['CPUExecutionProvider'])
        for index, clip in enumerate(calibration):
            for name, value in zip(fetched, session.run(fetched, {input_name: clip})):
                for dim, size in zip(shapes.get(name, []), value.shape):
                    if isinstance(dim, str) and dim != '?':
                        known[dim] = int(size)
                yield index, name, value
        del session
        first = False


def _calibrate(source: str, calibration: list[np.ndarray], graph, input_name: str,
               threads: int | None, budget: int,
               with_output: bool = False) -> tuple[dict[str, tuple[float, float]], list]:
    """The ranges of :func:`calibration_ranges` (``graph``: the source's, already loaded),
    and the fp32 outputs where asked."""
    tensors, output = quantized_inputs(graph)[0], graph.output[0].name
    ranges: dict[str, tuple[float, float]] = {}
    outputs = [None] * len(calibration)
    for index, name, value in _activations(source, calibration, tensors, input_name,
                                           threads, budget, with_output):
        if with_output and name == output and outputs[index] is None:
            outputs[index] = value
            if name not in tensors:
                continue
        low, high = float(value.min()), float(value.max())
        old = ranges.get(name, (low, high))
        ranges[name] = (min(old[0], low), max(old[1], high))
    return ranges, outputs


def calibration_ranges(source: str, calibration: list[np.ndarray], input_name: str = 'video',
                       threads: int | None = None,
                       budget: int = CALIBRATION_BUDGET) -> dict[str, tuple[float, float]]:
    """Min / max of every tensor static int8 quantizes, over the calibration clips.

    The fp32 graph is run by onnxruntime (no graph optimisation) with those tensors as extra
    outputs, as many per pass as fit in ``budget`` bytes (shapes from ONNX shape inference;
    a tensor of unknown shape counts as the whole budget),
    so a 12-view batch or an AVA frame does not hold every activation of the model at once.

    Args:
        source (str): The fp32 ONNX file.
        calibration (list[np.ndarray]): Clips in the export's input shape.
        input_name (str): The graph's input. Defaults to 'video'.
        threads (int, optional): onnxruntime's intra-op threads. Defaults to None.
        budget (int): Bytes of calibrated tensors per pass. Defaults to
            :data:`CALIBRATION_BUDGET`.

    Returns:
        dict[str, tuple[float, float]]: ``{tensor: (min, max)}``.
    """
    import onnx
    graph = onnx.load(source, load_external_data=False).graph
    return _calibrate(source, calibration, graph, input_name, threads, budget)[0]


def layer_errors(source: str, calibration: list[np.ndarray],
                 ranges: dict[str, tuple[float, float]], input_name: str = 'video',
                 threads: int | None = None,
                 budget: int = CALIBRATION_BUDGET) -> dict[str, float]:
    """How much each weight layer loses to int8 alone: its sensitivity.

    For every weight ``MatMul`` / ``Gemm``, the relative squared error
    ``|x_q W_q - x W|^2 / |x W|^2`` of its output over the calibration clips, with its input
    quantized to uint8 over its calibrated range and its weight to int8 per output channel
    (as :func:`quantize_static_int8` writes them), every other layer in fp32.

    Args:
        source (str): The fp32 ONNX file.
        calibration (list[np.ndarray]): Clips in the export's input shape.
        ranges (dict[str, tuple[float, float]]): From :func:`calibration_ranges`.
        input_name (str): The graph's input. Defaults to 'video'.
        threads (int, optional): onnxruntime's intra-op threads. Defaults to None.
        budget (int): Bytes of activations per pass. Defaults to :data:`CALIBRATION_BUDGET`.

    Returns:
        dict[str, float]: ``{node name: relative squared error}``.
    """
    import onnx
    layers = _weight_layers(onnx.load(source).graph)
    readers: dict[str, list[str]] = {}
    for node, (tensor, _) in layers.items():
        readers.setdefault(tensor, []).append(node)
    noise = dict.fromkeys(layers, 0.0)
    signal = dict.fromkeys(layers, 0.0)
    with torch.no_grad():
        for _, tensor, value in _activations(source, calibration, list(readers), input_name,
                                             threads, budget):
            x = torch.from_numpy(np.ascontiguousarray(value))
            for node in readers[tensor]:
                error, total = relative_error(x, torch.from_numpy(layers[node][1]),
                                              *ranges[tensor])
                noise[node] += error
                signal[node] += total
    return {node: noise[node] / max(signal[node], 1e-30) for node in layers}


def _onnxruntime_runner(path: str, threads: int | None = None) -> Callable:
    """An ONNX file run by onnxruntime: a callable on a clip."""
    from ..deployment.exporter import onnx_session
    session = onnx_session(path, threads=threads)
    name = session.get_inputs()[0].name
    return lambda clip: session.run(None, {name: clip})[0]


def quantize_static_int8(source: str, target: str, calibration: list[np.ndarray],
                         input_name: str = 'video', threads: int | None = None,
                         min_cosine: float | None = None,
                         runner: Callable[[str], Callable] | None = None) -> Int8Report:
    """Static int8 quantization of an exported backbone, calibrated on real clips.

    onnxruntime's ``quantize_static`` writes a QDQ graph: the weights of every ``MatMul`` /
    ``Gemm`` with a weight (the blocks' qkv, proj, fc1, fc2) int8 per output channel, their
    input activations uint8 per tensor with the min / max seen over ``calibration``
    (:func:`calibration_ranges`); their outputs stay float. Kept in float, because they lose
    accuracy or gain nothing: the attention products (both operands are activations whose
    range varies per clip), the patch embedding (a ``Conv`` on the normalised pixels), the
    norms, GELU and softmax.

    With ``min_cosine``, the quantized model runs on the calibration clips (``runner``) and
    its output is compared with fp32's. Below ``min_cosine``, the weight layers that lose
    the most to int8 (:func:`layer_errors`, e.g. a layer reading activations with a few
    outlier channels) are kept in float, 1, 2, 4, ... of them, most sensitive first, until
    the output reaches ``min_cosine``.

    Args:
        source (str): The fp32 ONNX file.
        target (str): The quantized ONNX file to write.
        calibration (list[np.ndarray]): Clips ``(B, C, T, H, W)`` in the export's shape.
        input_name (str): The graph's input. Defaults to 'video'.
        threads (int, optional): onnxruntime's intra-op threads while calibrating.
            Defaults to None.
        min_cosine (float, optional): The output cosine to fp32 the quantized model must
            keep on the calibration clips. Defaults to None (no check: every weight layer
            in int8).
        runner (Callable, optional): An ONNX file to a callable on a clip, the engine that
            will run the model. Defaults to None (onnxruntime).

    Returns:
        Int8Report: The layers in int8, those kept in float, and the measured cosine.

    Raises:
        ValueError: No calibration clip, or an onnxruntime without calibration caches.
    """
    if not calibration:
        raise ValueError('static int8 quantization needs at least one calibration clip')
    import inspect
    from pathlib import Path

    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    if 'calibration_cache_path' not in inspect.signature(quantize_static).parameters:
        import onnxruntime
        raise ValueError(f'onnxruntime {onnxruntime.__version__} cannot quantize from computed '
                         'ranges: pip install -U onnxruntime')
    from onnxruntime.quantization.calibrate import TensorsData, save_tensors_data
    graph = onnx.load(source, load_external_data=False).graph
    _, weighted, _ = quantized_inputs(graph)
    ranges, reference = _calibrate(source, calibration, graph, input_name, threads,
                                   CALIBRATION_BUDGET, with_output=min_cosine is not None)
    cache = Path(target).with_suffix('.ranges.json')
    save_tensors_data(TensorsData(CalibrationMethod.MinMax, {
        name: (np.array(low, dtype=np.float32), np.array(high, dtype=np.float32))
        for name, (low, high) in ranges.items()}), cache)

    def write(layers: list[str]) -> None:
        if not layers:  # onnxruntime reads an empty node list as "every node"
            shutil.copyfile(source, target)
            return
        with _quiet_root_logger(), warnings.catch_warnings():
            warnings.simplefilter('ignore')
            quantize_static(source, target, None, quant_format=QuantFormat.QDQ,
                            per_channel=True, activation_type=QuantType.QUInt8,
                            weight_type=QuantType.QInt8, nodes_to_quantize=layers,
                            op_types_to_quantize=['MatMul', 'Gemm'],
                            calibrate_method=CalibrationMethod.MinMax,
                            calibration_cache_path=cache,
                            extra_options={'OpTypesToExcludeOutputQuantization':
                                           ['MatMul', 'Gemm']})

    def measure() -> float:
        run = (runner or functools.partial(_onnxruntime_runner, threads=threads))(target)
        outputs = [run(clip) for clip in calibration]
        return output_cosine(*(torch.from_numpy(np.concatenate([np.ravel(a) for a in arrays]))
                               for arrays in (reference, outputs)))

    return keep_sensitive_in_float(
        weighted, write, measure,
        lambda: layer_errors(source, calibration, ranges, input_name, threads), min_cosine)


class ExportedBackbone(nn.Module):
    """A UMT backbone exported to ONNX once per input shape and run by an engine.

    Subclasses implement :meth:`_compile` (an ONNX file to a callable on a numpy clip).
    ``num_frames``, ``img_size``, ``output``, ``embed_dims`` and ``patch_size`` mirror the
    wrapped backbone.

    Args:
        backbone (nn.Module): The UMT backbone (fp32, eval mode, CPU).
        precision (str): The precision the engine runs. Defaults to 'fp32'.
        threads (int, optional): The engine's intra-op threads. Defaults to None (torch's).
        calibration (torch.Tensor, optional): Clips ``(N, C, T, H, W)`` that static int8
            quantization calibrates on, run in groups of the input's batch size. Defaults
            to None: the first input of each shape calibrates its own export.
    """

    engine = 'engine'

    def __init__(self, backbone: nn.Module, precision: str = 'fp32',
                 threads: int | None = None, calibration: torch.Tensor | None = None) -> None:
        super().__init__()
        self.module = backbone.eval()
        self.precision = precision
        self.threads = threads or torch.get_num_threads()
        self.calibration = calibration
        for name in MIRRORED:
            setattr(self, name, getattr(backbone, name))
        self._dir = tempfile.TemporaryDirectory(prefix=f'umt_mm_{self.engine}_')
        self._sessions: dict = {}

    def export(self, x: torch.Tensor) -> str:
        """Export the fp32 backbone at ``x``'s shape to a new ONNX file; returns its path."""
        self.module.output = self.output
        path = f'{self._dir.name}/backbone_{len(self._sessions)}.onnx'
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter('ignore')
            torch.onnx.export(self.module, (x, ), path, dynamo=False, opset_version=17,
                              input_names=['video'], output_names=['features'],
                              do_constant_folding=True)
        return path

    def calibration_clips(self, x: torch.Tensor) -> list[np.ndarray]:
        """The clips static quantization calibrates on, in ``x``'s shape."""
        if self.calibration is None:
            return [x.detach().float().contiguous().numpy()]
        clips = self.calibration.float()
        if clips.shape[1:] != x.shape[1:]:
            raise ValueError(f'calibration clips {tuple(clips.shape)} do not match the input '
                             f'{tuple(x.shape)} (C, T, H, W must agree)')
        batch = x.shape[0]
        return [clips[i:i + batch].contiguous().numpy()
                for i in range(0, clips.shape[0] - batch + 1, batch)] or \
            [x.detach().float().contiguous().numpy()]

    def _compile(self, path: str, x: torch.Tensor):
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args:
            x (torch.Tensor): Video ``(B, C, T, H, W)`` on the CPU.

        Returns:
            torch.Tensor: The backbone's output, float32.
        """
        key = (tuple(x.shape), self.output)
        if key not in self._sessions:
            self._sessions[key] = self._compile(self.export(x), x)
        return torch.from_numpy(self._sessions[key](x.detach().float().contiguous().numpy()))


class OnnxRuntimeBackbone(ExportedBackbone):
    """A UMT backbone run by onnxruntime (CPU): fp32, or int8 by its dynamic quantization.

    Args: see :class:`ExportedBackbone` (``precision``: ``'fp32'`` or ``'int8'``).
    """

    engine = 'onnxruntime'

    def _compile(self, path: str, x: torch.Tensor):
        if self.precision == 'int8':
            from onnxruntime.quantization import QuantType, quantize_dynamic
            quantized = path.replace('.onnx', '.int8.onnx')
            with _quiet_root_logger():
                quantize_dynamic(path, quantized, weight_type=QuantType.QInt8)
            path = quantized
        return _onnxruntime_runner(path, self.threads)


class OpenVinoBackbone(ExportedBackbone):
    """A UMT backbone run by OpenVINO's CPU plugin, in fp32, bf16 or calibrated int8.

    int8 checks each quantized export on its calibration clips and keeps the most
    sensitive weight layers in float where the output would fall below ``min_cosine``
    (:func:`quantize_static_int8`); what it did per input shape is in :attr:`int8` and the
    log.

    Args: see :class:`ExportedBackbone` (``precision``: ``'fp32'``, ``'bf16'`` or
    ``'int8'``; int8 also needs onnxruntime's quantization tool, the ``deploy`` extra), and
        min_cosine (float, optional): The output cosine to fp32 that int8 keeps on the
            calibration clips. Defaults to the int8 accuracy gate
            (:data:`~umt_mm.apis.quantization.INT8_MIN_COSINE`); None quantizes every
            weight layer unchecked.
    """

    engine = 'openvino'

    def __init__(self, backbone: nn.Module, precision: str = 'fp32',
                 threads: int | None = None, calibration: torch.Tensor | None = None,
                 min_cosine: float | None = INT8_MIN_COSINE) -> None:
        super().__init__(backbone, precision, threads, calibration)
        self.min_cosine = min_cosine
        #: per input shape, what static int8 quantization wrote
        self.int8: dict[tuple[int, ...], Int8Report] = {}

    def _compile(self, path: str, x: torch.Tensor):
        if self.precision == 'int8':
            from mmengine.logging import print_log
            quantized = path.replace('.onnx', '.int8.onnx')
            checked = []  # the last model checked is the one written: compiled once

            def runner(candidate: str) -> Callable[[np.ndarray], np.ndarray]:
                checked[:] = [self._engine(candidate)]
                return checked[0]
            clips = self.calibration_clips(x)
            report = quantize_static_int8(path, quantized, clips, threads=self.threads,
                                          min_cosine=self.min_cosine, runner=runner)
            self.int8[tuple(x.shape)] = report
            print_log(f'OpenVINO int8 at {tuple(x.shape)}, calibrated on {len(clips)} '
                      f'batch(es): {report.describe()}', logger='current')
            if checked:
                return checked[0]
            path = quantized
        return self._engine(path)

    def _engine(self, path: str) -> Callable[[np.ndarray], np.ndarray]:
        """An ONNX file compiled by OpenVINO at this backbone's precision and threads."""
        compiled = openvino_core().compile_model(path, 'CPU', {
            'INFERENCE_PRECISION_HINT': OPENVINO_PRECISION[self.precision],
            'INFERENCE_NUM_THREADS': int(self.threads), 'PERFORMANCE_HINT': 'LATENCY'})
        request = compiled.create_infer_request()

        def run(clip: np.ndarray, compiled=compiled) -> np.ndarray:
            # the closure holds the compiled model as long as its request
            return np.array(request.infer({0: clip})[0], dtype=np.float32, copy=True)
        return run


@functools.cache
def openvino_core():
    """The process's one ``openvino.Core``: it outlives every model compiled by it."""
    import openvino as ov
    return ov.Core()


def installed(engine: str) -> bool:
    """Whether an engine's Python package imports (``'onnxruntime'`` or ``'openvino'``)."""
    import importlib.util
    return importlib.util.find_spec(engine) is not None


__all__ = ['ExportedBackbone', 'OnnxRuntimeBackbone', 'OpenVinoBackbone', 'calibration_ranges',
           'installed', 'layer_errors', 'quantize_static_int8', 'quantized_inputs']
