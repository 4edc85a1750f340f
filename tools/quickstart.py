"""The quickstart: train, test and demo a small UMT on a generated motion set (no download).

Steps (``make quickstart`` runs them with the defaults):

1. ``tools/data/make_motion_dataset.py``'s generator writes eight motion classes in time-reversed
   pairs (moving left/right/up/down, rotating clockwise/counter-clockwise, approaching/receding;
   64 training, 8 validation and 8 held-out test videos per class) to ``data/motion8``;
2. ``tools/train.py`` trains the quickstart config from scratch (validation every few epochs);
3. ``tools/test.py`` tests the best checkpoint with 2 clips x 3 crops on the held-out videos;
4. ``tools/demo.py`` classifies one held-out video and writes it with its labels drawn.

It then prints the test top-1 (chance is 12.5 %, a model blind to the frame order is capped at
50 %), the checkpoint, the log folder and a PNG of the loss and accuracy curves. Expected: 70-94 %
test top-1 (ten seeds gave 70.3-93.8 %, median 88.3 %; docs/quickstart.md) in 1-2.5 minutes on an
idle 2-core CPU (up to 47 minutes on a busy one). The demo prints and draws the held-out clip's
true class beside the prediction. Running it again reuses the generated videos and retrains from
scratch; ``--seed`` changes the training seed.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

DEFAULT_CONFIG = ROOT / 'configs/quickstart/umt-tiny-p16-res64_scratch_1xb16-u8-16e_motion8-rgb.py'
DEMO_VIDEO = 'test_rotating_counterclockwise_0.mp4'


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--config', default=str(DEFAULT_CONFIG))
    parser.add_argument('--data-root', default=str(ROOT / 'data/motion8'),
                        help='where the motion videos are generated (reused when present)')
    parser.add_argument('--work-dir', default=str(ROOT / 'work_dirs/quickstart'),
                        help='train/, test/, demo/ and curves.png go here')
    parser.add_argument('--train-per-class', type=int, default=64)
    parser.add_argument('--val-per-class', type=int, default=8)
    parser.add_argument('--test-per-class', type=int, default=8)
    parser.add_argument('--epochs', type=int, default=None,
                        help="training epochs (default: the config's)")
    parser.add_argument('--seed', type=int, default=None,
                        help="training seed (default: the config's, 0); the videos do not "
                        'change with it')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='extra key=value overrides for train.py and test.py')
    return parser.parse_args(argv)


def _run(step: str, args: list[str]) -> None:
    """Run a tool with its output streaming to the terminal; fail loudly."""
    print(f'\n[quickstart] {step}: {" ".join(args[1:])}', flush=True)
    result = subprocess.run(args, cwd=ROOT)
    if result.returncode != 0:
        raise SystemExit(f'[quickstart] {step} failed (exit code {result.returncode}); '
                         'see the output above')


def _true_class(video: Path, data: dict) -> str:
    """The label of ``video`` in the test list, as a class name."""
    names = data['label_map'].read_text().split()
    for line in data['test_list'].read_text().splitlines():
        name, label = line.split()
        if name == video.name:
            return names[int(label)]
    raise SystemExit(f"[quickstart] {video.name} is not in {data['test_list']}")


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    start = time.time()
    from umt_mm.testing.motion_videos import MOTION_CLASSES, make_motion_video_dataset
    from umt_mm.visualization.training_curves import latest_log_dir, plot_curves, read_scalars

    work_dir = Path(args.work_dir).resolve()
    print(f'[quickstart] 1/4 data: {len(MOTION_CLASSES)} motion classes in '
          f'{args.data_root}', flush=True)
    data = make_motion_video_dataset(args.data_root, num_train_per_class=args.train_per_class,
                                     num_val_per_class=args.val_per_class,
                                     num_test_per_class=args.test_per_class)
    opts = []
    for split in ('train', 'val', 'test'):
        opts += [f'{split}_dataloader.dataset.ann_file={data[f"{split}_list"]}',
                 f'{split}_dataloader.dataset.data_prefix.video={data["videos"]}']
    if args.epochs is not None:
        opts += [f'train_cfg.max_epochs={args.epochs}',
                 f'default_hooks.checkpoint.interval={args.epochs}',
                 f'param_scheduler.1.T_max={max(args.epochs - 1, 1)}',
                 f'param_scheduler.1.end={max(args.epochs, 2)}']
    opts += list(args.cfg_options)

    train_dir, test_dir, demo_dir = work_dir / 'train', work_dir / 'test', work_dir / 'demo'
    for folder in (train_dir, test_dir, demo_dir):
        if folder.exists():  # a previous quickstart's results: start afresh
            shutil.rmtree(folder)
    seed = [] if args.seed is None else ['--seed', str(args.seed)]
    _run('2/4 train', [sys.executable, 'tools/train.py', args.config, '--work-dir',
                       str(train_dir), *seed, '--cfg-options', *opts])
    best = sorted(train_dir.glob('best_acc_top1_epoch_*.pth'))
    last_file = train_dir / 'last_checkpoint'
    checkpoint = best[-1] if best else Path(last_file.read_text().strip())
    train_log = latest_log_dir(train_dir)

    _run('3/4 multi-view test', [sys.executable, 'tools/test.py', args.config, str(checkpoint),
                                 '--work-dir', str(test_dir), '--cfg-options', *opts])
    test_metrics = [r for r in read_scalars(latest_log_dir(test_dir)) if 'acc/top1' in r]
    if not test_metrics:
        raise SystemExit(f'[quickstart] no test metrics in {test_dir}')
    top1 = test_metrics[-1]['acc/top1']

    video = data['videos'] / DEMO_VIDEO
    if not video.exists():
        video = data['videos'] / data['test_list'].read_text().split()[0]
    demo_out = demo_dir / f'{video.stem}_labelled.mp4'
    true_class = _true_class(video, data)
    _run('4/4 demo on a held-out video', [
        sys.executable, 'tools/demo.py', str(video), args.config, str(checkpoint),
        '--label-map', str(data['label_map']), '--out', str(demo_out),
        '--true-label', true_class])

    curves = plot_curves(read_scalars(train_log), work_dir / 'curves.png')
    minutes = (time.time() - start) / 60
    print(f'\n[quickstart] done in {minutes:.1f} min')
    print(f'  test top-1 ({len(MOTION_CLASSES)} classes, 2 clips x 3 crops): {100 * top1:.1f} % '
          f'(chance 12.5 %, frame-order-blind models at most 50 %)')
    print(f'  checkpoint:   {checkpoint}')
    print(f'  log folder:   {train_log}')
    print(f'  curves:       {curves}')
    print(f'  demo video:   {demo_out} (true class: {true_class})')
    return dict(top1=top1, checkpoint=checkpoint, log_dir=train_log, curves=curves,
                demo=demo_out, true_class=true_class, minutes=minutes)


if __name__ == '__main__':
    main()
