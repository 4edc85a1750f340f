"""One job per video over a folder or a video list: the runner of the preparation tools.

``tools/data/reencode_videos.py`` and ``tools/data/extract_frames.py`` convert every video of
a folder (searched recursively for :data:`VIDEO_EXTENSIONS`) or of a video list (read by
:func:`~umt_mm.datasets.video_list_validation.read_video_list`, the reader of the datasets:
``path label`` or ``path,label`` lines, or paths alone) into an output folder that mirrors
the relative paths. Jobs run in parallel processes, a finished output is skipped on a rerun
(outputs are written under a temporary name and renamed when complete), a failing video is
recorded and the others go on; :class:`VideoJobSummary` counts the results.
"""
from __future__ import annotations

import functools
import multiprocessing as mp
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ..video_list_validation import read_video_list
from .video_preparation import VIDEO_EXTENSIONS, extract_frames, reencode_video

#: ``(path relative to the root, the list line's labels or None)``.
VideoTask = tuple[str, str | None]


class Progress(Protocol):
    """What the runner reports to (e.g. :class:`umt_mm.engine.progress.ProgressReporter`)."""

    def update(self, count: int = 1, note: str | None = None) -> None:
        """Count finished jobs."""


def find_videos(folder: str | Path) -> list[str]:
    """The videos under ``folder`` (recursively), as sorted relative POSIX paths.

    Args:
        folder (str | Path): The folder.

    Returns:
        list[str]: Paths of the files whose suffix is in :data:`VIDEO_EXTENSIONS`.
    """
    folder = Path(folder)
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob('*')
                  if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS)


def read_video_inputs(src: str | Path, root: str | Path | None = None
                      ) -> tuple[Path, list[VideoTask]]:
    """The videos to convert: every video of a folder, or the lines of a video list.

    Args:
        src (str | Path): A folder, or a video list (``path label`` / ``path,label`` /
            ``path`` lines; the official forms and a header line are recognised, see
            :func:`~umt_mm.datasets.video_list_validation.read_video_list`).
        root (str | Path, optional): The folder the list's paths are relative to.
            Defaults to None (the list file's folder; a folder ``src`` is its own root).

    Returns:
        tuple[Path, list[VideoTask]]: The root and, per video, its relative path and the
        labels of its list line (space-separated; None for a folder or an unlabelled list).

    Raises:
        FileNotFoundError: ``src`` is neither a folder nor a file, or the folder holds no
            video.
        AnnotationError: A malformed list line (names ``file:line``).
    """
    path = Path(src)
    if path.is_dir():
        videos = find_videos(path)
        if not videos:
            raise FileNotFoundError(f'{src}: no video files ({", ".join(VIDEO_EXTENSIONS)})')
        return path, [(rel, None) for rel in videos]
    if not path.is_file():
        raise FileNotFoundError(f'{src}: neither a folder nor a video list file')
    entries = read_video_list(path, multi_class=True, test_mode=True)
    tasks = []
    for entry in entries:
        label = entry['label']
        labels = None if label == -1 else ' '.join(str(v) for v in label)
        tasks.append((entry['filename'], labels))
    return (Path(root) if root is not None else path.parent), tasks


def check_outputs_unique(tasks: Sequence[VideoTask], output_of: Callable[[str], Path],
                         src: str | Path) -> None:
    """Refuse inputs that would write the same output (``a.mp4`` and ``a.avi`` both -> ``a/``).

    Without this check the second video's job fails or, on a rerun, is skipped as done with
    the first video's output: silently wrong data for it.

    Args:
        tasks (Sequence[VideoTask]): The inputs.
        output_of (Callable[[str], Path]): A video's output path from its relative path.
        src (str | Path): The folder or list the inputs come from (named in the error).

    Raises:
        ValueError: Naming the inputs that collide and their shared output.
    """
    seen: dict[Path, str] = {}
    clashes = []
    for rel, _ in tasks:
        dst = output_of(rel)
        if dst in seen:
            clashes.append(f'{seen[dst]} and {rel} -> {dst}')
        else:
            seen[dst] = rel
    if clashes:
        raise ValueError(f'{src}: {len(clashes)} outputs would be written by two videos '
                         '(same path without extension); rename or list them apart: '
                         + '; '.join(clashes[:10]) + (' ...' if len(clashes) > 10 else ''))


