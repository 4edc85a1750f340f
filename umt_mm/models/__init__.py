"""Models of umt_mm (registered into MMAction2's MODELS registry)."""
from .backbones import UMTViT
from .blending import UMTMixupCutmix
from .heads import UMTHead

__all__ = ['UMTViT', 'UMTHead', 'UMTMixupCutmix']
