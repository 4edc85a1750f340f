"""Optimizer wrapper constructors."""
from .layer_decay_constructor import UMTLayerDecayOptimWrapperConstructor

__all__ = ['UMTLayerDecayOptimWrapperConstructor']
