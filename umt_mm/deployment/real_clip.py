"""A real video through the config's test pipeline, as inputs of an exported graph."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from .deploy_info import test_pipeline
from .exportability import RECOGNIZER
from .exporter import border_and_inner_boxes, wrapper_kind


def _compose(steps: list[dict]):
    from mmaction.registry import TRANSFORMS
    from mmengine.dataset import Compose
    return Compose([TRANSFORMS.build(step) for step in steps])


def real_clip_inputs(cfg, model: nn.Module, wrapper: nn.Module, video: str | Path,
                     shape: Sequence[int], num_boxes: int = 4) -> tuple[torch.Tensor, ...]:
    """Inputs of the wrapper's graph from a real video and the config's test pipeline.

    Recognizer: every view of the test pipeline (clips x crops), normalised by the
    model's data preprocessor, grouped ``num_views`` per row of the batch. Detector: the
    test pipeline's frame sampling around the middle of the video (decoded with decord),
    its transforms and the preprocessor (normalise, pad), zero-padded to the exported
    size, with ``num_boxes`` person boxes (two at the image border).

    Args:
        cfg (mmengine.Config): The config.
        model (nn.Module): The built model (for its data preprocessor).
        wrapper (nn.Module): The exportable wrapper.
        video (str | Path): A video file.
        shape (Sequence[int]): The exported ``(T, H, W)``.
        num_boxes (int): Boxes (detector). Defaults to 4.

    Returns:
        tuple[torch.Tensor, ...]: Graph inputs.

    Raises:
        ValueError: When the pipeline's clips do not fit the exported shape.
    """
    from mmengine.dataset import pseudo_collate
    video = str(video)
    if not Path(video).is_file():
        raise FileNotFoundError(f'video {video} does not exist')
    frames, height, width = (int(v) for v in shape)
    if wrapper_kind(wrapper) == RECOGNIZER:
        sample = _compose(test_pipeline(cfg))(dict(filename=video, label=-1, start_index=0,
                                                   modality='RGB'))
        with torch.no_grad():
            data = model.data_preprocessor(pseudo_collate([sample]), False)
        views = data['inputs']  # (1, V, C, T, H, W)
        if tuple(views.shape[-3:]) != (frames, height, width):
            raise ValueError(f'{video}: the test pipeline of {cfg.filename} gives clips of '
                             f'{tuple(views.shape[-3:])} (T, H, W), the graph takes '
                             f'{(frames, height, width)}; export with that --shape')
        if views.shape[1] % wrapper.num_views:
            raise ValueError(f'{video}: {views.shape[1]} test views do not group into '
                             f'{wrapper.num_views} views per graph row')
        return (views.reshape((-1, wrapper.num_views) + tuple(views.shape[2:])).float(), )

    import decord
    reader = decord.VideoReader(video)
    fps = float(reader.get_avg_fps())
    from ..apis.detection import is_ava_sampler
    steps = test_pipeline(cfg)
    sampler = next((s for s in steps if is_ava_sampler(s)), None)
    if sampler is None:
        raise ValueError(f'{cfg.filename}: no AVA frame sampler in the test pipeline')
    # the config's decoder (a *Decode step) reads frame folders or a video: decord here
    decode = max(i for i, s in enumerate(steps)
                 if str(getattr(s['type'], '__name__', s['type'])).endswith('Decode'))
    steps = [dict(type='DecordInit'), sampler, dict(type='DecordDecode')] + steps[decode + 1:]
    middle = len(reader) / fps / 2
    results = _compose(steps)(dict(filename=video, timestamp=middle, timestamp_start=0,
                                   fps=fps, start_index=0, modality='RGB'))
    img_h, img_w = (int(v) for v in results['data_samples'].metainfo['img_shape'][:2])
    with torch.no_grad():
        data = model.data_preprocessor(pseudo_collate([results]), False)
    clip = data['inputs']
    if clip.shape[2] != frames or clip.shape[-2] > height or clip.shape[-1] > width:
        raise ValueError(f'{video}: the test pipeline of {cfg.filename} gives clips of '
                         f'{tuple(clip.shape[-3:])} (T, H, W), more than the graph\'s '
                         f'{(frames, height, width)}; export with --shape {clip.shape[2]} '
                         f'{clip.shape[-2]} {clip.shape[-1]}')
    clip = F.pad(clip, (0, width - clip.shape[-1], 0, height - clip.shape[-2]))
    gen = torch.Generator().manual_seed(0)
    inputs = [clip.float(), border_and_inner_boxes(img_h, img_w, num_boxes, gen)]
    if wrapper.test_extend is not None:
        inputs.append(torch.tensor([float(img_h), float(img_w)]))
    if wrapper.score_by_proposal:
        inputs.append(0.5 + 0.5 * torch.rand(num_boxes, generator=gen))
    return tuple(inputs)
