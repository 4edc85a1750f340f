"""Re-encode videos for sparse sampling: short side 320, a keyframe every 16 frames.

Sparse sampling (8 of ~300 frames) decodes every frame back to the keyframe of each sampled
one; Kinetics videos have GOPs of several seconds, so loading decodes nearly the whole video
(docs/data_pipeline.md, "Prepared data"). This tool writes every video with a short GOP
(``--gop``) and a smaller short side (``--short-side``, never enlarged), keeping every frame
at its index (decord's numbering), so the recipes sample the same frames. Resumable (done
files are skipped; a file is written under a temporary name and renamed when complete),
parallel (``--workers``), with progress lines and a size summary; exits with 1 when a video
failed (each is named), 2 when the inputs cannot be read.
See ``umt_mm/datasets/preparation/video_preparation.py``.

Example::

    python tools/data/reencode_videos.py data/kinetics400/videos_train \\
        data/kinetics400/videos_train_320_g16 --short-side 320 --gop 16 --workers 16

then point ``data_root`` of the recipe at the new folder (same list files).
"""
from __future__ import annotations

import argparse
import sys

from umt_mm.datasets.preparation.video_jobs import (
    add_video_job_arguments,
    check_video_job_arguments,
    reencode_job,
    reencoded_path,
    run_video_job_tool,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_video_job_arguments(parser)
    parser.add_argument('--short-side', type=int, default=320,
                        help='short side of the output, never enlarged; 0 keeps the size '
                        '(default: 320)')
    parser.add_argument('--gop', type=int, default=16, help='keyframe interval (frames)')
    parser.add_argument('--bframes', type=int, default=2)
    parser.add_argument('--crf', type=int, default=23)
    parser.add_argument('--preset', default='veryfast')
    args = parser.parse_args(argv)
    check_video_job_arguments(parser, args)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    options = dict(short_side=args.short_side or None, gop=args.gop, bframes=args.bframes,
                   crf=args.crf, preset=args.preset)
    return run_video_job_tool(reencode_job, reencoded_path, args, options, 're-encoded')


if __name__ == '__main__':
    sys.exit(main())
