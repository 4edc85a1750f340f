"""Evaluate in another precision: the ``test_precision`` config key of ``tools/test.py``."""
from __future__ import annotations

from mmaction.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper


@HOOKS.register_module()
class InferencePrecisionHook(Hook):
    """Run the test (or validation) loop's model in ``precision`` with ``backend``.

    Applied once, after the checkpoint is loaded and before the first test batch, with
    :func:`umt_mm.apis.precision.prepare_inference`; the choice is logged. ``tools/test.py``
    adds it for ``--precision`` / ``test_precision`` other than ``'fp32'``; evaluation
    numbers stay comparable by default (fp32).

    Args:
        precision (str): ``'fp32'``, ``'bf16'``, ``'int8'`` or ``'auto'``. Defaults to 'fp32'.
        backend (str): ``'eager'`` or ``'compile'``. Defaults to 'eager'.
        threads (int, optional): Intra-op threads. Defaults to None.
    """

    priority = 'LOW'

    def __init__(self, precision: str = 'fp32', backend: str = 'eager',
                 threads: int | None = None) -> None:
        from ...apis.precision import BACKENDS, PRECISIONS
        if precision not in PRECISIONS:
            raise ValueError(f'test_precision {precision!r}: choose one of '
                             f'{", ".join(PRECISIONS)}')
        if backend not in BACKENDS:
            raise ValueError(f'test_backend {backend!r}: choose one of {", ".join(BACKENDS)}')
        self.precision, self.backend, self.threads = precision, backend, threads
        self.choice = None

    def _apply(self, runner) -> None:
        if self.choice is not None:
            return
        from ...apis.precision import prepare_inference
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        self.choice = prepare_inference(model, self.precision, self.backend, self.threads)
        print_log(f'test model: {self.choice.describe()}', logger='current')

    def before_test(self, runner) -> None:
        self._apply(runner)
