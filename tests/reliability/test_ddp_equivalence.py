"""One step on 2 gloo processes with batch b each equals one step on 1 process with batch 2b."""
import os
import socket
import subprocess

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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _config(tmp_path, repo_root, toy, batch):
    path = tmp_path / f'ddp_b{batch}.py'
    path.write_text(CONFIG.format(base=repo_root / QUICKSTART, batch=batch,
                                  ann=toy['train_list'], videos=toy['videos']))
    return path


def _train(args, repo_root):
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=str(repo_root))
    result = subprocess.run(args, cwd=repo_root, env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def test_two_gloo_processes_equal_one_process_with_twice_the_batch(repo_root, toy_videos,
                                                                   tmp_path, python):
    from mmengine.config import Config
    from mmengine.runner import Runner
    lines = toy_videos['train_list'].read_text().splitlines()
    assert len(lines) == 4  # 1 iteration: 2 processes x 2 videos, or 1 process x 4 videos

    from umt_mm.cli_config import prepare_train_cfg
    one = tmp_path / 'one'  # the single process: in this one (tools/train.py's config edits)
    cfg = Config.fromfile(str(_config(tmp_path, repo_root, toy_videos, 4)))
    cfg.work_dir = str(one)
    runner = Runner.from_cfg(prepare_train_cfg(cfg, seed=0, no_validate=True))
    initial = {k: v.clone() for k, v in runner.model.state_dict().items()}
    runner.train()
    two = tmp_path / 'two'
    result = _train([python, '-m', 'torch.distributed.run', '--nproc_per_node=2',
                     f'--master_port={_free_port()}', 'tools/train.py',
                     str(_config(tmp_path, repo_root, toy_videos, 2)), '--launcher', 'pytorch',
                     '--work-dir', str(two), '--seed', '0', '--no-validate'], repo_root)
    log = next(two.glob('*/*.log')).read_text()
    assert 'Distributed training: True' in log, result.stdout[-2000:]

    single = torch.load(one / 'epoch_1.pth', map_location='cpu')
    ddp = torch.load(two / 'epoch_1.pth', map_location='cpu')
    assert single['meta']['iter'] == ddp['meta']['iter'] == 1
    largest_update = 0.0
    for key, value in single['state_dict'].items():
        other = ddp['state_dict'][key]
        assert torch.allclose(value, other, rtol=0, atol=1e-5), (
            key, (value - other).abs().max().item())
        largest_update = max(largest_update, (value - initial[key]).abs().max().item())
    assert largest_update > 1e-3, 'the step changed nothing: the comparison would be empty'
