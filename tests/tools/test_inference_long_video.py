"""tools/inference_long_video.py: windows through the test pipeline, json, timeline, overlay."""
import json
import pickle
import subprocess
import sys

import numpy as np
import pytest
from mmengine.config import Config
from tool_helpers import (
    QUICKSTART,
    ROOT,
    load_tool,
    save_official_checkpoint,
    save_random_checkpoint,
)

long_video = load_tool('inference_long_video')


@pytest.fixture(scope='module')
def tiny_recognizer(tmp_path_factory):
    """The quickstart's tiny 2-class model (random weights); test views: 2 clips x 1 crop."""
    root = tmp_path_factory.mktemp('long_video')
    save_random_checkpoint(Config.fromfile(QUICKSTART).model, root / 'model.pth', seed=1)
    (root / 'labels.txt').write_text('clockwise\ncounter-clockwise\n')
    return root


def test_whole_video_window_equals_tools_test(shared_data, tiny_recognizer, tmp_path):
    videos = shared_data / 'videos'
    (tmp_path / 'list.txt').write_text('test.mp4 0\n')
    opts = []
    for key, value in (('ann_file', tmp_path / 'list.txt'), ('data_prefix.video', videos)):
        opts.append(f'test_dataloader.dataset.{key}={value}')
    subprocess.run([sys.executable, str(ROOT / 'tools/test.py'), str(QUICKSTART),
                    str(tiny_recognizer / 'model.pth'), '--work-dir', str(tmp_path / 'work'),
                    '--dump', str(tmp_path / 'pred.pkl'), '--cfg-options', *opts],
                   check=True, cwd=ROOT, capture_output=True)
    with open(tmp_path / 'pred.pkl', 'rb') as f:
        expected = np.asarray(pickle.load(f)[0]['pred_score'], dtype=np.float32)
    result = long_video.main([str(videos / 'test.mp4'), str(QUICKSTART),
                              str(tiny_recognizer / 'model.pth'), '--device', 'cpu',
                              '--out-json', str(tmp_path / 'pred.json')])
    assert len(result['windows']) == 1
    window = result['windows'][0]
    assert (window['start_frame'], window['end_frame']) == (0, 300)
    got = {entry['label']: entry['score'] for entry in window['topk']}
    assert sorted(got) == [0, 1]
    np.testing.assert_allclose([got[0], got[1]], expected, rtol=1e-5, atol=1e-6)


def test_windows_json_plot_and_overlay_agree(shared_data, tiny_recognizer, tmp_path):
    import matplotlib.image as mpimg
    video = shared_data / 'videos/test.mp4'  # 300 frames at 30 fps
    out = tmp_path / 'out'
    result = long_video.main([
        str(video), str(QUICKSTART), str(tiny_recognizer / 'model.pth'), '--device', 'cpu',
        '--window', '4', '--stride', '3', '--views', '1x1', '--topk', '2',
        '--label-map', str(tiny_recognizer / 'labels.txt'), '--out-json', str(out / 'p.json'),
        '--out-plot', str(out / 'timeline.png'), '--out-video', str(out / 'overlay.mp4')])
    saved = json.loads((out / 'p.json').read_text())
    assert saved == json.loads(json.dumps(result))
    # 4 s windows every 3 s: 0-4, 3-7, 6-10 s (the last one ends at the last frame)
    assert [(w['start_frame'], w['end_frame']) for w in saved['windows']] == [
        (0, 120), (90, 210), (180, 300)]
    assert [w['start_sec'] for w in saved['windows']] == [0.0, 3.0, 6.0]
    timeline = saved['timeline']
    assert timeline['times_sec'] == [2.0, 5.0, 8.0]
    names = {c['name'] for c in timeline['classes']}
    assert names == {'clockwise', 'counter-clockwise'}
    for i, window in enumerate(saved['windows']):
        scores = [w['score'] for w in window['topk']]
        assert scores == sorted(scores, reverse=True)
        assert sum(scores) == pytest.approx(1.0, abs=1e-5)  # probabilities of 2 classes
        for entry in window['topk']:  # the plotted series are the windows' scores
            series = next(c for c in timeline['classes'] if c['label'] == entry['label'])
            assert series['scores'][i] == pytest.approx(entry['score'])
    image = mpimg.imread(out / 'timeline.png')
    assert image.shape[:2] == (400, 1000) and image.std() > 0.01
    import decord
    assert len(decord.VideoReader(str(out / 'overlay.mp4'))) == 300
    # windows differ (the model sees different frames)
    firsts = [w['topk'][0]['score'] for w in saved['windows']]
    assert len(set(np.round(firsts, 7))) > 1


def test_unconverted_official_checkpoint_names_the_converter(shared_data, tmp_path):
    from umt_mm.converters.checkpoint_layouts import CheckpointMismatchError
    official = save_official_checkpoint(Config.fromfile(QUICKSTART).model,
                                        tmp_path / 'official.pth')
    with pytest.raises(CheckpointMismatchError,
                       match=r'(?s)official UMT finetuning layout.*python '
                       r'tools/convert_umt_checkpoint.py .*official.pth .* --kind finetune '
                       r'--strict.*pass --non-strict'):
        long_video.main([str(shared_data / 'videos/part_0.mp4'), str(QUICKSTART),
                         str(official), '--device', 'cpu', '--out-json',
                         str(tmp_path / 'p.json')])
    assert not (tmp_path / 'p.json').exists()


def test_options_that_need_another_fail_at_parse_time(capsys):
    with pytest.raises(SystemExit) as exit_info:
        long_video.parse_args(['v.mp4', 'c.py', 'k.pth', '--stride', '1', '--out-json', 'x'])
    assert exit_info.value.code == 2
    assert '--stride needs --window' in capsys.readouterr().err
