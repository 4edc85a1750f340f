"""Generated data for tests, benchmarks and the quickstart; never imported by a run.

* :mod:`~umt_mm.testing.motion_videos`: the eight-class motion set of the quickstart
  (classes in time-reversed pairs), :func:`make_motion_video_dataset`.
* :mod:`~umt_mm.testing.toy_videos`: a two-class moving-square set for fast tests,
  :func:`make_toy_video_dataset`.
* :mod:`~umt_mm.testing.kinetics_like_videos`: Kinetics-like H.264 clips (long GOPs,
  B-frames) for decoding tests and the data benchmark, :func:`write_kinetics_like_video`.
"""
from .kinetics_like_videos import write_kinetics_like_video
from .motion_videos import (
    MOTION_CLASSES,
    make_motion_video_dataset,
    render_motion_clip,
    write_video,
)
from .toy_videos import make_toy_video_dataset

__all__ = ['MOTION_CLASSES', 'make_motion_video_dataset', 'render_motion_clip', 'write_video',
           'make_toy_video_dataset', 'write_kinetics_like_video']
