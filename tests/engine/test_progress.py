"""ProgressReporter: plain lines in a log, a bar redrawn in place on a terminal."""
import io

import pytest

from umt_mm.engine import progress as progress_module
from umt_mm.engine.progress import ProgressReporter


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(progress_module.time, 'monotonic', clock)
    return clock


def test_log_gets_one_plain_line_per_step_and_a_last_line(clock):
    out = io.StringIO()
    reporter = ProgressReporter(20, what='videos', label='val', stream=out, every_percent=25)
    for i in range(20):
        clock.now += 0.5
        reporter.update(note=f'{i // 10} bad')
    lines = out.getvalue().splitlines()
    assert '\r' not in out.getvalue()
    assert len(lines) == 4  # 25, 50, 75, 100 %
    assert lines[0].startswith('val: 5/20 videos (25.0 %), 0 bad, 2 videos/s, 8 s left')
    assert lines[-1] == 'val: 20/20 videos (100.0 %), 1 bad, 2 videos/s, 10 s in all'
    reporter.finish()  # the last line is printed once
    assert len(out.getvalue().splitlines()) == 4


def test_slow_work_prints_a_line_every_few_seconds(clock):
    out = io.StringIO()
    reporter = ProgressReporter(1000, stream=out, every_percent=50, every_seconds=30)
    for _ in range(10):
        clock.now += 20
        reporter.update()
    # 200 s, 10 items: no 50 % step, a line every >= 30 s (at 40, 80, 120, 160, 200 s)
    lines = out.getvalue().splitlines()
    assert len(lines) == 5
    assert lines[-1].startswith('10/1000 items (1.0 %), 0.05 items/s, ')
    assert lines[-1].endswith(', 5 h 30 min left')  # 990 / 0.05 s


def test_terminal_redraws_in_place_with_a_bar(clock):
    out = io.StringIO()
    with ProgressReporter(4, what='videos', stream=out, tty=True, width=8) as reporter:
        for _ in range(4):
            clock.now += 1
            reporter.update()
    text = out.getvalue()
    assert text.count('\n') == 1 and text.endswith('\n')
    assert text.count('\r') == 4
    assert '\r[##......] 1/4 videos (25.0 %)' in text
    assert '\r[########] 4/4 videos (100.0 %), 1 videos/s, 4 s in all' in text


def test_unknown_total_and_bad_arguments(clock):
    out = io.StringIO()
    with ProgressReporter(stream=out, what='frames', every_seconds=5) as reporter:
        for _ in range(3):
            clock.now += 3
            reporter.update(10)
    assert out.getvalue().splitlines() == ['20 frames, 3.33 frames/s',
                                           '30 frames, 3.33 frames/s, 9 s in all']
    with pytest.raises(ValueError, match='total must be >= 0'):
        ProgressReporter(-1)
    with pytest.raises(ValueError, match='must be positive'):
        ProgressReporter(3, every_percent=0)
    empty = io.StringIO()
    ProgressReporter(0, stream=empty).finish()
    assert empty.getvalue() == '0/0 items (100.0 %), 0 items/s, 0 s in all\n'
