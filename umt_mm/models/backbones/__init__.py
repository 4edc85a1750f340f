"""Backbones of umt_mm."""
from .umt_vit import UMTVisionTransformer

__all__ = ['UMTVisionTransformer']
