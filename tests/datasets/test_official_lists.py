"""The official list files as distributed (``path,label`` / ``path label``, a prefix)."""
import pytest
from mmaction.registry import DATASETS

from umt_mm.datasets.video_list_validation import (
    AnnotationError,
    detect_delimiter,
    read_video_list,
)

# the K400 / K710 ``train.csv`` form of the UniFormerV2 / UMT releases (``--split ','``)
OFFICIAL_CSV = ('k400/train/abseiling/-3B32lodo2M_000059_000069.mp4,0\n'
                'k400/train/air drumming/--nQbRBEz2s_000104_000114.mp4,1\n'
                'k600/train/zumba/zzzzzzzzzzz_000010_000020.mp4,709\n')


def _write(tmp_path, text, name='train.csv'):
    path = tmp_path / name
    path.write_text(text)
    return path


def _video_dataset(ann, prefix, **kwargs):
    return DATASETS.build(dict(type='VideoDataset', ann_file=str(ann), pipeline=[],
                               data_prefix=dict(video=prefix), **kwargs))


def _infos(dataset):
    return [dataset.get_data_info(i) for i in range(len(dataset))]


@pytest.mark.parametrize('delimiter', [' ', ','])
def test_comma_separated_official_list_with_a_prefix_loads(tmp_path, delimiter):
    """Finetuning datasets, whichever delimiter the config sets (default ' ')."""
    ann = _write(tmp_path, OFFICIAL_CSV)
    infos = _infos(_video_dataset(ann, '/data/kinetics', num_classes=710,
                                  delimiter=delimiter))
    assert [d['filename'] for d in infos] == [
        '/data/kinetics/k400/train/abseiling/-3B32lodo2M_000059_000069.mp4',
        '/data/kinetics/k400/train/air drumming/--nQbRBEz2s_000104_000114.mp4',
        '/data/kinetics/k600/train/zumba/zzzzzzzzzzz_000010_000020.mp4']
    assert [d['label'] for d in infos] == [0, 1, 709]


def test_repeat_aug_dataset_and_pretraining_dataset_read_it_too(tmp_path):
    ann = _write(tmp_path, OFFICIAL_CSV)
    repeat = DATASETS.build(dict(type='RepeatAugDataset', ann_file=str(ann), num_classes=710,
                                 data_prefix=dict(video='data'),
                                 pipeline=[dict(type='DecordInit'),
                                           dict(type='UMTSampleFrames', clip_len=4),
                                           dict(type='DecordDecode')]))
    assert [d['label'] for d in _infos(repeat)] == [0, 1, 709]
    # pretraining (the reference's VideoMAE reader of train.csv): paths only
    folder = DATASETS.build(dict(type='VideoFolderDataset', ann_file=str(ann), pipeline=[],
                                 data_prefix=dict(video='data')))
    infos = _infos(folder)
    assert [d['filename'] for d in infos] == [
        'data/k400/train/abseiling/-3B32lodo2M_000059_000069.mp4',
        'data/k400/train/air drumming/--nQbRBEz2s_000104_000114.mp4',
        'data/k600/train/zumba/zzzzzzzzzzz_000010_000020.mp4']
    assert all('label' not in d for d in infos)


def test_space_separated_lists_with_a_comma_delimiter_and_absolute_paths(tmp_path):
    """SSv2 / MiT lists (``path label``) read with ``delimiter=','`` set for Kinetics."""
    ann = _write(tmp_path, '/abs/ssv2/108961.webm 166\nrel/182588.webm 0\n', 'val.txt')
    infos = _infos(_video_dataset(ann, 'prefix', delimiter=',', num_classes=174))
    # os.path.join as the reference's --prefix: an absolute listed path is kept
    assert [d['filename'] for d in infos] == ['/abs/ssv2/108961.webm',
                                             'prefix/rel/182588.webm']
    assert [d['label'] for d in infos] == [166, 0]


