"""umt_mm.apis.detection: proposals, key-frame clips from the config's own steps, detect_actions,
strict loading of the AVA detector."""
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config

from umt_mm.apis import (
    KeyFrameClips,
    SpatioTemporalResult,
    detect_actions,
    init_ava_detector,
    load_proposals,
    open_video,
)
from umt_mm.apis.detection import is_ava_sampler, key_frame_timestamps
from umt_mm.converters import convert_official_ava
from umt_mm.converters.checkpoint_layouts import CheckpointMismatchError
from umt_mm.data import LabelMapError, read_action_label_map

ROOT = Path(__file__).resolve().parents[2]
AVA_B16 = ROOT / 'action_detection/configs/umt-base-p16_k710-ft_16xb8-8x8x1-30e_ava22-rgb.py'
BOXES = np.array([[0.10, 0.10, 0.50, 0.90, 0.95], [0.45, 0.20, 0.90, 0.95, 0.80]], np.float32)
TRANSFORMS = ("dict(type='Resize', scale=(-1, 64)), "
              "dict(type='FormatShape', input_format='NCTHW', collapse=True), "
              "dict(type='PackActionInputs', algorithm_keys=('proposal_scores', ))")
DECODING = {
    'frames': "dict(type='UMTSampleAVAFrames', clip_len=8, frame_interval=8), "
              "dict(type='RawFrameDecode')",
    'clips': "dict(type='UMTSampleAVAFrames', clip_len=8, frame_interval=8), "
             "dict(type='UMTAVAClipDecode')",
    'decord': "dict(type='DecordInit'), "
              "dict(type='UMTSampleAVAFrames', clip_len=8, frame_interval=8), "
              "dict(type='DecordDecode')",
    'decord_sparse': "dict(type='DecordInit'), "
                     "dict(type='UMTSampleAVAFrames', clip_len=8, frame_interval=8), "
                     "dict(type='DecordSparseDecode')",
    'pyav_sparse': "dict(type='PyAVSparseInit'), "
                   "dict(type='UMTSampleAVAFrames', clip_len=8, frame_interval=8), "
                   "dict(type='PyAVSparseDecode')",
}


def write_tiny_ava_config(path: Path, decoding: str = 'frames') -> Path:
    """The B/16 AVA recipe with a 1-block, 32-wide backbone; test clips 64 px high, decoded
    as ``DECODING[decoding]``."""
    path.write_text(
        f"_base_ = ['{AVA_B16}']\n"
        'model = dict(backbone=dict(arch=dict(_delete_=True, embed_dims=32, depth=1, '
        'num_heads=2, mlp_ratio=2.0)), roi_head=dict(bbox_head=dict(in_channels=32)))\n'
        f'test_dataloader = dict(dataset=dict(pipeline=[{DECODING[decoding]}, {TRANSFORMS}]))\n')
    return path


def to_official_ava(state: dict) -> dict:
    """umt_mm AVA detector keys -> the reference's (the inverse of convert_official_ava)."""
    out = {}
    for key, value in state.items():
        if key.startswith('backbone.'):
            out[key[len('backbone.'):]] = value
        elif key == 'roi_head.bbox_head.fc_cls.weight':
            out['head.weight'] = value[1:]
        elif key == 'roi_head.bbox_head.fc_cls.bias':
            out['head.bias'] = value[1:]
        else:
            raise KeyError(key)
    return out


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    """A tiny AVA config and checkpoint, and a 3-second 80x64 video at 30 fps."""
    from mmaction.registry import MODELS
    from mmengine.registry import init_default_scope

    from umt_mm.testing.motion_videos import render_motion_clip, write_video
    root = tmp_path_factory.mktemp('detection')
    config = write_tiny_ava_config(root / 'tiny_ava.py')
    init_default_scope('mmaction')
    torch.manual_seed(3)
    model = MODELS.build(Config.fromfile(config).model)
    model.init_weights()
    with torch.no_grad():  # O(1) action logits instead of the x0.001 init's
        head = model.roi_head.bbox_head.fc_cls
        head.weight.normal_(0, 0.5)
        head.bias.normal_(0, 0.5)
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, root / 'ava.pth')
    video = root / 'walk.mp4'
    write_video(video, render_motion_clip(1, np.random.default_rng(0), num_frames=80), fps=30)
    return root, config, root / 'ava.pth', video, model.eval()


def expected_scores(model, video, timestamp, boxes, cfg_fps=25.0):
    """The detector's scores computed without the API: the recipe's frames (8 at stride 8,
    +3, on the config's frame rate) mapped to the video, short side 64, test_step."""
    import mmcv
    from mmaction.structures import ActionDataSample
    from mmengine.structures import InstanceData
    reader, info = open_video(video)
    key = round(cfg_fps * timestamp)
    inds = key - 4 * 8 + 3 + 8 * np.arange(8)
    inds = np.clip(inds, 0, int(np.ceil(info.num_frames * cfg_fps / info.fps)) - 1)
    inds = np.clip(np.round(inds * info.fps / cfg_fps), 0, info.num_frames - 1).astype(int)
    frames = reader.get_batch(list(inds)).asnumpy()
    new_w, new_h = mmcv.rescale_size((info.width, info.height), (np.inf, 64))
    clip = np.stack([mmcv.imresize(f, (new_w, new_h)) for f in frames])
    sample = ActionDataSample()
    sample.set_metainfo(dict(img_shape=(new_h, new_w)))
    scale = np.array([new_w, new_h, new_w, new_h], np.float32)
    sample.proposals = InstanceData(bboxes=torch.from_numpy(boxes[:, :4] * scale))
    sample.proposal_scores = boxes[:, 4]
    inputs = torch.from_numpy(clip).permute(3, 0, 1, 2).float()
    with torch.no_grad():
        return model.test_step(dict(inputs=[inputs], data_samples=[sample]))[0] \
            .pred_instances.scores.numpy()


