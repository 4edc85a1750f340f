"""tools/demo_spatiotemporal.py: fixed boxes and an MMDet detector on the shared demo video;
strict loading (an unconverted official AVA checkpoint fails with the converter command)."""
import csv
import json
import pickle

import numpy as np
import pytest
import torch
from mmengine.config import Config
from tool_helpers import load_tool, save_random_checkpoint, write_tiny_ava_config

from umt_mm.data import read_action_label_map

VIDEO = 'videos/demo_spatiotemporal_det.mp4'
BOXES = np.array([[0.10, 0.10, 0.50, 0.90, 0.95], [0.45, 0.20, 0.90, 0.95, 0.80]], np.float32)
STAMPS = (1, 4, 8)

demo = load_tool('demo_spatiotemporal')


@pytest.fixture(scope='module')
def tiny_ava(tmp_path_factory):
    root = tmp_path_factory.mktemp('demo_st')
    cfg_file = write_tiny_ava_config(root / 'tiny_ava.py')
    cfg = Config.fromfile(cfg_file)
    model = save_random_checkpoint(cfg.model, root / 'ava.pth', seed=3)
    return root, cfg_file, cfg, model


def _frames(path):
    import decord
    reader = decord.VideoReader(str(path), num_threads=1)
    return reader, len(reader), float(reader.get_avg_fps())


def expected_scores(cfg, model, video, timestamp, boxes):
    """The detector's scores for ``boxes`` at ``timestamp``, computed without the tool: the
    recipe's frames (8 at stride 8, +3, on the config's frame rate) mapped to the video,
    resized to a short side of 256, through the model's test_step."""
    import mmcv
    from mmaction.structures import ActionDataSample
    reader, num_frames, fps = _frames(video)
    cfg_fps = float(cfg.test_dataloader.dataset.get('fps', 30))
    key = round(cfg_fps * timestamp)
    inds = key - 4 * 8 + 3 + 8 * np.arange(8)
    inds = np.clip(inds, 0, int(np.ceil(num_frames * cfg_fps / fps)) - 1)
    inds = np.clip(np.round(inds * fps / cfg_fps), 0, num_frames - 1).astype(int)
    frames = reader.get_batch(list(inds)).asnumpy()
    height, width = frames.shape[1:3]
    new_w, new_h = mmcv.rescale_size((width, height), (np.inf, 256))
    clip = np.stack([mmcv.imresize(f, (new_w, new_h)) for f in frames])
    inputs = torch.from_numpy(clip).permute(3, 0, 1, 2).float()  # C, T, H, W
    sample = ActionDataSample()
    sample.set_metainfo(dict(img_shape=(new_h, new_w)))
    from mmengine.structures import InstanceData
    scale = np.array([new_w, new_h, new_w, new_h], np.float32)
    sample.proposals = InstanceData(bboxes=torch.from_numpy(boxes[:, :4] * scale))
    sample.proposal_scores = boxes[:, 4]
    with torch.no_grad():
        result = model.test_step(dict(inputs=[inputs], data_samples=[sample]))[0]
    return result.pred_instances.scores.numpy()


