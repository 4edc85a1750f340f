"""Video features per window: the pooled pre-head vector or the token map of a backbone.

A feature extractor is the backbone and data preprocessor of a recognizer, or the student of
a UMT pretraining (``UMTDistiller``) checkpoint. Each window of a video
(:func:`~umt_mm.apis.video_windows.plan_windows`) goes through the config's test pipeline
(default views ``1x1``) and the backbone; views are averaged.

The feature of a window is the pooled pre-head vector (the UMT backbone's
``fc_norm(mean of tokens)`` of a recognizer, the student's mean normed token of a pretraining
checkpoint; 5-D feature maps of other backbones are averaged over T, H, W) or, with
``tokens=True``, the token map ``(D, T', H', W')`` of a UMT backbone.

This module also holds what a folder of saved features needs: the options record
(:class:`FeatureOptions`) written beside each video's features, so that a rerun recomputes
what other options wrote (:func:`stale_reason`), and the manifest.

Example:
    >>> from umt_mm.apis import extract_features, init_feature_extractor
    >>> extractor = init_feature_extractor('configs/k400/...py', 'checkpoints/k400.pth')
    >>> result = extract_features(extractor, 'video.mp4', window=2.0, stride=1.0)
    >>> result.features.shape  # (num_windows, 768)
"""
from __future__ import annotations

import copy
import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from mmengine.config import Config

from .video_windows import Window, WindowedPipeline, default_test_pipeline, plan_windows

#: file formats of saved features
FEATURE_FORMATS = ('npy', 'pt')


class FeatureExtractor:
    """The backbone and data preprocessor that compute features, with their config.

    Build one with :func:`init_feature_extractor`, or from a loaded recognizer with
    :meth:`from_recognizer`.

    Args:
        backbone (nn.Module): The backbone (in eval mode, on its device).
        preprocessor (nn.Module): The model's data preprocessor.
        cfg (Config): The config; its test pipeline makes the windows' clips (configs
            without one get the UMT test view, see :func:`default_test_pipeline`).
    """

    def __init__(self, backbone, preprocessor, cfg: Config) -> None:
        self.backbone = backbone.eval()
        self.preprocessor = preprocessor.eval()
        self.cfg = copy.deepcopy(cfg)
        if not self.cfg.get('test_pipeline') and not self.cfg.get('test_dataloader'):
            encoder = (self.cfg.model.get('encoder') or self.cfg.model.get('backbone') or {})
            self.cfg.test_pipeline = default_test_pipeline(encoder.get('num_frames', 8),
                                                           encoder.get('img_size', 224))

    @classmethod
    def from_recognizer(cls, model) -> FeatureExtractor:
        """The extractor of a recognizer (:func:`~umt_mm.apis.init_recognizer`).

        Args:
            model (nn.Module): The recognizer; ``model.cfg`` is its config.

        Returns:
            FeatureExtractor: Its backbone and preprocessor (shared, not copied).
        """
        return cls(model.backbone, model.data_preprocessor, model.cfg)

    @property
    def supports_tokens(self) -> bool:
        """Whether the backbone gives a token map (UMT backbones)."""
        return getattr(self.backbone, 'output', None) in ('pooled', 'feature_map')

    def __call__(self, packed: dict, tokens: bool = False) -> np.ndarray:
        """The feature of one packed window, averaged over its views.

        Args:
            packed (dict): A test pipeline's output (``inputs``, ``data_samples``).
            tokens (bool): The token map instead of the pooled vector. Defaults to False.

        Returns:
            np.ndarray: ``(D,)`` or ``(D, T', H', W')`` float32.
        """
        import torch
        from mmengine.dataset import pseudo_collate
        if tokens and not self.supports_tokens:
            raise ValueError(f'tokens=True (--tokens) needs a UMT backbone, got '
                             f'{type(self.backbone).__name__}')
        with torch.no_grad():
            inputs = self.preprocessor(pseudo_collate([packed]), False)['inputs']
            inputs = inputs.flatten(0, 1)  # (views, C, T, H, W)
            if tokens:
                previous, self.backbone.output = self.backbone.output, 'feature_map'
                try:
                    feats = self.backbone(inputs)
                finally:
                    self.backbone.output = previous
            else:
                feats = self.backbone(inputs)
                if isinstance(feats, (tuple, list)):
                    feats = feats[-1]
                if feats.ndim > 2:
                    feats = feats.flatten(2).mean(-1)
            return feats.float().mean(0).cpu().numpy()


