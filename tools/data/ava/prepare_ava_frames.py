"""AVA movies -> 25-fps frame folders at the reference's rate, size and window.

The UMT detector was trained and tested on AlphAction's per-second clips (seconds 895 to
1805 of every movie, 25 fps, short side 360 when larger). This writes the same frames as
MMAction2 frame folders, ``<out>/<video_id>/img_00001.jpg`` = the first frame of second
895, so the key frame of AVA timestamp ``t`` is ``img_{25 * (t - 895) + 1:05d}.jpg``
(the AVA configs' default: ``fps=25, timestamp_start=895``). PyAV decodes (FFmpeg is in
its wheel; no system ffmpeg needed). See ``umt_mm/datasets/ava/frame_extraction.py`` for
exactly which frames are taken, and docs/ava.md.

Rerunning the same command continues where it stopped: finished videos are skipped,
a partly written video continues at its first unfinished second. Every second is checked
to hold 25 frames; the others are listed at the end and in ``<out>/prepare_report.json``.

Examples::

    # every movie of data/ava/videos (the AVA trainval download), 8 processes
    python tools/data/ava/prepare_ava_frames.py data/ava/videos \\
        data/ava/rawframes_25fps --workers 8
    # only the movies of a list (file names or ids, one a line)
    python tools/data/ava/prepare_ava_frames.py data/ava/videos \\
        data/ava/rawframes_25fps --list ava_file_names_trainval_v2.1.txt
    # AlphAction's per-second clips instead (the reference's own layout, less disk)
    python tools/data/ava/prepare_ava_frames.py data/ava/videos data/ava/clips --clips
"""
import argparse
import json
import multiprocessing as mp
import queue
import sys
import time
from dataclasses import asdict
from pathlib import Path

from umt_mm.datasets.ava.frame_extraction import (
    AVA_END_SEC,
    AVA_FPS,
    AVA_SHORT_SIDE,
    AVA_START_SEC,
    FrameExtractionReport,
    extract_ava_frames,
    video_id_of,
)
from umt_mm.datasets.video_preparation import VIDEO_EXTENSIONS


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('video_root', help='folder of the AVA movies (<video_id>.<ext>)')
    parser.add_argument('out_root', help='output folder of the frame folders')
    parser.add_argument('--list', help='only these movies: a file with one file name or '
                        'video id a line (e.g. ava_file_names_trainval_v2.1.txt)')
    parser.add_argument('--workers', type=int, default=4,
                        help='parallel processes, one movie each (default 4)')
    parser.add_argument('--start-sec', type=int, default=AVA_START_SEC,
                        help=f'first second of the movie (default {AVA_START_SEC}, AlphAction)')
    parser.add_argument('--end-sec', type=int, default=AVA_END_SEC,
                        help=f'last second, included (default {AVA_END_SEC}, AlphAction)')
    parser.add_argument('--fps', type=int, default=AVA_FPS, help='frame rate (default 25)')
    parser.add_argument('--short-side', type=int, default=AVA_SHORT_SIDE,
                        help='short side of larger movies (default 360)')
    parser.add_argument('--quality', type=int, default=95, help='JPEG quality (default 95)')
    parser.add_argument('--clips', action='store_true',
                        help="write AlphAction's per-second clips <video_id>/<second>.mp4 "
                        '(H.264, about 8x less disk; read with UMTAVAClipDecode, see '
                        'action_detection/README.md) instead of JPEG frame folders')
    parser.add_argument('--strict', action='store_true',
                        help='exit with status 1 when a second does not hold --fps frames')
    return parser.parse_args(argv)


