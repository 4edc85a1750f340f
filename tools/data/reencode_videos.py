"""Re-encode videos for sparse sampling: short side 320, a keyframe every 16 frames.

Sparse sampling (8 of ~300 frames) decodes every frame back to the keyframe of each sampled
one; Kinetics videos have GOPs of several seconds, so loading decodes nearly the whole video
(docs/data_pipeline.md, "Prepared data"). This tool writes every video with a short GOP
(``--gop``) and a smaller short side (``--short-side``, never enlarged), keeping every frame
at its index (decord's numbering), so the recipes sample the same frames. Resumable (done
files are skipped; a file is written under a temporary name and renamed when complete),
parallel (``--workers``), with a progress line and a size summary.

Example::

    python tools/data/reencode_videos.py data/kinetics400/videos_train \\
        data/kinetics400/videos_train_320_g16 --short-side 320 --gop 16 --workers 16

then point ``data_root`` of the recipe at the new folder (same list files).
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _prepare_cli import convert_one, load_preparation, make_parser, run_jobs, summarize  # noqa: E402


def _output(rel: str) -> Path:
    """A video's re-encoded file, relative to the output folder."""
    return Path(rel).with_suffix('.mp4')


def _job(task, root: Path, out: Path, options: dict) -> dict:
    reencode_video = load_preparation().reencode_video
    rel, _ = task
    return convert_one(rel, out / _output(rel),
                       lambda dst: reencode_video(root / rel, dst, **options))


def main(argv=None) -> int:
    parser = make_parser(__doc__)
    parser.set_defaults(short_side=320)
    parser.add_argument('--gop', type=int, default=16, help='keyframe interval (frames)')
    parser.add_argument('--bframes', type=int, default=2)
    parser.add_argument('--crf', type=int, default=23)
    parser.add_argument('--preset', default='veryfast')
    args = parser.parse_args(argv)
    _, results = run_jobs(_job, args, dict(short_side=args.short_side or None, gop=args.gop,
                                           bframes=args.bframes, crf=args.crf,
                                           preset=args.preset), output_of=_output)
    return summarize(results, 're-encoded')


if __name__ == '__main__':
    sys.exit(main())
