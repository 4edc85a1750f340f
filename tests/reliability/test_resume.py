"""Kill a run mid-epoch, --resume it: the later losses equal those of an unbroken run;
checkpoints are written atomically."""
import pytest
import torch
from mmengine.hooks import Hook
from reliability_helpers import tiny_cfg


class _Killed(RuntimeError):
    pass


class _KillAt(Hook):
    """Raise right before the given (1-based) iteration, as a killed job would stop."""

    priority = 'LOWEST'

    def __init__(self, at: int):
        self.at = at

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter + 1 == self.at:
            raise _Killed(f'killed before iteration {self.at}')


class _RecordLoss(Hook):
    priority = 'LOWEST'

    def __init__(self):
        self.losses = {}
        self.lrs = {}

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.losses[runner.iter + 1] = outputs['loss'].item()
        self.lrs[runner.iter + 1] = runner.optim_wrapper.get_lr()['lr'][0]


def _run(repo_root, toy_videos, work, kill_at=None, resume=False, exact=True, workers=0,
         log=print, configure=None):
    from mmengine.runner import Runner

    from umt_mm.cli_config import prepare_train_cfg
    from umt_mm.engine.hooks.resume_checkpoint import apply_resume_fallback
    cfg = tiny_cfg(repo_root, toy_videos, work)
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=2, val_begin=1,
                         val_interval=1)  # 2 iterations per epoch, validation in between
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1, by_epoch=False,
                                        save_best=None)
    cfg.custom_hooks = [dict(type='ExactResumeHook')] if exact else []
    cfg.train_dataloader.num_workers = workers
    cfg.train_dataloader.persistent_workers = False
    if configure is not None:
        configure(cfg)
    prepare_train_cfg(cfg, seed=0, deterministic=True, resume='auto' if resume else None)
    apply_resume_fallback(cfg, 'auto' if resume else None, log=log)  # as tools/train.py
    runner = Runner.from_cfg(cfg)
    recorder = _RecordLoss()
    runner.register_hook(recorder)
    if kill_at is not None:
        runner.register_hook(_KillAt(kill_at))
        with pytest.raises(_Killed):
            runner.train()
    else:
        runner.train()
    return runner, recorder


@pytest.fixture(scope='module')
def full_run(repo_root, toy_videos, tmp_path_factory):
    work = tmp_path_factory.mktemp('full')
    _, full = _run(repo_root, toy_videos, work)
    assert sorted(full.losses) == [1, 2, 3, 4]
    return work, full


# mid-epoch 1; at the start of epoch 2; mid-epoch with 2 DataLoader workers (the killed and
# resumed runs; the reference ran without workers: the augmentations do not depend on them)
@pytest.mark.parametrize('kill_at, workers', [(2, 0), (3, 0), (2, 2)])
def test_kill_and_resume_gives_the_same_losses(kill_at, workers, full_run, repo_root,
                                               toy_videos, tmp_path):
    full_work, full = full_run

    work = tmp_path / 'killed'
    _, killed = _run(repo_root, toy_videos, work, kill_at=kill_at, workers=workers)
    assert sorted(killed.losses) == list(range(1, kill_at))
    assert (work / f'iter_{kill_at - 1}.pth').exists()
    assert not list(work.glob('*.tmp-*')), 'temporary checkpoint files left behind'

    runner, resumed = _run(repo_root, toy_videos, work, resume=True, workers=workers)
    assert sorted(resumed.losses) == list(range(kill_at, 5))
    for it in resumed.losses:
        assert resumed.losses[it] == full.losses[it], f'iteration {it}'
        assert resumed.lrs[it] == pytest.approx(full.lrs[it], rel=0, abs=1e-12)
    for it in killed.losses:
        assert killed.losses[it] == full.losses[it]
    final = torch.load(work / 'iter_4.pth', map_location='cpu')['state_dict']
    reference = torch.load(full_work / 'iter_4.pth', map_location='cpu')['state_dict']
    for key in reference:
        assert torch.equal(final[key], reference[key]), key


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    """A save killed half-way leaves the previous checkpoint intact and no partial file."""
    from mmengine.runner.checkpoint import save_checkpoint
    path = tmp_path / 'latest.pth'
    save_checkpoint({'state_dict': {'w': torch.ones(3)}}, str(path))
    before = path.read_bytes()

    class _DyingFile:
        """Writes a few bytes, then the process is 'killed'."""

        def __init__(self, handle):
            self.handle = handle

        def write(self, data):
            self.handle.write(data[:10])
            self.handle.flush()
            raise KeyboardInterrupt('killed while writing')

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def __getattr__(self, name):
            return getattr(self.handle, name)

    real_open = open

    def dying_open(file, mode='r', *args, **kwargs):
        handle = real_open(file, mode, *args, **kwargs)
        if 'w' in mode and str(file).startswith(str(path)):
            return _DyingFile(handle)
        return handle

    monkeypatch.setattr('builtins.open', dying_open)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint({'state_dict': {'w': torch.zeros(3)}}, str(path))
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ['latest.pth']
    assert torch.equal(torch.load(path)['state_dict']['w'], torch.ones(3))


