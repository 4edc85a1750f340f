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

import argparse
import functools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _prepare_cli import (  # noqa: E402
    add_common_args,
    load_preparation,
    read_inputs,
    run_parallel,
    summarize,
)


def _job(task, root: Path, out: Path, options: dict) -> dict:
    reencode_video = load_preparation().reencode_video
    rel, _ = task
    dst = (out / rel).with_suffix('.mp4')
    if dst.exists():
        return dict(status='skipped', path=rel)
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        info = reencode_video(root / rel, dst, **options)
    except Exception as err:  # noqa: BLE001 (reported per file, the run goes on)
        return dict(status='failed', path=rel, error=str(err))
    return dict(status='done', path=rel, **info)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(parser)
    parser.set_defaults(short_side=320)
    parser.add_argument('--gop', type=int, default=16, help='keyframe interval (frames)')
    parser.add_argument('--bframes', type=int, default=2)
    parser.add_argument('--crf', type=int, default=23)
    parser.add_argument('--preset', default='veryfast')
    args = parser.parse_args(argv)
    root, items = read_inputs(args.src, args.root)
    out = Path(args.out)
    options = dict(short_side=args.short_side or None, gop=args.gop, bframes=args.bframes,
                   crf=args.crf, preset=args.preset)
    job = functools.partial(_job, root=root, out=out, options=options)
    results = run_parallel(job, items, args.workers, 'videos')
    return summarize(results, 're-encoded')


if __name__ == '__main__':
    sys.exit(main())