def _load_student(backbone, config_name: str, checkpoint: str, strict: bool,
                  opt_out: str) -> None:
    """Load the ``encoder.*`` tensors of a ``UMTDistiller`` checkpoint into ``backbone``."""
    from .model_loading import load_state, read_state_dict
    state = read_state_dict(checkpoint)
    own = {k[len('encoder.'):]: v for k, v in state.items() if k.startswith('encoder.')}
    load_state(backbone, own, checkpoint, strict, config_name, opt_out, file_state=state)


def init_feature_extractor(config: str | Path | Config, checkpoint: str | Path | None = None,
                           device: str | None = None, strict: bool = True,
                           cfg_options: dict | None = None,
                           opt_out: str = 'strict=False') -> FeatureExtractor:
    """The feature extractor of a recognizer or UMT pretraining config and its checkpoint.

    Args:
        config (str | Path | Config): A recognizer config (``cls_head`` models), a
            ``UMTDistiller`` pretraining config, or a model name.
        checkpoint (str | Path, optional): Its checkpoint, loaded strictly (for a pretraining
            config: the ``encoder.*`` tensors into the student). Defaults to None (a model
            name's official weights; the initial weights for a config).
        device (str, optional): Defaults to None (``cuda:0`` when available, else ``cpu``).
        strict (bool): Fail unless the checkpoint fills the model exactly. Defaults to True.
        cfg_options (dict, optional): Config overrides. Defaults to None.
        opt_out (str): How the caller turns ``strict`` off, for the error message.
            Defaults to 'strict=False'.

    Returns:
        FeatureExtractor: On ``device``, in eval mode.

    Raises:
        CheckpointMismatchError: ``strict`` and the checkpoint does not fill the model (its
            message names the layout found and the converter command).
    """
    from .model_loading import default_device, init_recognizer, load_config
    cfg = load_config(config, cfg_options)
    device = default_device(device)
    if cfg.model.type != 'UMTDistiller':
        model = init_recognizer(cfg, checkpoint, device=device, strict=strict,
                                opt_out=opt_out)
        return FeatureExtractor.from_recognizer(model)
    from mmaction.registry import MODELS
    from mmengine.registry import init_default_scope
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    # the student as the distiller builds it (its flat position table included)
    backbone = MODELS.build(dict(dict(position_table='flat'), **cfg.model.encoder,
                                 with_fc_norm=False))
    preprocessor = MODELS.build(dict(dict(type='ActionDataPreprocessor'),
                                     **cfg.model.data_preprocessor))
    if checkpoint is not None:
        _load_student(backbone, cfg.filename, str(checkpoint), strict, opt_out)
    return FeatureExtractor(backbone.to(device), preprocessor.to(device), cfg)


@dataclass(frozen=True)
class FeatureResult:
    """The features of one video.

    Attributes:
        video (str): The file.
        features (np.ndarray): ``(num_windows, D)`` or ``(num_windows, D, T', H', W')``
            float32, the windows stacked.
        windows (list[Window]): The windows, in order.
        num_frames (int): Frames of the video.
        fps (float): Its frame rate (:data:`~umt_mm.apis.FALLBACK_FPS` when it reports none).
        tokens (bool): Whether ``features`` are token maps.
    """

    video: str
    features: np.ndarray
    windows: list[Window]
    num_frames: int
    fps: float
    tokens: bool = False


