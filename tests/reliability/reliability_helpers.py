"""Helpers of the reliability tests: the quickstart config at its tiny geometry, bad videos.

Not a conftest.py: tests/conftest.py is imported as ``conftest`` by other tests.
"""
import os
import uuid
from pathlib import Path

QUICKSTART = 'configs/quickstart/umt-tiny-p16-res32_scratch_1xb2-u4-2e_toy-rgb.py'
BAD_KINDS = ('truncated', 'garbage', 'empty', 'missing')


def tiny_cfg(repo_root: Path, toy: dict, work_dir: Path, train_list=None, val_list=None,
             video_dir=None):
    """The quickstart config on ``toy`` (or the given lists), logging quietly to ``work_dir``."""
    from mmengine.config import Config
    cfg = Config.fromfile(str(repo_root / QUICKSTART))
    video_dir = str(video_dir or toy['videos'])
    for split, ann in (('train', train_list or toy['train_list']),
                       ('val', val_list or toy['val_list']),
                       ('test', val_list or toy['val_list'])):
        loader = cfg[f'{split}_dataloader']
        loader.dataset.ann_file = str(ann)
        loader.dataset.data_prefix = dict(video=video_dir)
    cfg.work_dir = str(work_dir)
    # runners built in the same second would share MMEngine's logger (named after the
    # experiment and a 1-s timestamp) and log into the first one's file
    cfg.experiment_name = f'{Path(work_dir).parent.name}-{Path(work_dir).name}-{uuid.uuid4().hex}'
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1, save_best=None)
    cfg.visualizer = dict(type='ActionVisualizer', vis_backends=[dict(type='LocalVisBackend')])
    cfg.log_level = 'WARNING'
    return cfg


def make_bad_video(kind: str, folder: Path, source: Path) -> str:
    """Write a bad video of ``kind`` into ``folder`` from the good video ``source``.

    Returns:
        str: Its file name (the ``missing`` one is not written).
    """
    name = f'bad_{kind}.mp4'
    path = folder / name
    if kind == 'truncated':
        data = source.read_bytes()
        path.write_bytes(data[:len(data) // 3])
    elif kind == 'garbage':
        path.write_bytes(os.urandom(4096))
    elif kind == 'empty':
        path.write_bytes(b'')
    elif kind != 'missing':
        raise ValueError(kind)
    return name


def read_logs(work_dir) -> str:
    """The text of the run logs under ``work_dir`` (``<timestamp>/<timestamp>.log``)."""
    return '\n'.join(p.read_text() for p in sorted(Path(work_dir).glob('*/*.log')))


class CaptureLog:
    """Collect the messages of MMEngine's current logger (it does not propagate to root)."""

    def __enter__(self):
        import logging

        from mmengine.logging import MMLogger
        self.records = []
        self.logger = MMLogger.get_current_instance()
        self.handler = logging.Handler(level=logging.DEBUG)
        self.handler.emit = self.records.append
        self.logger.addHandler(self.handler)
        return self

    def __exit__(self, *exc):
        self.logger.removeHandler(self.handler)

    @property
    def text(self) -> str:
        return '\n'.join(r.getMessage() for r in self.records)
