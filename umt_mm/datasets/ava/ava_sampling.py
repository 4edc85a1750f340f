"""The reference's AVA clip: frames at a fixed stride around the key frame, no jitter."""
from __future__ import annotations

import numpy as np
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform


@TRANSFORMS.register_module()
class UMTSampleAVAFrames(BaseTransform):
    """Sample ``clip_len`` frames every ``frame_interval`` frames around an AVA key frame.

    The key frame of timestamp ``t`` is frame ``k = round(fps * (t - timestamp_start))``
    (0-based) of the frames or video that start at second ``timestamp_start``: with the
    reference's 25-fps frames of seconds 895-1805
    (``tools/data/ava/prepare_ava_frames.py``, the AVA configs' default)
    ``k = 25 * (t - 895)``, the first frame of AlphAction's clip ``t.mp4``; with
    MMAction2's 30-fps frames of the 15-minute cut ``k = 30 * (t - 900)``. The reference
    (AlphAction's per-second clips around the key frame, then
    ``TemporalCrop(8, 8, sparse=True)``, ``action_detection/data/transforms.py``) takes frames
    ``k - clip_len // 2 * interval + offset + i * interval`` with
    ``offset = (interval - 1) // 2`` (3 for 8x8: ``k-29 ... k+27``, -1.16 s ... +1.08 s at
    25 fps, 20% less time at 30 fps) and no temporal jitter in training or testing.
    MMAction2's ``SampleAVAFrames`` centres without that offset, adds random offsets in
    training and, for frame folders, counts ``start_index`` twice (one frame late).
    Indices are clipped to the video (``total_frames`` from a video reader, else
    ``shot_info``) and then shifted by ``start_index`` (1 for AVA frame folders
    ``img_00001.jpg``..., 0 for videos).

    Required keys: ``timestamp``, ``timestamp_start``, ``fps``, and ``total_frames`` or
    ``shot_info``; optional ``start_index`` (default 0). Added keys: ``frame_inds``,
    ``clip_len``, ``frame_interval``, ``num_clips``, ``crop_quadruple``.

    Args:
        clip_len (int): Frames per clip. Defaults to 8.
        frame_interval (int): Stride between frames. Defaults to 8.
        offset (int, optional): Shift of the first frame; None means the reference's
            ``(frame_interval - 1) // 2``. Defaults to None.

    Examples:
        >>> from umt_mm.datasets.ava import UMTSampleAVAFrames
        >>> out = UMTSampleAVAFrames()(dict(timestamp=902, timestamp_start=895, fps=25,
        ...                                  shot_info=(0, 22750), start_index=1))
        >>> out['frame_inds'].tolist()  # key frame 175 = img_00176.jpg
        [147, 155, 163, 171, 179, 187, 195, 203]
    """

    def __init__(self, clip_len: int = 8, frame_interval: int = 8,
                 offset: int | None = None) -> None:
        if clip_len < 1 or frame_interval < 1:
            raise ValueError(f'clip_len and frame_interval must be >= 1, got {clip_len}, '
                             f'{frame_interval}')
        self.clip_len = clip_len
        self.frame_interval = frame_interval
        self.offset = (frame_interval - 1) // 2 if offset is None else int(offset)

    def transform(self, results: dict) -> dict:
        """Add ``frame_inds`` (see the class docstring)."""
        if results.get('total_frames') is not None:
            num_frames = int(results['total_frames'])
        else:
            num_frames = int(results['shot_info'][1]) - int(results['shot_info'][0])
        if num_frames <= 0:
            raise ValueError(f'{results.get("filename", results.get("frame_dir"))}: no frames')
        key = int(round(results['fps'] * (results['timestamp'] - results['timestamp_start'])))
        start = key - (self.clip_len // 2) * self.frame_interval + self.offset
        inds = start + np.arange(self.clip_len) * self.frame_interval
        inds = np.clip(inds, 0, num_frames - 1) + int(results.get('start_index', 0))
        results['frame_inds'] = inds.astype(np.int64)
        results['clip_len'] = self.clip_len
        results['frame_interval'] = self.frame_interval
        results['num_clips'] = 1
        results['crop_quadruple'] = np.array([0, 0, 1, 1], dtype=np.float32)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(clip_len={self.clip_len}, '
                f'frame_interval={self.frame_interval}, offset={self.offset})')