def test_detect_actions_with_a_proposals_file(tiny, tmp_path):
    root, config, checkpoint, video, ref = tiny
    proposals = tmp_path / 'boxes.csv'
    proposals.write_text(''.join(f'walk,{t},{",".join(f"{v:.2f}" for v in b)}\n'
                                 for t in (0, 2) for b in BOXES)
                         + 'walk,7,0.1,0.1,0.2,0.2\n')  # after the video's end: ignored
    model = init_ava_detector(config, checkpoint, device='cpu')
    result = detect_actions(model, video, proposals=proposals, label_map='ava',
                            action_score_thr=0.0)
    assert isinstance(result, SpatioTemporalResult)
    assert result.video_id == 'walk' and result.config_fps == 25.0
    assert (result.video.num_frames, result.video.width, result.video.height) == (80, 80, 64)
    assert [k.timestamp for k in result.key_frames] == [0, 2]
    for frame in result.key_frames:
        np.testing.assert_allclose(frame.boxes, BOXES[:, :4] * [80, 64, 80, 64], atol=1e-4)
        np.testing.assert_allclose(frame.person_scores, BOXES[:, 4])
        assert frame.scores.shape == (2, 81)
        expected = expected_scores(ref, video, frame.timestamp, BOXES)
        np.testing.assert_allclose(frame.scores, expected, atol=2e-6)
    # reported: the 60 actions of the label map per box, best first; csv rows the same
    names = read_action_label_map('ava')
    detections = result.detections()
    actions = detections[0]['boxes'][0]['actions']
    assert sorted(a['id'] for a in actions) == sorted(names)
    assert [a['score'] for a in actions] == sorted((a['score'] for a in actions), reverse=True)
    assert actions[0]['name'] == names[actions[0]['id']]
    rows = result.to_csv_rows()
    assert len(rows) == 2 * 2 * 60
    assert rows[0][:6] == ['walk', '0000', '0.100', '0.100', '0.500', '0.900']
    as_json = result.to_dict(checkpoint=str(checkpoint))
    assert as_json['config'] == str(config) and as_json['num_frames'] == 80
    # a threshold keeps the scores but reports fewer actions
    result.action_score_thr = 0.5
    kept = sum(len(b['actions']) for d in result.detections() for b in d['boxes'])
    assert kept == sum(int((f.scores[:, sorted(names)] >= 0.5).sum())
                       for f in result.key_frames)
    assert 0 < kept < 240


def test_boxes_in_pixels_and_a_dict_of_proposals_agree(tiny):
    _, config, checkpoint, video, _ = tiny
    model = init_ava_detector(config, checkpoint, device='cpu')
    by_dict = detect_actions(model, video, proposals={1: BOXES[:, :4]}, action_score_thr=0.3)
    pixels = BOXES * [80, 64, 80, 64, 1]
    by_boxes = detect_actions(model, video, boxes={1: pixels, 9: pixels})
    assert [k.timestamp for k in by_boxes.key_frames] == [1]
    np.testing.assert_allclose(by_dict.key_frames[0].person_scores, [1, 1])  # none in the dict
    assert by_dict.detections()[0]['boxes'][0]['actions'][0]['name'].startswith('action ')
    with pytest.raises(ValueError, match='one way: proposals, boxes or det_config'):
        detect_actions(model, video, proposals={1: BOXES}, boxes={1: pixels})
    with pytest.raises(ValueError, match='got none'):
        detect_actions(model, video)


@pytest.mark.parametrize('decoding', ['clips', 'decord', 'decord_sparse', 'pyav_sparse'])
def test_clips_run_the_configs_own_decoding(tiny, tmp_path, decoding):
    """A video pipeline's own steps (decord, decord sparse, PyAV sparse) decode the same
    frames as the frame-folder pipeline, whose RawFrameDecode (like the per-second clips'
    UMTAVAClipDecode) decord replaces on a video."""
    _, config, _, video, _ = tiny
    reader, info = open_video(video)
    cfg = Config.fromfile(write_tiny_ava_config(tmp_path / f'{decoding}.py', decoding))
    frames_cfg = Config.fromfile(config)
    ours, reference = KeyFrameClips(cfg, video, info), KeyFrameClips(frames_cfg, video, info)
    assert ours.reads_video == (decoding != 'clips') and not reference.reads_video
    boxes = (BOXES * [80, 64, 80, 64, 1]).astype(np.float32)
    for ts in (0, 1, 2):
        a, b = ours(ts, boxes, 'walk'), reference(ts, boxes, 'walk')
        assert a['inputs'].shape == (3, 8, 64, 80)
        np.testing.assert_array_equal(ours.frame_indices(ts), reference.frame_indices(ts))
        assert torch.equal(a['inputs'], b['inputs'])
        torch.testing.assert_close(a['data_samples'].proposals.bboxes,
                                   torch.from_numpy(boxes[:, :4]))
    # MMAction2's SampleAVAFrames is an AVA sampler too (by class, not by name)
    assert is_ava_sampler(dict(type='SampleAVAFrames', clip_len=8, frame_interval=8))
    assert not is_ava_sampler(dict(type='SampleFrames', clip_len=8))


