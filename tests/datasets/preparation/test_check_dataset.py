"""tools/data/check_dataset.py on real videos, a missing one and broken copies."""
import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope='module')
def check_dataset():
    spec = importlib.util.spec_from_file_location('check_dataset',
                                                  ROOT / 'tools/data/check_dataset.py')
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its worker function is pickled by module name
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


@pytest.fixture
def lists(shared_data, tmp_path):
    """A comma-separated list (the official form): 3 real videos under the prefix, one
    missing, a truncated copy (moov atom cut off) and an empty file (absolute paths)."""
    videos = shared_data / 'videos'
    data = (videos / 'test.mp4').read_bytes()
    (tmp_path / 'trunc.mp4').write_bytes(data[:len(data) // 3])
    (tmp_path / 'empty.mp4').write_bytes(b'')
    good = 'test.mp4,0\ntest.avi,1\npart_0.mp4,0\n'
    bad = f'absent.mp4,1\n{tmp_path}/trunc.mp4,0\n{tmp_path}/empty.mp4,1\n'
    (tmp_path / 'good.csv').write_text(good)
    (tmp_path / 'mixed.csv').write_text(good + bad)
    return dict(videos=videos, good=tmp_path / 'good.csv', mixed=tmp_path / 'mixed.csv')


def test_list_counts_are_exact_and_the_report_is_written(check_dataset, lists, tmp_path,
                                                         capsys):
    out = tmp_path / 'reports/mixed.json'
    rc = check_dataset.main(['--list', str(lists['mixed']), '--prefix', str(lists['videos']),
                             '--workers', '2', '--out', str(out)])
    assert rc == 1
    report = json.loads(out.read_text())
    entry = report['splits']['mixed.csv']
    assert {k: entry[k] for k in ('total', 'ok', 'missing', 'unreadable')} == dict(
        total=6, ok=3, missing=1, unreadable=2)
    assert entry['bad_fraction'] == 0.5
    assert entry['missing_files'] == [str(lists['videos'] / 'absent.mp4')]
    unreadable = {Path(u['file']).name: u['reason'] for u in entry['unreadable_files']}
    assert set(unreadable) == {'trunc.mp4', 'empty.mp4'}
    assert unreadable['empty.mp4'] == 'empty file'
    assert entry['frames'] == dict(min=32, median=164, max=300)  # part_0, test.avi, test.mp4
    printed = capsys.readouterr()
    assert 'mixed.csv' in printed.out and 'missing     ' in printed.out
    assert 'mixed.csv: 6/6 videos (100.0 %), 3 bad' in printed.err  # progress


def test_a_clean_list_with_the_decode_check_exits_0(check_dataset, lists, tmp_path):
    out = tmp_path / 'good.json'
    rc = check_dataset.main(['--list', str(lists['good']), '--prefix', str(lists['videos']),
                             '--decode-check', '--workers', '1', '--out', str(out)])
    assert rc == 0
    report = json.loads(out.read_text())
    assert report['decode_check'] is True
    entry = report['splits']['good.csv']
    assert (entry['total'], entry['ok'], entry['missing_files'], entry['unreadable_files']) == (
        3, 3, [], [])


def test_a_config_is_checked_per_split(check_dataset, lists, tmp_path, capsys):
    def loader(ann):
        return dict(dataset=dict(type='VideoDataset', ann_file=str(ann), pipeline=[],
                                 data_prefix=dict(video=str(lists['videos']))))

    cfg = tmp_path / 'cfg.py'
    cfg.write_text(f'train_dataloader = {loader(lists["mixed"])!r}\n'
                   f'val_dataloader = {loader(lists["good"])!r}\n'
                   f'test_dataloader = {loader(lists["good"])!r}\n')
    out = tmp_path / 'cfg.json'
    rc = check_dataset.main([str(cfg), '--workers', '2', '--out', str(out)])
    assert rc == 1
    splits = json.loads(out.read_text())['splits']
    counts = {name: (e['total'], e['ok'], e['missing'], e['unreadable'])
              for name, e in splits.items()}
    assert counts == {'train': (6, 3, 1, 2), 'val': (3, 3, 0, 0), 'test': (3, 3, 0, 0)}
    assert splits['val']['list'] == str(lists['good'])
    assert 'test: same videos as an earlier split, not checked twice' in capsys.readouterr().out
    # --splits and --cfg-options: only val, pointed at the mixed list
    rc = check_dataset.main([str(cfg), '--splits', 'val', '--out', str(out), '--cfg-options',
                             f'val_dataloader.dataset.ann_file={lists["mixed"]}'])
    assert rc == 1
    assert list(json.loads(out.read_text())['splits']) == ['val']


def test_a_malformed_list_exits_2_naming_file_and_line(check_dataset, tmp_path, capsys):
    bad = tmp_path / 'bad.csv'
    bad.write_text('a.mp4,0\nb.mp4,zero\n')
    assert check_dataset.main(['--list', str(bad), '--out', str(tmp_path / 'r.json')]) == 2
    assert f'{bad}:2: label' in capsys.readouterr().err
    assert not (tmp_path / 'r.json').exists()