@pytest.mark.parametrize('content', ['', 'work/iter_9.pth'])
def test_resume_survives_a_broken_last_checkpoint_file(tmp_path, content):
    """``--resume`` (Runner.load_or_resume) takes the newest checkpoint when the pointer is
    truncated or stale, and the pointer when it is valid."""
    import os

    import mmengine.runner.runner as runner_mod
    for name, age in (('iter_1.pth', 20), ('iter_2.pth', 10)):
        (tmp_path / name).write_bytes(b'x')
        os.utime(tmp_path / name, (1e9 - age, 1e9 - age))
    (tmp_path / 'last_checkpoint').write_text(content)
    assert runner_mod.find_latest_checkpoint(str(tmp_path)) == str(tmp_path / 'iter_2.pth')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_1.pth'))
    assert runner_mod.find_latest_checkpoint(str(tmp_path)) == str(tmp_path / 'iter_1.pth')


@pytest.mark.parametrize('damage', ['truncate', 'corrupt'])
def test_resume_passes_over_an_unreadable_latest_checkpoint(damage, full_run, repo_root,
                                                            toy_videos, tmp_path):
    """Two checkpoints written, the latest cut short (or a byte flipped): ``--resume``
    continues from the other one, says so, and the run ends as the unbroken one."""
    full_work, full = full_run
    work = tmp_path / 'killed'
    _run(repo_root, toy_videos, work, kill_at=3)
    latest = work / 'iter_2.pth'
    assert (work / 'iter_1.pth').exists() and latest.exists()
    assert (work / 'last_checkpoint').read_text().strip().endswith('iter_2.pth')
    data = latest.read_bytes()
    if damage == 'truncate':
        latest.write_bytes(data[:len(data) // 2])
    else:  # one byte of a tensor record flipped: the archive is whole, a CRC does not match
        at = data.index(b'archive/data/0') + 200
        latest.write_bytes(data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1:])

    messages = []
    _, resumed = _run(repo_root, toy_videos, work, resume=True, log=messages.append)
    assert any('iter_2.pth cannot be read' in m for m in messages), messages
    assert any('resuming from' in m and m.split('resuming from ')[1].startswith(
        str(work / 'iter_1.pth')) for m in messages), messages
    assert sorted(resumed.losses) == [2, 3, 4]  # from iteration 1's checkpoint
    for it in resumed.losses:
        assert resumed.losses[it] == full.losses[it], f'iteration {it}'
    final = torch.load(work / 'iter_4.pth', map_location='cpu')['state_dict']
    reference = torch.load(full_work / 'iter_4.pth', map_location='cpu')['state_dict']
    for key in reference:
        assert torch.equal(final[key], reference[key]), key


def _recipe_checkpoints(cfg):
    """The recipes' checkpointing: epoch checkpoints plus iteration ones every half epoch."""
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1, max_keep_ckpts=1,
                                        save_best=None)
    cfg.default_hooks.iter_checkpoint = dict(type='EpochFractionCheckpointHook', fraction=0.5,
                                             max_keep_ckpts=2)


def test_iteration_checkpoints_every_fraction_of_an_epoch(full_run, repo_root, toy_videos,
                                                          tmp_path):
    """Every half epoch (1 of 2 iterations) an iter_<n>.pth, the last 2 kept, the epoch
    checkpoints kept by their own hook; killed after iteration 1 and resumed, the run ends
    as the unbroken one."""
    _, full = full_run
    work = tmp_path / 'work'
    _run(repo_root, toy_videos, work, configure=_recipe_checkpoints)
    assert sorted(p.name for p in work.glob('*.pth')) == ['epoch_2.pth', 'iter_3.pth',
                                                          'iter_4.pth']
    info = torch.load(work / 'iter_4.pth', weights_only=False)['message_hub']['runtime_info']
    assert info['umt_mm_iter_keep_ckpt_ids'] == [3, 4]
    assert info['keep_ckpt_ids'] == [1]  # the epoch hook's own list, untouched

    killed = tmp_path / 'killed'
    _run(repo_root, toy_videos, killed, kill_at=2, configure=_recipe_checkpoints)
    assert sorted(p.name for p in killed.glob('*.pth')) == ['iter_1.pth']
    _, resumed = _run(repo_root, toy_videos, killed, resume=True,
                      configure=_recipe_checkpoints)
    assert sorted(resumed.losses) == [2, 3, 4]
    for it in resumed.losses:
        assert resumed.losses[it] == full.losses[it], f'iteration {it}'
    assert sorted(p.name for p in killed.glob('*.pth')) == ['epoch_2.pth', 'iter_3.pth',
                                                            'iter_4.pth']