def test_fixed_boxes_csv_equals_direct_scores_and_video_keeps_length(shared_data, tiny_ava,
                                                                     tmp_path):
    root, cfg_file, cfg, model = tiny_ava
    video = shared_data / VIDEO
    props = {f'demo_spatiotemporal_det,{t:04d}': BOXES for t in STAMPS}
    with open(tmp_path / 'props.pkl', 'wb') as f:
        pickle.dump(props, f)
    label_map = shared_data / 'label_maps/ava_label_map.txt'
    out = tmp_path / 'out.mp4'
    result = demo.main([str(video), str(cfg_file), str(root / 'ava.pth'),
                        '--proposals', str(tmp_path / 'props.pkl'), '--device', 'cpu',
                        '--label-map', str(label_map), '--action-score-thr', '0',
                        '--out', str(out), '--out-csv', str(tmp_path / 'out.csv'),
                        '--out-json', str(tmp_path / 'out.json')])
    # the output video has the input's frames
    _, in_frames, in_fps = _frames(video)
    _, out_frames, out_fps = _frames(out)
    assert out_frames == in_frames == 57 and out_fps == pytest.approx(in_fps, rel=1e-3)
    # csv: every labelled action of every box, scores as computed directly
    ids = sorted(read_action_label_map(label_map))
    assert len(ids) == 60
    rows = list(csv.reader(open(tmp_path / 'out.csv')))
    assert len(rows) == len(STAMPS) * len(BOXES) * len(ids)
    model.eval()
    for ts in STAMPS:
        expected = expected_scores(cfg, model, video, ts, BOXES)
        assert expected.shape == (2, 81)
        mine = [r for r in rows if int(r[1]) == ts]
        for b, box in enumerate(BOXES):
            got = {int(r[6]): float(r[7]) for r in mine
                   if np.allclose([float(v) for v in r[2:6]], box[:4], atol=1e-3)}
            assert sorted(got) == ids
            np.testing.assert_allclose([got[i] for i in ids], expected[b, ids], atol=2e-6)
    # json agrees with the csv and carries the pixel boxes and person scores
    saved = json.loads((tmp_path / 'out.json').read_text())
    assert saved == json.loads(json.dumps(result))
    assert [d['timestamp'] for d in saved['detections']] == list(STAMPS)
    first = saved['detections'][0]['boxes'][0]
    np.testing.assert_allclose(first['bbox'], BOXES[0, :4] * [340, 256, 340, 256], atol=0.01)
    assert first['person_score'] == pytest.approx(0.95)
    assert [a['score'] for a in first['actions']] == sorted(
        (a['score'] for a in first['actions']), reverse=True)


TINY_FASTER_RCNN = """
default_scope = 'mmdet'
model = dict(
    type='FasterRCNN',
    data_preprocessor=dict(type='DetDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_size_divisor=32),
    backbone=dict(type='ResNet', depth=18, base_channels=8, num_stages=4, out_indices=(0, 1, 2, 3),
                  frozen_stages=-1, norm_cfg=dict(type='BN', requires_grad=False),
                  norm_eval=True, style='pytorch'),
    neck=dict(type='FPN', in_channels=[8, 16, 32, 64], out_channels=16, num_outs=5),
    rpn_head=dict(
        type='RPNHead', in_channels=16, feat_channels=16,
        anchor_generator=dict(type='AnchorGenerator', scales=[8], ratios=[0.5, 1.0, 2.0],
                              strides=[4, 8, 16, 32, 64]),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4,
                        target_stds=[1.0] * 4),
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
        loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
    roi_head=dict(
        type='StandardRoIHead',
        bbox_roi_extractor=dict(type='SingleRoIExtractor',
                                roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0),
                                out_channels=16, featmap_strides=[4, 8, 16, 32]),
        bbox_head=dict(type='Shared2FCBBoxHead', in_channels=16, fc_out_channels=32,
                       roi_feat_size=7, num_classes=1,
                       bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4,
                                       target_stds=[0.1, 0.1, 0.2, 0.2]),
                       reg_class_agnostic=False,
                       loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
                       loss_bbox=dict(type='L1Loss', loss_weight=1.0))),
    test_cfg=dict(
        rpn=dict(nms_pre=100, max_per_img=30, nms=dict(type='nms', iou_threshold=0.7),
                 min_bbox_size=0),
        rcnn=dict(score_thr=0.0, nms=dict(type='nms', iou_threshold=0.5), max_per_img=2)),
    train_cfg=None)
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(96, 72), keep_ratio=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
test_dataloader = dict(dataset=dict(type='CocoDataset', pipeline=test_pipeline))
"""


