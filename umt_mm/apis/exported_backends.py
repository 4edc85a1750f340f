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
  runs with its int8 kernels.
"""
from __future__ import annotations

import logging
import tempfile
import warnings
from contextlib import contextmanager

import numpy as np
import torch
import torch.nn as nn

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


def quantize_static_int8(source: str, target: str, calibration: list[np.ndarray],
                         input_name: str = 'video') -> None:
    """Static int8 quantization of an exported backbone, calibrated on real clips.

    onnxruntime's ``quantize_static`` writes a QDQ graph: weights int8 per output channel,
    activations uint8 per tensor with ranges from the min / max seen over ``calibration``.
    Kept in float, because they lose accuracy or gain nothing: the attention products
    (both operands are activations whose range varies per clip), the
    patch embedding (a ``Conv`` on the normalised pixels), the norms, GELU and softmax.

    Args:
        source (str): The fp32 ONNX file.
        target (str): The quantized ONNX file to write.
        calibration (list[np.ndarray]): Clips ``(B, C, T, H, W)`` in the export's shape.
        input_name (str): The graph's input. Defaults to 'video'.

    Raises:
        ValueError: No calibration clip.
    """
    if not calibration:
        raise ValueError('static int8 quantization needs at least one calibration clip')
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    class _Clips(CalibrationDataReader):
        def __init__(self) -> None:
            self._feeds = iter([{input_name: clip} for clip in calibration])

        def get_next(self):
            return next(self._feeds, None)

    import onnx
    graph = onnx.load(source, load_external_data=False).graph
    constants = {init.name for init in graph.initializer}
    # QDQ mode ignores onnxruntime's MatMulConstBOnly: name the activation products
    products = [node.name for node in graph.node
                if node.op_type == 'MatMul' and not set(node.input) & constants]
    with _quiet_root_logger(), warnings.catch_warnings():
        warnings.simplefilter('ignore')
        quantize_static(source, target, _Clips(), quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8, op_types_to_quantize=['MatMul', 'Gemm'],
                        calibrate_method=CalibrationMethod.MinMax,
                        nodes_to_exclude=products)


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
            quantization calibrates on (one call per clip, in the export's batch). Defaults
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
        from ..deployment.exporter import onnx_session
        if self.precision == 'int8':
            from onnxruntime.quantization import QuantType, quantize_dynamic
            quantized = path.replace('.onnx', '.int8.onnx')
            with _quiet_root_logger():
                quantize_dynamic(path, quantized, weight_type=QuantType.QInt8)
            path = quantized
        session = onnx_session(path, threads=self.threads)
        return lambda clip: session.run(None, {'video': clip})[0]


class OpenVinoBackbone(ExportedBackbone):
    """A UMT backbone run by OpenVINO's CPU plugin, in fp32, bf16 or calibrated int8.

    Args: see :class:`ExportedBackbone` (``precision``: ``'fp32'``, ``'bf16'`` or
    ``'int8'``; int8 also needs onnxruntime's quantization tool, the ``deploy`` extra).
    """

    engine = 'openvino'

    def _compile(self, path: str, x: torch.Tensor):
        import openvino as ov
        if self.precision == 'int8':
            quantized = path.replace('.onnx', '.int8.onnx')
            quantize_static_int8(path, quantized, self.calibration_clips(x))
            path = quantized
        compiled = ov.Core().compile_model(path, 'CPU', {
            'INFERENCE_PRECISION_HINT': OPENVINO_PRECISION[self.precision],
            'INFERENCE_NUM_THREADS': int(self.threads), 'PERFORMANCE_HINT': 'LATENCY'})
        request = compiled.create_infer_request()
        return lambda clip: np.array(request.infer({0: clip})[0], dtype=np.float32, copy=True)


def installed(engine: str) -> bool:
    """Whether an engine's Python package imports (``'onnxruntime'`` or ``'openvino'``)."""
    import importlib.util
    return importlib.util.find_spec(engine) is not None


__all__ = ['ExportedBackbone', 'OnnxRuntimeBackbone', 'OpenVinoBackbone', 'installed',
           'quantize_static_int8']
