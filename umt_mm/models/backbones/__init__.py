"""Backbones of umt_mm."""
from .umt_vit import UMTViT

__all__ = ['UMTViT']