def test_epoch_fraction_hook_arguments():
    from umt_mm.engine.hooks import EpochFractionCheckpointHook
    with pytest.raises(ValueError, match='fraction'):
        EpochFractionCheckpointHook(fraction=0)
    with pytest.raises(TypeError, match='interval'):
        EpochFractionCheckpointHook(interval=5)


def test_checkpoint_problem_names_what_is_wrong(tmp_path):
    from umt_mm.engine.hooks.resume_checkpoint import (
        apply_resume_fallback,
        checkpoint_problem,
    )
    good = tmp_path / 'good.pth'
    torch.save({'state_dict': {'w': torch.arange(1000.)}}, good)
    assert checkpoint_problem(str(good)) is None
    (tmp_path / 'empty.pth').write_bytes(b'')
    assert checkpoint_problem(str(tmp_path / 'empty.pth')) == 'empty file'
    (tmp_path / 'cut.pth').write_bytes(good.read_bytes()[:300])
    assert checkpoint_problem(str(tmp_path / 'cut.pth')).startswith('truncated')
    (tmp_path / 'text.pth').write_text('hello')
    assert checkpoint_problem(str(tmp_path / 'text.pth')) == 'not a torch checkpoint'
    # nothing readable: a clear error naming every file, not a silent fresh start
    work = tmp_path / 'work'
    work.mkdir()
    (work / 'epoch_1.pth').write_bytes(good.read_bytes()[:300])
    (work / 'epoch_2.pth').write_bytes(b'')
    import os
    os.utime(work / 'epoch_1.pth', (1e9, 1e9))
    os.utime(work / 'epoch_2.pth', (1e9 + 10, 1e9 + 10))
    from mmengine.config import Config
    cfg = Config(dict(work_dir=str(work), resume=True, load_from=None))
    with pytest.raises(RuntimeError, match=r'no checkpoint in .* can be read.*epoch_2.pth: '
                                           r'empty file.*epoch_1.pth: truncated'):
        apply_resume_fallback(cfg, 'auto', log=lambda m: None)
    # an explicit --resume PATH and a start without checkpoints are left alone
    cfg = Config(dict(work_dir=str(work), resume=True, load_from=str(good)))
    assert apply_resume_fallback(cfg, str(good)).load_from == str(good)


class _StartWeights(Hook):
    """The model's weights and iteration when training starts (after load or resume)."""

    priority = 'LOWEST'

    def before_train(self, runner):
        self.iter = runner.iter
        self.state = {k: v.detach().clone() for k, v in runner.model.state_dict().items()}


def test_resume_switch_starts_from_load_from_then_resumes(full_run, repo_root, toy_videos,
                                                          tmp_path):
    """``--resume`` (no path) on a config with ``load_from``: the first launch in an empty work
    dir starts from ``load_from`` (MMEngine alone would drop it and train from scratch), a
    relaunch resumes from the work dir's latest checkpoint: one command to relaunch."""
    import shutil

    from mmengine.runner import Runner

    from umt_mm.cli_config import prepare_train_cfg
    full_work, _ = full_run
    start = full_work / 'iter_4.pth'
    start_state = torch.load(start, weights_only=False)['state_dict']

    def launch(work):
        cfg = tiny_cfg(repo_root, toy_videos, work)
        cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=1)
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
        cfg.load_from = str(start)
        prepare_train_cfg(cfg, seed=0, resume='auto')
        runner = Runner.from_cfg(cfg)
        started = _StartWeights()
        runner.register_hook(started)
        runner.train()
        return cfg, started

    work = tmp_path / 'work'
    cfg, first = launch(work)
    assert cfg.resume is False and cfg.load_from == str(start)
    assert first.iter == 0  # loaded, not resumed
    for key, value in start_state.items():
        assert torch.equal(first.state[key], value), key
    # a checkpoint of this run now exists: the same command resumes from it
    assert (work / 'epoch_1.pth').exists()
    shutil.copy(work / 'epoch_1.pth', tmp_path / 'epoch_1_of_first_launch.pth')
    cfg, second = launch(work)
    assert cfg.resume is True and cfg.load_from is None
    assert second.iter == 2  # resumed after the first launch's 2 iterations
    resumed = torch.load(tmp_path / 'epoch_1_of_first_launch.pth',
                         weights_only=False)['state_dict']
    for key, value in resumed.items():
        assert torch.equal(second.state[key], value), key
