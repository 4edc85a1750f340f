"""The reference's per-iteration cosine weight-decay schedule (``--weight_decay_end``)."""
from __future__ import annotations

import math

from mmaction.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.optim import OptimWrapperDict

INITIAL_KEY = 'initial_weight_decay'


def cosine_weight_decay(base: float, end: float, iteration: int, total: int) -> float:
    """``end + (base - end) * (1 + cos(pi * iteration / total)) / 2``.

    The value of the reference's ``utils.cosine_scheduler(base, end, epochs, niter_per_ep)``
    (no warmup) at ``iteration`` of ``total = epochs * niter_per_ep``.

    Args:
        base (float): Weight decay at iteration 0.
        end (float): The value the schedule tends to at ``total``.
        iteration (int): 0-based global iteration.
        total (int): Iterations of the whole run.

    Returns:
        float: The weight decay of that iteration.
    """
    return end + 0.5 * (base - end) * (1 + math.cos(math.pi * iteration / total))


@HOOKS.register_module()
class CosineWeightDecayHook(Hook):
    """Cosine weight-decay schedule of UMT pretraining (``--weight_decay_end``).

    Before every training iteration ``i`` of ``N = runner.max_iters``, each parameter
    group whose weight decay was set (``> 0``: the no-decay groups stay at 0) gets
    ``end + (wd - end) * (1 + cos(pi * i / N)) / 2``, ``wd`` being the group's configured
    weight decay (remembered in the group as ``initial_weight_decay``, so a resumed run
    continues the same schedule), exactly the reference's ``utils.cosine_scheduler`` per
    iteration. ``weight_decay_end=None`` (the reference's default, used by every UMT
    script) keeps the weight decay constant. The value of the decayed groups is logged as
    ``weight_decay``.

    Args:
        weight_decay_end (float, optional): Final weight decay. Defaults to None
            (constant).

    Examples:
        >>> default_hooks = dict(
        ...     weight_decay=dict(type='CosineWeightDecayHook', weight_decay_end=0.2))
    """

    priority = 'NORMAL'

    def __init__(self, weight_decay_end: float | None = None) -> None:
        if weight_decay_end is not None and weight_decay_end < 0:
            raise ValueError(f'CosineWeightDecayHook: weight_decay_end must be >= 0, got '
                             f'{weight_decay_end}')
        self.weight_decay_end = weight_decay_end

    @staticmethod
    def _param_groups(runner) -> list[dict]:
        wrappers = runner.optim_wrapper
        if isinstance(wrappers, OptimWrapperDict):
            wrappers = list(wrappers.values())
        else:
            wrappers = [wrappers]
        return [group for wrapper in wrappers for group in wrapper.optimizer.param_groups]

    def before_train(self, runner) -> None:
        """Remember each group's configured weight decay (kept from a resumed checkpoint)."""
        for group in self._param_groups(runner):
            group.setdefault(INITIAL_KEY, group.get('weight_decay', 0.0))

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        """Set the weight decay of this iteration and log it."""
        value = None
        for group in self._param_groups(runner):
            base = group.get(INITIAL_KEY, 0.0)
            if base <= 0:
                continue
            if self.weight_decay_end is not None:
                group['weight_decay'] = cosine_weight_decay(
                    base, self.weight_decay_end, runner.iter, runner.max_iters)
            value = group['weight_decay']
        if value is not None:
            runner.message_hub.update_scalar('train/weight_decay', value)
