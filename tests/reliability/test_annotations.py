"""Bad annotation files are rejected when the dataset is built, naming the file and line."""
import pytest
from mmaction.registry import DATASETS
from reliability_helpers import tiny_cfg

from umt_mm.datasets import AnnotationError, read_label_map, read_video_list


def _build(ann, **kwargs):
    return DATASETS.build(dict(type='VideoDataset', ann_file=str(ann), pipeline=[],
                               data_prefix=dict(video='videos'), **kwargs))


def _write(tmp_path, text, name='list.txt'):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize('text, line, message', [
    ('a.mp4 0\nb.mp4\nc.mp4 1\n', 2, r"no label in line 'b\.mp4'"),
    ('a.mp4 0\nb.mp4 one\n', 2, r"label \['one'\] is not an integer"),
    ('a.mp4 0\nb.mp4 1\nc.mp4 -1\n', 3, r'label -1 .* outside the class range'),
    ('a.mp4 0\n\nb.mp4 1 1\n', 3, r'2 labels in line .* single-label list'),
    ('a.mp4 0\nb.mp4 1\na.mp4 1\n', 3, r"video 'a\.mp4' is listed twice \(first on line 1\)"),
])
def test_malformed_lines(tmp_path, text, line, message):
    ann = _write(tmp_path, text)
    with pytest.raises(AnnotationError, match=rf'{ann}:{line}: {message}'):
        _build(ann)


def test_label_outside_num_classes(tmp_path):
    ann = _write(tmp_path, 'a.mp4 0\nb.mp4 1\nc.mp4 7\n')
    with pytest.raises(AnnotationError, match=rf"{ann}:3: label 7 of 'c\.mp4' is outside the "
                                              r'class range \[0, 2\)'):
        _build(ann, num_classes=2)
    # the same list reads with enough classes; RepeatAugDataset (a subclass) checks too
    assert [d['label'] for d in _build(ann, num_classes=8).load_data_list()] == [0, 1, 7]
    with pytest.raises(AnnotationError, match=rf'{ann}:3: label 7'):
        DATASETS.build(dict(type='RepeatAugDataset', ann_file=str(ann), num_classes=2,
                            pipeline=[dict(type='DecordInit'), dict(type='UMTSampleFrames',
                                      clip_len=4), dict(type='DecordDecode')]))


def test_num_classes_comes_from_the_head_through_the_config(tmp_path, repo_root, toy_videos):
    """The issue's case: a label of 7 in the quickstart's 2-class list."""
    from mmengine.runner import Runner

    from umt_mm.cli_config import prepare_train_cfg
    bad = tmp_path / 'train_list.txt'
    lines = toy_videos['train_list'].read_text().splitlines()
    lines[2] = lines[2].rsplit(' ', 1)[0] + ' 7'
    bad.write_text('\n'.join(lines) + '\n')
    cfg = prepare_train_cfg(tiny_cfg(repo_root, toy_videos, tmp_path / 'w', train_list=bad))
    assert cfg.train_dataloader.dataset.num_classes == 2
    assert cfg.val_dataloader.dataset.num_classes == 2
    runner = Runner.from_cfg(cfg)
    with pytest.raises(AnnotationError, match=rf'{bad}:3: label 7 .* \[0, 2\)'):
        _ = runner.train_dataloader  # built before the first iteration


def test_unlabelled_inference_list_is_allowed_only_in_test_mode(tmp_path):
    ann = _write(tmp_path, 'a.mp4\nb.mp4\n')
    assert [d['label'] for d in _build(ann, test_mode=True).load_data_list()] == [-1, -1]
    with pytest.raises(AnnotationError, match=rf'{ann}:1: no label'):
        _build(ann)


def test_multi_class_lists(tmp_path):
    ann = _write(tmp_path, 'a.mp4 0 3\nb.mp4 2\n')
    data = read_video_list(ann, multi_class=True, num_classes=4)
    assert [d['label'] for d in data] == [[0, 3], [2]]
    with pytest.raises(AnnotationError, match=rf'{ann}:1: label 3 .* \[0, 3\)'):
        read_video_list(ann, multi_class=True, num_classes=3)


def test_label_map_length_must_match_the_head(tmp_path):
    label_map = _write(tmp_path, 'abseiling\nairdrumming\nanswering questions\n', 'map.txt')
    assert read_label_map(label_map, 3)[2] == 'answering questions'
    with pytest.raises(AnnotationError, match=rf'{label_map}:4: the label map has 3 classes '
                                              r'but the model head has num_classes=2'):
        read_label_map(label_map, 2)
    ann = _write(tmp_path, 'a.mp4 0\n')
    # a label-map path given as metainfo.classes is reported with its file and line
    with pytest.raises(AnnotationError, match=rf'{label_map}:4: the label map has 3 classes '
                                              r'but the model head has num_classes=2'):
        _build(ann, num_classes=2, metainfo=dict(classes=str(label_map)))
    with pytest.raises(AnnotationError, match='2 class names but the model head has '
                                              'num_classes=3'):
        _build(ann, num_classes=3, metainfo=dict(classes=['x', 'y']))
    dup = _write(tmp_path, 'x\ny\nx\n', 'dup.txt')
    with pytest.raises(AnnotationError, match=rf"{dup}:3: class 'x' repeats line 1"):
        read_label_map(dup)


def test_good_list_reads_like_mmaction(tmp_path):
    ann = _write(tmp_path, 'a.mp4 0\nsub/b.mp4 1\n')
    assert _build(ann, num_classes=2).load_data_list() == [
        dict(filename='videos/a.mp4', label=0), dict(filename='videos/sub/b.mp4', label=1)]
