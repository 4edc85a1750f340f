"""Turn the command-line flags of ``tools/train.py`` / ``tools/test.py`` into config edits.

The flags and their meaning are MMAction2's, with these additions: ``--amp`` on a machine
without CUDA selects bf16 autocast on the CPU (MMEngine's ``AmpOptimWrapper`` is GPU-only;
where the CPU has no native bf16 the wrapper stays fp32 and says why), ``--skip-bad-videos``
wraps the datasets in :class:`~umt_mm.datasets.SkipBadVideos` with its report hook, and the
datasets get the model head's ``num_classes`` so that list labels are checked against it.
"""
from __future__ import annotations

import os

import torch
from mmengine.config import Config, ConfigDict


def prepare_train_cfg(cfg: Config,
                      launcher: str = 'none',
                      amp: bool = False,
                      resume: str | None = None,
                      auto_scale_lr: bool | None = None,
                      no_validate: bool = False,
                      seed: int | None = None,
                      diff_rank_seed: bool | None = None,
                      deterministic: bool = False,
                      skip_bad_videos: float | None = None) -> Config:
    """Apply the training flags to a config.

    Args:
        cfg (Config): The loaded config; modified in place and returned.
        launcher (str): Job launcher. Defaults to 'none'.
        amp (bool): Mixed precision: fp16 ``AmpOptimWrapper`` with CUDA, bf16 CPU autocast
            without. A config that already uses ``AmpOptimWrapper`` gets the CPU wrapper
            when CUDA is unavailable, with or without this flag. Defaults to False.
        resume (str, optional): ``'auto'`` to resume from the latest checkpoint of the work
            dir (``cfg.work_dir``), or, when it has none yet, to start as the config says
            (from its ``load_from`` if any), so that one command can be relaunched; or a
            checkpoint path. Defaults to None.
        auto_scale_lr (bool, optional): True: scale the lr by ``effective batch /
            auto_scale_lr.base_batch_size`` (on already in the umt_mm recipes, see
            :class:`~umt_mm.engine.EffectiveBatchLRHook`); False: switch the scaling off
            (the config's lr as written); None: as the config says. Defaults to None.
        no_validate (bool): Drop the validation loop. Defaults to False.
        seed (int, optional): Random seed. Defaults to None.
        diff_rank_seed (bool, optional): True: seed + rank in every process (the umt_mm
            recipes' default, as the reference); False: the same seed everywhere; None: as
            the config says. Defaults to None.
        deterministic (bool): Deterministic CUDNN. Defaults to False.
        skip_bad_videos (float, optional): Tolerate up to this fraction of unreadable
            videos (see :func:`wrap_skip_bad_videos`). Defaults to None (a bad video stops
            the run).

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
        print('[umt_mm] no CUDA: AmpOptimWrapper (fp16) -> CPUAmpOptimWrapper (bf16 autocast '
              'where the CPU runs bf16 natively, fp32 elsewhere)')
    if resume == 'auto':
        # MMEngine's resume=True with load_from=None resumes from the work dir's latest
        # checkpoint, or starts from scratch: a config's load_from (the finetuning or
        # pretraining start) would be dropped on the first launch. So the same command can
        # be relaunched: resume when the work dir has a checkpoint, else start as the
        # config says (its load_from).
        from mmengine.runner import checkpoint as ckpt_mod
        work_dir = cfg.get('work_dir')
        latest = (ckpt_mod.find_latest_checkpoint(work_dir)
                  if work_dir and os.path.isdir(work_dir) else None)
        if latest is None and cfg.get('load_from'):
            cfg.resume = False
            print(f'[umt_mm] --resume: no checkpoint in {work_dir} yet; starting from '
                  f'load_from {cfg.load_from}')
        else:
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
    elif auto_scale_lr is False and cfg.get('auto_scale_lr') is not None:
        cfg.auto_scale_lr.enable = False
    randomness = cfg.get('randomness', ConfigDict())
    if seed is not None:
        randomness['seed'] = seed
    if diff_rank_seed is not None:
        randomness['diff_rank_seed'] = bool(diff_rank_seed)
    if deterministic:
        randomness['deterministic'] = True
    if randomness:
        cfg.randomness = randomness
    fill_dataset_num_classes(cfg)
    if skip_bad_videos is not None:
        wrap_skip_bad_videos(cfg, skip_bad_videos)
    return cfg


def prepare_test_cfg(cfg: Config,
                     launcher: str = 'none',
                     checkpoint: str | None = None,
                     dump: str | None = None,
                     show: bool = False,
                     show_dir: str | None = None,
                     interval: int = 1,
                     wait_time: float = 2,
                     skip_bad_videos: float | None = None,
                     non_strict: bool = False,
                     precision: str | None = None,
                     backend: str | None = None,
                     threads: int | None = None) -> Config:
    """Apply the testing flags to a config.

    The checkpoint loads strictly (``load_from_strict = True``): a file that does not fill
    the model (an official UMT release that was never converted, another architecture)
    fails with its layout and the converter command instead of being evaluated with
    initial weights. ``non_strict`` (``--non-strict``) or ``load_from_strict = False`` in
    the config load the matching tensors only.

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
        skip_bad_videos (float, optional): Leave up to this fraction of unreadable videos
            out of the metric, reporting each (see :func:`wrap_skip_bad_videos`).
            Defaults to None (a bad video stops the test).
        non_strict (bool): Load the checkpoint's matching tensors only. Defaults to False
            (strict unless the config sets ``load_from_strict = False``).
        precision (str, optional): ``--precision``: evaluate in ``'fp32'``, ``'bf16'``,
            ``'int8'`` or ``'auto'`` (:class:`InferencePrecisionHook`). Defaults to None
            (the config's ``test_precision``, else fp32).
        backend (str, optional): ``--backend`` (``'eager'`` or ``'compile'``). Defaults to
            None (the config's ``test_backend``, else eager).
        threads (int, optional): ``--threads``. Defaults to None.

    Returns:
        Config: The same config object.
    """
    cfg.launcher = launcher
    cfg.load_from = checkpoint
    if non_strict:
        cfg.load_from_strict = False
    elif cfg.get('load_from_strict') is not False:
        cfg.load_from_strict = True
    precision = precision or cfg.get('test_precision', 'fp32')
    backend = backend or cfg.get('test_backend', 'eager')
    if precision != 'fp32' or backend != 'eager' or threads is not None:
        hook = dict(type='InferencePrecisionHook', precision=precision, backend=backend,
                    threads=threads)
        cfg.custom_hooks = [*(cfg.get('custom_hooks') or []), hook]
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
    fill_dataset_num_classes(cfg)
    if skip_bad_videos is not None:
        wrap_skip_bad_videos(cfg, skip_bad_videos)
    return cfg


_DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def innermost_dataset(dataset_cfg: dict | None) -> dict | None:
    """The dataset config inside any wrappers (``RepeatDataset``, ``SkipBadVideos``, ...).

    Args:
        dataset_cfg (dict, optional): A dataloader's ``dataset`` config.

    Returns:
        dict | None: The first config without a nested ``dataset`` dict (``dataset_cfg``
        itself when it wraps nothing, or when it is not a dict).
    """
    while isinstance(dataset_cfg, dict) and isinstance(dataset_cfg.get('dataset'), dict):
        dataset_cfg = dataset_cfg['dataset']
    return dataset_cfg


def fill_dataset_num_classes(cfg: Config) -> Config:
    """Give the video datasets the model head's ``num_classes`` (list labels are checked).

    Only datasets whose class accepts ``num_classes`` (``VideoDataset`` and its
    subclasses, ``RawframeDataset``) and that do not set it already are changed.

    Args:
        cfg (Config): The config; modified in place and returned.

    Returns:
        Config: The same config object.
    """
    import inspect

    from mmaction.registry import DATASETS
    head = cfg.get('model', {}).get('cls_head') if isinstance(cfg.get('model'), dict) else None
    num_classes = head.get('num_classes') if isinstance(head, dict) else None
    if not isinstance(num_classes, int):
        return cfg
    for key in _DATALOADERS:
        loader = cfg.get(key)
        if not isinstance(loader, dict):
            continue
        dataset = innermost_dataset(loader.get('dataset'))
        if not isinstance(dataset, dict) or 'num_classes' in dataset:
            continue
        dataset_type = dataset.get('type')
        cls = DATASETS.get(dataset_type) if isinstance(dataset_type, str) else dataset_type
        if cls is None or not inspect.isclass(cls):
            continue
        if 'num_classes' in inspect.signature(cls.__init__).parameters:
            dataset['num_classes'] = num_classes
    return cfg


def wrap_skip_bad_videos(cfg: Config, max_fraction: float) -> Config:
    """Wrap every dataloader's dataset in ``SkipBadVideos`` and add ``BadVideoReportHook``.

    Args:
        cfg (Config): The config; modified in place and returned.
        max_fraction (float): The largest tolerated fraction of unreadable videos.

    Returns:
        Config: The same config object.
    """
    for key in _DATALOADERS:
        loader = cfg.get(key)
        if not isinstance(loader, dict) or not isinstance(loader.get('dataset'), dict):
            continue
        if loader.dataset.get('type') == 'SkipBadVideos':
            loader.dataset.max_fraction = max_fraction
        else:
            loader.dataset = ConfigDict(type='SkipBadVideos', max_fraction=max_fraction,
                                        dataset=loader.dataset)
    hooks = list(cfg.get('custom_hooks', None) or [])
    if not any(isinstance(h, dict) and h.get('type') == 'BadVideoReportHook' for h in hooks):
        hooks.append(ConfigDict(type='BadVideoReportHook'))
    cfg.custom_hooks = hooks
    return cfg
