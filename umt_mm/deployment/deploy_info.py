"""What a deployed model needs besides its graph: the json written next to it."""
from __future__ import annotations

import copy
import json
import os
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn as nn

from .exportability import RECOGNIZER
from .exporter import ONNX_OPSET, io_names, wrapper_kind

_SAMPLERS = ('UMTSampleFrames', 'SampleFrames', 'UniformSample', 'UniformSampleFrames')
_CROPS = {'ThreeCrop': 3, 'TenCrop': 10, 'CenterCrop': 1, 'UMTCenterCrop': 1}


def test_pipeline(cfg) -> list[dict]:
    """The config's test pipeline (``test_pipeline`` or the test dataloader's)."""
    if 'test_dataloader' in cfg and 'pipeline' in cfg.test_dataloader.get('dataset', {}):
        pipeline = cfg.test_dataloader.dataset.pipeline
    elif 'test_pipeline' in cfg:
        pipeline = cfg.test_pipeline
    else:
        raise KeyError(f'{getattr(cfg, "filename", "the config")}: neither a test_dataloader '
                       'with a pipeline nor test_pipeline')
    return [dict(step) for step in copy.deepcopy(pipeline)]


def recognition_protocol(cfg, average_clips: str | None) -> dict:
    """Clips x crops of the config's test pipeline and how the views are averaged.

    Args:
        cfg (mmengine.Config): The recognizer config.
        average_clips (str | None): The head's ``average_clips``.

    Returns:
        dict: ``num_clips``, ``num_crops``, ``views_per_video``, ``average_clips``,
        ``pipeline``.
    """
    pipeline = test_pipeline(cfg)
    clips = next((int(s.get('num_clips', 1)) for s in pipeline if s['type'] in _SAMPLERS), 1)
    crops = 1
    for step in pipeline:
        if step['type'] == 'UMTMultiCrop':
            crops = int(step.get('num_crops', 3))
        elif step['type'] in _CROPS:
            crops = _CROPS[step['type']]
    how = {'prob': 'mean over the views of softmax(logits)',
           'score': 'mean over the views of the logits',
           None: 'none: the logits of every view'}[average_clips]
    return dict(num_clips=clips, num_crops=crops, views_per_video=clips * crops,
                average_clips=average_clips, averaging=how, pipeline=pipeline)


def _preprocessing(model: nn.Module) -> dict:
    pre = model.data_preprocessor
    info = dict(input_range='0-255', channel_order='BGR->RGB first' if getattr(
        pre, 'to_rgb', False) else 'RGB (as decoded)')
    for key in ('mean', 'std'):
        value = getattr(pre, key, None)
        info[key] = None if value is None else [float(v) for v in value.reshape(-1)]
    info['normalise'] = '(x - mean) / std per channel'
    if hasattr(pre, 'pad_size_divisor'):
        info['pad_size_divisor'] = int(pre.pad_size_divisor)
        info['pad_value'] = float(getattr(pre, 'pad_value', 0.0))
        info['order'] = ('normalise, then zero-pad height and width at the bottom/right to a '
                         'multiple of pad_size_divisor (and to the exported size)')
    return info


def _label_names(path: str | None, num_classes: int) -> list[str] | None:
    if not path:
        return None
    from ..datasets import read_label_map
    return read_label_map(path, num_classes)


