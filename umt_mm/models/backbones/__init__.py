"""Backbones of umt_mm."""
from .clip_teacher import CLIPVisionTeacher
from .umt_vit import UMTVisionTransformer

__all__ = ['UMTVisionTransformer', 'CLIPVisionTeacher']
