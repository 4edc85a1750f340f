"""MMAction2 1.2.0's demo/demo_spatiotemporal_det.py with the B/16 AVA config.

The script is not in the mmaction2 wheel, so this test replays its calls on our model, in its
order (demo/demo_spatiotemporal_det.py at v1.2.0, commit 4d6c934, lines cited): the config
edits it makes, the model it builds, and the forward it runs on frames it normalises itself.
Only the person detector (MMDet's, lines 274-286) is replaced by fixed boxes. Tiny geometry
(a 1-block 32-wide backbone) through the script's own ``--cfg-options`` merge (line 248).
"""
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
B16 = ROOT / 'action_detection/configs/umt-base-p16_k710-ft_16xb8-8x8x1-30e_ava22-rgb.py'
CFG_OPTIONS = {
    'model.backbone.arch': dict(_delete_=True, embed_dims=32, depth=1, num_heads=2,
                                mlp_ratio=2.0),
    'model.roi_head.bbox_head.in_channels': 32,
}


def frame_extract(video):
    """mmaction.utils.frame_extract's frames: cv2 reads, BGR, every frame."""
    import cv2
    cap = cv2.VideoCapture(str(video))
    frames = []
    ok, frame = cap.read()
    while ok:
        frames.append(frame)
        ok, frame = cap.read()
    return frames


