"""Bad videos (truncated, garbage, empty, missing): clear errors without the switch;
replaced, counted, reported and capped with SkipBadVideos; left out of metrics, reported."""
import copy
import json
import os
import shutil
from pathlib import Path

import pytest
from mmaction.registry import DATASETS
from reliability_helpers import BAD_KINDS, make_bad_video, read_logs, tiny_cfg

from umt_mm.datasets import BadVideoError, SkipBadVideos

PIPELINE = [dict(type='DecordInit'), dict(type='UMTSampleFrames', clip_len=4),
            dict(type='DecordDecode'), dict(type='Resize', scale=(-1, 36)),
            dict(type='CenterCrop', crop_size=32), dict(type='FormatShape', input_format='NCTHW'),
            dict(type='PackActionInputs')]


@pytest.fixture
def bad_video_set(tmp_path, toy_videos, shared_data_optional):
    """A copy of the toy videos plus one bad video of each kind (not in the lists)."""
    folder = tmp_path / 'videos'
    shutil.copytree(toy_videos['videos'], folder)
    source = shared_data_optional / 'videos' / 'test.mp4' if shared_data_optional else None
    if source is None or not source.exists():
        source = next(folder.glob('train_*.mp4'))
    names = {kind: make_bad_video(kind, folder, source) for kind in BAD_KINDS}
    return dict(videos=folder, bad=names, train_list=toy_videos['train_list'],
                val_list=toy_videos['val_list'])


@pytest.fixture(scope='session')
def shared_data_optional():
    """The shared data folder, or None (the toy videos stand in for its mp4)."""
    root = Path(os.environ.get('UMT_MM_SHARED', Path(__file__).resolve().parents[3] / 'shared'))
    data = root.resolve() / 'data'
    return data if data.is_dir() else None


def _list_with_bad(tmp_path, good_list, bad_names, name='list.txt', label=0):
    lines = good_list.read_text().splitlines() + [f'{n} {label}' for n in bad_names]
    path = tmp_path / name
    path.write_text('\n'.join(lines) + '\n')
    return path


def _dataset(ann, videos, test_mode=False, **skip):
    cfg = dict(type='VideoDataset', ann_file=str(ann), data_prefix=dict(video=str(videos)),
               pipeline=PIPELINE, test_mode=test_mode)
    if skip:
        cfg = dict(type='SkipBadVideos', dataset=cfg, **skip)
    return DATASETS.build(cfg)


@pytest.mark.parametrize('kind', BAD_KINDS)
def test_switch_off_each_bad_kind_fails_naming_the_file(kind, bad_video_set, tmp_path):
    name = bad_video_set['bad'][kind]
    ann = tmp_path / 'one.txt'
    ann.write_text(f'{name} 1\n')
    dataset = _dataset(ann, bad_video_set['videos'])
    error = FileNotFoundError if kind == 'missing' else (RuntimeError, ValueError)
    with pytest.raises(error, match=name.replace('.', r'\.')):
        dataset[0]


@pytest.mark.parametrize('kind', BAD_KINDS)
def test_switch_on_replaces_each_bad_kind(kind, bad_video_set, tmp_path):
    name = bad_video_set['bad'][kind]
    ann = tmp_path / 'one_bad.txt'
    ann.write_text(f'{name} 1\ntrain_0_0.mp4 0\n')
    dataset = _dataset(ann, bad_video_set['videos'], max_fraction=0.5)
    sample = dataset[0]  # the bad one: replaced by the only good one
    assert tuple(sample['inputs'].shape) == (1, 3, 4, 32, 32)
    assert sample['data_samples'].gt_label.item() == 0
    skipped = sample['data_samples'].metainfo['umt_skipped_bad_videos']
    assert [s[0] for s in skipped] == [str(bad_video_set['videos'] / name)]
    assert dataset.num_bad == 1 and dataset.bad_indices() == [0]
    dataset[0]  # counted once
    assert dataset.num_bad == 1


def test_threshold_stops(bad_video_set, tmp_path):
    ann = _list_with_bad(tmp_path, bad_video_set['train_list'], bad_video_set['bad'].values())
    dataset = _dataset(ann, bad_video_set['videos'], max_fraction=0.2)  # 8 entries: limit 1.6
    with pytest.raises(BadVideoError, match=r'2 of 8 videos \(25\.00%\).*max_fraction=0\.2'):
        for idx in range(len(dataset)):
            dataset[idx]
    assert dataset.num_bad == 2


def test_non_video_errors_are_not_hidden(bad_video_set, tmp_path):
    ann = tmp_path / 'l.txt'
    ann.write_text('train_0_0.mp4 0\n')
    broken = [dict(type='DecordInit'), dict(type='UMTSampleFrames', clip_len=4),
              dict(type='DecordDecode'),
              dict(type='PackActionInputs', collect_keys=('no_such_key',))]
    dataset = DATASETS.build(dict(type='SkipBadVideos', dataset=dict(
        type='VideoDataset', ann_file=str(ann), data_prefix=dict(video=str(
            bad_video_set['videos'])), pipeline=broken)))
    with pytest.raises(Exception) as info:
        dataset[0]
    assert not isinstance(info.value, BadVideoError) and dataset.num_bad == 0


