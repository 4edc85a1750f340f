"""Datasets, transforms and data tools of umt_mm."""
from .k710_lists import K710ListReport, build_k710_lists
from .toy_videos import make_toy_video_dataset
from .transforms import (
                         UMTCenterCrop,
                         UMTMultiCrop,
                         UMTRandAugment,
                         UMTRandomErasing,
                         UMTRandomResizedCrop,
                         UMTSampleFrames,
                         UMTShortSideResize,
)

__all__ = ['make_toy_video_dataset', 'build_k710_lists', 'K710ListReport', 'UMTSampleFrames',
           'UMTRandAugment', 'UMTRandomErasing', 'UMTRandomResizedCrop', 'UMTShortSideResize',
           'UMTCenterCrop', 'UMTMultiCrop']
