"""Export the wrappers to ONNX / TorchScript and run the exported files."""
from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from .ava_detector import ExportableAVADetector
from .exportability import AVA_DETECTOR, RECOGNIZER, ExportError, model_kind
from .recognizer import ExportableRecognizer

#: ONNX opset of the exported graphs: ``LayerNormalization`` (17) and ``RoiAlign`` with
#: ``coordinate_transformation_mode`` (16).
ONNX_OPSET = 17
FORMATS = ('onnx', 'torchscript')


def make_wrapper(model: nn.Module, num_views: int = 1) -> nn.Module:
    """The exportable wrapper of a built model (checked, eval mode).

    Args:
        model (nn.Module): A built recognizer or AVA detector.
        num_views (int): Views per video of a recognizer graph. Defaults to 1.

    Returns:
        nn.Module: :class:`ExportableRecognizer` or :class:`ExportableAVADetector`.

    Raises:
        ExportError: When a module of the model has no export path.
    """
    model.eval()
    kind = model_kind(model)
    if kind == RECOGNIZER:
        return ExportableRecognizer(model, num_views).eval()
    if num_views != 1:
        raise ExportError('cannot export: views apply to recognizers; the AVA detector takes '
                          'one clip (num_views must be 1)')
    return ExportableAVADetector(model).eval()


def wrapper_kind(wrapper: nn.Module) -> str:
    return AVA_DETECTOR if isinstance(wrapper, ExportableAVADetector) else RECOGNIZER


def io_names(wrapper: nn.Module) -> tuple[list[str], list[str], dict]:
    """Input names, output names and the dynamic axes of a wrapper's graph."""
    if wrapper_kind(wrapper) == RECOGNIZER:
        return (['inputs'], ['scores', 'logits'],
                {'inputs': {0: 'batch'}, 'scores': {0: 'batch'}, 'logits': {0: 'batch'}})
    names = wrapper.input_names
    dynamic = {'boxes': {0: 'num_boxes'}, 'scores': {0: 'num_boxes'}}
    if 'proposal_scores' in names:
        dynamic['proposal_scores'] = {0: 'num_boxes'}
    return names, ['scores'], dynamic


