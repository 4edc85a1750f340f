"""Installation diagnostics: :mod:`umt_mm.diagnostics.gpu_check` (``make gpu-check``)."""
from .gpu_check import CHECKS, CheckFailed, CheckResult, Context, exit_code, main, run_checks

__all__ = ['CHECKS', 'CheckFailed', 'CheckResult', 'Context', 'exit_code', 'main', 'run_checks']
