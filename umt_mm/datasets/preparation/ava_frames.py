"""AVA movies -> the reference's 25-fps frames (AlphAction's per-second clips, as JPEG folders).

The UMT detector (docs/ava.md) trains and tests on the per-second clips of
AlphAction's ``tools/ava/process_ava_videos.py``::

    ffmpeg -ss 895 -t 911 -i <movie> -f rawvideo -pix_fmt yuv420p \\
        -filter:v "scale=<W>:<H>, fps=fps=25" pipe:

cut into ``<video_id>/<second>.mp4`` of 25 frames each (second 895 ... 1805), the
frame size AlphAction's rule (:func:`reference_frame_size`: short side 360 when larger,
even sizes). Its dataset decodes the clips of the seconds around a key frame and
concatenates them, so frame ``j`` of that 25-fps stream (0-based) belongs to second
``895 + j // 25`` and the key frame of timestamp ``t`` is frame ``25 * (t - 895)``.

:func:`extract_ava_frames` writes the same stream as a frame folder
(``<out>/<video_id>/img_00001.jpg`` = frame 0) or, with ``output='clips'``, as
AlphAction's per-second clips, decoded with PyAV (FFmpeg inside, no system ``ffmpeg``
needed), choosing the source frames as FFmpeg does:

* ``-ss 895`` (accurate seek): timestamps are shifted by ``895 s + the container's start
  time``; frames before that are decoded and dropped, ``-t 911`` ends the input 911 s
  after the first kept frame.
* ``fps=fps=25``: each source frame gets the output slot ``round(25 * t)`` (half away
  from zero); output slot ``n`` shows the last source frame whose slot is ``<= n``
  (repeating or dropping frames); the first output frame is the first source frame's
  slot (a source whose first frame falls after ``0.02 s`` starts one slot late, as in
  the reference's clips); at the end the last frame is repeated up to the end time.
  :class:`FpsFrameSelector` is that rule.
* ``scale=<W>:<H>`` with FFmpeg's default bicubic scaler, in ``yuv420p``; the frames are
  then converted to RGB as the reference's decoder does (``frame.to_rgb()``) and saved
  as JPEG.

The JPEG frames' pixels differ from the reference's by the codecs: the reference
round-trips through H.264 (libx264 defaults), the frames through JPEG (``quality``); the
clips are encoded as the reference's (libx264 defaults), not bit for bit.

Every second is checked to hold ``fps`` frames; others are reported. The work is
resumable: finished seconds are listed in ``<out>/<video_id>/.progress`` (written after
their frames), so a rerun decodes from shortly before the first unfinished second and
writes only what is missing; a finished video has ``<out>/<video_id>/frames.json`` and
is skipped.
"""
from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

#: AlphAction's window: seconds 895 ... 1805 of the movie (AVA timestamps are 902 ... 1798).
AVA_START_SEC = 895
AVA_END_SEC = 1805
AVA_FPS = 25
AVA_SHORT_SIDE = 360
DONE_FILE = 'frames.json'
PROGRESS_FILE = '.progress'


def reference_frame_size(width: int, height: int, short_side: int = AVA_SHORT_SIDE
                         ) -> tuple[int, int]:
    """AlphAction's output size: short side ``short_side`` when larger, even long side.

    Args:
        width (int): Source width.
        height (int): Source height.
        short_side (int): Target short side. Defaults to 360.

    Returns:
        tuple[int, int]: ``(width, height)``; the source size when its short side is
        ``<= short_side`` (AlphAction keeps it, odd or not).
    """
    if width <= 0 or height <= 0:
        raise ValueError(f'invalid frame size {width}x{height}')
    if min(width, height) <= short_side:
        return width, height
    if height > width:
        return short_side, int(round(short_side * height / width / 2) * 2)
    return int(round(short_side * width / height / 2) * 2), short_side


def _round_half_away(value: Fraction) -> int:
    """FFmpeg's ``AV_ROUND_NEAR_INF`` of an exact rational."""
    if value >= 0:
        return math.floor(value + Fraction(1, 2))
    return -math.floor(-value + Fraction(1, 2))