def test_mmaction2_demo_call_sequence_runs_and_equals_our_test_path(shared_data, tmp_path):
    import mmcv
    import mmengine
    from mmaction.registry import MODELS
    from mmaction.structures import ActionDataSample
    from mmaction.utils import get_str_type
    from mmengine.runner import load_checkpoint
    from mmengine.structures import InstanceData

    # a checkpoint of the tiny model (random weights)
    config = mmengine.Config.fromfile(B16)
    config.merge_from_dict(CFG_OPTIONS)
    torch.manual_seed(0)
    ref = MODELS.build(config.model)
    ref.init_weights()
    torch.save({'state_dict': ref.state_dict(), 'meta': {}}, tmp_path / 'ava.pth')

    # lines 235-244: frames of the video resized to a short side of 256
    original_frames = frame_extract(shared_data / 'videos/test.mp4')
    num_frame = len(original_frames)
    h, w, _ = original_frames[0].shape
    new_w, new_h = mmcv.rescale_size((w, h), (256, np.inf))
    frames = [mmcv.imresize(img, (new_w, new_h)) for img in original_frames]
    assert (new_h, new_w) == (256, 340) and new_w % 16  # not a multiple of the patch

    # lines 247-258: the config and the sampler it looks for in `val_pipeline`
    config = mmengine.Config.fromfile(B16)
    config.merge_from_dict(CFG_OPTIONS)
    val_pipeline = config.val_pipeline
    sampler = [x for x in val_pipeline if get_str_type(x['type']) == 'SampleAVAFrames'][0]
    clip_len, frame_interval = sampler['clip_len'], sampler['frame_interval']
    recipe = config.test_dataloader.dataset.pipeline[0]
    assert (clip_len, frame_interval) == (recipe['clip_len'], recipe['frame_interval']) == (8, 8)
    window_size = clip_len * frame_interval
    assert clip_len % 2 == 0
    timestamps = np.arange(window_size // 2, num_frame + 1 - window_size // 2, 8)

    # lines 261-271: the label map and the custom_classes lookup (a KeyError it catches)
    lines = (shared_data / 'label_maps/ava_label_map.txt').read_text().splitlines()
    label_map = {int(x.split(': ')[0]): x.split(': ')[1] for x in lines if x.strip()}
    try:
        if config['data']['train']['custom_classes'] is not None:
            raise AssertionError('our configs have no data.train.custom_classes')
    except KeyError:
        pass

    # lines 274-286 (MMDet person detection) replaced by fixed boxes in resized pixels
    boxes = torch.tensor([[30.0, 20.0, 170.0, 250.0], [150.0, 40.0, 330.0, 240.0]])
    timestamps = timestamps[:2]  # two key frames keep the test short
    human_detections = [boxes.clone() for _ in timestamps]

    # lines 288-301: test_cfg edit, pretrained=None, build, load, eval
    try:
        config['model']['test_cfg']['rcnn'] = dict(action_thr=0)
    except KeyError:
        pass
    config.model.backbone.pretrained = None
    model = MODELS.build(config.model)
    load_checkpoint(model, str(tmp_path / 'ava.pth'), map_location='cpu')
    model.to('cpu')
    model.eval()

    # lines 305-345: its own sampling and normalisation, then model(..., mode='predict')
    img_norm_cfg = dict(mean=np.array(config.model.data_preprocessor.mean),
                        std=np.array(config.model.data_preprocessor.std), to_rgb=False)
    for timestamp, proposal in zip(timestamps, human_detections):
        start_frame = timestamp - (clip_len // 2 - 1) * frame_interval
        frame_inds = start_frame + np.arange(0, window_size, frame_interval)
        frame_inds = list(frame_inds - 1)
        imgs = [frames[ind].astype(np.float32) for ind in frame_inds]
        raw = torch.from_numpy(np.stack(imgs).transpose((3, 0, 1, 2)).copy())
        _ = [mmcv.imnormalize_(img, **img_norm_cfg) for img in imgs]
        input_array = np.stack(imgs).transpose((3, 0, 1, 2))[np.newaxis]
        input_tensor = torch.from_numpy(input_array).to('cpu')
        datasample = ActionDataSample()
        datasample.proposals = InstanceData(bboxes=proposal)
        datasample.set_metainfo(dict(img_shape=(new_h, new_w)))
        with torch.no_grad():
            result = model(input_tensor, [datasample], mode='predict')
            scores = result[0].pred_instances.scores
        assert scores.shape == (2, 81)
        prediction = [[] for _ in range(proposal.shape[0])]
        for i in range(scores.shape[1]):
            if i not in label_map:
                continue
            for j in range(proposal.shape[0]):
                if scores[j, i] > 0.0:
                    prediction[j].append((label_map[i], scores[j, i].item()))
        assert [len(p) for p in prediction] == [60, 60]

        # the same frames through our test path (preprocessor: normalise, pad to 16) give
        # the same scores: the script's unpadded input is padded inside the backbone, and a
        # sample without proposal_scores has person scores 1
        sample = ActionDataSample()
        sample.proposals = InstanceData(bboxes=proposal)
        sample.set_metainfo(dict(img_shape=(new_h, new_w)))
        with torch.no_grad():
            ours = model.test_step(dict(inputs=[raw], data_samples=[sample]))[0]
        torch.testing.assert_close(scores, ours.pred_instances.scores, atol=1e-6, rtol=1e-5)


def test_demo_needs_the_config_fixes():
    """What made the script fail before: no `val_pipeline`, `pretrained` rejected, unpadded
    frames raising in the backbone (now padded by ``pad_to_patch``)."""
    import mmengine
    from mmaction.registry import MODELS
    config = mmengine.Config.fromfile(B16)
    assert config.model.backbone.pad_to_patch is True
    backbone = MODELS.build(dict(config.model.backbone, arch=CFG_OPTIONS['model.backbone.arch'],
                                 pretrained=None))
    with torch.no_grad():
        out = backbone(torch.rand(1, 3, 8, 40, 50))
    assert out.shape == (1, 32, 8, 3, 4)  # 40x50 padded to 48x64
    strict = MODELS.build(dict(config.model.backbone, arch=CFG_OPTIONS['model.backbone.arch'],
                               pad_to_patch=False))
    with pytest.raises(ValueError, match='multiples of the patch size'):
        strict(torch.rand(1, 3, 8, 40, 50))
    padded = torch.zeros(1, 3, 8, 48, 64)
    x = torch.rand(1, 3, 8, 40, 50)
    padded[..., :40, :50] = x
    backbone.eval()
    with torch.no_grad():
        torch.testing.assert_close(backbone(x), backbone(padded))


def test_documented_limit_np_inf():
    """docs/tools.md: the script's line 242 uses ``np.Inf``, gone since NumPy 2.0, so with
    NumPy >= 2 it must be patched to ``np.inf`` before it reaches our config."""
    major = int(np.__version__.split('.')[0])
    assert hasattr(np, 'Inf') == (major < 2)