def test_mmdet_detector_end_to_end(shared_data, tiny_ava, tmp_path):
    """A tiny Faster R-CNN (random weights, one class) finds the person boxes: the demo runs
    end to end and reports exactly the detector's boxes above the threshold."""
    from mmdet.apis import inference_detector, init_detector
    from mmdet.registry import MODELS as DET_MODELS
    from mmengine.registry import init_default_scope
    root, _, _, _ = tiny_ava
    cfg_file = write_tiny_ava_config(tmp_path / 'tiny_ava_64.py', short_side=64)
    det_cfg = tmp_path / 'tiny_faster_rcnn.py'
    det_cfg.write_text(TINY_FASTER_RCNN)
    init_default_scope('mmdet')
    torch.manual_seed(0)
    detector = DET_MODELS.build(Config.fromfile(det_cfg).model)
    detector.init_weights()
    torch.save({'state_dict': detector.state_dict(), 'meta': {}}, tmp_path / 'det.pth')
    video = shared_data / 'videos/part_0.mp4'  # 32 frames at 30 fps: key frames 0 and 1
    result = demo.main([str(video), str(cfg_file), str(root / 'ava.pth'),
                        '--det-config', str(det_cfg), '--det-checkpoint',
                        str(tmp_path / 'det.pth'), '--det-score-thr', '0.3', '--device', 'cpu',
                        '--action-score-thr', '0.4', '--out', str(tmp_path / 'det.mp4'),
                        '--out-json', str(tmp_path / 'det.json')])
    reader, num_frames, fps = _frames(video)
    assert _frames(tmp_path / 'det.mp4')[1] == num_frames
    stamps = [d['timestamp'] for d in result['detections']]
    assert stamps == [0, 1]  # every second of the 1.07 s video
    model = init_detector(str(det_cfg), str(tmp_path / 'det.pth'), device='cpu')
    total = 0
    for det in result['detections']:
        frame = reader[round(det['timestamp'] * fps)].asnumpy()[..., ::-1].copy()
        pred = inference_detector(model, frame).pred_instances
        keep = pred.scores >= 0.3
        boxes = [b['bbox'] for b in det['boxes']]
        np.testing.assert_allclose(np.array(boxes).reshape(-1, 4), pred.bboxes[keep].numpy(),
                                   atol=0.01)
        np.testing.assert_allclose([b['person_score'] for b in det['boxes']],
                                   pred.scores[keep].numpy(), rtol=1e-5)
        for box in det['boxes']:
            assert all(a['score'] >= 0.4 for a in box['actions'])
        total += len(boxes)
    assert total > 0


def _official_ava(state: dict) -> dict:
    """The reference detector's keys (the inverse of convert_official_ava)."""
    out = {k[len('backbone.'):]: v for k, v in state.items() if k.startswith('backbone.')}
    out['head.weight'] = state['roi_head.bbox_head.fc_cls.weight'][1:]
    out['head.bias'] = state['roi_head.bbox_head.fc_cls.bias'][1:]
    return out


def test_unconverted_official_checkpoint_fails_with_the_converter_command(tiny_ava, tmp_path,
                                                                          capsys):
    from umt_mm.converters import convert_official_ava
    from umt_mm.converters.checkpoint_layouts import CheckpointMismatchError
    from umt_mm.testing.motion_videos import render_motion_clip, write_video
    root, cfg_file, _, model = tiny_ava
    video = tmp_path / 'clip.mp4'
    write_video(video, render_motion_clip(0, np.random.default_rng(0), num_frames=40), fps=30)
    (tmp_path / 'boxes.csv').write_text('clip,0,0.1,0.1,0.6,0.9\n')
    official = tmp_path / 'b16_ptk710_ftk710_ftava_f8_res224.pth'
    torch.save({'model': _official_ava(model.state_dict())}, official)
    args = [str(video), str(cfg_file), str(official), '--proposals',
            str(tmp_path / 'boxes.csv'), '--device', 'cpu', '--out-csv',
            str(tmp_path / 'out.csv'), '--action-score-thr', '0']
    with pytest.raises(CheckpointMismatchError,
                       match=r'(?s)official UMT AVA detector layout.*tools/convert_umt_'
                             r'checkpoint.py \S+ftava_f8_res224.pth \S+ --kind ava.*--non-strict'):
        demo.main(args)
    assert demo.cli(args) == 2
    err = capsys.readouterr().err
    assert err.startswith('[demo-st] failed: ') and '--kind ava' in err
    assert not (tmp_path / 'out.csv').exists()
    # --non-strict goes on with what matches
    assert demo.cli(args + ['--non-strict']) == 0
    assert len((tmp_path / 'out.csv').read_text().splitlines()) == 80
    # converted, it loads strictly
    converted = tmp_path / 'converted.pth'
    torch.save({'state_dict': convert_official_ava(_official_ava(model.state_dict()))},
               converted)
    args[2] = str(converted)
    result = demo.main(args + ['--label-map', 'ava'])
    assert len(result['detections'][0]['boxes'][0]['actions']) == 60
