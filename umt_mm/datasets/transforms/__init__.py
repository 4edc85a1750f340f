"""Data transforms of the UMT recipes (see docs/data_pipeline.md)."""
from .color_jitter import UMTGroupColorJitter
from .decoding import DecordSparseDecode, PyAVSparseDecode, PyAVSparseInit
from .rand_augment import UMTRandAugment
from .rand_augment_crop import UMTRandAugmentCrop
from .random_erasing import UMTRandomErasing
from .spatial import (
    UMTCenterCrop,
    UMTMultiCrop,
    UMTPILResize,
    UMTRandomResizedCrop,
    UMTShortSideResize,
)
from .umt_sampling import UMTSampleFrames, kinetics_sparse_indices, ssv2_indices, tsn_indices

__all__ = ['UMTSampleFrames', 'kinetics_sparse_indices', 'ssv2_indices', 'tsn_indices',
           'UMTRandAugment', 'UMTRandAugmentCrop',
           'UMTRandomErasing', 'UMTRandomResizedCrop', 'UMTShortSideResize', 'UMTCenterCrop',
           'UMTMultiCrop', 'UMTPILResize', 'UMTGroupColorJitter',
           'PyAVSparseInit', 'PyAVSparseDecode', 'DecordSparseDecode']
