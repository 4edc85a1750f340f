"""The recipes' learning rate is the reference's wherever they run (``run_class_finetuning.py``).

The reference scales lr, warmup lr and min lr by ``total batch / 256`` with
``total batch = GPUs x batch x update_freq x num_sample``. Each test builds the optimizer and
the schedulers of a real recipe config (on a tiny model and toy videos) the way
``Runner.train`` does, then checks every parameter group against the script's values per 256
clips, typed here from the spec independently of the configs.
"""
import re
import uuid
from pathlib import Path

import pytest
from mmengine.config import Config
from mmengine.optim.scheduler import CosineAnnealingParamScheduler, LinearParamScheduler
from mmengine.runner import Runner

from umt_mm.engine.hooks.lr_scaling_hook import SCALED_KEY, EffectiveBatch, effective_batch

ROOT = Path(__file__).resolve().parents[2]

# config: (lr, warmup lr, min lr) per 256 clips as in the script, official processes,
# batch per process, repeats (num_sample)
RECIPES = {
    'configs/pretrain/umt-base-p16-res224_clip-b16-distill_32xb64-u8-201e_kinetics710-rgb.py':
        (1.5e-4, 0.0, 1e-5, 32, 64, 1),
    'configs/k710/umt-base-p16-res224_k710-pre_16xb16-u8-35e_kinetics710-rgb.py':
        (2e-4, 1e-6, 1e-6, 16, 16, 2),
    'configs/k710/umt-large-p16-res224_k710-pre_16xb16-u8-20e_kinetics710-rgb.py':
        (1e-4, 1e-6, 1e-6, 16, 16, 2),
    'configs/k400/umt-base-p16-res224_k710-ft_16xb16-u8-5e_kinetics400-rgb.py':
        (2e-5, 1e-6, 1e-6, 16, 16, 2),
    'configs/k400/umt-large-p16-res224_k710-ft_16xb8-u16-5e_kinetics400-rgb.py':
        (1e-5, 1e-6, 1e-6, 16, 8, 2),
    'configs/sthv2/umt-base-p16-res224_k710-pre_16xb16-u8-30e_sthv2-rgb.py':
        (2e-4, 1e-6, 1e-6, 16, 16, 2),
    'configs/mitv1/umt-base-p16-res224_k400-ft_16xb32-u8-40e_mit-rgb.py':
        (1e-4, 1e-6, 1e-6, 16, 32, 1),
    'configs/mitv1/umt-large-p16-res384_k400-ft_16xb8-u8-4e_mit-rgb.py':
        (1e-5, 1e-6, 1e-6, 16, 8, 1),
    'action_detection/configs/umt-base-p16_k710-ft_16xb8-8x8x1-30e_ava22-rgb.py':
        (2.5e-4, 0.0, 1e-6, 16, 8, 1),
    'action_detection/configs/umt-large-p16_k710-ft_32xb4-8x8x1-25e_ava22-rgb.py':
        (2.5e-4, 0.0, 1e-6, 32, 4, 1),
}
TINY_VIT = dict(embed_dims=32, depth=2, num_heads=2, mlp_ratio=2)


def _innermost(dataset):
    while isinstance(dataset.get('dataset'), dict):
        dataset = dataset['dataset']
    return dataset


def _tiny_recipe(name, toy, work_dir, batch, accumulation=1):
    """The recipe config with a tiny model of its kind and the toy videos as training data."""
    cfg = Config.fromfile(ROOT / name)
    model = cfg.model
    if model.type == 'UMTDistiller':
        model.encoder.update(arch=TINY_VIT, img_size=32, num_frames=4, use_checkpoint=False)
        model.teacher.update(arch=dict(patch_size=16, width=32, layers=2, heads=2,
                                       output_dim=16),
                             input_resolution=32, num_return_layers=2, init_cfg=None)
        model.update(align_dims=16, num_return_layers=2)
    else:
        model.backbone.update(arch=TINY_VIT, img_size=32, num_frames=2, use_checkpoint=False)
        head = model.get('cls_head') or model.roi_head.bbox_head
        head.in_channels = 32
    loader = cfg.train_dataloader
    if loader.dataset.type in ('AVADataset', 'UMTAVADataset') or 'AVA' in loader.dataset.type:
        # the detection data needs the AVA files; only the batch matters for the lr
        loader.dataset = dict(type='VideoDataset', ann_file=str(toy['train_list']),
                              data_prefix=dict(video=str(toy['videos'])), pipeline=[])
    else:
        inner = _innermost(loader.dataset)
        inner.update(ann_file=str(toy['train_list']), data_prefix=dict(video=str(toy['videos'])))
        inner.pop('num_classes', None)
    loader.update(batch_size=batch, num_workers=0, persistent_workers=False, drop_last=False)
    if accumulation != 1:
        cfg.optim_wrapper.accumulative_counts = accumulation
    if cfg.optim_wrapper.type == 'AmpOptimWrapper':
        cfg.optim_wrapper.type = 'OptimWrapper'  # the lr does not depend on the precision
        for key in ('dtype', 'loss_scale'):
            cfg.optim_wrapper.pop(key, None)
    for split in ('val', 'test'):
        cfg[f'{split}_dataloader'] = cfg[f'{split}_cfg'] = cfg[f'{split}_evaluator'] = None
    cfg.load_from = None
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = f'lr_{work_dir.name}_{uuid.uuid4().hex}'  # a logger of its own
    return cfg


