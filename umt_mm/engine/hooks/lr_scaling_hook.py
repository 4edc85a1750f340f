"""Scale the learning rate by the effective batch, counted the way the UMT reference counts it.

The reference scripts (``run_umt_pretraining.py``, ``run_class_finetuning.py`` and the AVA
``run_class_finetuning.py``) always multiply ``lr``, ``min_lr`` and ``warmup_lr`` by
``total_batch / 256`` with ``total_batch = processes x batch per process x update_freq x
num_sample`` (gradient accumulation steps and repeated-augmentation samples). MMEngine's
``auto_scale_lr`` counts only ``processes x batch per process``. This hook adds the rest, so
that a config's ``auto_scale_lr = dict(enable=True, base_batch_size=N)`` means: the config's
lr is the lr for ``N`` clips per optimizer step counted as the reference counts them.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from mmaction.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.optim import BaseOptimWrapper, OptimWrapperDict
from mmengine.optim.scheduler import (
    CosineAnnealingParamScheduler,
    LinearParamScheduler,
    _ParamScheduler,
)

#: key written into every scaled parameter group; a resumed optimizer state carries it
SCALED_KEY = 'effective_batch_lr_factor'
# schedulers holding absolute lr values besides ``base_values`` / ``eta_min``: not scaled here
_UNSUPPORTED = ('OneCycleParamScheduler', 'OneCycleLR', 'ReduceOnPlateauParamScheduler',
                'ReduceOnPlateauLR')


@dataclass(frozen=True)
class EffectiveBatch:
    """Clips per optimizer step, as the reference counts them.

    Attributes:
        processes (int): Number of processes (GPUs).
        batch (int): Videos per process and iteration (the dataloader's ``batch_size``).
        repeats (int): Augmented samples per video (``RepeatAugDataset.num_repeats``,
            the reference's ``--num_sample``); 1 without repeated augmentation.
        accumulation (int): Iterations per optimizer step
            (``optim_wrapper.accumulative_counts``, or the DeepSpeed strategy's
            ``gradient_accumulation_steps``; the reference's ``--update_freq``).
    """

    processes: int
    batch: int
    repeats: int = 1
    accumulation: int = 1

    @property
    def total(self) -> int:
        """int: ``processes x batch x repeats x accumulation``."""
        return self.processes * self.batch * self.repeats * self.accumulation

    def describe(self) -> str:
        """str: The product spelled out, e.g. ``512 = 16 processes x 16 videos x 2 repeats``."""
        parts = [f'{self.processes} process{"es" if self.processes != 1 else ""}',
                 f'{self.batch} videos']
        if self.repeats != 1:
            parts.append(f'{self.repeats} repeats')
        if self.accumulation != 1:
            parts.append(f'{self.accumulation} accumulated iterations')
        return f'{self.total} = ' + ' x '.join(parts)


def lr_factor(eff: EffectiveBatch, base_batch_size: float) -> float:
    """The factor on a config's lr: ``effective batch / base_batch_size``.

    Args:
        eff (EffectiveBatch): The run's effective batch.
        base_batch_size (float): ``auto_scale_lr.base_batch_size``, the effective batch the
            config's lr is for.

    Returns:
        float: 1.0 on the official set-up.
    """
    if base_batch_size <= 0:
        raise ValueError(f'auto_scale_lr.base_batch_size must be > 0, got {base_batch_size}')
    return eff.total / float(base_batch_size)


def _optim_wrappers(runner) -> list:
    wrapper = runner.optim_wrapper
    return list(wrapper.values()) if isinstance(wrapper, OptimWrapperDict) else [wrapper]


def _lr_schedulers(runner) -> list[_ParamScheduler]:
    schedulers = getattr(runner, 'param_schedulers', None) or []
    if isinstance(schedulers, dict):
        schedulers = [s for group in schedulers.values() for s in group]
    return [s for s in schedulers
            if isinstance(s, _ParamScheduler) and getattr(s, 'param_name', None) == 'lr']


def _dataset_repeats(dataset) -> int:
    """``num_repeats`` of the first (possibly wrapped) dataset that has one, else 1."""
    seen = 0
    while dataset is not None and seen < 16:
        if hasattr(dataset, 'num_repeats'):
            return int(dataset.num_repeats)
        dataset = getattr(dataset, 'dataset', None)
        seen += 1
    return 1


def effective_batch(runner) -> EffectiveBatch:
    """The effective batch of a runner whose train loop (and optim wrapper) are built.

    Args:
        runner: An MMEngine ``Runner`` or ``FlexibleRunner`` after building the train loop.

    Returns:
        EffectiveBatch: Processes, videos per process, repeats and accumulation.
    """
    loader = runner.train_dataloader
    batch = getattr(loader, 'batch_size', None)
    if batch is None:
        batch = getattr(getattr(loader, 'batch_sampler', None), 'batch_size', None)
    if batch is None:
        raise ValueError('EffectiveBatchLRHook: cannot tell the batch size of the training '
                         f'dataloader ({type(loader).__name__})')
    accumulation = 1
    strategy = getattr(runner, 'strategy', None)
    if type(strategy).__name__ == 'DeepSpeedStrategy':
        # DeepSpeed accumulates inside its engine (strategy gradient_accumulation_steps);
        # its optim wrapper has no accumulative_counts
        accumulation = int((getattr(strategy, 'config', None) or {}).get(
            'gradient_accumulation_steps', 1) or 1)
    else:
        wrappers = _optim_wrappers(runner)
        if wrappers:
            accumulation = int(getattr(wrappers[0], '_accumulative_counts', 1) or 1)
    return EffectiveBatch(processes=int(runner.world_size), batch=int(batch),
                          repeats=_dataset_repeats(loader.dataset), accumulation=accumulation)


@HOOKS.register_module()
class EffectiveBatchLRHook(Hook):
    """Scale lr, min lr and warmup lr by the effective batch; log them at the start.

    With ``auto_scale_lr = dict(enable=True, base_batch_size=N)`` the lr of every parameter
    group (layer-decay groups included), the schedulers' base values and any absolute
    ``eta_min`` end up multiplied by ``effective batch / N``, where the effective batch is
    ``processes x batch x repeats x accumulation`` (:class:`EffectiveBatch`). MMEngine has
    already applied ``processes x batch / N`` before the schedulers were built (its own
    ``auto_scale_lr``); this hook multiplies by the rest, ``repeats x accumulation``
    (everything under DeepSpeed, whose strategy does not scale). Warmup start and minimum
    given as ratios (``LinearLR.start_factor``, ``eta_min_ratio``) follow the lr. On the
    official number of GPUs the factor is exactly 1 and the config's values are used as
    written.

    With ``enable=False`` nothing is scaled (the config's lr is used as written) and the
    hook only logs. A resumed run keeps the lr of its checkpoint (a warning says so when
    the effective batch has changed).

    At ``before_train`` one line gives the effective batch, the lr per 256 clips, the
    actual lr and its warmup start and minimum.

    Examples:
        >>> default_hooks = dict(lr_scaling=dict(type='EffectiveBatchLRHook'))
        >>> auto_scale_lr = dict(enable=True, base_batch_size=512)  # 16 GPUs x 16 x 2 repeats
    """

    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self.factor = 1.0

    @staticmethod
    def _auto_scale_lr(runner) -> dict:
        cfg = getattr(runner, 'auto_scale_lr', None)
        if cfg is None:
            cfg = getattr(runner, '_auto_scale_lr', None)
        return dict(cfg or {})

    def before_run(self, runner) -> None:
        """Apply the part of the scaling MMEngine leaves out (training runs only)."""
        if not isinstance(getattr(runner, 'optim_wrapper', None), BaseOptimWrapper):
            return  # Runner.test() / val() also call before_run: no optimizer is built
        cfg = self._auto_scale_lr(runner)
        if not cfg.get('enable', False):
            self.factor = 1.0
            return
        if 'base_batch_size' not in cfg:
            raise KeyError('auto_scale_lr.enable=True needs auto_scale_lr.base_batch_size '
                           '(the effective batch the config lr is for)')
        eff = effective_batch(runner)
        self.factor = lr_factor(eff, cfg['base_batch_size'])
        groups = [g for w in _optim_wrappers(runner) for g in w.optimizer.param_groups]
        if any(SCALED_KEY in g for g in groups):
            return  # optimizer state of a resumed checkpoint: already scaled
        strategy = getattr(runner, 'strategy', None)
        if type(strategy).__name__ == 'DeepSpeedStrategy':
            extra = self.factor  # MMEngine's DeepSpeed strategy does not scale
        else:
            extra = float(eff.repeats * eff.accumulation)
        schedulers = _lr_schedulers(runner)
        for scheduler in schedulers:
            if type(scheduler).__name__ in _UNSUPPORTED:
                raise ValueError(
                    f'EffectiveBatchLRHook cannot scale {type(scheduler).__name__} (it holds '
                    'absolute lr values); scale its values yourself and set '
                    'auto_scale_lr.enable=False')
        for group in groups:
            group['lr'] *= extra
            if 'initial_lr' in group:
                group['initial_lr'] *= extra
        for scheduler in schedulers:
            scheduler.base_values = [v * extra for v in scheduler.base_values]
            if hasattr(scheduler, '_last_value'):
                scheduler._last_value = [v * extra for v in scheduler._last_value]
            # MMEngine scales the groups only: an absolute minimum needs the whole factor
            if getattr(scheduler, 'eta_min', None) is not None and \
                    getattr(scheduler, 'eta_min_ratio', None) is None:
                scheduler.eta_min *= self.factor
        for group in groups:
            group[SCALED_KEY] = self.factor

    def before_train(self, runner) -> None:
        """Log the effective batch, the lr per 256 clips, the actual, warmup and minimum lr."""
        eff = effective_batch(runner)
        cfg = self._auto_scale_lr(runner)
        groups = [g for w in _optim_wrappers(runner) for g in w.optimizer.param_groups]
        if not groups:
            return
        top = max(groups, key=lambda g: g.get('initial_lr', g['lr']))
        lr = top.get('initial_lr', top['lr'])
        schedulers = _lr_schedulers(runner)
        warmup = min_lr = None
        for scheduler in schedulers:
            if isinstance(scheduler, LinearParamScheduler) and scheduler.begin == 0:
                warmup = lr * scheduler.start_factor
            if isinstance(scheduler, CosineAnnealingParamScheduler):
                min_lr = (lr * scheduler.eta_min_ratio if scheduler.eta_min_ratio is not None
                          else scheduler.eta_min)
        extras = []
        if warmup is not None:
            extras.append(f'warmup from {warmup:.4g}')
        if min_lr is not None:
            extras.append(f'min lr {min_lr:.4g}')
        if len(groups) > 1 and len({round(g.get('lr_scale', 1.0), 12) for g in groups}) > 1:
            extras.append('layer-decay groups scaled alike')
        if cfg.get('enable', False):
            how = (f"auto_scale_lr on: config lr x {eff.total}/{cfg['base_batch_size']} "
                   f'= x {self.factor:.6g}')
        else:
            how = 'auto_scale_lr off: config lr used as written'
        print_log(f'lr scaling: effective batch {eff.describe()}; lr per 256 clips '
                  f'{lr * 256 / eff.total:.4g}; lr {lr:.4g}'
                  + (f' ({", ".join(extras)})' if extras else '') + f' [{how}]',
                  logger='current')
        resumed = top.get(SCALED_KEY)
        if cfg.get('enable', False) and resumed is not None and \
                abs(resumed - self.factor) > 1e-12 * max(abs(resumed), 1.0):
            print_log(f'lr scaling: the resumed optimizer state was scaled by {resumed:.6g}, '
                      f'this run would scale by {self.factor:.6g} (the effective batch '
                      'changed); the lr of the checkpoint is kept', logger='current',
                      level=logging.WARNING)

