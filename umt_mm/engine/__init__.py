"""Engine parts: optimizer wrappers and constructors."""
from .cpu_amp_optim_wrapper import CPUAmpOptimWrapper
from .optimizers import UMTLayerDecayOptimWrapperConstructor

__all__ = ['CPUAmpOptimWrapper', 'UMTLayerDecayOptimWrapperConstructor']
