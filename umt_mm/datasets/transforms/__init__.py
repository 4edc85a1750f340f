"""Data transforms of the UMT recipes."""
from .umt_sampling import UMTSampleFrames, kinetics_sparse_indices, ssv2_indices

__all__ = ['UMTSampleFrames', 'kinetics_sparse_indices', 'ssv2_indices']
