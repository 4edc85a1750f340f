"""Kinetics-710 lists from small synthetic K400 / K600 / K700 lists (real label maps)."""
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from umt_mm.converters import read_label_file
from umt_mm.datasets.preparation.k710_lists import (
    K710LabelConflictError,
    build_k710_lists,
    video_key,
)

ROOT = Path(__file__).resolve().parents[3]
TOOL = ROOT / 'tools/data/build_k710_lists.py'
TRAIN = 'kinetics710_train_list_videos.txt'
VAL = 'kinetics710_val_list_videos.txt'

# (relative path, class name in that dataset's label map)
LISTS = {
    'k400': {
        'train': [
            ('abseiling/AAAAAAAAAAA_000010_000020.mp4', 'abseiling'),
            ('dying_hair/BBBBBBBBBBB_000001_000011.mp4', 'dying hair'),  # K710 'dyeing hair'
            ('picking_fruit/CCCCCCCCCCC_000000_000010.mp4', 'picking fruit'),
            ('zumba/VVVVVVVVVV1_000005_000015.mp4', 'zumba'),  # in k600 val
        ],
        'val': [
            ('air_drumming/-3B32lodo2M_000059_000069.mp4', 'air drumming'),
            ('throwing_ball/DDDDDDDDDDD_000002_000012.mp4', 'throwing ball'),
        ],
    },
    'k600': {
        'train': [
            ('abseiling/AAAAAAAAAAA_000010_000020.mp4', 'abseiling'),  # dup of k400 train
            ('picking_fruit/EEEEEEEEEEE_000030_000040.mp4', 'picking fruit'),  # renamed
            ('acting_in_play/FFFFFFFFFFF_000000_000010.mp4', 'acting in play'),
            ('air_drumming/-3B32lodo2M_000059_000069.mp4', 'air drumming'),  # in k400 val
            ('passing/GGGGGGGGGGG.mp4', 'passing american football (not in game)'),
        ],
        'val': [
            ('zumba/VVVVVVVVVV1_000005_000015.mp4', 'zumba'),
            # same YouTube id as a k400 val clip, other times: a duplicate
            ('throwing/DDDDDDDDDDD_000100_000110.mp4',
             'throwing ball (not baseball or American football)'),
        ],
    },
    'k700': {
        'train': [
            ('dyeing_hair/BBBBBBBBBBB_000001_000011.mp4', 'dyeing hair'),  # dup, same label
            ('acting/CCCCCCCCCCC_000000_000010.mp4', 'acting in play'),  # dup, other label
            ('throwing_ball/HHHHHHHHHHH_000000_000010.mp4',
             'throwing ball (not baseball or American football)'),
            ('passing/GGGGGGGGGGG_000001_000011.mp4',  # dup of the bare k600 id
             'passing American football (not in game)'),
            ('abseiling/DDDDDDDDDDD_000002_000012.mp4', 'abseiling'),  # in val, other label
        ],
        'val': [
            ('air_drumming/-3B32lodo2M_000059_000069.mp4', 'air drumming'),
            ('dyeing_hair/IIIIIIIIIII_000000_000010.mp4', 'dyeing hair'),
        ],
    },
}
PREFIXES = {
    'k400': {'train_prefix': 'kinetics400/videos_train', 'val_prefix': 'kinetics400/videos_val'},
    'k600': {'prefix': 'k600'},
    'k700': {},  # default: the source name
}
EXPECTED_VAL = """\
kinetics400/videos_val/air_drumming/-3B32lodo2M_000059_000069.mp4 1
kinetics400/videos_val/throwing_ball/DDDDDDDDDDD_000002_000012.mp4 357
k600/zumba/VVVVVVVVVV1_000005_000015.mp4 399
k700/dyeing_hair/IIIIIIIIIII_000000_000010.mp4 108
"""
EXPECTED_TRAIN = """\
kinetics400/videos_train/abseiling/AAAAAAAAAAA_000010_000020.mp4 0
kinetics400/videos_train/dying_hair/BBBBBBBBBBB_000001_000011.mp4 108
kinetics400/videos_train/picking_fruit/CCCCCCCCCCC_000000_000010.mp4 214
k600/picking_fruit/EEEEEEEEEEE_000030_000040.mp4 214
k600/acting_in_play/FFFFFFFFFFF_000000_000010.mp4 661
k600/passing/GGGGGGGGGGG.mp4 209
k700/throwing_ball/HHHHHHHHHHH_000000_000010.mp4 357
"""
K710_NAMES = {0: 'abseiling', 1: 'air drumming', 108: 'dyeing hair', 209:
              'passing American football (not in game)', 214: 'picking apples',
              357: 'throwing ball', 399: 'zumba', 661: 'acting in play'}