def test_clips_need_one_ava_sampler_and_a_decoder(tiny):
    _, config, _, video, _ = tiny
    _, info = open_video(video)
    cfg = Config.fromfile(config)
    cfg.test_dataloader.dataset.pipeline = [dict(type='SampleFrames', clip_len=8),
                                            dict(type='DecordDecode')]
    with pytest.raises(ValueError, match=r'exactly one AVA sampler.*SampleFrames'):
        KeyFrameClips(cfg, video, info)
    cfg.test_dataloader.dataset.pipeline = [dict(type='UMTSampleAVAFrames'),
                                            dict(type='Resize', scale=(-1, 64))]
    with pytest.raises(ValueError, match='no decoding step'):
        KeyFrameClips(cfg, video, info)


def test_key_frames_are_the_whole_seconds(tiny):
    _, _, _, video, _ = tiny
    _, info = open_video(video)
    assert key_frame_timestamps(info) == [0, 1, 2]  # 80 frames at 30 fps: 2.63 s


def test_load_proposals_csv_pkl_and_errors(tmp_path):
    import pickle
    path = tmp_path / 'boxes.csv'
    path.write_text('demo,2,0.1,0.2,0.3,0.4\n'
                    'other,2,0.1,0.2,0.3,0.4,0.5\n'
                    'demo,2,0.5,0.2,0.9,0.4,0.7\n')
    boxes = load_proposals(path, 'demo')
    np.testing.assert_allclose(boxes[2], [[0.1, 0.2, 0.3, 0.4, 1.0], [0.5, 0.2, 0.9, 0.4, 0.7]])
    with pytest.raises(ValueError, match="no boxes of video 'missing'.*'other'"):
        load_proposals(path, 'missing')
    path.write_text('demo,2,10,20,30,40\n')
    with pytest.raises(ValueError, match='not normalised'):
        load_proposals(path, 'demo')
    path.write_text('demo,2,0.1\n')
    with pytest.raises(ValueError, match=r'boxes.csv:1: expected'):
        load_proposals(path, 'demo')
    with open(tmp_path / 'p.pkl', 'wb') as f:
        pickle.dump({'demo,0003': BOXES, 'demo,0004': BOXES[:, :4]}, f)
    boxes = load_proposals(tmp_path / 'p.pkl', 'demo')
    np.testing.assert_allclose(boxes[3], BOXES)
    np.testing.assert_allclose(boxes[4][:, 4], [1, 1])
    with pytest.raises(FileNotFoundError, match='proposals file .*nothing.csv does not exist'):
        load_proposals(tmp_path / 'nothing.csv', 'demo')
    bad_map = tmp_path / 'map.txt'
    bad_map.write_text('1: bend\nwalk\n')
    with pytest.raises(LabelMapError, match=r"map.txt:2: expected 'id: name'"):
        read_action_label_map(bad_map)


def test_init_ava_detector_is_strict(tiny, tmp_path):
    _, config, checkpoint, _, ref = tiny
    state = torch.load(checkpoint, map_location='cpu')['state_dict']
    official = tmp_path / 'b16_ptk710_ftk710_ftava_f8_res224.pth'
    torch.save({'model': to_official_ava(state)}, official)
    with pytest.raises(CheckpointMismatchError) as info:
        init_ava_detector(config, official, device='cpu')
    message = str(info.value)
    assert 'official UMT AVA detector layout' in message
    assert re.search(r'python tools/convert_umt_checkpoint.py \S+ftava_f8_res224.pth \S+ '
                     r'--kind ava --strict --config \S+tiny_ava.py', message)
    # non-strict loads what matches (nothing of this layout) and goes on
    model = init_ava_detector(config, official, device='cpu', strict=False)
    assert not torch.equal(model.backbone.patch_embed.proj.weight,
                           ref.backbone.patch_embed.proj.weight)
    # converted, it loads strictly (row 0 of the head is the unused background column)
    converted = tmp_path / 'converted.pth'
    torch.save({'state_dict': convert_official_ava(to_official_ava(state))}, converted)
    model = init_ava_detector(config, converted, device='cpu')
    for key, value in model.state_dict().items():
        if key.startswith('roi_head.bbox_head.fc_cls'):
            assert torch.equal(value[1:], ref.state_dict()[key][1:])
        else:
            assert torch.equal(value, ref.state_dict()[key]), key
