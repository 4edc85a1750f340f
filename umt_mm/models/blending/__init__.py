"""Batch blending (mixup / cutmix) of the UMT finetuning recipes."""
from .mixup_cutmix import UMTMixupCutmix

__all__ = ['UMTMixupCutmix']
