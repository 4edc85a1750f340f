"""Heads of umt_mm."""
from .umt_head import UMTHead

__all__ = ['UMTHead']
