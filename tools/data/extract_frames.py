"""Extract every frame of a video set into frame folders (MMAction2's RawframeDataset).

``<out>/<video path without extension>/img_00001.jpg`` ... holds frame 0, 1, ... of decord's
numbering (``start_index=1``), so the frame-folder recipes (``configs/rawframes/``) sample
the same frames as the video recipes. Given a video list (``path label``), also writes
``--list-out`` in RawframeDataset's form (``frame_dir total_frames label``). Resumable (a
folder is written under a temporary name and renamed when complete; done folders are
skipped), parallel (``--workers``), with progress lines and a size summary; exits with 1
when a video failed (each is named), 2 when the inputs cannot be read.
See ``umt_mm/datasets/preparation/video_preparation.py``.

Example::

    python tools/data/extract_frames.py data/kinetics400/kinetics400_train_list_videos.txt \\
        data/kinetics400/rawframes_train --root data/kinetics400/videos_train \\
        --list-out data/kinetics400/kinetics400_train_list_rawframes.txt --workers 16
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
from pathlib import Path


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('src', help='a folder of videos (searched recursively) or a video '
                        'list (`path label` / `path,label` / `path` lines, paths relative to '
                        '--root)')
    parser.add_argument('out', help='output folder (mirrors the relative paths)')
    parser.add_argument('--root', default=None, help='folder the list paths are relative to '
                        '(default: the list file\'s folder)')
    parser.add_argument('--workers', type=int, default=max(1, mp.cpu_count() - 1),
                        help='parallel processes (default: cores - 1)')
    parser.add_argument('--short-side', type=int, default=None,
                        help='resize to this short side (default: keep the size)')
    parser.add_argument('--quality', type=int, default=95, help='JPEG quality')
    parser.add_argument('--list-out', help='write a RawframeDataset list '
                        '(frame_dir total_frames label) for the extracted videos')
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error('--workers must be at least 1')
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from umt_mm.datasets.preparation.video_jobs import (
        VideoJobSummary,
        check_outputs_unique,
        extract_frames_job,
        frame_folder_path,
        rawframe_list_lines,
        read_video_inputs,
        run_video_jobs,
    )
    from umt_mm.engine.progress import ProgressReporter
    try:
        root, tasks = read_video_inputs(args.src, args.root)
        check_outputs_unique(tasks, frame_folder_path, args.src)
    except (OSError, ValueError) as err:  # AnnotationError is a ValueError
        print(f'error: {err}', file=sys.stderr)
        return 2
    options = dict(short_side=args.short_side, quality=args.quality)
    with ProgressReporter(len(tasks), what='videos') as progress:
        results = run_video_jobs(extract_frames_job, tasks, root, args.out, options,
                                 args.workers, progress)
    if args.list_out:
        lines = rawframe_list_lines(tasks, results)
        Path(args.list_out).write_text('\n'.join(lines) + '\n')
        print(f'wrote {args.list_out} ({len(lines)} videos)')
    summary = VideoJobSummary.of(results, 'extracted')
    print('\n'.join(summary.lines()), flush=True)
    for line in summary.failure_lines():
        print(line, file=sys.stderr)
    return summary.exit_code


if __name__ == '__main__':
    sys.exit(main())
