"""Windows over a whole video, each through a recipe's test pipeline.

A window is a range of frames ``[start, start + length)``. The pipeline's frame sampler (the
step that sets ``frame_inds``: ``UMTSampleFrames``, MMAction2's ``SampleFrames``...) sees only
that range, as if the window were the whole video (its ``total_frames`` is the window's
length), and its frame indices are then shifted by ``start``. The steps before the sampler
(``DecordInit``) run once per video and the steps after it (decode, resize, crops,
``FormatShape``, ``PackActionInputs``) once per window, so a window that covers the whole
video gives exactly the sample ``tools/test.py`` builds from it.

Example:
    >>> from umt_mm.apis import init_recognizer, recognize_video
    >>> model = init_recognizer('configs/k400/...py', 'checkpoints/umt-base-p16_k400.pth')
    >>> for prediction in recognize_video(model, 'long.mp4', window=2.0, stride=1.0):
    ...     print(prediction.window.start_sec, prediction.topk(1))
"""
from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .video_reading import FALLBACK_FPS


@dataclass(frozen=True)
class Window:
    """One window: frames ``[start, stop)`` of a video with ``fps`` frames per second.

    Attributes:
        index (int): Position among the video's windows.
        start (int): First frame.
        stop (int): One past the last frame.
        fps (float): The video's frame rate.
    """

    index: int
    start: int
    stop: int
    fps: float

    @property
    def start_sec(self) -> float:
        """Start in seconds."""
        return self.start / self.fps

    @property
    def stop_sec(self) -> float:
        """End in seconds (exclusive)."""
        return self.stop / self.fps

    @property
    def center_sec(self) -> float:
        """Centre in seconds."""
        return (self.start + self.stop) / 2 / self.fps

    def as_dict(self) -> dict:
        """``start_frame``, ``end_frame``, ``start_sec``, ``end_sec`` (4 decimals), as the
        tools write them."""
        return dict(start_frame=self.start, end_frame=self.stop,
                    start_sec=round(self.start_sec, 4), end_sec=round(self.stop_sec, 4))


def plan_windows(total_frames: int, fps: float, window: float | None,
                 stride: float | None) -> list[Window]:
    """Windows of ``window`` seconds every ``stride`` seconds covering the whole video.

    Args:
        total_frames (int): Frames of the video.
        fps (float): Its frame rate.
        window (float, optional): Window length in seconds; None (or longer than the video)
            means one window over the whole video.
        stride (float, optional): Seconds between window starts; None means ``window``
            (no overlap).

    Returns:
        list[Window]: The windows in order. When the last regular window ends before the
        video does, one more window ends exactly at the last frame.

    Raises:
        ValueError: No frames, or a non-positive frame rate, window or stride.
    """
    if total_frames <= 0:
        raise ValueError('the video has no frames')
    if fps <= 0:
        raise ValueError(f'frame rate must be positive, got {fps}')
    if window is not None and window <= 0:
        raise ValueError(f'--window must be positive seconds, got {window}')
    if stride is not None and stride <= 0:
        raise ValueError(f'--stride must be positive seconds, got {stride}')
    length = total_frames if window is None else max(1, int(round(window * fps)))
    if length >= total_frames:
        return [Window(0, 0, total_frames, fps)]
    step = length if stride is None else max(1, int(round(stride * fps)))
    starts = list(range(0, total_frames - length + 1, step))
    if starts[-1] + length < total_frames:
        starts.append(total_frames - length)
    return [Window(i, s, s + length, fps) for i, s in enumerate(starts)]


