"""AVA movies -> 25-fps frame folders at the reference's rate, size and window.

The UMT detector was trained and tested on AlphAction's per-second clips (seconds 895 to
1805 of every movie, 25 fps, short side 360 when larger). This writes the same frames as
MMAction2 frame folders, ``<out>/<video_id>/img_00001.jpg`` = the first frame of second
895, so the key frame of AVA timestamp ``t`` is ``img_{25 * (t - 895) + 1:05d}.jpg``
(the AVA configs' default: ``fps=25, timestamp_start=895``). PyAV decodes (FFmpeg is in
its wheel; no system ffmpeg needed). See ``umt_mm/datasets/preparation/ava_frames.py`` for
exactly which frames are taken, and docs/ava.md.

Rerunning the same command continues where it stopped: finished videos are skipped,
a partly written video continues at its first unfinished second. Every second is checked
to hold 25 frames; the others are listed at the end and in ``<out>/prepare_report.json``.
Exits with 1 when a movie failed or a listed movie was not found (each is named; with
``--strict`` also when a second lacks frames), 2 when the inputs cannot be read.

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
import sys
from pathlib import Path

from umt_mm.datasets.preparation.ava_frames import (
    AVA_END_SEC,
    AVA_FPS,
    AVA_SHORT_SIDE,
    AVA_START_SEC,
)


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


def main(argv=None) -> int:
    args = parse_args(argv)
    from umt_mm.datasets.preparation.ava_frame_jobs import (
        ava_run_summary,
        extract_ava_movies,
        find_ava_movies,
    )
    from umt_mm.engine.progress import ProgressReporter
    try:
        videos, missing = find_ava_movies(args.video_root, args.list)
    except (OSError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    out_root = Path(args.out_root)
    out_root.mkdir(parents=True, exist_ok=True)
    kwargs = dict(start_sec=args.start_sec, end_sec=args.end_sec, fps=args.fps,
                  short_side=args.short_side, quality=args.quality,
                  output='clips' if args.clips else 'frames')
    num_seconds = args.end_sec - args.start_sec + 1
    print(f'{len(videos)} movies -> {out_root} (seconds {args.start_sec}-{args.end_sec}, '
          f'{args.fps} fps, short side <= {args.short_side})', flush=True)
    with ProgressReporter(len(videos) * num_seconds, what='seconds') as progress:
        reports = extract_ava_movies(videos, out_root, args.workers, progress, **kwargs)

    summary = ava_run_summary(reports, missing, dict(kwargs, video_root=str(args.video_root)))
    (out_root / 'prepare_report.json').write_text(json.dumps(summary, indent=1))
    print(f'{summary["done"]} movies written, {summary["skipped"]} already finished, '
          f'{summary["failed"]} failed, {len(missing)} listed but not found '
          f'(report: {out_root / "prepare_report.json"})')
    mismatched = [r for r in reports if r.mismatched]
    for r in mismatched:
        secs = ', '.join(f'{s}: {c}' for s, c in sorted(r.mismatched.items())[:10])
        more = '' if len(r.mismatched) <= 10 else f' (+{len(r.mismatched) - 10} more)'
        print(f'WARNING {r.video_id}: {len(r.mismatched)} seconds without {args.fps} frames '
              f'(second: frames) {secs}{more}')
    for r in reports:
        if r.status == 'failed':
            print(f'FAILED {r.video_id}: {r.error}')
    for vid in missing:
        print(f'NOT FOUND {vid} (listed in {args.list})')
    if summary['failed'] or missing or (args.strict and mismatched):
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
