"""Data preprocessors of umt_mm."""
from .detection_data_preprocessor import UMTDetDataPreprocessor

__all__ = ['UMTDetDataPreprocessor']