def _start_training(runner, world_size=None):
    """What ``Runner.train`` does (MMEngine 0.10.7) up to the first iteration, without
    running it; ``world_size`` emulates that many processes for the lr arithmetic."""
    if world_size is not None:
        runner._world_size = world_size
    runner._train_loop = runner.build_train_loop(runner._train_loop)
    runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    runner.scale_lr(runner.optim_wrapper, runner.auto_scale_lr)
    runner.param_schedulers = runner.build_param_scheduler(runner.param_schedulers)
    runner.call_hook('before_run')
    runner.call_hook('before_train')
    return runner


def _groups_and_schedulers(runner):
    groups = runner.optim_wrapper.optimizer.param_groups
    warm = next(s for s in runner.param_schedulers if isinstance(s, LinearParamScheduler))
    cos = next(s for s in runner.param_schedulers
               if isinstance(s, CosineAnnealingParamScheduler))
    return groups, warm, cos


def _check(runner, spec, total, exact=False):
    lr, warmup_lr, min_lr, *_ = spec
    factor = total / 256
    groups, warm, cos = _groups_and_schedulers(runner)
    assert len(groups) > 1  # no-weight-decay groups (and layer-decay groups)
    approx = (lambda v: v) if exact else (lambda v: pytest.approx(v, rel=1e-9, abs=1e-18))
    for i, group in enumerate(groups):
        scale = group.get('lr_scale', 1.0)
        assert group['initial_lr'] == approx(lr * factor * scale)
        assert cos.base_values[i] == approx(lr * factor * scale)
        # the warmup's first iteration (MMEngine cannot start at exactly 0: 1e-6 x lr)
        expected_warmup = warmup_lr * factor * scale if warmup_lr else lr * factor * scale * 1e-6
        assert group['lr'] == pytest.approx(expected_warmup, rel=1e-6)
        # the cosine's end: the reference's min_lr x the same factor (x the layer scale)
        assert cos.eta_min_ratio * cos.base_values[i] == pytest.approx(
            min_lr * factor * scale, rel=1e-6)
        assert group[SCALED_KEY] == approx(total / runner.auto_scale_lr['base_batch_size'])
    assert warm.begin == 0 and cos.begin == warm.end


@pytest.mark.parametrize('name', sorted(RECIPES))
def test_one_process_small_batch_gets_the_reference_scaling(name, toy_videos, tmp_path):
    spec = RECIPES[name]
    repeats = spec[5]
    runner = Runner.from_cfg(_tiny_recipe(name, toy_videos, tmp_path / 'one', batch=2))
    _start_training(runner)
    assert effective_batch(runner) == EffectiveBatch(1, 2, repeats, 1)
    _check(runner, spec, total=2 * repeats)


@pytest.mark.parametrize('name', sorted(RECIPES))
def test_official_gpu_count_gives_the_script_values_exactly(name, toy_videos, tmp_path):
    spec = RECIPES[name]
    lr, _, _, gpus, batch, repeats = spec
    cfg = _tiny_recipe(name, toy_videos, tmp_path / 'official', batch=batch)
    cfg_lr = cfg.optim_wrapper.optimizer.lr
    assert cfg_lr == lr * gpus * batch * repeats / 256  # the script's printed lr
    runner = _start_training(Runner.from_cfg(cfg), world_size=gpus)
    assert effective_batch(runner).total == gpus * batch * repeats
    _check(runner, spec, total=gpus * batch * repeats)
    for group in runner.optim_wrapper.optimizer.param_groups:
        assert group['initial_lr'] == cfg_lr * group.get('lr_scale', 1.0)  # bit for bit


