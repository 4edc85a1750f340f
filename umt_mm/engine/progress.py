"""Progress of a long loop, readable on a terminal and in a log file.

MMEngine's ``ProgressBar`` redraws its bar with carriage returns; written to a file (a job's
log, ``tool.py > log.txt``) that becomes one line of hundreds of bars. :class:`ProgressReporter`
draws the bar in place only when the stream is a terminal and otherwise prints plain lines:
one every ``every_percent`` of the total and at least one every ``every_seconds``.
"""
from __future__ import annotations

import sys
import time
from typing import TextIO


def _duration(seconds: float) -> str:
    """``'42 s'``, ``'3 min 05 s'`` or ``'2 h 07 min'``."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f'{seconds} s'
    if seconds < 3600:
        return f'{seconds // 60} min {seconds % 60:02d} s'
    return f'{seconds // 3600} h {seconds % 3600 // 60:02d} min'


class ProgressReporter:
    """Report ``done / total`` items with the rate and the time left.

    A line reads ``<label>: 40/100 videos (40.0 %), <note>, 3.2 videos/s, 19 s left``
    (without total: ``<label>: 40 videos, 3.2 videos/s``). On a terminal the line is redrawn
    in place (at most every ``redraw_seconds``) with a bar in front; elsewhere a new line is
    printed each time the count crosses a multiple of ``every_percent`` or ``every_seconds``
    have passed since the last line. The last line (100 %, or :meth:`finish`) is always
    printed, followed by a newline.

    Args:
        total (int, optional): Items expected. Defaults to None (unknown: no percentage).
        what (str): The items' name in the line. Defaults to 'items'.
        label (str): Prefix of the line (a split, a file). Defaults to ''.
        stream (TextIO, optional): Where to write. Defaults to None (``sys.stderr``).
        every_percent (float): Plain-line step, in percent of ``total``. Defaults to 10.
        every_seconds (float): Longest time between two plain lines. Defaults to 60.
        redraw_seconds (float): Shortest time between two terminal redraws.
            Defaults to 0.2.
        tty (bool, optional): Draw in place; None asks the stream (``isatty()``).
            Defaults to None.
        width (int): Bar width in characters on a terminal. Defaults to 30.

    Examples:
        >>> from umt_mm.engine.progress import ProgressReporter
        >>> with ProgressReporter(len(videos), what='videos') as progress:  # doctest: +SKIP
        ...     for video in videos:
        ...         convert(video)
        ...         progress.update()
    """

    def __init__(self,
                 total: int | None = None,
                 what: str = 'items',
                 label: str = '',
                 stream: TextIO | None = None,
                 every_percent: float = 10.0,
                 every_seconds: float = 60.0,
                 redraw_seconds: float = 0.2,
                 tty: bool | None = None,
                 width: int = 30) -> None:
        if total is not None and total < 0:
            raise ValueError(f'total must be >= 0 or None, got {total}')
        if every_percent <= 0 or every_seconds <= 0:
            raise ValueError('every_percent and every_seconds must be positive, got '
                             f'{every_percent} and {every_seconds}')
        self.total = total
        self.what = what
        self.label = label
        self.stream = sys.stderr if stream is None else stream
        self.every_percent = every_percent
        self.every_seconds = every_seconds
        self.redraw_seconds = redraw_seconds
        if tty is None:
            isatty = getattr(self.stream, 'isatty', None)
            tty = bool(isatty()) if callable(isatty) else False
        self.tty = tty
        self.width = width
        self.done = 0
        self.note = ''
        self.finished = False
        self._start = time.monotonic()
        self._last_time = self._start
        self._last_step = 0

    def update(self, count: int = 1, note: str | None = None) -> None:
        """Count ``count`` more items done and report when it is time.

        Args:
            count (int): Items finished since the last call. Defaults to 1.
            note (str, optional): Shown after the count until replaced (e.g. ``'3 bad'``).
                Defaults to None (keep the last one).
        """
        self.done += count
        if note is not None:
            self.note = note
        if self.finished:
            return
        if self.total is not None and self.done >= self.total:
            self.finish()
            return
        now = time.monotonic()
        if self.tty:
            if now - self._last_time >= self.redraw_seconds:
                self._write(self.line(now), now)
            return
        step = self._step()
        if step > self._last_step or now - self._last_time >= self.every_seconds:
            self._last_step = step
            self._write(self.line(now), now)

    def finish(self) -> None:
        """Print the last line (once) and end it with a newline."""
        if self.finished:
            return
        self.finished = True
        now = time.monotonic()
        self._write(self.line(now), now, end=True)

    def line(self, now: float | None = None) -> str:
        """The progress line as it is printed (without the terminal bar).

        Args:
            now (float, optional): ``time.monotonic()`` of the line. Defaults to None (now).

        Returns:
            str: The line.
        """
        now = time.monotonic() if now is None else now
        elapsed = max(now - self._start, 1e-9)
        rate = self.done / elapsed
        if self.total is None:
            parts = [f'{self.done} {self.what}']
        else:
            percent = 100.0 * self.done / self.total if self.total else 100.0
            parts = [f'{self.done}/{self.total} {self.what} ({percent:.1f} %)']
        if self.note:
            parts.append(self.note)
        parts.append(f'{rate:.3g} {self.what}/s')
        if self.finished or (self.total is not None and self.done >= self.total):
            parts.append(f'{_duration(elapsed)} in all')
        elif self.total is not None and self.done > 0:
            parts.append(f'{_duration((self.total - self.done) / rate)} left')
        text = ', '.join(parts)
        return f'{self.label}: {text}' if self.label else text

    def _step(self) -> int:
        """The number of ``every_percent`` steps the count has passed (0 without total)."""
        if not self.total:
            return 0
        return int(100.0 * self.done / self.total // self.every_percent)

    def _write(self, line: str, now: float, end: bool = False) -> None:
        if self.tty:
            fraction = min(self.done / self.total, 1.0) if self.total else 0.0
            filled = int(self.width * fraction)
            bar = f'[{"#" * filled}{"." * (self.width - filled)}] ' if self.total else ''
            self.stream.write(f'\r{bar}{line}\033[K' + ('\n' if end else ''))
        else:
            self.stream.write(line + '\n')
        self.stream.flush()
        self._last_time = now

    def __enter__(self) -> ProgressReporter:
        return self

    def __exit__(self, *exc_info) -> None:
        self.finish()