def convert_one(rel: str, dst: Path, convert: Callable[[Path], dict],
                done: Callable[[Path], dict | None] | None = None, **extra) -> dict:
    """One file's job: skip it when a previous run completed it, else convert it.

    Args:
        rel (str): The file's relative path (``path`` of the result).
        dst (Path): Its output (a file or a folder, written by ``convert``).
        convert (Callable[[Path], dict]): ``convert(dst) -> info`` writes ``dst``; its info
            goes into the result.
        done (Callable[[Path], dict | None], optional): ``done(dst)``: the info of a
            completed ``dst``, None when it is not complete. Defaults to None (complete
            when ``dst`` exists).
        **extra: Added to the results of converted and skipped files.

    Returns:
        dict: ``status`` ``'skipped'``, ``'done'`` (with the info) or ``'failed'`` (with
        ``error``: a failing file is reported and the run goes on) and ``path``.
    """
    found = done(dst) if done else ({} if dst.exists() else None)
    if found is not None:
        return dict(status='skipped', path=rel, **extra, **found)
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        info = convert(dst)
    except Exception as err:  # noqa: BLE001 (reported per file, the run goes on)
        message = str(err)
        if rel not in message:
            message = f'{rel}: {message}'
        return dict(status='failed', path=rel, error=message)
    return dict(status='done', path=rel, **extra, **info)


def reencoded_path(rel: str) -> Path:
    """A video's re-encoded file, relative to the output folder (``a/b.avi`` -> ``a/b.mp4``).

    Args:
        rel (str): The video's relative path.

    Returns:
        Path: The output's relative path.
    """
    return Path(rel).with_suffix('.mp4')


def frame_folder_path(rel: str) -> Path:
    """A video's frame folder, relative to the output folder (``a/b.mp4`` -> ``a/b``).

    Args:
        rel (str): The video's relative path.

    Returns:
        Path: The output's relative path.
    """
    return Path(rel).with_suffix('')


def reencode_job(task: VideoTask, root: Path, out: Path, options: dict) -> dict:
    """Re-encode one video with :func:`reencode_video` (``options``) unless done.

    Args:
        task (VideoTask): The video.
        root (Path): The folder its path is relative to.
        out (Path): The output folder.
        options (dict): Keyword arguments of :func:`reencode_video`.

    Returns:
        dict: See :func:`convert_one`.
    """
    rel, _ = task
    return convert_one(rel, out / reencoded_path(rel),
                       lambda dst: reencode_video(root / rel, dst, **options))


def _frame_count(frame_dir: Path) -> dict | None:
    return dict(frames=sum(1 for _ in frame_dir.iterdir())) if frame_dir.is_dir() else None


def extract_frames_job(task: VideoTask, root: Path, out: Path, options: dict) -> dict:
    """Extract one video's frames with :func:`extract_frames` (``options``) unless done.

    Args:
        task (VideoTask): The video.
        root (Path): The folder its path is relative to.
        out (Path): The output folder.
        options (dict): Keyword arguments of :func:`extract_frames`.

    Returns:
        dict: See :func:`convert_one`; ``frames`` and the list line's labels (``labels``)
        for done and skipped videos.
    """
    rel, labels = task
    return convert_one(rel, out / frame_folder_path(rel),
                       lambda frame_dir: extract_frames(root / rel, frame_dir, **options),
                       done=_frame_count, labels=labels)


def run_video_jobs(job: Callable[..., dict], tasks: Sequence[VideoTask], root: str | Path,
                   out: str | Path, options: dict | None = None, workers: int = 1,
                   progress: Progress | None = None) -> list[dict]:
    """Run ``job(task, root=, out=, options=)`` over ``tasks`` in ``workers`` processes.

    Args:
        job (Callable[..., dict]): A module-level job such as :func:`reencode_job`.
        tasks (Sequence[VideoTask]): The videos (:func:`read_video_inputs`).
        root (str | Path): The folder their paths are relative to.
        out (str | Path): The output folder.
        options (dict, optional): Passed to every job. Defaults to None (none).
        workers (int): Processes (forked; 1: in this process). Defaults to 1.
        progress (Progress, optional): Told of every finished job, with the failures so
            far as its note. Defaults to None.

    Returns:
        list[dict]: The job results in completion order.
    """
    if workers < 1:
        raise ValueError(f'workers must be at least 1, got {workers}')
    run = functools.partial(job, root=Path(root), out=Path(out), options=options or {})
    pool = mp.get_context('fork').Pool(min(workers, len(tasks))) \
        if workers > 1 and len(tasks) > 1 else None
    iterator = pool.imap_unordered(run, tasks) if pool else map(run, tasks)
    results: list[dict] = []
    failed = 0
    try:
        for result in iterator:
            results.append(result)
            failed += result['status'] == 'failed'
            if progress is not None:
                progress.update(1, note=f'{failed} failed' if failed else None)
    finally:
        if pool:
            pool.close()
            pool.join()
    return results


def rawframe_list_lines(tasks: Sequence[VideoTask], results: Sequence[dict]) -> list[str]:
    """``frame_dir total_frames [labels]`` lines (RawframeDataset) of the extracted videos.

    Args:
        tasks (Sequence[VideoTask]): The inputs, in list order.
        results (Sequence[dict]): The :func:`extract_frames_job` results (any order); failed
            videos are left out.

    Returns:
        list[str]: One line per extracted video, in the order of ``tasks``.
    """
    order = {rel: i for i, (rel, _) in enumerate(tasks)}
    lines = []
    for result in sorted((r for r in results if r['status'] != 'failed'),
                         key=lambda r: order[r['path']]):
        line = f'{frame_folder_path(result["path"]).as_posix()} {result["frames"]}'
        lines.append(line + (f' {result["labels"]}' if result.get('labels') else ''))
    return lines


