"""umt_mm.apis.features: features per window, pretraining students, the options record."""
import json

import numpy as np
import pytest
import torch
from api_helpers import TOY, save_random_checkpoint
from mmengine.config import Config

from umt_mm.apis import (
    FeatureExtractor,
    FeatureOptions,
    extract_features,
    inference_pipeline,
    init_feature_extractor,
    init_recognizer,
)
from umt_mm.apis.features import (
    build_manifest,
    list_videos,
    save_failure,
    save_features,
    stale_reason,
)

TINY_PRETRAIN = """
default_scope = 'mmaction'
custom_imports = dict(imports=['umt_mm'], allow_failed_imports=False)
model = dict(
    type='UMTDistiller', align_dims=16, num_return_layers=2,
    encoder=dict(type='UMTVisionTransformer', img_size=32, num_frames=4,
                 arch=dict(embed_dims=32, depth=2, num_heads=2, mlp_ratio=2)),
    teacher=dict(type='CLIPVisionTeacher', input_resolution=32, num_return_layers=2,
                 arch=dict(patch_size=16, width=32, layers=2, heads=2, output_dim=16)),
    data_preprocessor=dict(type='ActionDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], format_shape='NCTHW'))
"""


@pytest.fixture(scope='module')
def toy_checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp('features') / 'toy.pth'
    save_random_checkpoint(Config.fromfile(TOY).model, path, seed=2)
    return path


def _backbone_on_clip(model, video, tokens=False):
    from mmengine.dataset import Compose, pseudo_collate
    packed = Compose(inference_pipeline(model.cfg, '1x1'))(
        dict(filename=str(video), label=-1, start_index=0, modality='RGB'))
    with torch.no_grad():
        inputs = model.data_preprocessor(pseudo_collate([packed]), False)['inputs'][:, 0]
        previous = model.backbone.output
        model.backbone.output = 'feature_map' if tokens else previous
        try:
            return model.backbone(inputs)[0].numpy()
        finally:
            model.backbone.output = previous


def test_features_equal_the_backbone_output(shared_data, toy_checkpoint):
    video = shared_data / 'videos/part_0.mp4'
    model = init_recognizer(TOY, toy_checkpoint, device='cpu')
    pooled = extract_features(model, video)  # a recognizer is accepted as is
    assert pooled.features.shape == (1, 32) and pooled.features.dtype == np.float32
    assert (pooled.num_frames, pooled.fps) == (32, 30.0)
    np.testing.assert_allclose(pooled.features[0], _backbone_on_clip(model, video),
                               rtol=1e-5, atol=1e-6)
    extractor = init_feature_extractor(TOY, toy_checkpoint, device='cpu')
    tokens = extract_features(extractor, video, window=0.5, tokens=True)
    assert tokens.features.shape == (3, 32, 4, 2, 2) and tokens.tokens
    assert [(w.start, w.stop) for w in tokens.windows] == [(0, 15), (15, 30), (17, 32)]
    whole = extract_features(extractor, video, tokens=True)
    np.testing.assert_allclose(whole.features[0], _backbone_on_clip(model, video, True),
                               rtol=1e-5, atol=1e-6)


def test_pretraining_checkpoint_gives_the_student_features(shared_data, tmp_path):
    """A UMTDistiller checkpoint: the student's mean normed token of the default UMT test
    view (4 frames, short side 32, centre crop); a recognizer checkpoint does not fit it."""
    from mmengine.dataset import Compose, pseudo_collate

    from umt_mm.apis.video_windows import default_test_pipeline
    from umt_mm.converters.checkpoint_layouts import CheckpointMismatchError
    config = tmp_path / 'tiny_pretrain.py'
    config.write_text(TINY_PRETRAIN)
    model = save_random_checkpoint(Config.fromfile(config).model, tmp_path / 'pre.pth', seed=4)
    extractor = init_feature_extractor(config, tmp_path / 'pre.pth', device='cpu')
    assert isinstance(extractor, FeatureExtractor)
    video = shared_data / 'videos/part_1.mp4'
    feats = extract_features(extractor, video).features
    packed = Compose(default_test_pipeline(4, 32))(dict(
        filename=str(video), label=-1, start_index=0, modality='RGB'))
    with torch.no_grad():
        inputs = model.data_preprocessor(pseudo_collate([packed]), False)['inputs'][:, 0]
        tokens, _ = model.encoder.embed(inputs)
        tokens, _ = model.encoder._run_blocks(tokens)
        expected = model.encoder.norm(tokens).mean(1)[0].numpy()
    assert feats.shape == (1, 32)
    np.testing.assert_allclose(feats[0], expected, rtol=1e-5, atol=1e-6)
    save_random_checkpoint(Config.fromfile(TOY).model, tmp_path / 'toy.pth')
    with pytest.raises(CheckpointMismatchError, match='does not match the model'):
        init_feature_extractor(config, tmp_path / 'toy.pth', device='cpu')


