"""Hooks for reliable runs: bad-video reports, exact resume, numeric guard."""
from .bad_video_report_hook import BadVideoReportHook
from .data_time_hook import DataTimeHook
from .epoch_fraction_checkpoint_hook import EpochFractionCheckpointHook
from .exact_resume_hook import ExactResumeHook, PositionSeededDataset, ResumableSampler
from .inference_precision_hook import InferencePrecisionHook
from .lr_scaling_hook import EffectiveBatch, EffectiveBatchLRHook, effective_batch
from .numeric_guard_hook import NonFiniteTrainingError, NumericGuardHook
from .resume_checkpoint import apply_resume_fallback, latest_readable_checkpoint
from .weight_decay_hook import CosineWeightDecayHook

__all__ = ['BadVideoReportHook', 'ExactResumeHook', 'ResumableSampler', 'PositionSeededDataset',
           'NumericGuardHook', 'NonFiniteTrainingError', 'CosineWeightDecayHook',
           'EffectiveBatch', 'EffectiveBatchLRHook', 'effective_batch', 'DataTimeHook',
           'apply_resume_fallback', 'latest_readable_checkpoint', 'InferencePrecisionHook',
           'EpochFractionCheckpointHook']
