"""Write the eight-class motion video set used by the quickstart (no download).

Example::

    python tools/data/make_motion_dataset.py data/motion8 --train 64 --val 8 --test 8

writes ``data/motion8/videos/*.mp4``, ``{train,val,test}_list.txt`` (MMAction2 ``VideoDataset``
lists, paths relative to ``videos/``) and ``label_map.txt``. The classes come in time-reversed
pairs (left/right, up/down, clockwise/counter-clockwise, approaching/receding), so only a model
that uses the frame order can tell them apart. See ``umt_mm/testing/motion_videos.py``.
"""
import argparse
import sys

from umt_mm.testing.motion_videos import MOTION_CLASSES, make_motion_video_dataset


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('out_dir', help='output folder (e.g. data/motion8)')
    parser.add_argument('--train', type=int, default=64, help='training videos per class')
    parser.add_argument('--val', type=int, default=8, help='validation videos per class')
    parser.add_argument('--test', type=int, default=8, help='held-out test videos per class')
    parser.add_argument('--frames', type=int, default=16, help='frames per video')
    parser.add_argument('--height', type=int, default=64, help='frame height (even, >= 32)')
    parser.add_argument('--width', type=int, default=80, help='frame width (even, >= 32)')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    try:
        paths = make_motion_video_dataset(
            args.out_dir, num_train_per_class=args.train, num_val_per_class=args.val,
            num_test_per_class=args.test, num_frames=args.frames, height=args.height,
            width=args.width, seed=args.seed)
    except (OSError, RuntimeError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    print(f'{len(MOTION_CLASSES)} classes: {", ".join(MOTION_CLASSES)}')
    for key in ('videos', 'train_list', 'val_list', 'test_list', 'label_map'):
        print(f'{key:>10}: {paths[key]}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