def test_accumulation_on_fewer_gpus_keeps_the_official_lr(toy_videos, tmp_path):
    name = 'configs/k400/umt-base-p16-res224_k710-ft_16xb16-u8-5e_kinetics400-rgb.py'
    cfg = _tiny_recipe(name, toy_videos, tmp_path / 'accum', batch=16, accumulation=4)
    runner = _start_training(Runner.from_cfg(cfg), world_size=4)
    assert effective_batch(runner) == EffectiveBatch(4, 16, 2, 4)
    _check(runner, RECIPES[name], total=512, exact=True)


def test_scaling_off_uses_the_config_lr_and_logs_it(toy_videos, tmp_path, capsys):
    from umt_mm.cli_config import prepare_train_cfg
    name = 'configs/k400/umt-base-p16-res224_k710-ft_16xb16-u8-5e_kinetics400-rgb.py'
    cfg = prepare_train_cfg(_tiny_recipe(name, toy_videos, tmp_path / 'off', batch=2),
                            auto_scale_lr=False)
    assert cfg.auto_scale_lr.enable is False
    runner = _start_training(Runner.from_cfg(cfg))
    groups, _, _ = _groups_and_schedulers(runner)
    top = max(g['initial_lr'] for g in groups)
    assert top == 4e-5 and all(SCALED_KEY not in g for g in groups)
    log = (Path(runner.log_dir) / f'{runner.timestamp}.log').read_text()
    line = next(v for v in log.splitlines() if 'lr scaling:' in v)
    assert 'effective batch 4 = 1 process x 2 videos x 2 repeats' in line
    assert 'lr per 256 clips 0.00256' in line and 'lr 4e-05' in line  # 4e-5 x 256 / 4
    assert 'auto_scale_lr off' in line


def test_start_of_run_logs_batch_base_and_actual_lr(toy_videos, tmp_path):
    name = 'configs/k400/umt-base-p16-res224_k710-ft_16xb16-u8-5e_kinetics400-rgb.py'
    runner = _start_training(Runner.from_cfg(
        _tiny_recipe(name, toy_videos, tmp_path / 'log', batch=2)))
    log = (Path(runner.log_dir) / f'{runner.timestamp}.log').read_text()
    line = next(v for v in log.splitlines() if 'lr scaling:' in v)
    # 2e-5 per 256 -> x 4 / 256 = 3.125e-07; warmup and min lr 1e-6 x 4 / 256
    assert 'effective batch 4 = 1 process x 2 videos x 2 repeats' in line
    numbers = {key: float(value) for key, value in re.findall(
        r'(lr per 256 clips|; lr|warmup from|min lr) ([0-9.e+-]+\d)', line)}
    assert numbers == pytest.approx({'lr per 256 clips': 2e-5, '; lr': 2e-5 * 4 / 256,
                                     'warmup from': 1e-6 * 4 / 256,
                                     'min lr': 1e-6 * 4 / 256}, rel=1e-3)
    assert 'x 4/512' in line


def test_absolute_eta_min_is_scaled_too(toy_videos, tmp_path):
    name = 'configs/k400/umt-base-p16-res224_k710-ft_16xb16-u8-5e_kinetics400-rgb.py'
    cfg = _tiny_recipe(name, toy_videos, tmp_path / 'abs', batch=2)
    cfg.param_scheduler[1].pop('eta_min_ratio')
    cfg.param_scheduler[1].eta_min = 2e-6  # the official run's absolute min lr
    runner = _start_training(Runner.from_cfg(cfg))
    _, _, cos = _groups_and_schedulers(runner)
    assert cos.eta_min == pytest.approx(2e-6 * 4 / 512, rel=1e-12)


def test_resumed_optimizer_state_is_not_scaled_twice(toy_videos, tmp_path):
    from umt_mm.engine.hooks.lr_scaling_hook import EffectiveBatchLRHook
    name = 'configs/k400/umt-base-p16-res224_k710-ft_16xb16-u8-5e_kinetics400-rgb.py'
    runner = _start_training(Runner.from_cfg(
        _tiny_recipe(name, toy_videos, tmp_path / 'resume', batch=2)))
    groups = runner.optim_wrapper.optimizer.param_groups
    before = [g['lr'] for g in groups]
    # FlexibleRunner calls before_run after loading a checkpoint's optimizer state
    EffectiveBatchLRHook().before_run(runner)
    assert [g['lr'] for g in groups] == before