@pytest.mark.parametrize('num_workers', [0, 2])
def test_training_run_finishes_and_reports(num_workers, bad_video_set, tmp_path, repo_root):
    from mmengine.runner import Runner

    from umt_mm.cli_config import prepare_train_cfg
    ann = _list_with_bad(tmp_path, bad_video_set['train_list'], bad_video_set['bad'].values())
    work = tmp_path / f'work{num_workers}'
    cfg = tiny_cfg(repo_root, bad_video_set, work, train_list=ann,
                   video_dir=bad_video_set['videos'])
    cfg.train_cfg.max_epochs = 2
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.train_dataloader.num_workers = num_workers
    cfg.train_dataloader.persistent_workers = False
    prepare_train_cfg(cfg, skip_bad_videos=0.5)
    assert cfg.train_dataloader.dataset.type == 'SkipBadVideos'
    runner = Runner.from_cfg(cfg)
    runner.train()
    report = json.loads((work / 'bad_videos_train.json').read_text())
    assert report['dataset_size'] == 8 and report['num_bad'] == 4
    names = sorted(v['filename'].rsplit('/', 1)[1] for v in report['videos'])
    assert names == sorted(bad_video_set['bad'].values())
    assert all(v['reason'] and v['reason'] != 'see the log' for v in report['videos'])
    missing = next(v for v in report['videos'] if 'missing' in v['filename'])
    assert missing['reason'].startswith('FileNotFoundError')
    assert (work / 'epoch_2.pth').exists()
    log = read_logs(work)
    for name in bad_video_set['bad'].values():  # each bad file logged once (shared flags)
        assert log.count(f'bad video {bad_video_set["videos"] / name} (') == 1, name
    assert 'train: 4 of 8 videos unreadable, replaced by other samples' in log


def test_threshold_stops_a_training_run(bad_video_set, tmp_path, repo_root):
    from mmengine.runner import Runner
    ann = _list_with_bad(tmp_path, bad_video_set['train_list'], bad_video_set['bad'].values())
    cfg = tiny_cfg(repo_root, bad_video_set, tmp_path / 'w', train_list=ann,
                   video_dir=bad_video_set['videos'])
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=2)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.train_dataloader.dataset = dict(type='SkipBadVideos', max_fraction=0.25,
                                        dataset=cfg.train_dataloader.dataset)
    with pytest.raises(BadVideoError, match='more than max_fraction=0.25'):
        Runner.from_cfg(cfg).train()


def _test_run(cfg, work):
    from mmengine.runner import Runner
    cfg.work_dir = str(work)
    runner = Runner.from_cfg(cfg)
    return runner.test()


def test_evaluation_leaves_bad_videos_out_and_reports_them(bad_video_set, tmp_path, repo_root):
    from umt_mm.cli_config import prepare_test_cfg
    bad = [bad_video_set['bad'][k] for k in ('truncated', 'missing')]
    ann = _list_with_bad(tmp_path, bad_video_set['val_list'], bad, name='val.txt', label=1)
    # the reference: the same checkpoint-free model on the good videos only
    good_cfg = tiny_cfg(repo_root, bad_video_set, tmp_path / 'g', val_list=bad_video_set[
        'val_list'], video_dir=bad_video_set['videos'])
    good_cfg.randomness = dict(seed=0)
    reference = _test_run(good_cfg, tmp_path / 'good')

    # without the switch: the test fails, naming the file
    cfg = tiny_cfg(repo_root, bad_video_set, tmp_path / 'w', val_list=ann,
                   video_dir=bad_video_set['videos'])
    cfg.randomness = dict(seed=0)
    with pytest.raises(Exception, match='bad_truncated.mp4'):
        _test_run(copy.deepcopy(cfg), tmp_path / 'off')

    # with the wrapper but no report hook: refuses to skip silently
    no_hook = copy.deepcopy(cfg)
    no_hook.test_dataloader.dataset = dict(type='SkipBadVideos', max_fraction=0.5,
                                           dataset=no_hook.test_dataloader.dataset)
    with pytest.raises(BadVideoError, match='never skips silently'):
        _test_run(no_hook, tmp_path / 'nohook')

    on = prepare_test_cfg(copy.deepcopy(cfg), checkpoint=None, skip_bad_videos=0.5)
    metrics = _test_run(on, tmp_path / 'on')
    assert metrics['bad_videos_left_out'] == 2
    for key, value in reference.items():
        assert metrics[key] == pytest.approx(value), key
    report = json.loads((tmp_path / 'on' / 'bad_videos_test.json').read_text())
    assert report['num_bad'] == 2 and report['dataset_size'] == 4
    assert sorted(v['filename'].rsplit('/', 1)[1] for v in report['videos']) == sorted(bad)


def test_wrapper_is_a_dataset_wrapper(bad_video_set, tmp_path):
    ann = tmp_path / 'l.txt'
    ann.write_text('train_0_0.mp4 0\ntrain_1_0.mp4 1\n')
    dataset = SkipBadVideos(dict(type='VideoDataset', ann_file=str(ann), pipeline=PIPELINE,
                                 data_prefix=dict(video=str(bad_video_set['videos']))))
    assert len(dataset) == 2 and not dataset.test_mode
    assert dataset.get_data_info(1)['label'] == 1
    with pytest.raises(ValueError, match='max_fraction'):
        SkipBadVideos(dataset.dataset, max_fraction=1.5)
