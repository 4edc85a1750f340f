"""umt_mm.apis.recognition: test views, the clip's scores, top-k, true label, strict loading."""
import numpy as np
import pytest
import torch
from api_helpers import MOTION, TOY, save_random_checkpoint
from mmengine.config import Config

from umt_mm.apis import (
    RecognitionResult,
    inference_pipeline,
    inference_recognizer,
    init_recognizer,
)
from umt_mm.apis.recognition import (
    class_names,
    default_label_map,
    parse_views,
    resolve_true_label,
    topk_classes,
)


@pytest.fixture(scope='module')
def toy_checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp('recognition') / 'toy.pth'
    save_random_checkpoint(Config.fromfile(TOY).model, path, seed=1)
    return path


def test_views_change_the_test_pipeline():
    cfg = Config.fromfile(MOTION)
    pipeline = inference_pipeline(cfg, '4x1')
    sampler = next(s for s in pipeline if s['type'] == 'UMTSampleFrames')
    crop = next(s for s in pipeline if s['type'] == 'UMTMultiCrop')
    assert (sampler['num_clips'], crop['num_crops']) == (4, 1)
    # the config is not modified; MMAction2's ThreeCrop is replaced by n crops
    assert next(s for s in cfg.test_pipeline if s['type'] == 'UMTSampleFrames')['num_clips'] == 2
    cfg.test_pipeline[4] = dict(type='ThreeCrop', crop_size=64)
    assert inference_pipeline(cfg, '2x5')[4] == dict(type='UMTMultiCrop', crop_size=64,
                                                       num_crops=5)
    with pytest.raises(ValueError, match="like '4x3'"):
        inference_pipeline(cfg, '4 views')
    assert parse_views(' 3x2 ') == (3, 2)
    with pytest.raises(ValueError, match="like '4x3'"):
        parse_views('0x1')


def test_views_find_the_sampler_by_what_it_does():
    """Any step that sets frame_inds is the sampler: MMAction2's SampleFrames too; a pipeline
    without one cannot take views."""
    cfg = Config(dict(test_pipeline=[
        dict(type='DecordInit'),
        dict(type='SampleFrames', clip_len=4, frame_interval=2, num_clips=1),
        dict(type='DecordDecode'),
        dict(type='CenterCrop', crop_size=32),
    ]))
    steps = inference_pipeline(cfg, '3x1')
    assert steps[1] == dict(type='SampleFrames', clip_len=4, frame_interval=2, num_clips=3,
                            test_mode=True)
    assert steps[3] == dict(type='CenterCrop', crop_size=32)
    cfg.test_pipeline.pop(1)
    with pytest.raises(ValueError, match='no frame sampler'):
        inference_pipeline(cfg, '3x1')


def test_clip_scores_equal_mmaction_inference(shared_data, toy_checkpoint):
    from mmaction.apis import inference_recognizer as mmaction_inference
    from mmengine.dataset import Compose
    video = shared_data / 'videos/part_0.mp4'
    model = init_recognizer(TOY, toy_checkpoint, device='cpu')
    result = inference_recognizer(model, video)
    assert isinstance(result, RecognitionResult) and result.scores.dtype == np.float32
    expected = mmaction_inference(model, str(video), Compose(inference_pipeline(model.cfg)))
    np.testing.assert_allclose(result.scores, expected.pred_score.numpy(), rtol=1e-6)
    assert result.scores.sum() == pytest.approx(1.0, abs=1e-5)  # probabilities (2 clips)
    one_view = inference_recognizer(model, video, views='1x1')
    assert not np.allclose(one_view.scores, result.scores)  # other frames
    with pytest.raises(FileNotFoundError, match='missing.mp4 does not exist'):
        inference_recognizer(model, 'missing.mp4')


def test_topk_rank_and_lines():
    result = RecognitionResult('v.mp4', np.array([0.1, 0.43, 0.36, 0.11], np.float32))
    names = ['a', 'cw', 'ccw', 'b']
    assert [(i, n) for i, n, _ in result.topk(2, names)] == [(1, 'cw'), (2, 'ccw')]
    assert result.topk(9)[-1][:2] == (0, '0')
    assert result.rank(2) == 2 and result.rank(1) == 1
    lines, true_line = result.lines(names, 2, true_index=2)
    assert lines == ['cw: 0.430', 'ccw: 0.360 <- true']
    assert true_line == 'true: ccw (score 0.360, rank 2): top-1 wrong'
    assert result.lines(names, 1, None) == (['cw: 0.430'], None)
    assert topk_classes(np.array([0.5, 0.5, 0.2]), 2) == [(0, '0', 0.5), (1, '1', 0.5)]


def test_true_label_as_name_or_index():
    names = [f'class {i}' for i in range(8)]
    assert resolve_true_label('class 5', names) == 5
    assert resolve_true_label('5', names) == 5
    with pytest.raises(ValueError, match='out of range'):
        resolve_true_label('8', names)
    with pytest.raises(ValueError, match="'running' is neither a class name"):
        resolve_true_label('running', names)


def test_label_maps_by_name_and_model_name():
    from umt_mm.apis import list_models
    from umt_mm.data import LabelMapError
    cfg = Config.fromfile(MOTION)
    cfg.model.cls_head.num_classes = 400
    names = class_names(cfg, 'k400')
    assert len(names) == 400 and names[0] == 'abseiling'
    cfg.model.cls_head.num_classes = 8
    with pytest.raises(LabelMapError, match='400 classes but the model head has num_classes=8'):
        class_names(cfg, 'k400')
    assert class_names(cfg, None) is None
    k400 = next(name for name in list_models('recognition') if 'kinetics400' in name)
    assert default_label_map(k400) == 'k400'
    assert default_label_map(str(MOTION)) is None


def test_unconverted_official_checkpoint_names_the_converter(tmp_path):
    from umt_mm.converters import to_official_finetune
    from umt_mm.converters.checkpoint_layouts import CheckpointMismatchError
    model = save_random_checkpoint(Config.fromfile(TOY).model, tmp_path / 'ours.pth')
    torch.save({'model': to_official_finetune(model.state_dict())}, tmp_path / 'b16.pth')
    with pytest.raises(CheckpointMismatchError) as err:
        init_recognizer(TOY, tmp_path / 'b16.pth', device='cpu')
    assert 'official UMT finetuning layout' in str(err.value)
    assert (f'python tools/convert_umt_checkpoint.py {tmp_path / "b16.pth"} '
            'checkpoints/b16_umt_mm.pth --kind finetune --strict') in str(err.value)
    assert err.value.command is not None