def example_inputs(wrapper: nn.Module, shape: Sequence[int], batch: int = 1,
                   num_boxes: int = 4, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """Random inputs of a wrapper's graph (a random clip; boxes inside, and at the border
    of, the image for the detector).

    Args:
        wrapper (nn.Module): The wrapper.
        shape (Sequence[int]): ``(T, H, W)`` of a view.
        batch (int): Videos (recognizer). Defaults to 1.
        num_boxes (int): Boxes (detector); the first two touch the image border.
            Defaults to 4.
        seed (int): Random seed. Defaults to 0.

    Returns:
        tuple[torch.Tensor, ...]: The inputs, in the order of the graph's input names.
    """
    gen = torch.Generator().manual_seed(seed)
    frames, height, width = (int(v) for v in shape)
    if wrapper_kind(wrapper) == RECOGNIZER:
        return (torch.randn(batch, wrapper.num_views, 3, frames, height, width, generator=gen), )
    clip = torch.randn(1, 3, frames, height, width, generator=gen)
    boxes = border_and_inner_boxes(height, width, num_boxes, gen)
    inputs = [clip, boxes]
    if wrapper.test_extend is not None:
        inputs.append(torch.tensor([float(height), float(width)]))
    if wrapper.score_by_proposal:
        inputs.append(0.5 + 0.5 * torch.rand(num_boxes, generator=gen))
    return tuple(inputs)


def border_and_inner_boxes(height: int, width: int, num_boxes: int,
                           generator: torch.Generator | None = None) -> torch.Tensor:
    """``num_boxes`` pixel boxes: the whole image, one at the bottom-right corner, then
    random boxes inside the image.

    Args:
        height (int): Image height.
        width (int): Image width.
        num_boxes (int): Number of boxes (>= 2).
        generator (torch.Generator, optional): Random generator. Defaults to None.

    Returns:
        torch.Tensor: ``(num_boxes, 4)`` float32 ``x1, y1, x2, y2``.
    """
    boxes = [[0.0, 0.0, width - 1.0, height - 1.0],
             [width * 0.6, height * 0.5, width - 1.0, height - 1.0]]
    for _ in range(max(num_boxes - 2, 0)):
        x1, y1 = (torch.rand(2, generator=generator) * torch.tensor([width * 0.6, height * 0.6])
                  ).tolist()
        w, h = (8 + torch.rand(2, generator=generator) * torch.tensor(
            [width * 0.4 - 8, height * 0.4 - 8])).tolist()
        boxes.append([x1, y1, x1 + w, y1 + h])
    return torch.tensor(boxes[:num_boxes], dtype=torch.float32)


def check_format(wrapper: nn.Module, fmt: str) -> None:
    """Check that ``wrapper`` can be exported as ``fmt``.

    Raises:
        ExportError: TorchScript for the AVA detector (naming its RoIAlign).
        ValueError: An unknown format.
    """
    if fmt not in FORMATS:
        raise ValueError(f'format must be one of {FORMATS}, got {fmt!r}')
    if fmt == 'torchscript' and wrapper_kind(wrapper) == AVA_DETECTOR:
        raise ExportError('cannot export to TorchScript: model.roi_head.bbox_roi_extractor.'
                          'roi_layer (RoIAlign) is an mmcv C++ operator that a TorchScript '
                          'file cannot carry; export the AVA detector with --format onnx')


def export_onnx(wrapper: nn.Module, inputs: Sequence[torch.Tensor], path: str | Path,
                opset: int = ONNX_OPSET) -> Path:
    """Export with PyTorch's TorchScript-based ONNX exporter (``dynamo=False``).

    The dynamo exporter (PyTorch's default since 2.9) cannot translate mmcv's RoIAlign
    (a Python autograd function with a C++ kernel) without a custom translation table;
    the TorchScript-based exporter maps it to ONNX ``RoiAlign`` through the function's
    ``symbolic`` (see :mod:`umt_mm.deployment.roi_align`) and exports the recognizer with
    the same parity, so both graphs use it.

    Args:
        wrapper (nn.Module): The wrapper (eval mode).
        inputs (Sequence[torch.Tensor]): Example inputs (shapes fixed except the dynamic
            axes of :func:`io_names`).
        path (str | Path): The ``.onnx`` file to write.
        opset (int): ONNX opset. Defaults to 17.

    Returns:
        Path: The written file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    input_names, output_names, dynamic_axes = io_names(wrapper)
    tmp = path.with_name(path.name + '.tmp')
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter('ignore')
        torch.onnx.export(wrapper, tuple(inputs), str(tmp), dynamo=False, opset_version=opset,
                          input_names=input_names, output_names=output_names,
                          dynamic_axes=dynamic_axes, do_constant_folding=True)
    os.replace(tmp, path)
    return path


def export_torchscript(wrapper: nn.Module, inputs: Sequence[torch.Tensor],
                       path: str | Path) -> Path:
    """Trace the wrapper with :func:`torch.jit.trace` and save it.

    Args:
        wrapper (nn.Module): The recognizer wrapper (eval mode).
        inputs (Sequence[torch.Tensor]): Example inputs.
        path (str | Path): The ``.pt`` file to write.

    Returns:
        Path: The written file.

    Raises:
        ExportError: For the AVA detector, whose mmcv RoIAlign has no TorchScript path.
    """
    check_format(wrapper, 'torchscript')
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter('ignore')
        traced = torch.jit.trace(wrapper, tuple(inputs), check_trace=False)
        tmp = path.with_name(path.name + '.tmp')
        torch.jit.save(traced, str(tmp))
    os.replace(tmp, path)
    return path


def export(wrapper: nn.Module, inputs: Sequence[torch.Tensor], path: str | Path,
           fmt: str) -> Path:
    """Export ``wrapper`` as ``fmt`` (``'onnx'`` or ``'torchscript'``) to ``path``."""
    if fmt == 'onnx':
        return export_onnx(wrapper, inputs, path)
    if fmt == 'torchscript':
        return export_torchscript(wrapper, inputs, path)
    raise ValueError(f'format must be one of {FORMATS}, got {fmt!r}')


def onnx_session(path: str | Path, threads: int | None = None, optimize: bool = True):
    """An onnxruntime CPU session (all graph optimisations unless ``optimize`` is False)."""
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.graph_optimization_level = (ort.GraphOptimizationLevel.ORT_ENABLE_ALL if optimize
                                        else ort.GraphOptimizationLevel.ORT_DISABLE_ALL)
    if threads:
        options.intra_op_num_threads = int(threads)
    return ort.InferenceSession(str(path), options, providers=['CPUExecutionProvider'])


def run_exported(path: str | Path, fmt: str, inputs: Sequence[torch.Tensor],
                 input_names: Sequence[str] | None = None) -> list[np.ndarray]:
    """Run an exported file (onnxruntime CPU / ``torch.jit.load``) on ``inputs``.

    Args:
        path (str | Path): The exported file.
        fmt (str): ``'onnx'`` or ``'torchscript'``.
        inputs (Sequence[torch.Tensor]): Inputs in graph order.
        input_names (Sequence[str], optional): ONNX input names; None reads them from
            the session. Defaults to None.

    Returns:
        list[np.ndarray]: The outputs, in graph order.
    """
    if fmt == 'onnx':
        session = onnx_session(path)
        names = list(input_names or [i.name for i in session.get_inputs()])
        return session.run(None, {n: t.numpy() for n, t in zip(names, inputs)})
    module = torch.jit.load(str(path), map_location='cpu')
    with torch.no_grad():
        outputs = module(*inputs)
    outputs = outputs if isinstance(outputs, (tuple, list)) else (outputs, )
    return [o.numpy() for o in outputs]


def largest_difference(wrapper: nn.Module, path: str | Path, fmt: str,
                       inputs: Sequence[torch.Tensor]) -> dict:
    """Largest absolute difference of each output: exported file vs the PyTorch wrapper.

    Args:
        wrapper (nn.Module): The PyTorch wrapper.
        path (str | Path): The exported file.
        fmt (str): ``'onnx'`` or ``'torchscript'``.
        inputs (Sequence[torch.Tensor]): Inputs in graph order.

    Returns:
        dict: Output name -> largest absolute difference.
    """
    _, output_names, _ = io_names(wrapper)
    with torch.no_grad():
        expected = wrapper(*inputs)
    expected = expected if isinstance(expected, tuple) else (expected, )
    got = run_exported(path, fmt, inputs)
    if len(got) != len(expected):
        raise RuntimeError(f'{path}: {len(got)} outputs, PyTorch gives {len(expected)}')
    diffs = {}
    for name, exp, out in zip(output_names, expected, got):
        if tuple(out.shape) != tuple(exp.shape):
            raise RuntimeError(f'{path}: output {name} has shape {tuple(out.shape)}, PyTorch '
                               f'{tuple(exp.shape)}')
        diffs[name] = float(np.abs(out - exp.numpy()).max()) if out.size else 0.0
    return diffs


def quiet_init_weights(model: nn.Module) -> None:
    """``model.init_weights()`` without MMEngine's per-parameter INFO log."""
    import logging

    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)