def extract_features(model, video: str | Path, window: float | None = None,
                     stride: float | None = None, views: str | None = '1x1',
                     tokens: bool = False,
                     test_pipeline: Sequence[dict] | None = None) -> FeatureResult:
    """Features of every window of a video.

    Args:
        model (FeatureExtractor | nn.Module): An extractor (:func:`init_feature_extractor`)
            or a recognizer (:func:`~umt_mm.apis.init_recognizer`).
        video (str | Path): The video file.
        window (float, optional): Window length in seconds. Defaults to None (the whole
            video).
        stride (float, optional): Seconds between window starts. Defaults to None
            (``window``).
        views (str, optional): ``'CLIPSxCROPS'`` views per window, averaged. Defaults to
            '1x1' (None: the config's).
        tokens (bool): Token maps instead of pooled vectors (UMT backbones). Defaults to
            False.
        test_pipeline (Sequence[dict], optional): Transform configs used instead of the
            config's (``views`` is then ignored). Defaults to None.

    Returns:
        FeatureResult: The features and windows.

    Raises:
        FileNotFoundError: No such video.
        RuntimeError: The video cannot be decoded.
        ValueError: ``tokens`` with a backbone that has no token map.
    """
    from mmengine.registry import init_default_scope

    from .recognition import inference_pipeline
    extractor = model if isinstance(model, FeatureExtractor) else \
        FeatureExtractor.from_recognizer(model)
    if tokens and not extractor.supports_tokens:
        raise ValueError(f'tokens=True (--tokens) needs a UMT backbone, got '
                         f'{type(extractor.backbone).__name__}')
    init_default_scope(extractor.cfg.get('default_scope', 'mmaction'))
    steps = list(test_pipeline) if test_pipeline is not None else \
        inference_pipeline(extractor.cfg, views)
    pipeline = WindowedPipeline(steps)
    opened = pipeline.open(video)
    total, fps = int(opened['total_frames']), float(opened['avg_fps'])
    windows = plan_windows(total, fps, window, stride)
    feats = np.stack([extractor(pipeline.window(opened, w), tokens) for w in windows])
    return FeatureResult(video=str(video), features=feats.astype(np.float32),
                         windows=windows, num_frames=total, fps=fps, tokens=tokens)


@dataclass(frozen=True)
class FeatureOptions:
    """What the saved features of a folder depend on, recorded beside each video's features.

    Attributes:
        window (float | None): Window length in seconds (None: the whole video).
        stride (float | None): Seconds between window starts (None: the window).
        views (str | None): Views per window.
        tokens (bool): Token maps instead of pooled vectors.
        format (str): ``'npy'`` or ``'pt'``.
        precision (str): The precision the backbone ran (``'fp32'``, ``'bf16'``, ``'int8'``;
            what ``'auto'`` resolved to).
        backend (str): ``'eager'`` or ``'compile'``.
        checkpoint_fingerprint (str | None): :func:`~umt_mm.apis.checkpoint_fingerprint` of
            the checkpoint.
        config (dict): Other settings that change the numbers (e.g. ``cfg_options``).
    """

    window: float | None = None
    stride: float | None = None
    views: str | None = '1x1'
    tokens: bool = False
    format: str = 'npy'
    precision: str = 'fp32'
    backend: str = 'eager'
    checkpoint_fingerprint: str | None = None
    config: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        """The record, as written to json."""
        return json.loads(json.dumps(asdict(self)))

    def differences(self, recorded: dict | None) -> list[str]:
        """How a recorded options dict differs from these options.

        Args:
            recorded (dict, optional): What a sidecar holds (None: nothing recorded).

        Returns:
            list[str]: ``'name: recorded -> current'`` per differing option (empty when
            equal); ``['no options recorded']`` when ``recorded`` is None.
        """
        if not isinstance(recorded, dict):
            return ['no options recorded']
        mine = self.as_dict()
        return [f'{key}: {recorded.get(key)!r} -> {value!r}' for key, value in mine.items()
                if recorded.get(key) != value]


