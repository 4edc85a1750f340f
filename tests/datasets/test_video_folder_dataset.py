"""VideoFolderDataset: every video of a folder (pretraining without a list file), or a list."""
import pytest
from mmaction.registry import DATASETS

from umt_mm.datasets.video_list_validation import AnnotationError


def _build(**kwargs):
    return DATASETS.build(dict(type='VideoFolderDataset', pipeline=[], **kwargs))


def test_scans_the_folder_recursively_in_sorted_order(tmp_path):
    for name in ('b.mp4', 'sub/a.AVI', 'sub/deeper/c.webm', 'notes.txt', '.hidden.mp4',
                 '.cache/d.mp4'):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b'')
    ds = _build(data_prefix=dict(video=str(tmp_path)))
    assert [ds.get_data_info(i)['filename'] for i in range(len(ds))] == [
        str(tmp_path / 'b.mp4'), str(tmp_path / 'sub/a.AVI'), str(tmp_path / 'sub/deeper/c.webm')]
    assert 'label' not in ds.get_data_info(0)


def test_a_list_file_is_read_for_its_paths(tmp_path):
    lst = tmp_path / 'train.txt'
    lst.write_text('k400/x.mp4 3\nk600/y.mp4 700\n')
    ds = _build(ann_file=str(lst), data_prefix=dict(video='data'))
    assert [ds.get_data_info(i)['filename'] for i in range(2)] == ['data/k400/x.mp4',
                                                                  'data/k600/y.mp4']
    lst.write_text('k400/x.mp4 3\nk400/x.mp4 3\n')
    with pytest.raises(AnnotationError, match=r'train.txt:2: .*listed twice'):
        _build(ann_file=str(lst), data_prefix=dict(video='data'))


def test_missing_or_empty_folders_are_explained(tmp_path):
    with pytest.raises(FileNotFoundError, match='does not exist'):
        _build(data_prefix=dict(video=str(tmp_path / 'absent')))
    (tmp_path / 'empty').mkdir()
    (tmp_path / 'empty' / 'readme.md').write_text('x')
    with pytest.raises(FileNotFoundError, match='no video'):
        _build(data_prefix=dict(video=str(tmp_path / 'empty')))