def find_videos(video_root: Path, list_file: str | None) -> tuple[list[Path], list[str]]:
    """The movies to process and the listed ones that were not found."""
    if not video_root.is_dir():
        raise SystemExit(f'video folder not found: {video_root}')
    by_id: dict[str, Path] = {}
    for path in sorted(video_root.iterdir()):
        if path.is_file() and path.suffix.lower() in VIDEO_EXTENSIONS:
            vid = video_id_of(path)
            if vid in by_id:
                raise SystemExit(f'{video_root}: two movies with the id {vid!r}: '
                                 f'{by_id[vid].name} and {path.name}')
            by_id[vid] = path
    if list_file is None:
        if not by_id:
            raise SystemExit(f'{video_root}: no video files ({", ".join(VIDEO_EXTENSIONS)})')
        return list(by_id.values()), []
    wanted = []
    with open(list_file) as f:
        for line in f:
            if line.strip():
                wanted.append(video_id_of(line.strip()))
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


def run_here(videos: list[Path], out_root: Path, kwargs: dict, bar
             ) -> list[FrameExtractionReport]:
    """One movie after the other in this process."""
    reports = []
    for video in videos:
        reports.append(_run_one((video, str(out_root), kwargs), on_second=bar.update))
    return reports


def run_parallel(videos: list[Path], out_root: Path, kwargs: dict, bar, workers: int
                 ) -> list[FrameExtractionReport]:
    """One movie per process; the processes report finished seconds through a queue."""
    ctx = mp.get_context('spawn')
    progress_queue = ctx.Queue()
    with ctx.Pool(workers, initializer=_init_worker, initargs=(progress_queue,)) as pool:
        pending = pool.map_async(_run_one, [(v, str(out_root), kwargs) for v in videos],
                                 chunksize=1)
        while True:
            try:
                bar.update(progress_queue.get(timeout=0.5))
            except queue.Empty:
                if pending.ready():
                    break
        reports = pending.get()
        while True:  # what is left in the queue
            try:
                bar.update(progress_queue.get(timeout=0.1))
            except queue.Empty:
                break
    return reports


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmengine.utils import ProgressBar
    videos, missing = find_videos(Path(args.video_root), args.list)
    out_root = Path(args.out_root)
    out_root.mkdir(parents=True, exist_ok=True)
    kwargs = dict(start_sec=args.start_sec, end_sec=args.end_sec, fps=args.fps,
                  short_side=args.short_side, quality=args.quality,
                  output='clips' if args.clips else 'frames')
    num_seconds = args.end_sec - args.start_sec + 1
    print(f'{len(videos)} movies -> {out_root} (seconds {args.start_sec}-{args.end_sec}, '
          f'{args.fps} fps, short side <= {args.short_side})', flush=True)
    bar = ProgressBar(len(videos) * num_seconds)
    if args.workers <= 1 or len(videos) == 1:
        reports = run_here(videos, out_root, kwargs, bar)
    else:
        reports = run_parallel(videos, out_root, kwargs, bar, args.workers)
    sys.stdout.write('\n')

    failed = [r for r in reports if r.status == 'failed']
    mismatched = [r for r in reports if r.mismatched]
    summary = dict(
        settings=dict(kwargs, video_root=str(args.video_root)),
        finished=time.strftime('%Y-%m-%d %H:%M:%S'),
        done=sum(r.status == 'done' for r in reports),
        skipped=sum(r.status == 'skipped' for r in reports),
        failed=len(failed), not_found=missing,
        videos=[asdict(r) for r in reports])
    (out_root / 'prepare_report.json').write_text(json.dumps(summary, indent=1))
    print(f'{summary["done"]} movies written, {summary["skipped"]} already finished, '
          f'{len(failed)} failed, {len(missing)} listed but not found '
          f'(report: {out_root / "prepare_report.json"})')
    for r in mismatched:
        secs = ', '.join(f'{s}: {c}' for s, c in sorted(r.mismatched.items())[:10])
        more = '' if len(r.mismatched) <= 10 else f' (+{len(r.mismatched) - 10} more)'
        print(f'WARNING {r.video_id}: {len(r.mismatched)} seconds without {args.fps} frames '
              f'(second: frames) {secs}{more}')
    for r in failed:
        print(f'FAILED {r.video_id}: {r.error}')
    for vid in missing:
        print(f'NOT FOUND {vid} (listed in {args.list})')
    if failed or missing or (args.strict and mismatched):
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