def feature_paths(out_dir: str | Path, key: str, fmt: str) -> tuple[Path, Path, Path]:
    """``(features, sidecar json, error json)`` of the video named ``key`` in ``out_dir``.

    Args:
        out_dir (str | Path): The output folder.
        key (str): The video's output name (relative path without suffix).
        fmt (str): ``'npy'`` or ``'pt'``.

    Returns:
        tuple[Path, Path, Path]: The three paths.
    """
    out_dir = Path(out_dir)
    return out_dir / f'{key}.{fmt}', out_dir / f'{key}.json', out_dir / f'{key}.error.json'


def stale_reason(out_dir: str | Path, key: str, options: FeatureOptions) -> str | None:
    """Why the saved features of ``key`` must be (re)computed, None when they are done.

    Features are done when the features file and its sidecar both exist and the sidecar's
    options equal ``options`` (other options, another checkpoint: recomputed).

    Args:
        out_dir (str | Path): The output folder.
        key (str): The video's output name.
        options (FeatureOptions): The current options.

    Returns:
        str | None: ``'not extracted yet'``, ``'written with other options (...)'``, or None.
    """
    feat, side, _ = feature_paths(out_dir, key, options.format)
    if not (feat.is_file() and side.is_file()):
        return 'not extracted yet'
    try:
        recorded = json.loads(side.read_text(encoding='utf-8')).get('options')
    except (ValueError, AttributeError):
        return f'{side} is not a valid sidecar'
    diff = options.differences(recorded)
    return f'written with other options ({"; ".join(diff)})' if diff else None


def _write_atomic(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + '.tmp')
    with open(tmp, 'wb') as f:  # a file object: np.save would add '.npy' to a name
        write(f)
    os.replace(tmp, path)


def write_json_atomic(path: str | Path, data: dict) -> None:
    """Write ``data`` as indented json through a temporary file and a rename.

    Args:
        path (str | Path): The file.
        data (dict): What to write.
    """
    text = (json.dumps(data, indent=1) + '\n').encode('utf-8')
    _write_atomic(Path(path), lambda f: f.write(text))


def save_features(out_dir: str | Path, key: str, result: FeatureResult,
                  options: FeatureOptions) -> Path:
    """Write a video's features and its sidecar (written last: both exist = complete).

    The features go to ``<key>.<format>`` (``.npy``: numpy; ``.pt``: a torch tensor), the
    sidecar ``<key>.json`` holds the video, file, shape, fps, frame count, the options
    and the windows; a features file of the other format and the error file are removed.

    Args:
        out_dir (str | Path): The output folder.
        key (str): The video's output name.
        result (FeatureResult): The features.
        options (FeatureOptions): The options they were computed with.

    Returns:
        Path: The features file.
    """
    feat, side, error = feature_paths(out_dir, key, options.format)
    if options.format == 'npy':
        _write_atomic(feat, lambda f: np.save(f, result.features))
    elif options.format == 'pt':
        import torch
        _write_atomic(feat, lambda f: torch.save(torch.from_numpy(result.features), f))
    else:
        raise ValueError(f'format must be one of {FEATURE_FORMATS}, got {options.format!r}')
    for other in FEATURE_FORMATS:
        if other != options.format:
            feature_paths(out_dir, key, other)[0].unlink(missing_ok=True)
    write_json_atomic(side, dict(
        video=result.video, file=feat.name, shape=list(result.features.shape), fps=result.fps,
        total_frames=result.num_frames, tokens=result.tokens, options=options.as_dict(),
        windows=[w.as_dict() for w in result.windows]))
    error.unlink(missing_ok=True)
    return feat


def save_failure(out_dir: str | Path, key: str, video: str, error: str,
                 traceback: str = '') -> Path:
    """Record that a video failed: ``<key>.error.json`` (video, error, traceback).

    Args:
        out_dir (str | Path): The output folder.
        key (str): The video's output name.
        video (str): The video file.
        error (str): One line: what went wrong.
        traceback (str): The traceback. Defaults to ''.

    Returns:
        Path: The error file.
    """
    path = feature_paths(out_dir, key, 'npy')[2]
    write_json_atomic(path, dict(video=video, error=error, traceback=traceback))
    return path


