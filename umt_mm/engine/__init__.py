"""Engine parts: optimizer wrappers and constructors."""
from .cpu_amp_optim_wrapper import CPUAmpOptimWrapper
from .cpu_bf16 import cpu_bf16_support
from .hooks import (
                    BadVideoReportHook,
                    ExactResumeHook,
                    NonFiniteTrainingError,
                    NumericGuardHook,
)
from .optimizers import UMTLayerDecayOptimWrapperConstructor

__all__ = ['CPUAmpOptimWrapper', 'UMTLayerDecayOptimWrapperConstructor', 'cpu_bf16_support',
           'BadVideoReportHook', 'ExactResumeHook', 'NumericGuardHook', 'NonFiniteTrainingError']
