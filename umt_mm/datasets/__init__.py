"""Datasets, transforms and data tools of umt_mm."""
from .toy_videos import make_toy_video_dataset
from .transforms import UMTSampleFrames

__all__ = ['make_toy_video_dataset', 'UMTSampleFrames']
