"""Export a recognizer or an AVA detector to ONNX / TorchScript, and check the exported file.

Built on :mod:`umt_mm.deployment` (the exportable wrappers, the exporters, the json written
beside the graph); the checkpoint loads strictly (:func:`umt_mm.apis.load_checkpoint_strictly`).

Example:
    >>> from umt_mm.apis import export_model, verify_export
    >>> exported = export_model('configs/k400/umt-base-p16-res224_k710-ft_16xb16-u8-5e_'
    ...                         'kinetics400-rgb.py', 'checkpoints/umt-b16-k400.pth',
    ...                         format='onnx', out='deploy/umt-b16-k400.onnx')
    >>> verify_export(exported).ok
    True
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn as nn

#: file name of the clip generated for :func:`verify_export` when no video is given
GENERATED_CLIP = 'umt_mm_verify_clip.mp4'


@dataclass
class ExportResult:
    """An exported model.

    Attributes:
        path (Path): The exported file.
        sidecar (Path): The json beside it (inputs, preprocessing, labels, test protocol).
        format (str): ``'onnx'`` or ``'torchscript'``.
        kind (str): ``'recognizer'`` or ``'ava_detector'``.
        shape (tuple[int, int, int]): The exported clip ``(T, H, W)``.
        info (dict): The sidecar's content.
        cfg (mmengine.Config): The model's config.
        model (nn.Module): The PyTorch model.
        wrapper (nn.Module): The exported wrapper (what :func:`verify_export` compares with).
        inputs (tuple[torch.Tensor, ...]): The example inputs it was exported with.
    """

    path: Path
    sidecar: Path
    format: str
    kind: str
    shape: tuple[int, int, int]
    info: dict
    cfg: object = field(repr=False, default=None)
    model: nn.Module | None = field(repr=False, default=None)
    wrapper: nn.Module | None = field(repr=False, default=None)
    inputs: tuple = field(repr=False, default=())


@dataclass
class VerifyCheck:
    """One comparison of the exported file with PyTorch.

    Attributes:
        name (str): What was fed (``'random clip'``, ``'real clip <file>'``...).
        shapes (list[tuple]): The input shapes.
        differences (dict[str, float]): Largest absolute difference per output.
    """

    name: str
    shapes: list[tuple]
    differences: dict[str, float]

    @property
    def worst(self) -> float:
        """The largest difference of any output."""
        return max(self.differences.values(), default=0.0)


@dataclass
class VerifyReport:
    """What :func:`verify_export` found.

    Attributes:
        checks (list[VerifyCheck]): Each input set compared.
        tolerance (float): The largest accepted difference.
        video (str | None): The real clip's video (None: no real clip).
        note (str | None): Why there is no real clip, when there is none.
    """

    checks: list[VerifyCheck]
    tolerance: float
    video: str | None = None
    note: str | None = None

    @property
    def worst(self) -> float:
        """The largest difference of all checks."""
        return max((c.worst for c in self.checks), default=0.0)

    @property
    def ok(self) -> bool:
        """Whether every difference is within :attr:`tolerance`."""
        return self.worst <= self.tolerance


def export_model(config, checkpoint: str | Path | None, format: str = 'onnx',
                 out: str | Path = 'model.onnx', shape: Sequence[int] | None = None,
                 views: int = 1, label_map: str | Path | None = None,
                 cfg_options: dict | None = None, strict: bool = True,
                 opt_out: str = 'strict=False', seed: int = 0) -> ExportResult:
    """Export a recognizer or an AVA detector, with its json sidecar beside it.

    Args:
        config (str | Path): Config file or model name.
        checkpoint (str | Path, optional): A umt_mm checkpoint; None or ``'none'`` exports
            the initialised weights.
        format (str): ``'onnx'`` (PyTorch's TorchScript-based exporter, opset 17) or
            ``'torchscript'`` (``torch.jit.trace``; recognizers only). Defaults to 'onnx'.
        out (str | Path): The exported file; the sidecar is ``out`` with the suffix
            ``.json``. Defaults to 'model.onnx'.
        shape (Sequence[int], optional): Clip ``(T, H, W)``. Defaults to None (the recipe's;
            AVA: T x 256 x 464).
        views (int): Views per video in one graph row, averaged as the head's
            ``average_clips`` (recognizers). Defaults to 1.
        label_map (str | Path, optional): Class names for the sidecar: a bundled label
            map's name (``'k400'``, ``'ava'``...) or a file. Defaults to None.
        cfg_options (dict, optional): Config overrides. Defaults to None.
        strict (bool): Fail unless the checkpoint fills the model exactly. Defaults to True.
        opt_out (str): How the caller turns ``strict`` off, for the error message.
            Defaults to 'strict=False'.
        seed (int): Seed of the example inputs. Defaults to 0.

    Returns:
        ExportResult: The files, the sidecar's content and the PyTorch wrapper.

    Raises:
        ExportError: A module of the model has no export path (the message names it), or
            TorchScript for the AVA detector.
        CheckpointMismatchError: ``strict`` and the checkpoint does not fill the model.
    """
    from ..deployment import (
        build_model,
        default_shape,
        deploy_info,
        example_inputs,
        export,
        make_wrapper,
        write_deploy_info,
    )
    from ..deployment.exporter import check_format, wrapper_kind
    torch.manual_seed(seed)
    cfg, model = build_model(config, checkpoint, cfg_options, strict=strict, opt_out=opt_out)
    wrapper = make_wrapper(model, views)
    check_format(wrapper, format)
    shape = tuple(int(v) for v in shape) if shape else default_shape(model)
    out = Path(out)
    inputs = example_inputs(wrapper, shape, seed=seed)
    export(wrapper, inputs, out, format)
    info = deploy_info(cfg, model, wrapper, shape, format, out,
                       checkpoint=None if checkpoint is None else str(checkpoint),
                       label_map=None if label_map is None else str(label_map))
    sidecar = write_deploy_info(info, out.with_suffix('.json'))
    return ExportResult(path=out, sidecar=sidecar, format=format, kind=wrapper_kind(wrapper),
                        shape=shape, info=info, cfg=cfg, model=model, wrapper=wrapper,
                        inputs=inputs)


def sample_video(kind: str = 'recognizer', folder: str | Path | None = None) -> Path:
    """A real video for :func:`verify_export`: a sample of the repository's ``demo/``, or a
    generated one.

    Args:
        kind (str): ``'recognizer'`` or ``'ava_detector'`` (prefers a sample whose name has
            ``spatiotemporal``, ``ava`` or ``det``). Defaults to 'recognizer'.
        folder (str | Path, optional): Where a generated clip is written. Defaults to None
            (the system's temporary folder).

    Returns:
        Path: An mp4 file.
    """
    import tempfile
    demo = Path(__file__).resolve().parents[2] / 'demo'
    samples = sorted(demo.glob('*.mp4')) if demo.is_dir() else []
    if samples:
        if kind == 'ava_detector':
            for sample in samples:
                if any(w in sample.stem for w in ('spatiotemporal', 'ava', 'det')):
                    return sample
        return samples[0]
    import numpy as np

    from ..testing.motion_videos import render_motion_clip, write_video
    path = Path(folder or tempfile.gettempdir()) / GENERATED_CLIP
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        frames = render_motion_clip(1, np.random.default_rng(0), num_frames=64, height=64,
                                    width=80)
        tmp = path.with_name(f'.{path.stem}.{id(frames)}.mp4')
        write_video(tmp, frames, fps=30)
        tmp.replace(path)
    return path


def verify_export(exported: ExportResult, video: str | Path | None = None,
                  tolerance: float = 1e-4) -> VerifyReport:
    """Run the exported file on random clips and a real clip; compare with PyTorch.

    Args:
        exported (ExportResult): What :func:`export_model` returned.
        video (str | Path, optional): The real clip's video, through the config's test
            pipeline. Defaults to None (:func:`sample_video`).
        tolerance (float): Largest accepted absolute difference. Defaults to 1e-4.

    Returns:
        VerifyReport: The largest difference of each output for each input set.
    """
    from ..deployment import example_inputs, largest_difference, real_clip_inputs
    wrapper, shape = exported.wrapper, exported.shape
    inputs = [('random clip', exported.inputs)]
    if exported.kind == 'recognizer':
        inputs.append(('random clips, batch 2', example_inputs(wrapper, shape, batch=2,
                                                               seed=1)))
    video = Path(video) if video is not None else sample_video(exported.kind)
    note = None
    if video.is_file():
        inputs.append((f'real clip {video.name}',
                       real_clip_inputs(exported.cfg, exported.model, wrapper, video, shape)))
    else:
        note = f'no real clip: {video} does not exist'
    checks = []
    for name, check_inputs in inputs:
        diffs = largest_difference(wrapper, exported.path, exported.format, check_inputs)
        checks.append(VerifyCheck(name=name, shapes=[tuple(t.shape) for t in check_inputs],
                                  differences=diffs))
    return VerifyReport(checks=checks, tolerance=tolerance,
                        video=str(video) if note is None else None, note=note)


__all__ = ['ExportResult', 'VerifyCheck', 'VerifyReport', 'export_model', 'sample_video',
           'verify_export']