class FpsFrameSelector:
    """FFmpeg's ``fps`` filter (default ``round=near``, ``eof_action=round``) as a selector.

    Push the source frames in presentation order with their time (seconds from the
    start of the cut); it yields ``(slot, item)`` pairs: output slot ``slot`` (0-based
    from the first output, i.e. the frame index of the output stream) shows ``item``.
    Slot ``n`` is the last source frame whose ``round(fps * t) <= n`` (half away from
    zero); the output starts at the first source frame's slot.

    Args:
        fps (int): Output frame rate. Defaults to 25.
        first_slot (int, optional): The first output's absolute slot when resuming in the
            middle of a stream (the frames then start before the slot to produce, see
            ``start_slot``). Defaults to None (from the first frame).
        start_slot (int): Yield only outputs at absolute slots ``>= start_slot``.
            Defaults to 0.

    Examples:
        >>> sel = FpsFrameSelector(25)
        >>> out = [o for t, name in ((0.0, 'a'), (0.033, 'b'), (0.066, 'c'), (0.1, 'd'))
        ...        for o in sel.push(Fraction(t).limit_denominator(1000), name)]
        >>> out + list(sel.flush(Fraction(7, 50)))
        [(0, 'a'), (1, 'b'), (2, 'c'), (3, 'd')]
    """

    def __init__(self, fps: int = AVA_FPS, first_slot: int | None = None,
                 start_slot: int = 0) -> None:
        self.fps = int(fps)
        self.first_slot = first_slot
        self.start_slot = int(start_slot)
        self.next_slot: int | None = None
        self._held = None

    def slot(self, time: Fraction) -> int:
        """The output slot of a source frame at ``time`` seconds."""
        return _round_half_away(Fraction(time) * self.fps)

    def _emit(self) -> Iterator[tuple[int, object]]:
        if self.next_slot >= self.start_slot:
            yield self.next_slot - self.first_slot, self._held
        self.next_slot += 1

    def push(self, time: Fraction, item) -> Iterator[tuple[int, object]]:
        """Add the next source frame; yield the outputs it completes."""
        slot = self.slot(time)
        if self.next_slot is None:  # the first frame
            if self.first_slot is None:
                self.first_slot = slot
            self.next_slot = max(slot, self.start_slot)
            self._held = item
            return
        while slot > self.next_slot:
            yield from self._emit()
        self._held = item

    def flush(self, end_time: Fraction) -> Iterator[tuple[int, object]]:
        """End of input at ``end_time`` seconds: repeat the last frame up to it."""
        if self.next_slot is None:
            return
        end_slot = self.slot(end_time)
        while self.next_slot < end_slot:
            yield from self._emit()


@dataclass
class FrameExtractionReport:
    """What :func:`extract_ava_frames` did for one video.

    Attributes:
        video_id (str): The video's id (its file name up to the first dot).
        frame_dir (str): The frame folder.
        status (str): ``'done'``, ``'skipped'`` (already finished) or ``'failed'``.
        size (tuple[int, int]): Output ``(width, height)``.
        num_frames (int): Frames in the folder.
        seconds_written (int): Seconds written in this run.
        seconds_resumed (int): Seconds found finished by an earlier run (all of them
            when ``status`` is ``'skipped'``).
        mismatched (dict[int, int]): Second -> frame count, for seconds without ``fps``
            frames.
        first_slot (int): The fps filter's first output slot (0 or 1 for a 24-30 fps
            source).
        error (str): The error of a failed video.
    """

    video_id: str
    frame_dir: str
    status: str = 'done'
    size: tuple[int, int] = (0, 0)
    num_frames: int = 0
    seconds_written: int = 0
    seconds_resumed: int = 0
    mismatched: dict[int, int] = field(default_factory=dict)
    first_slot: int = 0
    error: str = ''


def video_id_of(path: str | Path) -> str:
    """AlphAction's video id: the file name up to its first dot."""
    name = Path(path).name
    return name.split('.', 1)[0]


