"""AVA frame extraction over a folder of movies, one process per movie
(``tools/data/ava/prepare_ava_frames.py``).

:func:`find_ava_movies` picks the movies (all of a folder, or those of a list),
:func:`extract_ava_movies` runs :func:`~umt_mm.datasets.preparation.ava_frames.extract_ava_frames`
on each (a failing movie is recorded and the others go on, progress counted in seconds) and
:func:`ava_run_summary` is the JSON report of a run.
"""
from __future__ import annotations

import multiprocessing as mp
import queue
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from .ava_frames import FrameExtractionReport, extract_ava_frames, video_id_of
from .video_jobs import Progress
from .video_preparation import VIDEO_EXTENSIONS


def find_ava_movies(video_root: str | Path, list_file: str | Path | None = None
                    ) -> tuple[list[Path], list[str]]:
    """The movies to process and the listed ones that were not found.

    Args:
        video_root (str | Path): Folder of the movies (``<video_id>.<ext>``).
        list_file (str | Path, optional): Only these movies: one file name or video id a
            line. Defaults to None (every movie of the folder).

    Returns:
        tuple[list[Path], list[str]]: The movies (sorted by file name, or in list order)
        and the ids of listed movies missing from the folder.

    Raises:
        FileNotFoundError: The folder does not exist, or holds no movie.
        ValueError: Two movies of the folder have the same id.
    """
    video_root = Path(video_root)
    if not video_root.is_dir():
        raise FileNotFoundError(f'video folder not found: {video_root}')
    by_id: dict[str, Path] = {}
    for path in sorted(video_root.iterdir()):
        if path.is_file() and path.suffix.lower() in VIDEO_EXTENSIONS:
            vid = video_id_of(path)
            if vid in by_id:
                raise ValueError(f'{video_root}: two movies with the id {vid!r}: '
                                 f'{by_id[vid].name} and {path.name}')
            by_id[vid] = path
    if list_file is None:
        if not by_id:
            raise FileNotFoundError(
                f'{video_root}: no video files ({", ".join(VIDEO_EXTENSIONS)})')
        return list(by_id.values()), []
    wanted = [video_id_of(line.strip())
              for line in Path(list_file).read_text().splitlines() if line.strip()]
    missing = [vid for vid in wanted if vid not in by_id]
    return [by_id[vid] for vid in dict.fromkeys(wanted) if vid in by_id], missing


_QUEUE = None


def _init_worker(progress_queue) -> None:
    global _QUEUE
    _QUEUE = progress_queue
    import cv2
    cv2.setNumThreads(1)


def _run_one(job: tuple, on_second=None) -> FrameExtractionReport:
    video, out_root, kwargs = job
    try:
        return extract_ava_frames(video, out_root, on_second=on_second or _QUEUE.put,
                                  **kwargs)
    except Exception as err:  # reported per movie; the others go on
        return FrameExtractionReport(video_id=video_id_of(video),
                                     frame_dir=str(Path(out_root) / video_id_of(video)),
                                     status='failed', error=f'{type(err).__name__}: {err}')


def _count(progress: Progress | None):
    return (lambda seconds: progress.update(seconds)) if progress is not None \
        else (lambda seconds: None)


def extract_ava_movies(videos: Sequence[Path], out_root: str | Path, workers: int = 1,
                       progress: Progress | None = None, **kwargs
                       ) -> list[FrameExtractionReport]:
    """Run :func:`extract_ava_frames` on every movie.

    Args:
        videos (Sequence[Path]): The movies.
        out_root (str | Path): The output folder (a folder per movie).
        workers (int): Processes, one movie each (spawned; 1: in this process).
            Defaults to 1.
        progress (Progress, optional): Told of every finished second. Defaults to None.
        **kwargs: Passed to :func:`extract_ava_frames` (``start_sec``, ``end_sec``,
            ``fps``, ``short_side``, ``quality``, ``output``).

    Returns:
        list[FrameExtractionReport]: One per movie, in the order of ``videos``; a movie
        that raised has ``status='failed'`` and the error.
    """
    count = _count(progress)
    jobs = [(video, str(out_root), kwargs) for video in videos]
    if workers <= 1 or len(videos) <= 1:
        return [_run_one(job, on_second=count) for job in jobs]
    ctx = mp.get_context('spawn')
    progress_queue = ctx.Queue()
    with ctx.Pool(min(workers, len(videos)), initializer=_init_worker,
                  initargs=(progress_queue,)) as pool:
        pending = pool.map_async(_run_one, jobs, chunksize=1)
        while True:
            try:
                count(progress_queue.get(timeout=0.5))
            except queue.Empty:
                if pending.ready():
                    break
        reports = pending.get()
        while True:  # what is left in the queue
            try:
                count(progress_queue.get(timeout=0.1))
            except queue.Empty:
                break
    return reports


def ava_run_summary(reports: Sequence[FrameExtractionReport], missing: Sequence[str],
                    settings: dict) -> dict:
    """The JSON report of a run (``prepare_report.json``).

    Args:
        reports (Sequence[FrameExtractionReport]): The movies' reports.
        missing (Sequence[str]): Listed ids not found.
        settings (dict): The run's settings.

    Returns:
        dict: ``settings``, ``finished`` (time), the counts ``done`` / ``skipped`` /
        ``failed``, ``not_found`` and ``videos`` (the reports).
    """
    return dict(
        settings=dict(settings), finished=time.strftime('%Y-%m-%d %H:%M:%S'),
        done=sum(r.status == 'done' for r in reports),
        skipped=sum(r.status == 'skipped' for r in reports),
        failed=sum(r.status == 'failed' for r in reports), not_found=list(missing),
        videos=[asdict(r) for r in reports])
