"""Turn the command-line flags of ``tools/train.py`` / ``tools/test.py`` into config edits.

The flags and their meaning are MMAction2's; the only addition is that ``--amp`` on a
machine without CUDA selects bf16 autocast on the CPU (MMEngine's ``AmpOptimWrapper`` is
GPU-only) instead of failing.
"""
from __future__ import annotations

import torch
from mmengine.config import Config, ConfigDict


def prepare_train_cfg(cfg: Config,
                      launcher: str = 'none',
                      amp: bool = False,
                      resume: str | None = None,
                      auto_scale_lr: bool = False,
                      no_validate: bool = False,
                      seed: int | None = None,
                      diff_rank_seed: bool = False,
                      deterministic: bool = False) -> Config:
    """Apply the training flags to a config.

    Args:
        cfg (Config): The loaded config; modified in place and returned.
        launcher (str): Job launcher. Defaults to 'none'.
        amp (bool): Mixed precision: fp16 ``AmpOptimWrapper`` with CUDA, bf16 CPU autocast
            without. A config that already uses ``AmpOptimWrapper`` gets the CPU wrapper
            when CUDA is unavailable, with or without this flag. Defaults to False.
        resume (str, optional): ``'auto'`` to resume from the latest checkpoint of the work
            dir, or a checkpoint path. Defaults to None.
        auto_scale_lr (bool): Scale the lr by ``total batch / auto_scale_lr.base_batch_size``.
            Defaults to False.
        no_validate (bool): Drop the validation loop. Defaults to False.
        seed (int, optional): Random seed. Defaults to None.
        diff_rank_seed (bool): Different seeds per rank. Defaults to False.
        deterministic (bool): Deterministic CUDNN. Defaults to False.

    Returns:
        Config: The same config object.
    """
    cfg.launcher = launcher
    if no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    if amp:
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_wrapper in ('AmpOptimWrapper', 'CPUAmpOptimWrapper'):
            pass
        elif optim_wrapper != 'OptimWrapper':
            raise ValueError(f'--amp is only supported with OptimWrapper, got {optim_wrapper!r}')
        elif torch.cuda.is_available():
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
        else:
            cfg.optim_wrapper.type = 'CPUAmpOptimWrapper'
    if cfg.get('optim_wrapper', {}).get('type') == 'AmpOptimWrapper' and \
            not torch.cuda.is_available():
        # The recipes train with fp16 AMP on GPUs; MMEngine's AmpOptimWrapper refuses to
        # build without CUDA, so on a CPU the same config runs with bf16 autocast.
        cfg.optim_wrapper.type = 'CPUAmpOptimWrapper'
        cfg.optim_wrapper.dtype = 'bfloat16'
        for key in ('loss_scale', 'use_fsdp'):
            cfg.optim_wrapper.pop(key, None)
        print('[umt_mm] no CUDA: AmpOptimWrapper (fp16) -> CPUAmpOptimWrapper (bf16 autocast)')
    if resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif resume is not None:
        cfg.resume = True
        cfg.load_from = resume
    if auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in cfg.auto_scale_lr:
            raise KeyError('--auto-scale-lr needs `auto_scale_lr = dict(base_batch_size=N)` '
                           'in the config')
        cfg.auto_scale_lr.enable = True
    randomness = cfg.get('randomness', ConfigDict())
    if seed is not None:
        randomness['seed'] = seed
    if diff_rank_seed:
        randomness['diff_rank_seed'] = True
    if deterministic:
        randomness['deterministic'] = True
    if randomness:
        cfg.randomness = randomness
    return cfg


def prepare_test_cfg(cfg: Config,
                     launcher: str = 'none',
                     checkpoint: str | None = None,
                     dump: str | None = None,
                     show: bool = False,
                     show_dir: str | None = None,
                     interval: int = 1,
                     wait_time: float = 2) -> Config:
    """Apply the testing flags to a config.

    Args:
        cfg (Config): The loaded config; modified in place and returned.
        launcher (str): Job launcher. Defaults to 'none'.
        checkpoint (str, optional): Checkpoint to evaluate. Defaults to None.
        dump (str, optional): A ``.pkl``/``.pickle`` file to dump predictions to.
            Defaults to None.
        show (bool): Display predictions. Defaults to False.
        show_dir (str, optional): Folder for visualisations. Defaults to None.
        interval (int): Visualise every ``interval`` samples. Defaults to 1.
        wait_time (float): Display time per window in seconds. Defaults to 2.

    Returns:
        Config: The same config object.
    """
    cfg.launcher = launcher
    cfg.load_from = checkpoint
    if dump is not None:
        if not dump.endswith(('.pkl', '.pickle')):
            raise ValueError(f'--dump must be a .pkl or .pickle file, got {dump!r}')
        dump_metric = dict(type='DumpResults', out_file_path=dump)
        evaluators = cfg.test_evaluator
        if isinstance(evaluators, (list, tuple)):
            cfg.test_evaluator = [*evaluators, dump_metric]
        else:
            cfg.test_evaluator = [evaluators, dump_metric]
    if show or show_dir:
        hooks = cfg.default_hooks
        if 'visualization' not in hooks:
            raise KeyError('--show/--show-dir need `default_hooks.visualization` '
                           '(VisualizationHook) in the config')
        hooks.visualization.enable = True
        hooks.visualization.show = show
        hooks.visualization.interval = interval
        hooks.visualization.wait_time = wait_time
        if show_dir:
            hooks.visualization.out_dir = show_dir
    return cfg