@pytest.fixture(scope='module')
def label_maps(shared_data) -> dict:
    maps = {n: shared_data / f'label_maps/label_map_{n}.txt'
            for n in ('k400', 'k600', 'k700', 'k710')}
    names = read_label_file(maps['k710'])
    assert {i: names[i] for i in K710_NAMES} == K710_NAMES
    return maps


def _write_list(path: Path, items: list, label_file: Path) -> Path:
    names = read_label_file(label_file)
    path.write_text(''.join(f'{p} {names.index(c)}\n' for p, c in items))
    return path


@pytest.fixture
def sources(label_maps, tmp_path) -> dict:
    out = {}
    for name, splits in LISTS.items():
        spec = {split: _write_list(tmp_path / f'{name}_{split}.txt', items, label_maps[name])
                for split, items in splits.items()}
        out[name] = {**spec, 'labels': label_maps[name], **PREFIXES[name]}
    return out


def test_video_key():
    assert video_key('a/-3B32lodo2M_000059_000069.mp4') == '-3B32lodo2M'
    assert video_key('ab_cd_ef_gh_000010_000020.mp4') == 'ab_cd_ef_gh'
    assert video_key('x/GGGGGGGGGGG.mp4') == 'GGGGGGGGGGG'
    assert video_key('GGGGGGGGGGG_0001_0002.mp4') == 'GGGGGGGGGGG_0001_0002'


def test_merge_dedup_val_removal_and_conflicts(sources, label_maps, tmp_path):
    report = build_k710_lists(sources, label_maps['k710'], tmp_path / 'out')
    assert (tmp_path / 'out' / VAL).read_text() == EXPECTED_VAL
    assert (tmp_path / 'out' / TRAIN).read_text() == EXPECTED_TRAIN
    assert report.train_file == tmp_path / 'out' / TRAIN

    counts = {n: (vars(s.train), vars(s.val)) for n, s in report.sources.items()}
    assert counts == {
        'k400': (dict(read=4, kept=3, duplicates=0, in_val=1),
                 dict(read=2, kept=2, duplicates=0, in_val=0)),
        'k600': (dict(read=5, kept=3, duplicates=1, in_val=1),
                 dict(read=2, kept=1, duplicates=1, in_val=0)),
        'k700': (dict(read=5, kept=1, duplicates=3, in_val=1),
                 dict(read=2, kept=1, duplicates=1, in_val=0)),
    }
    assert (report.num_train, report.num_val) == (7, 4)
    assert vars(report.total('train')) == dict(read=14, kept=7, duplicates=4, in_val=3)
    assert (report.train_classes, report.val_classes) == (6, 4)

    got = [(c.key, c.kept.source, c.kept.split, c.kept.label, c.dropped.source,
            c.dropped.split, c.dropped.line, c.dropped.label) for c in report.conflicts]
    assert got == [('CCCCCCCCCCC', 'k400', 'train', 214, 'k700', 'train', 2, 661),
                   ('DDDDDDDDDDD', 'k400', 'val', 357, 'k700', 'train', 5, 0)]
    summary = report.summary()
    assert 'label conflicts: 2' in summary and 'CCCCCCCCCCC' in summary
    assert 'K710 train: 7 videos, 6 classes' in summary


def test_strict_and_order(sources, label_maps, tmp_path):
    with pytest.raises(K710LabelConflictError, match='2 label conflict') as info:
        build_k710_lists(sources, label_maps['k710'], tmp_path / 'strict', strict=True)
    assert len(info.value.conflicts) == 2
    assert not (tmp_path / 'strict').exists()

    report = build_k710_lists(sources, label_maps['k710'], tmp_path / 'rev',
                              order=['k700', 'k600', 'k400'])
    train = (tmp_path / 'rev' / TRAIN).read_text().splitlines()
    assert train[:3] == ['k700/dyeing_hair/BBBBBBBBBBB_000001_000011.mp4 108',
                         'k700/acting/CCCCCCCCCCC_000000_000010.mp4 661',
                         'k700/throwing_ball/HHHHHHHHHHH_000000_000010.mp4 357']
    conflicts = {c.key: (c.kept.label, c.dropped.label) for c in report.conflicts}
    assert conflicts == {'CCCCCCCCCCC': (661, 214), 'DDDDDDDDDDD': (357, 0)}
    with pytest.raises(ValueError, match='must list each given source once'):
        build_k710_lists(sources, label_maps['k710'], tmp_path, order=['k400', 'k600'])


def test_subset_and_empty_prefix(sources, label_maps, tmp_path):
    only = {'k600': {**sources['k600'], 'prefix': ''}}
    report = build_k710_lists(only, label_maps['k710'], tmp_path)
    assert (tmp_path / VAL).read_text() == ('zumba/VVVVVVVVVV1_000005_000015.mp4 399\n'
                                            'throwing/DDDDDDDDDDD_000100_000110.mp4 357\n')
    assert list(report.sources) == ['k600'] and report.num_train == 5
    with pytest.raises(ValueError, match='no source datasets'):
        build_k710_lists({}, label_maps['k710'], tmp_path)
    with pytest.raises(ValueError, match="missing \\['val'\\]"):
        build_k710_lists({'k400': {'train': 'x', 'labels': 'y'}}, label_maps['k710'], tmp_path)


