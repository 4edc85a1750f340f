"""One step on 2 gloo processes with batch b each equals one step on 1 process with batch 2b
(DDP, and FSDP through MMEngine's FlexibleRunner)."""

import pytest
import torch
from reliability_helpers import QUICKSTART

CONFIG = """
_base_ = ['{base}']
model = dict(backbone=dict(drop_path_rate=0.0))  # no random layers
pipeline = [  # no random augmentation
    dict(type='DecordInit'), dict(type='UMTSampleFrames', clip_len=4, test_mode=True),
    dict(type='DecordDecode'), dict(type='Resize', scale=(-1, 36)),
    dict(type='CenterCrop', crop_size=32), dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')]
train_dataloader = dict(
    batch_size={batch}, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(ann_file='{ann}', data_prefix=dict(video='{videos}'), pipeline=pipeline))
# SGD: the update is proportional to the gradient (Adam's first step is not)
optim_wrapper = dict(_delete_=True, optimizer=dict(type='SGD', lr=1.0))
param_scheduler = []
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=1)
default_hooks = dict(checkpoint=dict(interval=1), logger=dict(interval=1))
"""


def _config(tmp_path, repo_root, toy, batch):
    path = tmp_path / f'ddp_b{batch}.py'
    path.write_text(CONFIG.format(base=repo_root / QUICKSTART, batch=batch,
                                  ann=toy['train_list'], videos=toy['videos']))
    return path


def _single_process_step(tmp_path, repo_root, toy):
    """Train the one iteration in this process; return (initial, final) state dicts."""
    from mmengine.config import Config
    from mmengine.runner import Runner

    from umt_mm.cli_config import prepare_train_cfg
    lines = toy['train_list'].read_text().splitlines()
    assert len(lines) == 4  # 1 iteration: 2 processes x 2 videos, or 1 process x 4 videos
    one = tmp_path / 'one'
    cfg = Config.fromfile(str(_config(tmp_path, repo_root, toy, 4)))
    cfg.work_dir = str(one)
    runner = Runner.from_cfg(prepare_train_cfg(cfg, seed=0, no_validate=True))
    initial = {k: v.clone() for k, v in runner.model.state_dict().items()}
    runner.train()
    final = torch.load(one / 'epoch_1.pth', map_location='cpu')
    assert final['meta']['iter'] == 1
    return initial, final['state_dict']


def _assert_same_step(initial, single, other):
    largest_update = 0.0
    for key, value in single.items():
        assert torch.allclose(value, other[key], rtol=0, atol=1e-5), (
            key, (value - other[key]).abs().max().item())
        largest_update = max(largest_update, (value - initial[key]).abs().max().item())
    assert largest_update > 1e-3, 'the step changed nothing: the comparison would be empty'


def _torchrun(torchrun, config, work):
    result = torchrun('tools/train.py', config, '--launcher', 'pytorch', '--work-dir', work,
                      '--seed', '0', '--no-validate')
    log = next(work.glob('*/*.log')).read_text()
    assert 'Distributed training: True' in log, result.stdout[-2000:]
    return log


def test_two_gloo_processes_equal_one_process_with_twice_the_batch(repo_root, toy_videos,
                                                                   tmp_path, torchrun):
    initial, single = _single_process_step(tmp_path, repo_root, toy_videos)
    two = tmp_path / 'two'
    _torchrun(torchrun, _config(tmp_path, repo_root, toy_videos, 2), two)
    ddp = torch.load(two / 'epoch_1.pth', map_location='cpu')
    assert ddp['meta']['iter'] == 1
    _assert_same_step(initial, single, ddp['state_dict'])


@pytest.mark.slow
def test_fsdp_flexible_runner_on_two_cpu_processes(repo_root, toy_videos, tmp_path, torchrun):
    """MMEngine's FSDPStrategy shards the tiny UMT over 2 gloo processes; same step as DDP."""
    initial, single = _single_process_step(tmp_path, repo_root, toy_videos)
    config = _config(tmp_path, repo_root, toy_videos, 2)
    config.write_text(config.read_text() + "runner_type = 'FlexibleRunner'\n"
                      "strategy = dict(type='FSDPStrategy', state_dict_cfg='full')\n")
    work = tmp_path / 'fsdp'
    _torchrun(torchrun, config, work)
    fsdp = torch.load(work / 'epoch_1.pth', map_location='cpu')
    _assert_same_step(initial, single, fsdp['state_dict'])
