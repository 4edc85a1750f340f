"""``video_errors_name_the_file``: decoding errors of MMAction2's decord transforms."""
import json

import pytest

DECODE = '''
import json
import umt_mm  # noqa: F401
from mmaction.datasets.transforms import DecordInit
try:
    DecordInit()(dict(filename=PATH))
    print(json.dumps(dict(error=None)))
except Exception as err:
    print(json.dumps(dict(error=f'{type(err).__name__}: {err}')))
'''


def test_the_pinned_mmaction2_still_hides_the_broken_file(run_python, tmp_path):
    """Fails the day MMAction2's DecordInit names the file itself: then remove
    umt_mm/compat/video_errors.py."""
    bad = tmp_path / 'broken_clip.mp4'
    bad.write_bytes(b'\x00\x00\x00\x18ftypmp42' + bytes(range(256)) * 8)
    code = f'PATH = {str(bad)!r}\n' + DECODE
    result = run_python(code, disable='video_errors_name_the_file')
    assert result.returncode == 0, result.stderr[-3000:]
    error = json.loads(result.stdout.strip().splitlines()[-1])['error']
    assert error is not None
    assert 'broken_clip' not in error, (
        'MMAction2 now names the broken video: remove umt_mm/compat/video_errors.py')
    from mmaction.datasets.transforms import DecordInit
    with pytest.raises(RuntimeError, match='broken_clip.mp4: cannot open the video with decord'):
        DecordInit()(dict(filename=str(bad)))  # with the fix


def test_corrupt_or_missing_video_errors_name_the_file(shared_data, tmp_path):
    from mmaction.registry import DATASETS
    corrupt = tmp_path / 'corrupt.mp4'
    corrupt.write_bytes((shared_data / 'videos' / 'test.mp4').read_bytes()[:5000])
    (tmp_path / 'list.txt').write_text('corrupt.mp4 1\nmissing.mp4 2\n')
    pipeline = [dict(type='DecordInit'), dict(type='UMTSampleFrames', clip_len=4),
                dict(type='DecordDecode'), dict(type='FormatShape', input_format='NCTHW'),
                dict(type='PackActionInputs')]
    for dataset_type in ('VideoDataset', 'RepeatAugDataset'):
        dataset = DATASETS.build(dict(type=dataset_type, ann_file=str(tmp_path / 'list.txt'),
                                      data_prefix=dict(video=str(tmp_path)),
                                      pipeline=pipeline))
        with pytest.raises(RuntimeError, match=r'corrupt\.mp4: cannot open the video'):
            dataset[0]
        with pytest.raises(FileNotFoundError, match=r'missing\.mp4'):
            dataset[1]


def test_empty_video_is_reported_with_its_name():
    from umt_mm.datasets.transforms import UMTSampleFrames
    with pytest.raises(ValueError, match=r'empty\.mp4: the video has 0 frames'):
        UMTSampleFrames(clip_len=4)(dict(total_frames=0, filename='data/empty.mp4'))
