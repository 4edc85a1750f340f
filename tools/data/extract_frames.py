"""Extract every frame of a video set into frame folders (MMAction2's RawframeDataset).

``<out>/<video path without extension>/img_00001.jpg`` ... holds frame 0, 1, ... of decord's
numbering (``start_index=1``), so the frame-folder recipes (``configs/rawframes/``) sample
the same frames as the video recipes. Given a video list (``path label``), also writes
``--list-out`` in RawframeDataset's form (``frame_dir total_frames label``). Resumable (a
folder is written under a temporary name and renamed when complete; done folders are
skipped), parallel (``--workers``), with a progress line and a size summary.

Example::

    python tools/data/extract_frames.py data/kinetics400/kinetics400_train_list_videos.txt \\
        data/kinetics400/rawframes_train --root data/kinetics400/videos_train \\
        --list-out data/kinetics400/kinetics400_train_list_rawframes.txt --workers 16
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _prepare_cli import convert_one, load_preparation, make_parser, run_jobs, summarize  # noqa: E402


def _output(rel: str) -> Path:
    """A video's frame folder, relative to the output folder."""
    return Path(rel).with_suffix('')


def _job(task, root: Path, out: Path, options: dict) -> dict:
    extract_frames = load_preparation().extract_frames
    rel, rest = task
    return convert_one(
        rel, out / _output(rel),
        lambda frame_dir: extract_frames(root / rel, frame_dir, **options),
        done=lambda frame_dir: (dict(frames=sum(1 for _ in frame_dir.iterdir()))
                                if frame_dir.is_dir() else None),
        rest=rest)


def main(argv=None) -> int:
    parser = make_parser(__doc__)
    parser.add_argument('--quality', type=int, default=95, help='JPEG quality')
    parser.add_argument('--list-out', help='write a RawframeDataset list '
                        '(frame_dir total_frames label) for the extracted videos')
    args = parser.parse_args(argv)
    items, results = run_jobs(_job, args, dict(short_side=args.short_side,
                                               quality=args.quality), output_of=_output)
    if args.list_out:
        order = {rel: i for i, (rel, _) in enumerate(items)}
        lines = []
        for r in sorted((r for r in results if r['status'] != 'failed'),
                        key=lambda r: order[r['path']]):
            line = f'{_output(r["path"]).as_posix()} {r["frames"]}'
            lines.append(line + (f' {r["rest"]}' if r.get('rest') else ''))
        Path(args.list_out).write_text('\n'.join(lines) + '\n')
        print(f'wrote {args.list_out} ({len(lines)} videos)')
    return summarize(results, 'extracted')


if __name__ == '__main__':
    sys.exit(main())
