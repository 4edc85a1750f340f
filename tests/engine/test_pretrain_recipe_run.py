"""The B/16 pretraining recipe at a tiny geometry, run by MMEngine's runner on toy videos:

* with ``--resume`` (``resume=True``, no checkpoint path) in an empty work dir it starts from
  scratch, and the same command after the run stopped continues from the latest checkpoint
  there (the reference's ``--auto_resume``);
* ``weight_decay_end`` gives the reference's per-iteration cosine on the decayed groups, the
  no-decay groups stay at 0, across the resume;
* a non-finite loss stops the run (the reference exits) with a message naming it.
"""
import uuid
from pathlib import Path

import pytest
from mmengine.config import Config
from mmengine.hooks import Hook

from umt_mm.engine import NonFiniteTrainingError
from umt_mm.engine.hooks.weight_decay_hook import cosine_weight_decay

B16_CFG = 'configs/pretrain/umt-base-p16-res224_clip-b16-distill_32xb64-u8-201e_kinetics710-rgb.py'
TINY, FRAMES = 32, 4


class _Record(Hook):
    priority = 'LOWEST'

    def __init__(self):
        self.rows = {}

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        groups = runner.optim_wrapper.optimizer.param_groups
        self.rows[runner.iter] = (
            sorted({g['weight_decay'] for g in groups if g['initial_weight_decay'] > 0}),
            sorted({g['weight_decay'] for g in groups if g['initial_weight_decay'] == 0}),
            runner.message_hub.get_scalar('train/weight_decay').current(),
            runner.max_iters)


def build_runner(repo_root, toy, work, max_epochs, resume=True):
    from mmengine.runner import Runner

    from umt_mm.cli_config import prepare_train_cfg
    cfg = Config.fromfile(repo_root / B16_CFG)
    cfg.model.encoder.update(arch=dict(embed_dims=32, depth=2, num_heads=2, mlp_ratio=2),
                             img_size=TINY, num_frames=FRAMES)
    cfg.model.teacher.update(
        arch=dict(patch_size=16, width=32, layers=2, heads=2, output_dim=16),
        input_resolution=TINY, num_return_layers=2, init_cfg=None)
    cfg.model.update(align_dims=16, num_return_layers=2)
    cfg.model.mask_generator.mask_ratio = 0.5
    loader = cfg.train_dataloader
    loader.update(batch_size=2, num_workers=0, persistent_workers=False)
    subset = work.parent / f'{work.name}_list.txt'  # 4 videos: 2 iterations per epoch
    subset.write_text(''.join(Path(toy['train_list']).read_text().splitlines(True)[:4]))
    loader.dataset.update(ann_file=str(subset), data_prefix=dict(video=str(toy['videos'])))
    for t in loader.dataset.pipeline:
        if 'clip_len' in t:
            t['clip_len'] = FRAMES
        if 'input_size' in t:
            t['input_size'] = TINY
        if 'scale' in t:
            t['scale'] = (TINY, TINY)
    cfg.train_cfg.max_epochs = max_epochs
    cfg.default_hooks.weight_decay.weight_decay_end = 0.2
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.auto_scale_lr = dict(enable=False, base_batch_size=2048)
    cfg.work_dir = str(work)
    cfg.experiment_name = f'{work.name}-{uuid.uuid4().hex}'
    cfg.log_level = 'WARNING'
    prepare_train_cfg(cfg, resume='auto' if resume else None)  # what `--resume` sets
    runner = Runner.from_cfg(cfg)
    record = _Record()
    runner.register_hook(record)
    return runner, record


def check_schedule(rows: dict) -> None:
    for it, (decayed, no_decay, logged, total) in rows.items():
        expected = cosine_weight_decay(0.05, 0.2, it, total)
        assert decayed == [pytest.approx(expected, abs=1e-12)] and no_decay == [0.0]
        assert logged == pytest.approx(expected, abs=1e-12)


def test_resume_switch_and_weight_decay_schedule(repo_root, toy_videos, tmp_path):
    work = tmp_path / 'work'
    # first launch with --resume: nothing to resume, it trains from scratch
    runner, record = build_runner(repo_root, toy_videos, work, max_epochs=1)
    runner.train()
    per_epoch = len(runner.train_dataloader)
    assert per_epoch == 2
    assert sorted(record.rows) == [0, 1] and {row[3] for row in record.rows.values()} == {2}
    check_schedule(record.rows)
    assert record.rows[0][0] == [pytest.approx(0.05)]
    assert (work / 'epoch_1.pth').exists()
    # the same command again (a longer run): continues after epoch 1, the schedule with it
    runner, record = build_runner(repo_root, toy_videos, work, max_epochs=2)
    runner.train()
    assert sorted(record.rows) == [2, 3] and {row[3] for row in record.rows.values()} == {4}
    check_schedule(record.rows)
    assert (work / 'epoch_2.pth').exists()


def test_non_finite_loss_stops_the_recipe(repo_root, toy_videos, tmp_path):
    runner, _ = build_runner(repo_root, toy_videos, tmp_path / 'nan', max_epochs=1,
                             resume=False)
    runner.model.encoder.norm.register_forward_hook(lambda m, i, out: out * float('nan'))
    with pytest.raises(NonFiniteTrainingError, match='the loss is nan at iteration 1'):
        runner.train()
    assert not list((tmp_path / 'nan').glob('*.pth'))
