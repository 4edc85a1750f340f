"""Hooks for reliable runs: bad-video reports, exact resume, numeric guard."""
from .bad_video_report_hook import BadVideoReportHook
from .exact_resume_hook import ExactResumeHook, PositionSeededDataset, ResumableSampler
from .numeric_guard_hook import NonFiniteTrainingError, NumericGuardHook
from .weight_decay_hook import CosineWeightDecayHook  # issue 15

__all__ = ['BadVideoReportHook', 'ExactResumeHook', 'ResumableSampler', 'PositionSeededDataset',
           'NumericGuardHook', 'NonFiniteTrainingError', 'CosineWeightDecayHook']
