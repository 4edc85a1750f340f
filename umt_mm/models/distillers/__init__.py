"""The UMT pretraining algorithm (distiller, semantic masking, alignment heads)."""
from .alignment_heads import UMTAlignmentHead, UMTAlignmentHeads
from .semantic_mask import UMTMaskGenerator
from .umt_distiller import UMTDistiller

__all__ = ['UMTDistiller', 'UMTMaskGenerator', 'UMTAlignmentHeads', 'UMTAlignmentHead']