def default_test_pipeline(num_frames: int, img_size: int) -> list[dict]:
    """The UMT test view (one clip, short side ``img_size``, centre crop) for configs
    without a test pipeline (pretraining configs).

    Args:
        num_frames (int): Frames of the clip.
        img_size (int): Short side and crop size in pixels.

    Returns:
        list[dict]: Transform configs.
    """
    return [
        dict(type='DecordInit'),
        dict(type='UMTSampleFrames', clip_len=num_frames, test_mode=True),
        dict(type='DecordDecode'),
        dict(type='UMTShortSideResize', short_side=img_size),
        dict(type='UMTCenterCrop', crop_size=img_size),
        dict(type='FormatShape', input_format='NCTHW'),
        dict(type='PackActionInputs'),
    ]


#: what a frame sampler is given when :func:`frame_sampler_steps` probes a step
_PROBE = dict(filename='', label=-1, start_index=0, modality='RGB', total_frames=64,
              avg_fps=FALLBACK_FPS)


def _build_transform(step: dict):
    from mmaction.registry import TRANSFORMS
    from mmengine.registry import init_default_scope
    init_default_scope('mmaction')
    return TRANSFORMS.build(copy.deepcopy(dict(step)))


def sets_frame_inds(transform) -> bool:
    """Whether a built transform is a frame sampler: given a video's frame count (and no
    video), it adds ``frame_inds``.

    Args:
        transform (Callable): A built pipeline step.

    Returns:
        bool: True for ``UMTSampleFrames``, ``SampleFrames`` and every other step that picks
        frame indices from ``total_frames``.
    """
    try:
        results = transform(dict(_PROBE))
    except Exception:  # steps that need a video, frames or tensors fail on the probe
        return False
    return isinstance(results, dict) and 'frame_inds' in results


def frame_sampler_steps(pipeline: Sequence[dict]) -> list[int]:
    """Positions of the frame samplers of a pipeline config (see :func:`sets_frame_inds`).

    Args:
        pipeline (Sequence[dict]): Transform configs, registered in MMAction2's
            ``TRANSFORMS`` (umt_mm's included).

    Returns:
        list[int]: Indices into ``pipeline``.
    """
    found = []
    for i, step in enumerate(pipeline):
        try:
            transform = _build_transform(step)
        except Exception:  # a step that cannot be built alone is no sampler
            continue
        if sets_frame_inds(transform):
            found.append(i)
    return found


class WindowedPipeline:
    """A test pipeline split at its frame sampler, to be run on windows of one video.

    Args:
        pipeline (list[dict]): Transform configs with exactly one frame sampler (the step
            that sets ``frame_inds``) and a video opener (``DecordInit``...) before it.

    Raises:
        ValueError: No or several samplers, or no step before the sampler.
    """

    def __init__(self, pipeline: list[dict]) -> None:
        from mmengine.dataset import Compose
        steps = [dict(step) for step in copy.deepcopy(list(pipeline))]
        found = frame_sampler_steps(steps)
        if len(found) != 1:
            raise ValueError('the test pipeline needs exactly one frame sampler (a step that '
                             'sets frame_inds), found '
                             f'{[steps[i]["type"] for i in found]} in '
                             f'{[step["type"] for step in steps]}')
        cut = found[0]
        if cut == 0:
            raise ValueError('the test pipeline opens no video before its sampler (windows '
                             'need a video pipeline: DecordInit, PyAVInit...)')
        self.open_steps = Compose(steps[:cut])
        self.sampler = _build_transform(steps[cut])
        self.window_steps = Compose(steps[cut + 1:])
        self.steps = steps

    def open(self, video: str | Path) -> dict:
        """Run the steps before the sampler (open the video once).

        Args:
            video (str | Path): The video file.

        Returns:
            dict: The opened results, with ``total_frames`` and ``avg_fps``
            (:data:`~umt_mm.apis.FALLBACK_FPS` when the file reports none).

        Raises:
            FileNotFoundError: No such file.
            RuntimeError: No frame could be read (the message names the file).
        """
        video = str(video)
        if not Path(video).is_file():
            raise FileNotFoundError(f'video {video} does not exist')
        try:
            results = self.open_steps(dict(filename=video, label=-1, start_index=0,
                                           modality='RGB'))
        except Exception as err:  # decord raises its own DECORDError
            raise RuntimeError(f'video {video} cannot be decoded: {err}') from err
        if results is None or not results.get('total_frames'):
            raise RuntimeError(f'{video}: no frames could be read')
        fps = results.get('avg_fps')
        if not fps or not math.isfinite(fps):
            results['avg_fps'] = FALLBACK_FPS
        return results

    def window(self, opened: dict, window: Window) -> dict:
        """The packed sample (``inputs``, ``data_samples``) of one window.

        Args:
            opened (dict): What :meth:`open` returned.
            window (Window): The frames.

        Returns:
            dict: The pipeline's output for those frames.
        """
        results = dict(opened)
        results['total_frames'] = window.stop - window.start
        results = self.sampler(results)
        results['frame_inds'] = np.asarray(results['frame_inds']) + window.start
        results['total_frames'] = opened['total_frames']
        return self.window_steps(results)


