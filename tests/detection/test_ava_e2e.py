"""Tiny end-to-end AVA train + val (B/16 config, tiny UMT) on a real video and its frames."""
import json
import shutil
from pathlib import Path

import pytest
from mmengine.config import Config

ROOT = Path(__file__).resolve().parents[2]
B16 = ROOT / 'action_detection/configs/umt-base-p16_k710-ft_16xb8-8x8x1-30e_ava22-rgb.py'
VIDEO_IDS = ('0f39OWEqJ24', '_-Z6wFjXtGQ')


def make_videos(shared_data, root):
    root.mkdir()
    for vid in VIDEO_IDS:
        shutil.copy(shared_data / 'videos/test.mp4', root / f'{vid}.mp4')
    return root


def make_frames(shared_data, root):
    """25-fps frame folders written by the preparation tool (the configs' default input),
    the 10 s test.mp4 standing for seconds 895-904 of a movie."""
    from umt_mm.datasets.preparation.ava_frames import extract_ava_frames
    movies = root.parent / 'movies'
    movies.mkdir()
    (movies / f'{VIDEO_IDS[0]}.mp4').symlink_to(shared_data / 'videos/test.mp4')
    report = extract_ava_frames(movies / f'{VIDEO_IDS[0]}.mp4', root, start_sec=0, end_sec=9)
    assert report.num_frames == 250 and not report.mismatched
    (root / VIDEO_IDS[1]).symlink_to(root / VIDEO_IDS[0], target_is_directory=True)
    return root


def tiny_config(shared_data, data_root, use_frames, work_dir):
    """The B/16 config at a tiny geometry, pointed at the shared AVA sample."""
    cfg = Config.fromfile(B16)
    ava = shared_data / 'ava_sample'
    cfg.model.backbone.arch = dict(embed_dims=32, depth=1, num_heads=2, mlp_ratio=2.0)
    cfg.model.backbone.img_size = 64
    cfg.model.roi_head.bbox_head.in_channels = 32
    kind = 'frames' if use_frames else 'videos'
    train_pipeline = cfg[f'train_pipeline_{kind}']
    val_pipeline = cfg[f'val_pipeline_{kind}']
    for step in train_pipeline + val_pipeline:
        if step['type'] == 'Resize':
            step['scale'] = (-1, 64)
        if step['type'] == 'RandomCrop':
            step['size'] = 64
    common = dict(ann_file=str(ava / 'ava_sample.csv'),
                  exclude_file=str(ava / 'ava_excluded_timestamps_sample.csv'),
                  label_file=str(ava / 'action_list.txt'), data_prefix=dict(img=str(data_root)),
                  use_frames=use_frames, start_index=1 if use_frames else 0)
    if not use_frames:  # the documented switch: 30-fps videos of the 900-1800 s cut
        common.update(cfg.frame_rate_30fps)
    cfg.train_dataloader.update(batch_size=1, num_workers=0, persistent_workers=False)
    cfg.train_dataloader.dataset.update(common, pipeline=train_pipeline)
    cfg.val_dataloader.update(num_workers=0, persistent_workers=False)
    cfg.val_dataloader.dataset.update(common, pipeline=val_pipeline,
                                      proposal_file=str(ava / 'ava_proposals_sample.pkl'))
    cfg.test_dataloader = cfg.val_dataloader
    cfg.val_evaluator.update(ann_file=common['ann_file'], exclude_file=common['exclude_file'],
                             label_file=common['label_file'], num_workers=0)
    cfg.test_evaluator = cfg.val_evaluator
    opt = cfg.optim_wrapper
    opt.type = 'OptimWrapper'
    opt.pop('dtype'), opt.pop('loss_scale')
    cfg.train_cfg.update(max_epochs=1, val_interval=1)
    cfg.default_hooks.checkpoint.update(interval=1, save_best=None)
    cfg.default_hooks.logger.interval = 1
    cfg.load_from = None
    cfg.work_dir = str(work_dir)
    return cfg


@pytest.mark.parametrize('kind', ['videos', 'frames'])
def test_tiny_train_and_val_on_the_ava_sample(shared_data, tmp_path, kind):
    from mmengine.runner import Runner
    if kind == 'videos':
        data_root = make_videos(shared_data, tmp_path / 'videos')
    else:
        data_root = make_frames(shared_data, tmp_path / 'rawframes')
    work_dir = tmp_path / 'work'
    cfg = tiny_config(shared_data, data_root, kind == 'frames', work_dir)
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.test()
    # one timestamp survives the exclusions; its single person box (score 0.998) matches
    # the ground truth (IoU 0.94), so each of its 3 evaluated actions has AP 1
    assert metrics['mAP/overall'] == pytest.approx(1.0)
    saved = json.loads((work_dir / 'ava_map.json').read_text())
    assert saved['overall'] == pytest.approx(1.0)
    evaluated = {row['id']: row['ap'] for row in saved['per_class']}
    assert evaluated[12] == evaluated[17] == evaluated[79] == pytest.approx(1.0)
    assert (work_dir / 'ava_map.txt').is_file()
    assert (work_dir / 'epoch_1.pth').is_file()
    dets = (work_dir / 'ava_detections.csv').read_text().splitlines()
    assert dets and all(line.startswith('0f39OWEqJ24,902,') for line in dets)
