"""Datasets, transforms and data tools of umt_mm."""
from .ava import UMTAVADataset, UMTHSVColorJitter, UMTSampleAVAFrames
from .k710_lists import K710ListReport, build_k710_lists
from .repeat_aug import RawframeRepeatAugDataset, SparseRepeatAugDataset  # issue 17
from .skip_bad_videos import BadVideoError, SkipBadVideos  # reliability (issue 11)
from .toy_videos import make_toy_video_dataset
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
from .video_list_validation import AnnotationError, read_label_map, read_video_list  # issue 11

__all__ = ['VideoFolderDataset', 'make_toy_video_dataset', 'build_k710_lists', 'K710ListReport',
           'UMTSampleFrames',
           'UMTRandAugment', 'UMTRandAugmentCrop', 'UMTRandomErasing', 'UMTRandomResizedCrop',
           'UMTShortSideResize', 'UMTCenterCrop', 'UMTMultiCrop',
           'UMTAVADataset', 'UMTSampleAVAFrames', 'UMTHSVColorJitter',
           'SkipBadVideos', 'BadVideoError', 'AnnotationError', 'read_video_list',
           'read_label_map', 'SparseRepeatAugDataset', 'RawframeRepeatAugDataset']