@dataclass(frozen=True)
class WindowPrediction:
    """The class scores of one window.

    Attributes:
        window (Window): The frames.
        scores (np.ndarray): ``(num_classes,)`` float32, as the model's ``test_step``
            predicts them (multi-view averaging as the config's ``average_clips``).
    """

    window: Window
    scores: np.ndarray

    def topk(self, k: int = 5, names: Sequence[str] | None = None) -> list[tuple[int, str, float]]:
        """The ``k`` best classes, best first (ties: lower index first).

        Args:
            k (int): How many. Defaults to 5.
            names (Sequence[str], optional): Class names. Defaults to None (indices as names).

        Returns:
            list[tuple[int, str, float]]: ``(class index, name, score)``.
        """
        from .recognition import topk_classes
        return topk_classes(self.scores, k, names)


def recognize_video(model, video: str | Path, window: float | None = None,
                    stride: float | None = None, views: str | None = None,
                    test_pipeline: list[dict] | None = None,
                    progress: Callable[[], None] | None = None) -> list[WindowPrediction]:
    """Class scores of every window of a (long) video.

    Each window goes through the config's test pipeline as if it were the whole video and
    through the model's ``test_step``: a window's scores are what ``tools/test.py`` predicts
    for a clip holding exactly those frames.

    Args:
        model (nn.Module): A recognizer (:func:`~umt_mm.apis.init_recognizer`).
        video (str | Path): The video file.
        window (float, optional): Window length in seconds. Defaults to None (the whole
            video).
        stride (float, optional): Seconds between window starts. Defaults to None
            (``window``, no overlap).
        views (str, optional): ``'CLIPSxCROPS'`` test views. Defaults to None (the config's).
        test_pipeline (list[dict], optional): Transform configs used instead of the
            config's. Defaults to None.
        progress (Callable, optional): Called once per finished window. Defaults to None.

    Returns:
        list[WindowPrediction]: One per window, in time order (:func:`plan_windows`).
    """
    import torch
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import init_default_scope

    from .recognition import inference_pipeline
    init_default_scope(model.cfg.get('default_scope', 'mmaction'))
    steps = test_pipeline if test_pipeline is not None else inference_pipeline(model.cfg, views)
    pipeline = WindowedPipeline(steps)
    opened = pipeline.open(video)
    windows = plan_windows(int(opened['total_frames']), float(opened['avg_fps']), window,
                           stride)
    predictions = []
    for win in windows:
        data = pseudo_collate([pipeline.window(opened, win)])
        with torch.no_grad():
            result = model.test_step(data)[0]
        predictions.append(WindowPrediction(win, result.pred_score.float().cpu().numpy()))
        if progress is not None:
            progress()
    return predictions


__all__ = ['Window', 'WindowPrediction', 'WindowedPipeline', 'default_test_pipeline',
           'frame_sampler_steps', 'plan_windows', 'recognize_video', 'sets_frame_inds']