def build_model(config: str | Path, checkpoint: str | Path | None = None,
                cfg_options: dict | None = None, strict: bool = True,
                opt_out: str = 'strict=False'):
    """Build a config's model on the CPU and load a checkpoint strictly.

    Args:
        config (str | Path): Config file or model name (:func:`umt_mm.apis.list_models`).
        checkpoint (str | Path, optional): Checkpoint file; None or ``'none'`` keeps the
            initialised weights (``init_weights``). Defaults to None.
        cfg_options (dict, optional): Config overrides. Defaults to None.
        strict (bool): Fail unless the checkpoint fills the model exactly (see
            :func:`umt_mm.apis.load_checkpoint_strictly`). Defaults to True.
        opt_out (str): How the caller turns ``strict`` off, for the error message.
            Defaults to 'strict=False'.

    Returns:
        tuple: ``(cfg, model)``, the model in eval mode.

    Raises:
        CheckpointMismatchError: ``strict`` and the checkpoint does not fill the model (an
            official UMT file: the message has the converter command).
    """
    from mmaction.registry import MODELS
    from mmengine.registry import init_default_scope

    import umt_mm  # noqa: F401  (registers the modules)

    from ..apis.model_loading import load_checkpoint_strictly, load_config
    cfg = load_config(config, cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    model = MODELS.build(cfg.model)
    quiet_init_weights(model)
    if checkpoint and str(checkpoint).lower() != 'none':
        load_checkpoint_strictly(model, checkpoint, strict=strict, config=cfg.filename,
                                 opt_out=opt_out)
    return cfg, model.cpu().eval()


def default_shape(model: nn.Module) -> tuple[int, int, int]:
    """The recipe's clip ``(T, H, W)``: the backbone's frames and image size for a
    recognizer; for the AVA detector the backbone's frames at 256 x 464 (short side 256 as
    the test pipeline, a 16:9 frame padded to a multiple of 16)."""
    backbone = model.backbone
    if model_kind(model) == RECOGNIZER:
        return int(backbone.num_frames), int(backbone.img_size), int(backbone.img_size)
    return int(backbone.num_frames), 256, 464