@dataclass
class VideoJobSummary:
    """The counts of a run of video jobs.

    Args:
        what (str): What the jobs did, e.g. ``'re-encoded'``.
        done (list[dict]): Results of the converted videos. Defaults to [].
        skipped (list[dict]): Results of the videos done by an earlier run. Defaults to [].
        failed (list[dict]): Results of the videos that failed. Defaults to [].
    """

    what: str
    done: list[dict] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)

    @classmethod
    def of(cls, results: Sequence[dict], what: str) -> VideoJobSummary:
        """Sort job results by status.

        Args:
            results (Sequence[dict]): The job results.
            what (str): What the jobs did.

        Returns:
            VideoJobSummary: The summary.
        """
        summary = cls(what)
        for result in results:
            getattr(summary, result['status']).append(result)
        return summary

    @property
    def exit_code(self) -> int:
        """1 when a video failed, else 0."""
        return 1 if self.failed else 0

    def lines(self) -> list[str]:
        """The count line and, when videos were converted, the size line."""
        lines = [f'{self.what}: {len(self.done)} done, {len(self.skipped)} already done '
                 f'(skipped), {len(self.failed)} failed']
        if self.done:
            src = sum(r.get('src_bytes', 0) for r in self.done)
            dst = sum(r.get('dst_bytes', 0) for r in self.done)
            lines.append(f'size: {src / 2**20:.1f} MiB -> {dst / 2**20:.1f} MiB '
                         f'({dst / max(src, 1):.2f}x)')
        return lines

    def failure_lines(self) -> list[str]:
        """``FAILED <error>`` per failed video (each error names its file)."""
        return [f'FAILED {r["error"]}' for r in self.failed]


def add_video_job_arguments(parser) -> None:
    """Add the inputs, output and ``--workers`` options of the video job tools.

    ``SRC`` (a folder or a video list), ``OUT``, ``--root`` and ``--workers`` (validate with
    :func:`check_video_job_arguments` after parsing).

    Args:
        parser (argparse.ArgumentParser): The tool's parser.
    """
    parser.add_argument('src', help='a folder of videos (searched recursively) or a video '
                        'list (`path label` / `path,label` / `path` lines, paths relative to '
                        '--root)')
    parser.add_argument('out', help='output folder (mirrors the relative paths)')
    parser.add_argument('--root', default=None, help='folder the list paths are relative to '
                        '(default: the list file\'s folder)')
    parser.add_argument('--workers', type=int, default=max(1, mp.cpu_count() - 1),
                        help='parallel processes (default: cores - 1)')


def check_video_job_arguments(parser, args) -> None:
    """Fail at parse time (``parser.error``) on options out of range.

    Args:
        parser (argparse.ArgumentParser): The tool's parser.
        args (argparse.Namespace): Its parsed arguments.
    """
    if args.workers < 1:
        parser.error('--workers must be at least 1')


def run_video_job_tool(job: Callable[..., dict], output_of: Callable[[str], Path], args,
                       options: dict, what: str,
                       on_results: Callable[[Sequence[VideoTask], list[dict]], None] | None
                       = None) -> int:
    """A video job tool's run: read the inputs, refuse clashing outputs, run the jobs with
    progress, print the summary and the failures.

    Args:
        job (Callable): :func:`reencode_job`, :func:`extract_frames_job`...
        output_of (Callable): The output path of a relative video path (clash check).
        args (argparse.Namespace): ``src``, ``out``, ``root`` and ``workers``.
        options (dict): The job's options.
        what (str): What the jobs do, for the summary (``'re-encoded'``).
        on_results (Callable, optional): Called with the tasks and results before the
            summary (e.g. to write a list). Defaults to None.

    Returns:
        int: The exit status: 0, 1 when a video failed, 2 when the inputs cannot be read.
    """
    import sys

    from ...engine.progress import ProgressReporter
    try:
        root, tasks = read_video_inputs(args.src, args.root)
        check_outputs_unique(tasks, output_of, args.src)
    except (OSError, ValueError) as err:  # AnnotationError is a ValueError
        print(f'error: {err}', file=sys.stderr)
        return 2
    with ProgressReporter(len(tasks), what='videos') as progress:
        results = run_video_jobs(job, tasks, root, args.out, options, args.workers, progress)
    if on_results is not None:
        on_results(tasks, results)
    summary = VideoJobSummary.of(results, what)
    print('\n'.join(summary.lines()), flush=True)
    for line in summary.failure_lines():
        print(line, file=sys.stderr)
    return summary.exit_code