def _quickstart(toy, work_dir, max_epochs, resume=False):
    cfg = Config.fromfile(
        ROOT / 'configs/quickstart/umt-tiny-p16-res32_scratch_1xb2-u4-2e_toy-rgb.py')
    cfg.train_dataloader.dataset.update(ann_file=str(toy['train_list']),
                                        data_prefix=dict(video=str(toy['videos'])))
    for split in ('val', 'test'):
        cfg[f'{split}_dataloader'] = cfg[f'{split}_cfg'] = cfg[f'{split}_evaluator'] = None
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1, save_best=None)
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
    cfg.param_scheduler = [dict(type='CosineAnnealingLR', T_max=4, eta_min=1e-4, by_epoch=True,
                                begin=0, end=4)]
    cfg.auto_scale_lr = dict(enable=True, base_batch_size=8)  # lr 1e-3 is for 8 clips
    cfg.optim_wrapper.accumulative_counts = 2
    cfg.work_dir = str(work_dir)
    cfg.resume = resume
    cfg.experiment_name = f'lr_train_{uuid.uuid4().hex}'
    return cfg


def _build(cfg, flexible):
    from mmengine.registry import RUNNERS
    if not flexible:
        return Runner.from_cfg(cfg)
    # FlexibleRunner (FSDP, DeepSpeed) calls before_run after loading a resumed checkpoint
    cfg.runner_type = 'FlexibleRunner'
    cfg.strategy = dict(type='SingleDeviceStrategy')
    return RUNNERS.build(cfg)


@pytest.mark.parametrize('flexible', [False, True])
def test_real_training_and_resume_scale_once(toy_videos, tmp_path, flexible):
    """train() scales by 1 process x 2 videos x 2 accumulated / 8; a resumed run keeps it."""
    import torch
    work = tmp_path / 'train'
    _build(_quickstart(toy_videos, work, max_epochs=1), flexible).train()
    state = torch.load(work / 'epoch_1.pth', map_location='cpu', weights_only=False)
    groups = state['optimizer']['param_groups']
    assert len(groups) > 2  # layer-decay groups
    for group in groups:
        assert group['initial_lr'] == pytest.approx(1e-3 * 4 / 8 * group['lr_scale'], rel=1e-12)
        assert group[SCALED_KEY] == 0.5
    # MMEngine does not scale an absolute eta_min; the hook does (1e-4 x 0.5)
    assert state['param_schedulers'][0]['eta_min'] == pytest.approx(5e-5, rel=1e-12)
    runner = _build(_quickstart(toy_videos, work, max_epochs=2, resume=True), flexible)
    runner.train()
    groups = runner.optim_wrapper.optimizer.param_groups
    for group in groups:  # not scaled a second time
        assert group['initial_lr'] == pytest.approx(1e-3 * 4 / 8 * group['lr_scale'], rel=1e-12)
    assert runner.param_schedulers[0].eta_min == pytest.approx(5e-5, rel=1e-12)


def test_testing_runs_are_left_alone(toy_videos, tmp_path):
    """Runner.test()/val() call before_run too: no optimizer, no train dataloader is built."""
    from umt_mm.engine.hooks.lr_scaling_hook import EffectiveBatchLRHook
    name = 'configs/k400/umt-base-p16-res224_k710-ft_16xb16-u8-5e_kinetics400-rgb.py'
    runner = Runner.from_cfg(_tiny_recipe(name, toy_videos, tmp_path / 'test', batch=2))
    EffectiveBatchLRHook().before_run(runner)
    assert isinstance(runner.optim_wrapper, dict) and isinstance(runner._train_loop, dict)


class DeepSpeedStrategy:
    """Stands for MMEngine's strategy (the hook reads its type name and ``config``)."""

    def __init__(self, **config):
        self.config = config


