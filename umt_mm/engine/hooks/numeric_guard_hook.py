"""Stop (or skip the step) on a non-finite loss or gradient before it reaches the weights."""
from __future__ import annotations

import logging

import torch
from mmaction.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapper, OptimWrapperDict


class NonFiniteTrainingError(FloatingPointError):
    """Raised by :class:`NumericGuardHook` in ``action='stop'`` mode."""


@HOOKS.register_module()
class NumericGuardHook(Hook):
    """Guard every optimizer step against NaN / Inf losses and gradients.

    The hook wraps the optimizer wrappers' ``backward`` (to check the loss) and ``step``
    (to check the gradients after backward and, under DDP, after their all-reduce, before
    clipping and before the optimizer touches the weights). Both are acted on at the
    step, so under DDP every rank still runs its backward and all ranks decide alike:

    * ``action='stop'``: raise :class:`NonFiniteTrainingError` naming the iteration and
      the non-finite loss or the first parameter (in ``named_parameters`` order) whose
      gradient is not finite. The weights are those of the previous step.
    * ``action='skip'``: log a warning, zero the gradients and skip that optimizer step;
      after ``max_consecutive_skips`` skips in a row the run stops anyway.

    With MMEngine's ``AmpOptimWrapper`` (fp16 with a loss scaler) an overflow is expected
    now and then: the scaler itself skips the step and lowers the scale. The hook then
    only logs each drop of the loss scale (an overflow) and warns about an underflow once
    the scale is below ``min_loss_scale``; a non-finite loss itself (the forward, which
    the loss scale does not touch) is acted on as without AMP (the UMT reference exits on
    it: ``Loss is nan, stopping training``).

    Args:
        action (str): ``'stop'`` or ``'skip'``. Defaults to 'stop'.
        check_grads (bool): Check gradients, not only the loss. Defaults to True.
        max_consecutive_skips (int): In ``'skip'`` mode, stop after this many skipped
            steps in a row. Defaults to 10.
        min_loss_scale (float): AMP loss scale under which an underflow is reported.
            Defaults to 1.0.

    Examples:
        >>> custom_hooks = [dict(type='NumericGuardHook', action='skip')]
    """

    priority = 'VERY_HIGH'

    def __init__(self, action: str = 'stop', check_grads: bool = True,
                 max_consecutive_skips: int = 10, min_loss_scale: float = 1.0) -> None:
        if action not in ('stop', 'skip'):
            raise ValueError(f"NumericGuardHook: action must be 'stop' or 'skip', got {action!r}")
        self.action = action
        self.check_grads = check_grads
        self.max_consecutive_skips = max_consecutive_skips
        self.min_loss_scale = min_loss_scale
        self.skipped_iters: list[int] = []
        self._consecutive = 0
        self._bad_loss: str | None = None
        self._runner = None

    # ---------------------------------------------------------------- installation
    def before_train(self, runner) -> None:
        """Wrap the optimizer wrappers of the run."""
        self._runner = runner
        wrappers = runner.optim_wrapper
        if isinstance(wrappers, OptimWrapperDict):
            items = list(wrappers.items())
        else:
            items = [('', wrappers)]
        for _, wrapper in items:
            if isinstance(wrapper, OptimWrapper) and not getattr(wrapper, '_umt_guarded', False):
                self._wrap(wrapper)

    def _wrap(self, wrapper: OptimWrapper) -> None:
        backward, step = wrapper.backward, wrapper.step

        def guarded_backward(loss: torch.Tensor, **kwargs) -> None:
            if isinstance(loss, torch.Tensor) and not bool(torch.isfinite(loss.detach()).all()):
                self._on_bad_loss(loss)
            backward(loss, **kwargs)

        def guarded_step(**kwargs) -> None:
            scaler = getattr(wrapper, 'loss_scaler', None)
            if scaler is not None:  # fp16 AMP: the scaler skips overflowing steps itself
                problem, self._bad_loss = self._bad_loss, None
                if problem is not None:  # the loss itself: no loss scale can cure that
                    self._handle(f'{problem} (fp16 AMP: a non-finite loss, not a scaled-'
                                 'gradient overflow)')
                    wrapper.zero_grad()
                    return
                before = float(scaler.get_scale())
                step(**kwargs)
                self._report_loss_scale(before, float(scaler.get_scale()))
                return
            problem = self._bad_loss
            if problem is None and self.check_grads:
                problem = self._first_bad_grad(wrapper)
            self._bad_loss = None
            if problem is None:
                self._consecutive = 0
                step(**kwargs)
                return
            self._handle(problem)
            wrapper.zero_grad()

        wrapper.backward = guarded_backward
        wrapper.step = guarded_step
        wrapper._umt_guarded = True

    # ---------------------------------------------------------------- checks
    @property
    def _iteration(self) -> int:
        return self._runner.iter + 1 if self._runner is not None else -1

    def _on_bad_loss(self, loss: torch.Tensor) -> None:
        # acted on at the step: under DDP every rank must still run its backward
        if self._bad_loss is None:
            self._bad_loss = f'the loss is {loss.detach().float().flatten()[0].item()}'

    def _first_bad_grad(self, wrapper: OptimWrapper) -> str | None:
        named = []
        for group in wrapper.optimizer.param_groups:
            named.extend(p for p in group['params'] if p.grad is not None)
        if not named:
            return None
        grads = [p.grad.detach() for p in named]
        norms = torch._foreach_norm(grads) if hasattr(torch, '_foreach_norm') else \
            [g.norm() for g in grads]
        finite = torch.isfinite(torch.stack([n.float() for n in norms]))
        if bool(finite.all()):
            return None
        bad = {id(named[i]) for i in torch.nonzero(~finite).flatten().tolist()}
        model = self._runner.model if self._runner is not None else None
        if model is not None and is_model_wrapper(model):
            model = model.module
        if model is not None:
            for name, param in model.named_parameters():
                if id(param) in bad:
                    values = param.grad.detach()
                    kind = 'NaN' if bool(torch.isnan(values).any()) else 'Inf'
                    return f'the gradient of parameter {name!r} contains {kind}'
        return 'a gradient contains NaN/Inf (parameter outside the model)'

    def _raise(self, problem: str) -> None:
        raise NonFiniteTrainingError(
            f'NumericGuardHook: {problem} at iteration {self._iteration}; stopped before the '
            'optimizer step, the weights are those of the previous step. Lower the lr, check '
            'the data of this batch, or use NumericGuardHook(action="skip") to skip such '
            'steps.')

    def _handle(self, problem: str) -> None:
        if self.action == 'stop':
            self._raise(problem)
        self._consecutive += 1
        self.skipped_iters.append(self._iteration)
        print_log(f'NumericGuardHook: {problem} at iteration {self._iteration}: optimizer step '
                  f'skipped, gradients zeroed ({len(self.skipped_iters)} skipped so far)',
                  logger='current', level=logging.WARNING)
        if self._consecutive >= self.max_consecutive_skips:
            raise NonFiniteTrainingError(
                f'NumericGuardHook: {self._consecutive} optimizer steps in a row skipped for '
                f'non-finite values (last: {problem} at iteration {self._iteration}); '
                'stopping the run.')

    def _report_loss_scale(self, before: float, after: float) -> None:
        if after < before:
            print_log(f'NumericGuardHook: AMP overflow at iteration {self._iteration}: loss '
                      f'scale {before:g} -> {after:g}, optimizer step skipped by the scaler',
                      logger='current', level=logging.WARNING)
            if after < self.min_loss_scale:
                print_log(f'NumericGuardHook: AMP loss-scale underflow at iteration '
                          f'{self._iteration}: scale {after:g} < {self.min_loss_scale:g}; '
                          'the fp16 gradients keep overflowing (consider bf16 or a lower lr)',
                          logger='current', level=logging.WARNING)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        """Record the skipped steps in the message hub (logged by the LoggerHook)."""
        if self.action == 'skip':
            runner.message_hub.update_info('numeric_guard_skipped', len(self.skipped_iters))
