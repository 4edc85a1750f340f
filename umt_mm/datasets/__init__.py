"""What a training or test run reads: datasets, transforms and the AVA data.

Offline data work (re-encoding, frame folders, K710 lists, dataset checks, AVA frames) is in
:mod:`umt_mm.datasets.preparation`; generated videos for tests and the quickstart are in
:mod:`umt_mm.testing`. Neither is imported here.
"""
from .ava import UMTAVADataset, UMTHSVColorJitter, UMTSampleAVAFrames
from .repeat_aug import RawframeRepeatAugDataset, SparseRepeatAugDataset
from .skip_bad_videos import BadVideoError, SkipBadVideos
from .transforms import (
                         UMTCenterCrop,
                         UMTMultiCrop,
                         UMTRandAugment,
                         UMTRandAugmentCrop,
                         UMTRandomErasing,
                         UMTRandomResizedCrop,
                         UMTSampleFrames,
                         UMTShortSideResize,
)
from .video_folder_dataset import VideoFolderDataset
from .video_list_validation import AnnotationError, read_label_map, read_video_list

__all__ = ['VideoFolderDataset', 'UMTSampleFrames',
           'UMTRandAugment', 'UMTRandAugmentCrop', 'UMTRandomErasing', 'UMTRandomResizedCrop',
           'UMTShortSideResize', 'UMTCenterCrop', 'UMTMultiCrop',
           'UMTAVADataset', 'UMTSampleAVAFrames', 'UMTHSVColorJitter',
           'SkipBadVideos', 'BadVideoError', 'AnnotationError', 'read_video_list',
           'read_label_map', 'SparseRepeatAugDataset', 'RawframeRepeatAugDataset']