def _read_progress(path: Path) -> tuple[dict, dict[int, int]]:
    """The header (settings, first slot) and the finished seconds of a progress file."""
    header: dict = {}
    seconds: dict[int, int] = {}
    if not path.is_file():
        return header, seconds
    with open(path) as f:
        for i, line in enumerate(f):
            line = line.strip()
            if not line:
                continue
            try:
                if i == 0:
                    header = json.loads(line)
                else:
                    sec, count = line.split()
                    seconds[int(sec)] = int(count)
            except ValueError:
                break  # a line cut by an interruption: what follows is redone
    return header, seconds


def extract_ava_frames(video: str | Path,
                       out_root: str | Path,
                       start_sec: int = AVA_START_SEC,
                       end_sec: int = AVA_END_SEC,
                       fps: int = AVA_FPS,
                       short_side: int = AVA_SHORT_SIDE,
                       quality: int = 95,
                       filename_tmpl: str = 'img_{:05d}.jpg',
                       output: str = 'frames',
                       on_second: Callable[[int], None] | None = None
                       ) -> FrameExtractionReport:
    """Write seconds ``start_sec`` ... ``end_sec`` of a movie as the reference's frames.

    See the module docstring for which frames are taken. Frame ``j`` (0-based) of the
    output is ``<out_root>/<video_id>/`` + ``filename_tmpl.format(j + 1)`` and belongs
    to second ``start_sec + j // fps``.

    Args:
        video (str | Path): The movie.
        out_root (str | Path): Folder of the frame folders.
        start_sec (int): First second (AlphAction: 895). Defaults to 895.
        end_sec (int): Last second, included (AlphAction: 1805). Defaults to 1805.
        fps (int): Output frame rate. Defaults to 25.
        short_side (int): Short side of the output when the source's is larger.
            Defaults to 360.
        quality (int): JPEG quality (0-100). Defaults to 95.
        filename_tmpl (str): Frame file names (1-based). Defaults to 'img_{:05d}.jpg'.
        output (str): ``'frames'`` writes the frame folder; ``'clips'`` writes
            AlphAction's per-second clips ``<out_root>/<video_id>/<second>.mp4`` instead
            (libx264 with its defaults, as AlphAction's ffmpeg call; each clip is decoded
            back to count its frames; read them with ``UMTAVAClipDecode``).
            Defaults to 'frames'.
        on_second (Callable[[int], None], optional): Called with the number of seconds
            finished (written or found finished), for a progress bar. Defaults to None.

    Returns:
        FrameExtractionReport: Counts, the seconds without ``fps`` frames, the status.

    Raises:
        FileNotFoundError: If the video does not exist.
        ValueError: If the video has no video stream, no frames in the window, or
            frames without timestamps.
    """
    import av

    video = Path(video)
    if not video.is_file():
        raise FileNotFoundError(f'video not found: {video}')
    if end_sec < start_sec or fps < 1:
        raise ValueError(f'need end_sec >= start_sec and fps >= 1, got {start_sec}, {end_sec}, '
                         f'{fps}')
    vid = video_id_of(video)
    frame_dir = Path(out_root) / vid
    report = FrameExtractionReport(video_id=vid, frame_dir=str(frame_dir))
    settings = dict(source=video.name, start_sec=start_sec, end_sec=end_sec, fps=fps,
                    short_side=short_side, quality=quality, filename_tmpl=filename_tmpl,
                    output=output)
    if output not in ('frames', 'clips'):
        raise ValueError(f"output must be 'frames' or 'clips', got {output!r}")
    num_seconds = end_sec - start_sec + 1
    done_file = frame_dir / DONE_FILE
    if done_file.is_file():
        done = json.loads(done_file.read_text())
        if done.get('settings') == settings:
            report.status = 'skipped'
            report.size = tuple(done['size'])
            report.num_frames = done['num_frames']
            report.mismatched = {int(k): v for k, v in done['mismatched'].items()}
            report.first_slot = done['first_slot']
            report.seconds_resumed = num_seconds
            if on_second is not None:
                on_second(num_seconds)
            return report
        raise ValueError(f'{frame_dir}: already holds frames written with other settings '
                         f'({done.get("settings")}); remove it or choose another output folder')


    frame_dir.mkdir(parents=True, exist_ok=True)
    progress_file = frame_dir / PROGRESS_FILE
    header, finished = _read_progress(progress_file)
    if header.get('settings') != settings:
        finished = {}
    finished = {s: c for s, c in finished.items() if start_sec <= s <= end_sec}
    report.seconds_resumed = len(finished)
    writer = _SecondWriter(frame_dir, progress_file, settings, finished, start_sec, end_sec,
                           fps, filename_tmpl, quality, report, on_second, output)

    with av.open(str(video)) as container:
        if not container.streams.video:
            raise ValueError(f'{video}: no video stream')
        stream = container.streams.video[0]
        stream.thread_type = 'AUTO'
        tb = stream.time_base
        report.size = reference_frame_size(stream.codec_context.width,
                                           stream.codec_context.height, short_side)
        writer.size = report.size
        # -ss: timestamps shifted by the seek point plus the container's start time (us)
        start_us = container.start_time or 0
        offset = _round_half_away((start_sec + Fraction(start_us, 10**6)) / tb)
        first_rel = _first_frame_after(container, stream, offset, start_sec)
        # -t: the input ends num_seconds after the first kept frame
        trim_end = first_rel + _round_half_away(Fraction(num_seconds) / tb)
        first_slot = _round_half_away(first_rel * tb * fps)
        report.first_slot = first_slot
        first_todo = next((s for s in range(start_sec, end_sec + 1) if s not in finished),
                          None)
        if first_todo is not None:
            start_slot = first_slot + (first_todo - start_sec) * fps
            seek_to = offset
            if first_todo > start_sec:  # resume: from a key frame >= 1 s before
                seek_to += _round_half_away(Fraction(first_todo - start_sec - 1) / tb)
            step = 1 / Fraction(stream.average_rate or stream.guessed_rate or fps)
            args = (container, stream, tb, offset, trim_end, step, fps, first_slot, start_slot,
                    writer)
            if not _decode(*args, seek_to=seek_to):
                _decode(*args, seek_to=offset)  # the key frame came too late: from the start
        writer.close()
    if on_second is not None and len(finished) < num_seconds:
        on_second(num_seconds - len(finished))  # seconds past the end of the video
    counts = {s: finished.get(s, 0) for s in range(start_sec, end_sec + 1)}
    report.num_frames = sum(counts.values())
    report.mismatched = {s: c for s, c in counts.items() if c != fps}
    tmp = frame_dir / f'.{DONE_FILE}.tmp'
    tmp.write_text(json.dumps(dict(
        settings=settings, size=list(report.size), num_frames=report.num_frames,
        first_slot=report.first_slot,
        mismatched={str(k): v for k, v in report.mismatched.items()},
        frames_per_second={str(k): v for k, v in counts.items()}), indent=1))
    os.replace(tmp, done_file)  # the marker of a finished video appears whole or not at all
    progress_file.unlink(missing_ok=True)
    return report


