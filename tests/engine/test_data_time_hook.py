"""DataTimeHook: data share in the log, one warning with a worker count when data bounds."""
import logging
from types import SimpleNamespace

import pytest
from mmengine.logging import MessageHub, MMLogger

from umt_mm.engine.hooks.data_time_hook import DataTimeHook, suggested_workers


def test_suggested_workers_formula():
    # 4 workers, 1.0 s iterations of which 0.6 s wait: each worker needs 4 s per batch,
    # the model computes for 0.4 s -> 10 workers
    assert suggested_workers(4, 1.0, 0.6) == 10
    # loading in the main process: 0.3 s of data per 0.1 s of compute -> 3 workers
    assert suggested_workers(0, 0.4, 0.3) == 3
    assert suggested_workers(8, 1.0, 0.01) == 9  # never fewer than one more


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def _run(hook, times, workers=4, name='dth'):
    hub = MessageHub.get_instance(f'{name}-hub')
    runner = SimpleNamespace(message_hub=hub, train_dataloader=SimpleNamespace(
        num_workers=workers))
    logger = MMLogger.get_instance(f'{name}-logger')
    capture = _Capture()
    logger.addHandler(capture)
    shares = []
    try:
        for data_time, iter_time in times:
            hub.update_scalar('train/data_time', data_time)
            hub.update_scalar('train/time', iter_time)
            hook.after_train_iter(runner, 0)
            shares.append(hub.get_scalar('train/data_share').current())
    finally:
        logger.removeHandler(capture)
    return shares, [m for m in capture.messages if 'DataTimeHook' in m]


def test_warns_once_with_the_worker_count(monkeypatch):
    monkeypatch.setattr('os.cpu_count', lambda: 64)
    hook = DataTimeHook(warmup=2, window=3, threshold=0.2)
    shares, warnings = _run(hook, [(0.6, 1.0)] * 8, name='bottleneck')
    assert shares == pytest.approx([0.6] * 8)
    assert len(warnings) == 1
    assert '60% of each iteration waits for data (600 of 1000 ms' in warnings[0]
    assert 'num_workers=4' in warnings[0] and 'set train_dataloader.num_workers=10' in warnings[0]


def test_suggests_prepared_data_beyond_the_cores(monkeypatch):
    monkeypatch.setattr('os.cpu_count', lambda: 2)
    _, warnings = _run(DataTimeHook(warmup=0, window=2), [(0.9, 1.0)] * 3, name='cores')
    assert len(warnings) == 1 and 'more than the 2 cores' in warnings[0]
    assert 'reencode_videos.py' in warnings[0]


def test_quiet_when_the_model_bounds():
    hook = DataTimeHook(warmup=1, window=5, threshold=0.3)
    shares, warnings = _run(hook, [(0.02, 1.0)] * 6 + [(0.9, 1.0)], name='model')
    # one slow batch in the window (mean share 0.2): no warning
    assert shares[-1] == pytest.approx(0.9) and warnings == []
    with pytest.raises(ValueError, match='threshold'):
        DataTimeHook(threshold=1.5)


def test_is_on_in_the_default_runtime(repo_root):
    from mmengine.config import Config
    cfg = Config.fromfile(str(repo_root / 'configs/_base_/default_runtime.py'))
    assert cfg.default_hooks.data_time.type == 'DataTimeHook'


@pytest.mark.slow
def test_data_share_in_a_training_log(toy_videos, tmp_path, repo_root):
    import uuid

    from mmengine.config import Config
    from mmengine.runner import Runner
    cfg = Config.fromfile(str(repo_root / 'configs/quickstart/'
                              'umt-tiny-p16-res32_scratch_1xb2-u4-2e_toy-rgb.py'))
    cfg.train_dataloader.dataset.update(ann_file=str(toy_videos['train_list']),
                                        data_prefix=dict(video=str(toy_videos['videos'])))
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    cfg.train_cfg.max_epochs = 1
    cfg.work_dir = str(tmp_path / 'work')
    cfg.experiment_name = f'data-time-{uuid.uuid4().hex}'
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    Runner.from_cfg(cfg).train()
    log = '\n'.join(p.read_text() for p in (tmp_path / 'work').glob('*/*.log'))
    lines = [line for line in log.splitlines() if 'Epoch(train)' in line]
    assert lines and all('data_time: ' in line and 'data_share: ' in line for line in lines)