def test_deepspeed_accumulation_counts_in_the_effective_batch():
    """DeepSpeed accumulates in its engine: gradient_accumulation_steps of the strategy."""
    from types import SimpleNamespace

    import torch
    from mmengine.optim import OptimWrapper

    from umt_mm.engine.hooks.lr_scaling_hook import EffectiveBatchLRHook

    param = torch.nn.Parameter(torch.zeros(2))
    wrapper = OptimWrapper(torch.optim.AdamW([param], lr=1e-3))
    dataset = SimpleNamespace(num_repeats=2)
    runner = SimpleNamespace(
        train_dataloader=SimpleNamespace(batch_size=16, dataset=dataset), world_size=4,
        optim_wrapper=wrapper, param_schedulers=[],
        strategy=DeepSpeedStrategy(gradient_accumulation_steps=4),
        auto_scale_lr=dict(enable=True, base_batch_size=16 * 16 * 2))
    assert effective_batch(runner) == EffectiveBatch(4, 16, 2, 4)
    EffectiveBatchLRHook().before_run(runner)
    # MMEngine's DeepSpeed strategy scales nothing: the hook applies the whole factor, 1 here
    # (4 processes x 16 x 2 repeats x 4 accumulated = the official 16 x 16 x 2)
    assert wrapper.optimizer.param_groups[0]['lr'] == pytest.approx(1e-3)
    runner.strategy = DeepSpeedStrategy()  # no accumulation set: DeepSpeed's default 1
    assert effective_batch(runner).accumulation == 1


# ----------------------------------------------------------------------------------------
# "What a run on N GPUs changes" (docs/reproducing.md), computed from the config alone
# ----------------------------------------------------------------------------------------
_DOC_TABLE = re.compile(
    r'<!-- gpu-table: (?P<config>\S+) videos=(?P<videos>\d+) gpus=(?P<gpus>[\d,]+) -->\n'
    r'(?P<table>.*?)\n<!-- /gpu-table -->', re.S)


def test_doc_gpu_tables_are_what_the_code_computes():
    from umt_mm.engine.hooks.gpu_scaling import format_gpu_scaling_table, gpu_scaling_table
    text = (ROOT / 'docs' / 'reproducing.md').read_text()
    blocks = list(_DOC_TABLE.finditer(text))
    assert len(blocks) >= 3
    for block in blocks:
        cfg = Config.fromfile(ROOT / block['config'])
        gpus = [int(g) for g in block['gpus'].split(',')]
        expected = format_gpu_scaling_table(gpu_scaling_table(cfg, int(block['videos']), gpus))
        assert block['table'] == expected, (
            f"docs/reproducing.md: the table of {block['config']} is out of date; regenerate "
            f"with python -m umt_mm.engine.hooks.gpu_scaling {block['config']} "
            f"--videos {block['videos']} --gpus {' '.join(block['gpus'].split(','))}")


def _sampler_iterations(num_videos, processes, batch):
    """DefaultSampler (round_up) + a drop_last DataLoader, simulated index by index."""
    per_process = -(-num_videos // processes)
    padded = (list(range(num_videos)) * (per_process * processes // num_videos + 1))[
        :per_process * processes]
    seen = set()
    steps = None
    for rank in range(processes):
        mine = padded[rank::processes]
        steps = len(mine) // batch
        seen.update(mine[:steps * batch])
    return steps, num_videos - len(seen)


@pytest.mark.parametrize('videos, processes, batch', [
    (1000, 1, 16), (1000, 3, 16), (1001, 8, 16), (37, 4, 8), (5, 8, 1), (128, 8, 16)])
def test_epoch_steps_equal_the_sampler(videos, processes, batch):
    from umt_mm.engine.hooks.gpu_scaling import epoch_steps
    assert epoch_steps(videos, processes, batch) == _sampler_iterations(videos, processes, batch)
    assert epoch_steps(videos, processes, batch, drop_last=False)[1] == 0


def test_table_lr_is_the_hook_lr(toy_videos, tmp_path):
    """The table's lr on 4 GPUs equals what the hook gives a runner of 4 processes."""
    from umt_mm.engine.hooks.gpu_scaling import config_effective_batch, gpu_scaling_table
    name = 'configs/k400/umt-base-p16-res224_k710-ft_16xb16-u8-5e_kinetics400-rgb.py'
    cfg = Config.fromfile(ROOT / name)
    assert config_effective_batch(cfg, 4) == EffectiveBatch(4, 16, 2, 1)
    row = gpu_scaling_table(cfg, 1000, gpus=[4])[0]
    runner = _start_training(Runner.from_cfg(
        _tiny_recipe(name, toy_videos, tmp_path / 'table', batch=16)), world_size=4)
    top = max(g['initial_lr'] for g in runner.optim_wrapper.optimizer.param_groups)
    assert row.lr == pytest.approx(top, rel=1e-12)
    assert row.eff == effective_batch(runner)
