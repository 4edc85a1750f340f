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
import sys
from pathlib import Path

from umt_mm.datasets.preparation.video_jobs import (
    add_video_job_arguments,
    check_video_job_arguments,
    extract_frames_job,
    frame_folder_path,
    rawframe_list_lines,
    run_video_job_tool,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_video_job_arguments(parser)
    parser.add_argument('--short-side', type=int, default=None,
                        help='resize to this short side (default: keep the size)')
    parser.add_argument('--quality', type=int, default=95, help='JPEG quality')
    parser.add_argument('--list-out', help='write a RawframeDataset list '
                        '(frame_dir total_frames label) for the extracted videos')
    args = parser.parse_args(argv)
    check_video_job_arguments(parser, args)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def write_list(tasks, results) -> None:
        if args.list_out:
            lines = rawframe_list_lines(tasks, results)
            Path(args.list_out).write_text('\n'.join(lines) + '\n')
            print(f'wrote {args.list_out} ({len(lines)} videos)')

    return run_video_job_tool(extract_frames_job, frame_folder_path, args,
                              dict(short_side=args.short_side, quality=args.quality),
                              'extracted', on_results=write_list)


if __name__ == '__main__':
    sys.exit(main())
