"""Train a model with umt_mm (same flags as MMAction2's ``tools/train.py``)."""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

import umt_mm  # noqa: F401  (registers modules, applies compat fixes)
from umt_mm.cli_config import prepare_train_cfg
from umt_mm.engine.hooks.resume_checkpoint import apply_resume_fallback


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a umt_mm / MMAction2 model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='If specify checkpoint path, resume from it, while if not specify, '
        'try to auto resume from the latest checkpoint in the work directory (umt_mm: while '
        'it has none, start from the config\'s load_from, so one command can be relaunched).')
    parser.add_argument(
        '--amp', action='store_true',
        help='enable automatic-mixed-precision training (fp16 on GPU, bf16 on CPU)')
    parser.add_argument('--no-validate', action='store_true',
                        help='whether not to evaluate the checkpoint during training')
    parser.add_argument(
        '--auto-scale-lr', action=argparse.BooleanOptionalAction, default=None,
        help='scale lr, warmup and min lr by effective batch / auto_scale_lr.base_batch_size, '
        'the effective batch counted as the UMT reference does (processes x batch x repeats '
        'x accumulative_counts). On by default in the umt_mm recipes (the official GPU count '
        'gives the config values); --no-auto-scale-lr uses the config lr as written.')
    parser.add_argument(
        '--skip-bad-videos', type=float, metavar='MAX_FRACTION', default=None,
        help='replace (training) or leave out of the metric (evaluation) unreadable videos, '
        'logging and reporting each (bad_videos_*.json in the work dir); stop when more '
        'than MAX_FRACTION of a dataset is bad (umt_mm SkipBadVideos)')
    parser.add_argument('--seed', type=int, default=None, help='random seed')
    parser.add_argument(
        '--diff-rank-seed', action=argparse.BooleanOptionalAction, default=None,
        help='seed + rank in every process (the default of the umt_mm recipes, as the '
        'reference); --no-diff-rank-seed gives every process the same seed')
    parser.add_argument('--deterministic', action='store_true',
                        help='whether to set deterministic options for CUDNN backend.')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override some settings in the used config, the key-value pair '
        'in xxx=yyy format will be merged into config file.')
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
    cfg = prepare_train_cfg(
        cfg,
        launcher=args.launcher,
        amp=args.amp,
        resume=args.resume,
        auto_scale_lr=args.auto_scale_lr,
        no_validate=args.no_validate,
        seed=args.seed,
        diff_rank_seed=args.diff_rank_seed,
        deterministic=args.deterministic,
        skip_bad_videos=args.skip_bad_videos)
    # --resume past a truncated / unreadable latest checkpoint to the newest readable one
    apply_resume_fallback(cfg, args.resume)
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else None
    if runner is None:
        from mmengine.registry import RUNNERS
        runner = RUNNERS.build(cfg)
    runner.train()


if __name__ == '__main__':
    main()