def build_manifest(out_dir: str | Path, keys: Sequence[str], options: FeatureOptions,
                   config: str, checkpoint: str) -> dict:
    """The manifest of a folder of features: options, every finished video, every failure.

    A video counts as finished when its features are done with ``options``
    (:func:`stale_reason`), as failed when it has an error file.

    Args:
        out_dir (str | Path): The output folder.
        keys (Sequence[str]): The videos' output names.
        options (FeatureOptions): The options of the run.
        config (str): The config (as given).
        checkpoint (str): The checkpoint (as given).

    Returns:
        dict: ``config``, ``checkpoint``, ``checkpoint_fingerprint``, ``options``,
        ``tokens``, ``format``, ``views``, ``window_sec``, ``stride_sec``, ``videos``
        (name -> file, video, shape, fps, total_frames, windows) and ``failed``
        (name -> error).
    """
    manifest = dict(config=str(config), checkpoint=str(checkpoint),
                    checkpoint_fingerprint=options.checkpoint_fingerprint,
                    options=options.as_dict(), tokens=options.tokens, format=options.format,
                    views=options.views, window_sec=options.window,
                    stride_sec=options.stride, videos={}, failed={})
    for key in keys:
        feat, side, error = feature_paths(out_dir, key, options.format)
        if stale_reason(out_dir, key, options) is None:
            meta = json.loads(side.read_text(encoding='utf-8'))
            manifest['videos'][key] = dict(file=f'{key}.{options.format}', **{
                k: meta[k] for k in ('video', 'shape', 'fps', 'total_frames', 'windows')})
        elif error.is_file():
            manifest['failed'][key] = json.loads(error.read_text(encoding='utf-8'))['error']
    return manifest


def list_videos(source: str | Path, video_root: str | Path | None = None) -> list[tuple[str, str]]:
    """``(key, path)`` of every video; the key is the output name (relative, no suffix,
    unless two videos of a folder differ only in it: ``test.mp4``, ``test.avi``).

    Args:
        source (str | Path): A folder (scanned recursively) or a ``path [label]`` list file.
        video_root (str | Path, optional): Prefix of the list's paths. Defaults to None.

    Returns:
        list[tuple[str, str]]: In folder order (sorted) or list order.

    Raises:
        FileNotFoundError: Neither a folder nor a file, or a folder without videos.
        ValueError: Two listed videos map to the same output name.
    """
    from ..datasets import read_video_list
    from ..datasets.video_folder_dataset import VIDEO_EXTENSIONS
    src = Path(source)
    if src.is_dir():
        paths = sorted(p for p in src.rglob('*')
                       if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS
                       and not p.name.startswith('.'))
        if not paths:
            raise FileNotFoundError(f'no video ({", ".join(VIDEO_EXTENSIONS)}) under {src}')
        stems = [str(p.relative_to(src).with_suffix('')) for p in paths]
        # test.mp4 and test.avi side by side keep their suffix: test.mp4.npy, test.avi.npy
        return [(stem if stems.count(stem) == 1 else str(p.relative_to(src)), str(p))
                for stem, p in zip(stems, paths)]
    if not src.is_file():
        raise FileNotFoundError(f'{source} is neither a folder nor a list file')
    root = str(video_root) if video_root is not None else None
    entries = read_video_list(src, multi_class=True, video_prefix=root, test_mode=True)
    videos = []
    for entry in entries:
        path = entry['filename']
        rel = os.path.relpath(path, root) if root else path
        if rel.startswith('..') or os.path.isabs(rel):
            rel = str(Path(*Path(path).parts[1:])) if os.path.isabs(path) else path
        videos.append((str(Path(rel).with_suffix('')), path))
    keys = [k for k, _ in videos]
    if len(set(keys)) != len(keys):
        raise ValueError(f'{source}: two videos map to the same output name (differing '
                         'only in their suffix)')
    return videos


__all__ = ['FEATURE_FORMATS', 'FeatureExtractor', 'FeatureOptions', 'FeatureResult',
           'build_manifest', 'extract_features', 'feature_paths', 'init_feature_extractor',
           'list_videos', 'save_failure', 'save_features', 'stale_reason',
           'write_json_atomic']