def deploy_info(cfg, model: nn.Module, wrapper: nn.Module, shape: Sequence[int], fmt: str,
                model_file: str | Path, checkpoint: str | None = None,
                label_map: str | None = None) -> dict:
    """The sidecar json: inputs, outputs, preprocessing, labels and test protocol.

    Args:
        cfg (mmengine.Config): The config.
        model (nn.Module): The built model.
        wrapper (nn.Module): Its exportable wrapper.
        shape (Sequence[int]): ``(T, H, W)`` of the exported clip.
        fmt (str): ``'onnx'`` or ``'torchscript'``.
        model_file (str | Path): The exported file.
        checkpoint (str, optional): The checkpoint. Defaults to None.
        label_map (str, optional): Class names: a bundled label map's name (``'k400'``,
            ``'ava'``...) or a file, one name per line (recognizer) or ``id: name`` lines
            (AVA detector). Defaults to None (a recognizer config's ``metainfo.classes``
            when it is a file).

    Returns:
        dict: JSON-serialisable description.
    """
    frames, height, width = (int(v) for v in shape)
    kind = wrapper_kind(wrapper)
    input_names, output_names, dynamic = io_names(wrapper)
    info = dict(
        task='recognition' if kind == RECOGNIZER else 'ava_detection',
        format=fmt, file=os.path.basename(str(model_file)),
        exporter=(f'torch.onnx.export(dynamo=False), opset {ONNX_OPSET}' if fmt == 'onnx'
                  else 'torch.jit.trace'),
        torch_version=torch.__version__,
        config=str(getattr(cfg, 'filename', '') or ''), checkpoint=checkpoint,
        preprocessing=_preprocessing(model))
    if kind == RECOGNIZER:
        num_classes = int(model.cls_head.num_classes)
        if label_map is None:
            classes = (cfg.get('test_dataloader', {}).get('dataset', {}).get('metainfo', {}) or
                       {}).get('classes')
            label_map = classes if isinstance(classes, str) else None
        views = wrapper.num_views
        info['inputs'] = [dict(name='inputs', dtype='float32',
                               shape=['batch', views, 3, frames, height, width],
                               layout='B V C T H W',
                               meaning=f'{views} normalised view(s) (clips x crops) per video')]
        scores_shape = ['batch', num_classes] if wrapper.average_clips else [
            'batch', views, num_classes]
        info['outputs'] = [
            dict(name='scores', shape=scores_shape,
                 meaning='video scores: the views averaged as average_clips (pred_score of '
                 'MMAction2)'),
            dict(name='logits', shape=['batch', views, num_classes],
                 meaning='logits of each view')]
        protocol = recognition_protocol(cfg, wrapper.average_clips)
        protocol['exported_views'] = views
        protocol['note'] = (f'the recipe tests {protocol["views_per_video"]} views per video '
                            f'({protocol["num_clips"]} clips x {protocol["num_crops"]} crops); '
                            f'feed them as (batch, {views}, ...) and, when the graph takes '
                            'fewer views than that, average its per-view logits the same way')
        info['test_protocol'] = protocol
        names = _label_names(label_map, num_classes)
        info['labels'] = dict(num_classes=num_classes, label_map=label_map, names=names)
    else:
        head = model.roi_head
        num_classes = int(head.bbox_head.num_classes)
        described = dict(
            inputs=dict(shape=[1, 3, frames, height, width], dtype='float32',
                        meaning='one normalised, zero-padded clip'),
            boxes=dict(shape=['num_boxes', 4], dtype='float32',
                       meaning='person boxes x1, y1, x2, y2 in pixels of the unpadded image'),
            img_shape=dict(shape=[2], dtype='float32',
                           meaning='(height, width) of the unpadded image; boxes extended by '
                           'test_extend are clipped to it'),
            proposal_scores=dict(shape=['num_boxes'], dtype='float32',
                                 meaning='person detector scores; the action scores are '
                                 'multiplied by them'))
        info['inputs'] = [dict(name=n, **described[n]) for n in input_names]
        info['outputs'] = [dict(name='scores', shape=['num_boxes', num_classes],
                                meaning='action scores of each box (sigmoid x person score; '
                                'column 0 is the background column when background_class)')]
        data_cfg = cfg.get('test_dataloader', {}).get('dataset', {})
        info['test_protocol'] = dict(
            clip='one clip per key frame', pipeline=test_pipeline(cfg),
            test_extend=list(wrapper.test_extend) if wrapper.test_extend else None,
            score_by_proposal=wrapper.score_by_proposal,
            person_det_score_thr=data_cfg.get('person_det_score_thr'),
            roi_align=dict(output_size=list(wrapper.output_size),
                           spatial_scale=wrapper.spatial_scale,
                           sampling_ratio=wrapper.sampling_ratio, mode=wrapper.pool_mode,
                           onnx_coordinate_transformation_mode='output_half_pixel'))
        label_file = data_cfg.get('label_file')
        names = None
        if label_map:
            from ..data import read_action_label_map
            names = {str(k): v for k, v in read_action_label_map(label_map).items()}
        info['labels'] = dict(num_classes=num_classes,
                              background_class=bool(getattr(head.bbox_head, 'background_class',
                                                            False)),
                              label_file=label_file, label_map=label_map, names=names)
    info['dynamic_axes'] = {k: {str(a): n for a, n in v.items()} for k, v in dynamic.items()}
    info['output_names'] = output_names
    return info


def write_deploy_info(info: dict, path: str | Path) -> Path:
    """Write the sidecar json (atomically)."""
    path = Path(path)
    tmp = path.with_name(path.name + '.tmp')
    tmp.write_text(json.dumps(info, indent=2) + '\n')
    os.replace(tmp, path)
    return path