@pytest.mark.parametrize('bad, msg', [
    ('abseiling/x_000000_000010.mp4 0 extra', 'expected "<path> <label>", got 3 field'),
    ('abseiling/x_000000_000010.mp4', 'got 1 field'),
    ('abseiling/x_000000_000010.mp4 zero', "label 'zero' is not an integer"),
    ('abseiling/x_000000_000010.mp4 400', 'label 400 out of range'),
    ('abseiling/x_000000_000010.mp4 -1', 'label -1 out of range'),
])
def test_malformed_lines(sources, label_maps, tmp_path, bad, msg):
    train = tmp_path / 'bad_train.txt'
    train.write_text(f'ok/AAAAAAAAAAA_000010_000020.mp4 0\n\n{bad}\n')
    spec = {'k400': {**sources['k400'], 'train': train}}
    with pytest.raises(ValueError, match=msg) as info:
        build_k710_lists(spec, label_maps['k710'], tmp_path / 'out')
    assert f'{train}:3:' in str(info.value)  # the blank line 2 still counts
    assert not (tmp_path / 'out').exists()


def test_unmappable_label(sources, label_maps, tmp_path):
    names = read_label_file(label_maps['k600'])
    names[1] = 'acting in a play'  # not a K710 class
    labels = tmp_path / 'my_k600_labels.txt'
    labels.write_text('\n'.join(names) + '\n')
    train = tmp_path / 'k600_train_custom.txt'
    train.write_text('a/AAAAAAAAAAA_000000_000010.mp4 0\nb/BBBBBBBBBBB_000000_000010.mp4 1\n')
    spec = {'k600': {**sources['k600'], 'train': train, 'labels': labels}}
    with pytest.raises(ValueError) as info:
        build_k710_lists(spec, label_maps['k710'], tmp_path / 'out')
    msg = str(info.value)
    assert f'{train}:2:' in msg and "'acting in a play'" in msg and str(labels) in msg
    # a label map of the wrong size is refused as a whole by build_channel_map
    labels.write_text('\n'.join(names[:10]) + '\n')
    with pytest.raises(ValueError, match='expected 600 k600 classes'):
        build_k710_lists(spec, label_maps['k710'], tmp_path / 'out')


def _cli_args(sources: dict, label_maps: dict, out: Path) -> list:
    args = ['--k710-labels', str(label_maps['k710']), '--out-dir', str(out)]
    for name, spec in sources.items():
        for key, value in spec.items():
            args += [f'--{name}-{key.replace("_", "-")}', str(value)]
    return args


def test_cli_end_to_end(sources, label_maps, tmp_path):
    out = tmp_path / 'cli'
    result = subprocess.run([sys.executable, str(TOOL.relative_to(ROOT)),
                             *_cli_args(sources, label_maps, out)],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert (out / TRAIN).read_text() == EXPECTED_TRAIN
    assert (out / VAL).read_text() == EXPECTED_VAL
    assert 'label conflicts: 2' in result.stdout
    assert 'WARNING: 2 label conflict(s)' in result.stderr

    # usage errors exit 2 before importing umt_mm
    usage = subprocess.run([sys.executable, str(TOOL), '--k710-labels', 'x',
                            '--k400-train', 'a.txt'],
                           cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert usage.returncode == 2
    assert 'k400 needs --k400-val, --k400-labels as well' in usage.stderr


def test_cli_errors_in_process(sources, label_maps, tmp_path, capsys):
    spec = importlib.util.spec_from_file_location('build_k710_lists_tool', TOOL)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)

    out = tmp_path / 'strict'
    assert tool.main([*_cli_args(sources, label_maps, out), '--strict']) == 1
    assert 'error (--strict): 2 label conflict' in capsys.readouterr().err
    assert not out.exists()

    bad = tmp_path / 'bad.txt'
    bad.write_text('a/AAAAAAAAAAA_000000_000010.mp4 1 2\n')
    args = _cli_args({'k400': {**sources['k400'], 'val': bad}}, label_maps, out)
    assert tool.main(args) == 1
    assert f'error: {bad}:1: expected "<path> <label>"' in capsys.readouterr().err

    assert tool.main([*_cli_args({'k700': sources['k700']}, label_maps, out),
                      '--order', 'k700', 'k400']) == 0
    assert (out / VAL).read_text().splitlines()[0] == (
        'k700/air_drumming/-3B32lodo2M_000059_000069.mp4 1')
    with pytest.raises(SystemExit) as info:
        tool.main(['--k710-labels', 'x'])
    assert info.value.code == 2
    assert 'give at least one source' in capsys.readouterr().err
