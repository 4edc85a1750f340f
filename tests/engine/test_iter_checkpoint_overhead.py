"""EpochFractionCheckpointHook's max_overhead: a due checkpoint waits until it is paid for."""
from types import SimpleNamespace

import pytest

from umt_mm.engine.hooks import epoch_fraction_checkpoint_hook as module
from umt_mm.engine.hooks.epoch_fraction_checkpoint_hook import EpochFractionCheckpointHook


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def perf_counter(self) -> float:
        return self.now


def _run(hook, clock, iters: int, step_s: float, write_s: float) -> list[int]:
    saved = []
    runner = SimpleNamespace(iter=0, logger=SimpleNamespace(info=lambda *a: None))

    def save(runner):
        saved.append(runner.iter)
        clock.now += write_s

    hook._save_checkpoint = save
    hook.interval = 2
    for it in range(iters):
        runner.iter = it
        clock.now += step_s
        hook.after_train_iter(runner, it)
    return saved


@pytest.mark.parametrize('max_overhead, expected, deferred', [
    (None, [1, 3, 5, 7, 9, 11], 0),   # every interval, whatever the cost
    (0.02, [1, 6, 11], 7),            # 1 s writes need 50 s of training in between
])
def test_writes_wait_until_the_training_time_pays_for_them(monkeypatch, max_overhead,
                                                           expected, deferred):
    clock = FakeClock()
    monkeypatch.setattr(module, 'time', clock)
    hook = EpochFractionCheckpointHook(fraction=0.5, max_overhead=max_overhead)
    saved = _run(hook, clock, iters=12, step_s=10.0, write_s=1.0)
    assert saved == expected and hook.deferred == deferred
    if max_overhead:
        writing = len(saved) * 1.0
        assert writing / clock.now <= max_overhead + 1 / 12  # the first write is not bounded


def test_cheap_writes_keep_the_fraction_interval(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(module, 'time', clock)
    hook = EpochFractionCheckpointHook(fraction=0.5, max_overhead=0.02)
    assert _run(hook, clock, iters=8, step_s=10.0, write_s=0.1) == [1, 3, 5, 7]


def test_bad_overhead_is_refused():
    with pytest.raises(ValueError, match=r'max_overhead must be in \(0, 1\)'):
        EpochFractionCheckpointHook(max_overhead=2)