def test_header_line_byte_order_mark_crlf_and_spaces_around_fields(tmp_path):
    ann = _write(tmp_path, 'path,label\na.mp4,3\n\nb.mp4 , 4\n')
    assert read_video_list(ann, num_classes=5) == [dict(filename='a.mp4', label=3),
                                                   dict(filename='b.mp4', label=4)]
    ann.write_bytes('\ufeffa.mp4,3\r\nb.mp4,4\r\n'.encode())
    assert read_video_list(ann, num_classes=5) == [dict(filename='a.mp4', label=3),
                                                   dict(filename='b.mp4', label=4)]
    assert detect_delimiter(['video label', 'a.mp4,1'], ' ') == ','
    assert detect_delimiter(['a.mp4 1'], ',') == ' '
    assert detect_delimiter(['a,b.mp4'], ' ') == ' '  # an unlabelled name with a comma
    assert detect_delimiter(['a.mp4;1'], ';') == ';'  # other delimiters are kept


@pytest.mark.parametrize('text, line, message', [
    ('a.mp4,0\nb.mp4\nc.mp4,1\n', 2, r"no label in line 'b\.mp4' \(expected \"<video>,<label>\""),
    ('a.mp4,0\nb.mp4,one\n', 2, r"label \['one'\] is not an integer \(','-separated"),
    ('a.mp4,0\nb.mp4 1\n', 2, r"no label in line 'b\.mp4 1'"),  # a line in the other form
    ('a.mp4,0\nb.mp4,1,2\n', 2, r'2 labels in line .* single-label list'),
    ('a.mp4,0\nb.mp4,-1\n', 2, r'label -1 .* outside the class range'),
    ('a.mp4,0\nb.mp4,710\n', 2, r'label 710 .* outside the class range \[0, 710\)'),
    ('a.mp4,0\na.mp4,0\n', 2, r"video 'a\.mp4' is listed twice \(first on line 1\)"),
])
def test_malformed_lines_of_a_comma_list_fail_with_file_and_line(tmp_path, text, line, message):
    ann = _write(tmp_path, text)
    with pytest.raises(AnnotationError, match=rf'{ann}:{line}: {message}'):
        _video_dataset(ann, 'data', num_classes=710)
    if '710' in text:
        return  # the pretraining reader ignores labels, so it has no class range
    with pytest.raises(AnnotationError, match=rf'{ann}:{line}: '):
        DATASETS.build(dict(type='VideoFolderDataset', ann_file=str(ann), pipeline=[],
                            data_prefix=dict(video='data')))


def test_k710_lists_from_official_comma_lists(shared_data, tmp_path):
    """build_k710_lists reads ``path,label`` sources (with a header) and writes lists that
    the datasets read back; a path with a space is written in the comma form."""
    from umt_mm.converters import read_label_file
    from umt_mm.datasets.preparation.k710_lists import build_k710_lists
    maps = {n: shared_data / f'label_maps/label_map_{n}.txt' for n in ('k400', 'k710')}
    k400 = read_label_file(maps['k400'])
    train = _write(tmp_path, 'path,label\n'
                   f'air drumming/AAAAAAAAAAA_000001_000011.mp4,{k400.index("air drumming")}\n'
                   f'zumba/BBBBBBBBBBB_000002_000012.mp4,{k400.index("zumba")}\n', 'k400_train.csv')
    val = _write(tmp_path, f'zumba/CCCCCCCCCCC_000003_000013.mp4,{k400.index("zumba")}\n',
                 'k400_val.csv')
    report = build_k710_lists({'k400': dict(train=train, val=val, labels=maps['k400'])},
                              maps['k710'], tmp_path / 'out')
    k710 = read_label_file(maps['k710'])
    assert report.train_file.read_text() == (
        f'k400/air drumming/AAAAAAAAAAA_000001_000011.mp4,{k710.index("air drumming")}\n'
        f'k400/zumba/BBBBBBBBBBB_000002_000012.mp4,{k710.index("zumba")}\n')
    assert report.val_file.read_text() == (
        f'k400/zumba/CCCCCCCCCCC_000003_000013.mp4 {k710.index("zumba")}\n')
    infos = _infos(_video_dataset(report.train_file, 'data', num_classes=710))
    assert infos[0]['filename'] == 'data/k400/air drumming/AAAAAAAAAAA_000001_000011.mp4'
    bad = _write(tmp_path, 'a/AAAAAAAAAAA_000001_000011.mp4,0\nb/x_000000_000010.mp4\n',
                 'bad.csv')
    with pytest.raises(ValueError, match=rf'{bad}:2: expected "<path>,<label>", got 1 field'):
        build_k710_lists({'k400': dict(train=bad, val=val, labels=maps['k400'])},
                         maps['k710'], tmp_path / 'out2')