def test_unconverted_official_checkpoint_names_the_converter(tmp_path):
    from umt_mm.converters import to_official_finetune
    from umt_mm.converters.checkpoint_layouts import CheckpointMismatchError
    model = save_random_checkpoint(Config.fromfile(TOY).model, tmp_path / 'ours.pth')
    torch.save({'model': to_official_finetune(model.state_dict())}, tmp_path / 'b16.pth')
    with pytest.raises(CheckpointMismatchError, match=r'(?s)official UMT finetuning layout.*'
                       r'convert_umt_checkpoint.py .*--kind finetune'):
        init_feature_extractor(TOY, tmp_path / 'b16.pth', device='cpu')


def test_options_record_stale_files_and_manifest(tmp_path):
    from umt_mm.apis import Window
    from umt_mm.apis.features import FeatureResult
    options = FeatureOptions(window=1.0, views='1x1', format='npy',
                             checkpoint_fingerprint='abc-1')
    assert options.differences(options.as_dict()) == []
    assert options.differences(None) == ['no options recorded']
    assert FeatureOptions(window=2.0, views='1x1', checkpoint_fingerprint='abc-1').differences(
        options.as_dict()) == ['window: 1.0 -> 2.0']
    result = FeatureResult('v.mp4', np.ones((2, 4), np.float32),
                           [Window(0, 0, 10, 10.0), Window(1, 5, 15, 10.0)], 15, 10.0)
    assert stale_reason(tmp_path, 'a/v', options) == 'not extracted yet'
    save_features(tmp_path, 'a/v', result, options)
    assert np.load(tmp_path / 'a/v.npy').shape == (2, 4)
    assert stale_reason(tmp_path, 'a/v', options) is None
    other = FeatureOptions(window=1.0, views='1x1', format='npy', tokens=True,
                           checkpoint_fingerprint='abc-1')
    assert stale_reason(tmp_path, 'a/v', other) == \
        'written with other options (tokens: False -> True)'
    as_pt = FeatureOptions(window=1.0, views='1x1', format='pt', checkpoint_fingerprint='abc-1')
    save_features(tmp_path, 'a/v', result, as_pt)  # the .npy of other options goes
    assert not (tmp_path / 'a/v.npy').exists() and torch.load(tmp_path / 'a/v.pt').shape == (2, 4)
    save_failure(tmp_path, 'w', 'w.mp4', 'RuntimeError: bad')
    manifest = build_manifest(tmp_path, ['a/v', 'w'], as_pt, 'c.py', 'k.pth')
    assert manifest['videos']['a/v']['windows'][1] == dict(start_frame=5, end_frame=15,
                                                          start_sec=0.5, end_sec=1.5)
    assert manifest['failed'] == {'w': 'RuntimeError: bad'}
    assert manifest['options'] == as_pt.as_dict()
    assert json.loads((tmp_path / 'a/v.json').read_text())['options']['format'] == 'pt'


def test_list_videos_names_and_errors(shared_data, tmp_path):
    folder = tmp_path / 'videos'
    (folder / 'sub').mkdir(parents=True)
    (folder / 'part_0.mp4').symlink_to(shared_data / 'videos/part_0.mp4')
    (folder / 'sub/part_1.mp4').symlink_to(shared_data / 'videos/part_1.mp4')
    (folder / 'test.mp4').symlink_to(shared_data / 'videos/test.mp4')
    (folder / 'test.avi').symlink_to(shared_data / 'videos/test.avi')
    (folder / 'notes.txt').write_text('not listed')
    assert [key for key, _ in list_videos(folder)] == ['part_0', 'sub/part_1', 'test.avi',
                                                        'test.mp4']
    (tmp_path / 'list.txt').write_text('a/x.mp4 1\nb/y.avi 2\n')
    assert list_videos(tmp_path / 'list.txt', '/data/root') == [
        ('a/x', '/data/root/a/x.mp4'), ('b/y', '/data/root/b/y.avi')]
    with pytest.raises(FileNotFoundError, match='neither a folder nor a list file'):
        list_videos(tmp_path / 'missing')
    (tmp_path / 'empty').mkdir()
    with pytest.raises(FileNotFoundError, match='no video'):
        list_videos(tmp_path / 'empty')
