"""The bundled label maps: found by name, read by the one reader, checked."""
import pytest

from umt_mm.data import (
    LabelMapError,
    label_map_names,
    label_map_path,
    read_action_label_map,
    read_label_map,
)
from umt_mm.datasets import AnnotationError

SIZES = {'k400': 400, 'k600': 600, 'k700': 700, 'k710': 710, 'mitv1': 339, 'sthv2': 174}


@pytest.mark.parametrize('name', sorted(SIZES))
def test_bundled_label_maps_by_name(name):
    names = read_label_map(name, SIZES[name])
    assert len(set(names)) == SIZES[name]
    assert read_label_map(name.upper()) == names


def test_aliases_and_known_entries():
    assert read_label_map('kinetics400')[:2] == ['abseiling', 'air drumming']
    assert read_label_map('ssv2')[0] == 'Approaching something with your camera'
    assert label_map_path('mit') == label_map_path('mitv1')
    assert label_map_names() == ['ava', 'k400', 'k600', 'k700', 'k710', 'mitv1', 'sthv2']


def test_bundled_maps_equal_the_shared_copies(shared_data):
    for path in sorted((shared_data / 'label_maps').glob('*.txt')):
        name = path.stem.replace('label_map_', '').replace('_label_map', '')
        assert label_map_path(name).read_text() == path.read_text(), name


def test_ava_actions():
    actions = read_action_label_map('ava')
    assert len(actions) == 60 and actions[1] == 'bend/bow (at the waist)'
    assert 2 not in actions and max(actions) == 80
    with pytest.raises(LabelMapError, match="read it with read_action_label_map"):
        read_label_map('ava')


def test_pbtxt_action_list(tmp_path):
    pbtxt = tmp_path / 'actions.pbtxt'
    pbtxt.write_text('item {\n  name: "stand"\n  id: 12\n}\nitem {\n  name: "sit"\n  id: 11\n}\n')
    assert read_action_label_map(pbtxt) == {12: 'stand', 11: 'sit'}
    pbtxt.write_text('item {\n  name: "stand"\n  id: 12\n}\nitem {\n  name: "x"\n  id: 12\n}\n')
    with pytest.raises(LabelMapError, match=r'actions.pbtxt:5: action id 12 repeats'):
        read_action_label_map(pbtxt)


def test_errors_name_file_and_line(tmp_path):
    bad = tmp_path / 'classes.txt'
    bad.write_text('a\nb\na\n')
    with pytest.raises(AnnotationError, match=r"classes.txt:3: class 'a' repeats line 1"):
        read_label_map(bad)
    bad.write_text('a\nb\n')
    with pytest.raises(LabelMapError, match=r'classes.txt:3: the label map has 2 classes but '
                                            r'the model head has num_classes=3'):
        read_label_map(bad, 3)
    bad.write_text('1: a\nfoo\n')
    with pytest.raises(LabelMapError, match=r"classes.txt:2: expected 'id: name'"):
        read_action_label_map(bad)
    with pytest.raises(FileNotFoundError, match=r'not one of the bundled label maps \(ava, k400'):
        read_label_map('k401')
