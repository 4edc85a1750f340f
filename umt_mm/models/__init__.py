"""Models of umt_mm (registered into MMAction2's MODELS registry)."""
from .backbones import UMTVisionTransformer
from .blending import UMTMixupCutmix
from .heads import UMTHead

__all__ = ['UMTVisionTransformer', 'UMTHead', 'UMTMixupCutmix']
