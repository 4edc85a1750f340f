"""K710 -> K400/K600/K700 channel maps from the real label maps."""
import json
import subprocess
import sys

import pytest
import torch

from umt_mm.converters import build_channel_map, map_head, read_label_file


@pytest.fixture
def labels(shared_data):
    return shared_data / 'label_maps'


def test_k400_is_the_first_400_rows(labels):
    assert build_channel_map(labels / 'label_map_k400.txt', labels / 'label_map_k710.txt',
                             'k400') == list(range(400))


@pytest.mark.parametrize('dataset,count', [('k600', 600), ('k700', 700)])
def test_k600_k700_maps_by_name_with_renames(labels, dataset, count):
    cmap = build_channel_map(labels / f'label_map_{dataset}.txt',
                             labels / 'label_map_k710.txt', dataset)
    k710 = read_label_file(labels / 'label_map_k710.txt')
    target = read_label_file(labels / f'label_map_{dataset}.txt')
    assert len(cmap) == count and len(set(cmap)) == count
    throwing = target.index('throwing ball (not baseball or American football)')
    assert k710[cmap[throwing]] == 'throwing ball'
    exact = [i for i, name in enumerate(target) if name in k710]
    assert all(k710[cmap[i]] == target[i] for i in exact)
    if dataset == 'k600':
        assert k710[cmap[target.index('picking fruit')]] == 'picking apples'


def test_bad_label_files_are_reported(labels, tmp_path):
    bad = tmp_path / 'k600_bad.txt'
    names = read_label_file(labels / 'label_map_k600.txt')
    bad.write_text('\n'.join(names[:-1] + ['not a kinetics class']))
    with pytest.raises(ValueError, match=r'k600_bad\.txt.*not a kinetics class'):
        build_channel_map(bad, labels / 'label_map_k710.txt', 'k600')
    with pytest.raises(ValueError, match='expected 700'):
        build_channel_map(labels / 'label_map_k600.txt', labels / 'label_map_k710.txt', 'k700')
    with pytest.raises(FileNotFoundError, match='nope.txt'):
        read_label_file(tmp_path / 'nope.txt')


def test_map_head_and_cli(labels, tmp_path, repo_root):
    state = {'cls_head.fc_cls.weight': torch.arange(710.0)[:, None].repeat(1, 4),
             'cls_head.fc_cls.bias': torch.arange(710.0)}
    cmap = build_channel_map(labels / 'label_map_k700.txt', labels / 'label_map_k710.txt',
                             'k700')
    mapped = map_head(state, cmap)
    assert mapped['cls_head.fc_cls.bias'].tolist() == [float(i) for i in cmap]
    out = tmp_path / 'map.json'
    subprocess.run([sys.executable, 'tools/build_k710_channel_map.py', 'k700',
                    str(labels / 'label_map_k700.txt'), str(labels / 'label_map_k710.txt'),
                    str(out)], cwd=repo_root, check=True, capture_output=True)
    assert json.loads(out.read_text()) == cmap
