"""Windows over a whole video, each through a recipe's test pipeline.

Shared by ``tools/inference_long_video.py`` and ``tools/extract_features.py``. A window is a
range of frames ``[start, start + length)``; the pipeline's frame sampler (``UMTSampleFrames``,
``SampleFrames``...) sees only that range, as if the window were the whole video (its
``total_frames`` is the window's length), and its frame indices are then shifted by
``start``. The steps before the sampler (``DecordInit``) run once per video and the steps
after it (decode, resize, crops, ``FormatShape``, ``PackActionInputs``) once per window, so a
window that covers the whole video gives exactly the sample ``tools/test.py`` builds from it.
"""
from __future__ import annotations

import argparse
import copy
import math
from dataclasses import dataclass

import numpy as np

SAMPLERS = ('UMTSampleFrames', 'SampleFrames', 'UniformSample', 'UniformSampleFrames',
            'DenseSampleFrames')


@dataclass(frozen=True)
class Window:
    """One window: frames ``[start, stop)`` of a video with ``fps`` frames per second."""

    index: int
    start: int
    stop: int
    fps: float

    @property
    def start_sec(self) -> float:
        return self.start / self.fps

    @property
    def stop_sec(self) -> float:
        return self.stop / self.fps

    @property
    def center_sec(self) -> float:
        return (self.start + self.stop) / 2 / self.fps


def add_window_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--window`` and ``--stride`` (seconds, see :func:`plan_windows`) to ``parser``."""
    parser.add_argument('--window', type=float, default=None,
                        help='window length in seconds (default: the whole video)')
    parser.add_argument('--stride', type=float, default=None,
                        help='seconds between window starts (default: --window)')


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
    without a test pipeline (pretraining configs)."""
    return [
        dict(type='DecordInit'),
        dict(type='UMTSampleFrames', clip_len=num_frames, test_mode=True),
        dict(type='DecordDecode'),
        dict(type='UMTShortSideResize', short_side=img_size),
        dict(type='UMTCenterCrop', crop_size=img_size),
        dict(type='FormatShape', input_format='NCTHW'),
        dict(type='PackActionInputs'),
    ]


class WindowedPipeline:
    """A test pipeline split at its frame sampler, to be run on windows of one video.

    Args:
        pipeline (list[dict]): Transform configs with exactly one frame sampler
            (one of :data:`SAMPLERS`) and a video opener (``DecordInit``...) before it.
    """

    def __init__(self, pipeline: list[dict]) -> None:
        from mmaction.registry import TRANSFORMS
        from mmengine.dataset import Compose
        steps = [dict(step) for step in copy.deepcopy(list(pipeline))]
        found = [i for i, step in enumerate(steps) if step['type'] in SAMPLERS]
        if len(found) != 1:
            raise ValueError('the test pipeline needs exactly one frame sampler '
                             f'({", ".join(SAMPLERS)}), found '
                             f'{[steps[i]["type"] for i in found]}')
        cut = found[0]
        if cut == 0:
            raise ValueError('the test pipeline opens no video before its sampler (windows '
                             'need a video pipeline: DecordInit, PyAVInit...)')
        self.open_steps = Compose(steps[:cut])
        self.sampler = TRANSFORMS.build(steps[cut])
        self.window_steps = Compose(steps[cut + 1:])
        self.steps = steps

    def open(self, video: str) -> dict:
        """Run the steps before the sampler (open the video once).

        Returns:
            dict: The opened results, with ``total_frames`` and ``avg_fps``.
        """
        results = self.open_steps(dict(filename=video, label=-1, start_index=0,
                                       modality='RGB'))
        if results is None or not results.get('total_frames'):
            raise RuntimeError(f'{video}: no frames could be read')
        if not results.get('avg_fps') or not math.isfinite(results['avg_fps']):
            results['avg_fps'] = 30.0
        return results

    def window(self, opened: dict, window: Window) -> dict:
        """The packed sample (``inputs``, ``data_samples``) of one window."""
        results = dict(opened)
        results['total_frames'] = window.stop - window.start
        results = self.sampler(results)
        results['frame_inds'] = np.asarray(results['frame_inds']) + window.start
        results['total_frames'] = opened['total_frames']
        return self.window_steps(results)