def _frame_pts(container, frame) -> int:
    if frame.pts is None:
        raise ValueError(f'{container.name}: a frame without a timestamp; re-mux the file '
                         '(e.g. ffmpeg -i in.webm -c copy out.mkv) and retry')
    return frame.pts


def _first_frame_after(container, stream, offset: int, start_sec: int) -> int:
    """The shifted timestamp of the first frame at or after the seek point."""
    container.seek(max(offset, 0), stream=stream, backward=True, any_frame=False)
    for frame in container.decode(stream):
        rel = _frame_pts(container, frame) - offset
        if rel >= 0:
            return rel
    raise ValueError(f'{container.name}: no frames from second {start_sec} on (the video is '
                     'shorter)')


def _decode(container, stream, tb, offset, trim_end, step, fps, first_slot, start_slot,
            writer, seek_to) -> bool:
    """Decode from ``seek_to``, select the output frames, write them.

    Returns:
        bool: False (nothing written) when the first frame decoded comes after
        ``start_slot``, i.e. the seek found no key frame early enough.
    """
    container.seek(max(seek_to, 0), stream=stream, backward=True, any_frame=False)
    selector = FpsFrameSelector(fps, first_slot=first_slot, start_slot=start_slot)
    last_rel, end = None, None
    for frame in container.decode(stream):
        rel = _frame_pts(container, frame) - offset
        if rel < 0:
            continue  # before the seek point: decoded and dropped, as ffmpeg does
        if last_rel is None and selector.slot(rel * tb) > start_slot:
            return False
        if rel >= trim_end:
            end = trim_end
            break
        last_rel = rel
        for index, item in selector.push(rel * tb, frame):
            writer.write(index, item)
    if last_rel is None:
        return False
    if end is None:  # the video ended first: the last frame lasts one frame interval
        end = min(last_rel + step / tb, trim_end)
    for index, item in selector.flush(end * tb):
        writer.write(index, item)
    return True


