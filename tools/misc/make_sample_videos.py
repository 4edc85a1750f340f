"""Regenerate the sample videos of ``demo/`` (drawn, no download).

Example::

    python tools/misc/make_sample_videos.py demo

writes ``demo/demo.mp4`` (moving shapes for recognition demos),
``demo/demo_spatiotemporal_det.mp4`` (two drawn people for the AVA demo) and
``demo/demo_spatiotemporal_det_proposals.csv`` (their boxes at every second, the
``--proposals`` file of ``tools/demo_spatiotemporal.py``). See
``umt_mm/testing/sample_videos.py``.
"""
import argparse

from umt_mm.testing.sample_videos import make_sample_videos


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('out_dir', nargs='?', default='demo',
                        help='output folder (default: demo)')
    args = parser.parse_args(argv)
    written = make_sample_videos(args.out_dir)
    for key in ('recognition', 'people'):
        video = written[key]
        print(f'{video.path}: {video.num_frames} frames, {video.width}x{video.height}, '
              f'{video.fps} fps')
    print(f'{written["proposals"]}: person boxes at every second')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
