"""umt_mm.apis.video_windows: window plans, the split pipeline, recognize_video."""
import numpy as np
import pytest
from api_helpers import TOY, save_random_checkpoint
from mmengine.config import Config

from umt_mm.apis import (
    FALLBACK_FPS,
    Window,
    WindowedPipeline,
    inference_pipeline,
    inference_recognizer,
    init_recognizer,
    plan_windows,
    recognize_video,
)
from umt_mm.apis.video_windows import frame_sampler_steps


@pytest.fixture(scope='module')
def toy_model(tmp_path_factory):
    path = tmp_path_factory.mktemp('windows') / 'toy.pth'
    save_random_checkpoint(Config.fromfile(TOY).model, path, seed=1)
    return init_recognizer(TOY, path, device='cpu')


def test_plan_windows_covers_the_video_and_rejects_bad_lengths():
    windows = plan_windows(100, 10.0, 3.0, 2.0)
    assert [(w.start, w.stop) for w in windows] == [(0, 30), (20, 50), (40, 70), (60, 90),
                                                   (70, 100)]
    assert [w.index for w in windows] == [0, 1, 2, 3, 4]
    assert [(w.start, w.stop) for w in plan_windows(50, 10.0, 8.0, None)] == [(0, 50)]
    assert windows[1].as_dict() == dict(start_frame=20, end_frame=50, start_sec=2.0,
                                        end_sec=5.0)
    assert windows[1].center_sec == 3.5
    with pytest.raises(ValueError, match='--window must be positive'):
        plan_windows(50, 10.0, 0.0, None)
    with pytest.raises(ValueError, match='--stride must be positive'):
        plan_windows(50, 10.0, 1.0, -1.0)
    with pytest.raises(ValueError, match='no frames'):
        plan_windows(0, 10.0, 1.0, None)


def test_sampler_is_the_step_that_sets_frame_inds():
    steps = inference_pipeline(Config.fromfile(TOY))
    assert [steps[i]['type'] for i in frame_sampler_steps(steps)] == ['UMTSampleFrames']
    mm = [dict(type='DecordInit'), dict(type='DenseSampleFrames', clip_len=2, num_clips=1),
          dict(type='DecordDecode')]
    assert frame_sampler_steps(mm) == [1]
    with pytest.raises(ValueError, match='exactly one frame sampler'):
        WindowedPipeline([dict(type='DecordInit'), dict(type='DecordDecode')])
    with pytest.raises(ValueError, match='opens no video'):
        WindowedPipeline(mm[1:])


def test_window_over_the_whole_video_equals_the_clip(shared_data, toy_model):
    video = shared_data / 'videos/part_0.mp4'  # 32 frames at 30 fps
    whole = recognize_video(toy_model, video)
    assert len(whole) == 1 and whole[0].window == Window(0, 0, 32, 30.0)
    np.testing.assert_allclose(whole[0].scores, inference_recognizer(toy_model, video).scores,
                               rtol=1e-6, atol=1e-7)
    calls = []
    windows = recognize_video(toy_model, video, window=0.5, stride=0.25, views='1x1',
                              progress=lambda: calls.append(1))
    assert [(p.window.start, p.window.stop) for p in windows] == [(0, 15), (8, 23), (16, 31),
                                                                (17, 32)]
    assert len(calls) == 4
    assert all(p.scores.shape == (2,) for p in windows)
    assert windows[0].topk(1, ['cw', 'ccw'])[0][1] in ('cw', 'ccw')
    assert len({round(float(p.scores[0]), 7) for p in windows}) > 1  # other frames


def test_open_names_the_bad_file(tmp_path):
    pipeline = WindowedPipeline(inference_pipeline(Config.fromfile(TOY)))
    with pytest.raises(FileNotFoundError, match='missing.mp4 does not exist'):
        pipeline.open(tmp_path / 'missing.mp4')
    (tmp_path / 'bad.mp4').write_text('not a video')
    with pytest.raises(RuntimeError, match='bad.mp4 cannot be decoded'):
        pipeline.open(tmp_path / 'bad.mp4')
    assert FALLBACK_FPS == 30.0