class _SecondWriter:
    """Writes output frames, counts them per second and records finished seconds."""

    def __init__(self, frame_dir: Path, progress_file: Path, settings: dict,
                 finished: dict[int, int], start_sec: int, end_sec: int, fps: int,
                 filename_tmpl: str, quality: int, report: FrameExtractionReport,
                 on_second: Callable[[int], None] | None, output: str = 'frames') -> None:
        import cv2
        self.cv2 = cv2
        self.frame_dir = frame_dir
        self.progress_file = progress_file
        self.settings = settings
        self.finished = finished
        self.start_sec, self.end_sec, self.fps = start_sec, end_sec, fps
        self.filename_tmpl = filename_tmpl
        self.quality = int(quality)
        self.output = output
        self.pending: list = []  # the current second's frames (clips)
        self.report = report
        self.on_second = on_second
        self.size = (0, 0)
        self.current, self.count = None, 0
        self._progress = None
        if finished and on_second is not None:
            on_second(len(finished))

    def write(self, index: int, frame) -> None:
        sec = self.start_sec + index // self.fps
        if sec != self.current:
            self._close_second()
            self.current, self.count = sec, 0
        if sec in self.finished or sec > self.end_sec:
            return
        width, height = self.size
        if frame.width != width or frame.height != height or frame.format.name != 'yuv420p':
            # ffmpeg's scale filter: swscale, bicubic (its default), to yuv420p
            frame = frame.reformat(width=width, height=height, format='yuv420p',
                                   interpolation='BICUBIC')
        if self.output == 'clips':
            self.pending.append(frame)
            self.count += 1
            return
        rgb = frame.to_ndarray(format='rgb24')  # as the reference's frame.to_rgb()
        path = self.frame_dir / self.filename_tmpl.format(index + 1)
        if not self.cv2.imwrite(str(path), np.ascontiguousarray(rgb[..., ::-1]),
                                [self.cv2.IMWRITE_JPEG_QUALITY, self.quality]):
            raise OSError(f'could not write {path}')
        self.count += 1

    def _close_second(self) -> None:
        sec = self.current
        if sec is None or sec in self.finished or sec > self.end_sec:
            return
        if self.output == 'clips':
            self.count = self._write_clip(sec) if self.pending else 0
            self.pending = []
        if self._progress is None:
            fresh = not self.finished
            self._progress = open(self.progress_file, 'w' if fresh else 'a')
            if fresh:
                self._progress.write(json.dumps(dict(settings=self.settings)) + '\n')
        self._progress.write(f'{sec} {self.count}\n')
        self._progress.flush()
        self.finished[sec] = self.count
        self.report.seconds_written += 1
        if self.on_second is not None:
            self.on_second(1)

    def _write_clip(self, sec: int) -> int:
        """Encode the second's frames as AlphAction's ``<sec>.mp4``; return the decoded count."""
        import av
        path = self.frame_dir / f'{sec}.mp4'
        tmp = self.frame_dir / f'.{sec}.tmp.mp4'
        width, height = self.size
        with av.open(str(tmp), 'w', format='mp4') as out:
            stream = out.add_stream('libx264', rate=self.fps)
            stream.width, stream.height, stream.pix_fmt = width, height, 'yuv420p'
            for i, frame in enumerate(self.pending):
                frame.pts, frame.time_base = i, Fraction(1, self.fps)
                for packet in stream.encode(frame):
                    out.mux(packet)
            for packet in stream.encode():
                out.mux(packet)
        with av.open(str(tmp)) as check:
            count = sum(1 for _ in check.decode(video=0))
        os.replace(tmp, path)
        return count

    def close(self) -> None:
        self._close_second()
        self.current = None
        if self._progress is not None:
            self._progress.close()
            self._progress = None
