"""Test (evaluate) a checkpoint with umt_mm (same flags as MMAction2's ``tools/test.py``).

The checkpoint loads strictly: a file that does not fill the model (an official UMT release
that was never converted) stops the test with its layout and the converter command.
``--non-strict`` (or ``load_from_strict = False`` in the config) loads the matching tensors
only, the rest keeping their initial values.
"""
import argparse
import os
import os.path as osp
import sys

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

import umt_mm  # noqa: F401  (registers modules, applies compat fixes)
from umt_mm.apis.precision import add_inference_options
from umt_mm.cli_config import prepare_test_cfg
from umt_mm.converters.checkpoint_layouts import CheckpointMismatchError


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and eval) a umt_mm / MMAction2 model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the directory to save the file containing '
                        'evaluation metrics')
    parser.add_argument('--dump', type=str, help='dump predictions to a pickle file for '
                        'offline evaluation')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override some settings in the used config, the key-value pair '
        'in xxx=yyy format will be merged into config file.')
    parser.add_argument(
        '--skip-bad-videos', type=float, metavar='MAX_FRACTION', default=None,
        help='replace (training) or leave out of the metric (evaluation) unreadable videos, '
        'logging and reporting each (bad_videos_*.json in the work dir); stop when more '
        'than MAX_FRACTION of a dataset is bad (umt_mm SkipBadVideos)')
    parser.add_argument('--non-strict', action='store_true',
                        help='load the checkpoint tensors that match the model and keep the '
                        'rest at their initial values (default: fail on any mismatch)')
    add_inference_options(parser, None)
    parser.add_argument('--show-dir',
                        help='directory where the visualization images will be saved.')
    parser.add_argument('--show', action='store_true',
                        help='whether to display the prediction results')
    parser.add_argument('--interval', type=int, default=1, help='visualize per interval samples.')
    parser.add_argument('--wait-time', type=float, default=2,
                        help='display time of every window. (second)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main() -> None:
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg = prepare_test_cfg(cfg, launcher=args.launcher, checkpoint=args.checkpoint,
                           dump=args.dump, show=args.show, show_dir=args.show_dir,
                           interval=args.interval, wait_time=args.wait_time,
                           skip_bad_videos=args.skip_bad_videos,
                           non_strict=args.non_strict, precision=args.precision,
                           backend=args.backend, threads=args.threads)
    runner = Runner.from_cfg(cfg)
    try:
        runner.test()
    except CheckpointMismatchError as error:
        print(f'[test] {error}', file=sys.stderr)
        sys.exit(2)


if __name__ == '__main__':
    main()
