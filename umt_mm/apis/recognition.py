"""Recognise one clip: the config's test pipeline (with other views) and the class scores.

Built on ``mmaction.apis.inference_recognizer``; this module adds the views option, numpy
scores, the top-k classes and the true class's rank.

Example:
    >>> from umt_mm.apis import inference_recognizer, init_recognizer
    >>> from umt_mm.data import read_label_map
    >>> model = init_recognizer('configs/k400/...py', 'checkpoints/umt-base-p16_k400.pth')
    >>> result = inference_recognizer(model, 'demo.mp4', views='4x3')
    >>> result.topk(5, read_label_map('k400'))
"""
from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from mmengine.config import Config

#: crop steps that ``views`` replaces by ``UMTMultiCrop`` (n crops along the long side)
CROP_STEPS = ('ThreeCrop', 'TenCrop', 'CenterCrop', 'UMTCenterCrop')


def parse_views(views: str) -> tuple[int, int]:
    """``(clips, crops)`` of a ``'CLIPSxCROPS'`` string such as ``'4x3'``.

    Args:
        views (str): The views.

    Returns:
        tuple[int, int]: Temporal clips and spatial crops, both >= 1.

    Raises:
        ValueError: Not of that form.
    """
    match = re.fullmatch(r'(\d+)x(\d+)', str(views).strip())
    if not match or min(int(match[1]), int(match[2])) < 1:
        raise ValueError(f"--views must look like '4x3' (clips x crops), got {views!r}")
    return int(match[1]), int(match[2])


def inference_pipeline(cfg: Config, views: str | None = None) -> list[dict]:
    """The config's test pipeline, with ``views`` (``'CLIPSxCROPS'``) applied.

    The pipeline is ``test_pipeline``, else ``test_dataloader.dataset.pipeline``. ``views``
    sets ``num_clips`` (and ``test_mode``) of the frame sampler (the step that sets
    ``frame_inds``, see :func:`~umt_mm.apis.video_windows.frame_sampler_steps`) and the number
    of crops: ``UMTMultiCrop``'s ``num_crops``, or a centre / three / ten crop replaced by
    ``UMTMultiCrop`` with that many crops (a centre crop stays for one crop).

    Args:
        cfg (Config): The recognizer config (not changed).
        views (str, optional): ``'4x3'``-style view count. Defaults to None (unchanged).

    Returns:
        list[dict]: Transform configs for ``mmengine.dataset.Compose``.

    Raises:
        KeyError: The config has no test pipeline.
        ValueError: Malformed ``views``, or no frame sampler to apply it to.
    """
    from .video_windows import frame_sampler_steps
    if 'test_pipeline' in cfg:
        pipeline = copy.deepcopy(cfg.test_pipeline)
    elif 'test_dataloader' in cfg:
        pipeline = copy.deepcopy(cfg.test_dataloader.dataset.pipeline)
    else:
        raise KeyError(f'{cfg.filename}: the config has neither test_pipeline nor '
                       'test_dataloader')
    pipeline = [dict(step) for step in pipeline]
    if views is None:
        return pipeline
    clips, crops = parse_views(views)
    samplers = frame_sampler_steps(pipeline)
    if not samplers:
        raise ValueError(f'--views: no frame sampler (a step that sets frame_inds) in the test '
                         f'pipeline {[step["type"] for step in pipeline]}')
    for i in samplers:
        pipeline[i]['num_clips'] = clips
        pipeline[i]['test_mode'] = True
    for i, step in enumerate(pipeline):
        if step['type'] == 'UMTMultiCrop':
            step['num_crops'] = crops
        elif step['type'] in CROP_STEPS:
            size = step['crop_size']
            size = size if isinstance(size, int) else size[0]
            pipeline[i] = (dict(type='UMTMultiCrop', crop_size=size, num_crops=crops)
                           if crops != 1 or step['type'] in ('ThreeCrop', 'TenCrop')
                           else step)
    return pipeline


def topk_classes(scores: np.ndarray, k: int = 5,
                 names: Sequence[str] | None = None) -> list[tuple[int, str, float]]:
    """The ``k`` best classes of ``scores``, best first (ties: lower index first).

    Args:
        scores (np.ndarray): ``(num_classes,)`` scores.
        k (int): How many. Defaults to 5.
        names (Sequence[str], optional): Class names. Defaults to None (indices as names).

    Returns:
        list[tuple[int, str, float]]: ``(class index, name, score)``.
    """
    scores = np.asarray(scores)
    order = np.argsort(-scores, kind='stable')[:max(0, min(k, scores.size))]
    return [(int(i), names[i] if names is not None else str(int(i)), float(scores[i]))
            for i in order]


def resolve_true_label(true_label: str | int, names: Sequence[str]) -> int:
    """The class index of ``true_label``, a class name or an index.

    Args:
        true_label (str | int): A name in ``names`` or an integer in ``[0, len(names))``.
        names (Sequence[str]): Class names (line i of the label map is class i).

    Returns:
        int: The class index.

    Raises:
        ValueError: ``true_label`` is neither a class name nor a valid index.
    """
    names = list(names)
    text = str(true_label)
    if text in names:
        return names.index(text)
    if re.fullmatch(r'\d+', text.strip()):
        index = int(text)
        if index < len(names):
            return index
        raise ValueError(f'--true-label {text}: class index out of range (the model has '
                         f'{len(names)} classes)')
    raise ValueError(f'--true-label {text!r} is neither a class name of the label map nor a '
                     'class index')


@dataclass(frozen=True)
class RecognitionResult:
    """The class scores of one video.

    Attributes:
        video (str): The video file.
        scores (np.ndarray): ``(num_classes,)`` float32 scores (probabilities averaged over
            the views for the UMT recipes: the config's ``average_clips``).
    """

    video: str
    scores: np.ndarray

    @property
    def num_classes(self) -> int:
        """Number of classes."""
        return int(self.scores.size)

    def topk(self, k: int = 5, names: Sequence[str] | None = None) -> list[tuple[int, str, float]]:
        """The ``k`` best classes, best first.

        Args:
            k (int): How many. Defaults to 5.
            names (Sequence[str], optional): Class names. Defaults to None (indices).

        Returns:
            list[tuple[int, str, float]]: ``(class index, name, score)``.
        """
        return topk_classes(self.scores, k, names)

    def rank(self, index: int) -> int:
        """Rank of class ``index`` (1: the best; ties share the better rank).

        Args:
            index (int): A class.

        Returns:
            int: Its rank.
        """
        return int((self.scores > self.scores[index]).sum()) + 1

    def lines(self, names: Sequence[str] | None = None, k: int = 5,
              true_index: int | None = None) -> tuple[list[str], str | None]:
        """The top-k lines (``name: score``) and the true-class line, as the demo prints them.

        Args:
            names (Sequence[str], optional): Class names. Defaults to None (indices).
            k (int): How many top classes. Defaults to 5.
            true_index (int, optional): The true class. Defaults to None (no true-class line,
                no mark).

        Returns:
            tuple[list[str], str | None]: The top-k lines, the one of the true class ending
            in ``' <- true'``, and ``'true: NAME (score S, rank R): top-1 right|wrong'`` or
            None.
        """
        names = list(names) if names is not None else [str(i) for i in range(self.num_classes)]
        lines = [f'{name}: {score:.3f}' + (' <- true' if index == true_index else '')
                 for index, name, score in self.topk(k, names)]
        if true_index is None:
            return lines, None
        rank = self.rank(true_index)
        verdict = 'right' if rank == 1 else 'wrong'
        return lines, (f'true: {names[true_index]} (score {float(self.scores[true_index]):.3f}, '
                       f'rank {rank}): top-1 {verdict}')


def inference_recognizer(model, video: str | Path, views: str | None = None,
                         test_pipeline: Sequence[dict] | None = None) -> RecognitionResult:
    """Classify one video with the config's test pipeline (``mmaction.apis.inference_recognizer``).

    Args:
        model (nn.Module): A recognizer (:func:`~umt_mm.apis.init_recognizer`).
        video (str | Path): The video file (anything decord reads).
        views (str, optional): ``'CLIPSxCROPS'`` test views (:func:`inference_pipeline`).
            Defaults to None (the config's).
        test_pipeline (Sequence[dict], optional): Transform configs used instead of the
            config's (``views`` is then ignored). Defaults to None.

    Returns:
        RecognitionResult: The scores.

    Raises:
        FileNotFoundError: No such video.
    """
    from mmaction.apis import inference_recognizer as mmaction_inference
    from mmengine.dataset import Compose
    from mmengine.registry import init_default_scope
    video = str(video)
    if not Path(video).is_file():
        raise FileNotFoundError(f'video {video} does not exist')
    init_default_scope(model.cfg.get('default_scope', 'mmaction'))
    steps = list(test_pipeline) if test_pipeline is not None else \
        inference_pipeline(model.cfg, views)
    sample = mmaction_inference(model, video, test_pipeline=Compose(steps))
    return RecognitionResult(video=video,
                             scores=sample.pred_score.float().cpu().numpy().astype(np.float32))


def default_label_map(config: str | Path | Config) -> str | None:
    """The bundled label map of a model name (``'k400'``...), None for a config file.

    Args:
        config (str | Path | Config): What the user gave as the config.

    Returns:
        str | None: A name for :func:`umt_mm.data.read_label_map`.
    """
    if isinstance(config, Config) or Path(str(config)).is_file():
        return None
    from .model_zoo import get_model_info
    try:
        return get_model_info(str(config)).label_map
    except (KeyError, FileNotFoundError):
        return None


def class_names(model, label_map: str | Path | None = None) -> list[str] | None:
    """The class names of ``label_map`` (a bundled name or a file), checked against the head.

    Args:
        model (nn.Module | Config): The recognizer (or its config).
        label_map (str | Path, optional): ``'k400'``... or a file. Defaults to None.

    Returns:
        list[str] | None: The names, None without a label map.

    Raises:
        LabelMapError: The label map's class count differs from the head's.
    """
    if label_map is None:
        return None
    from ..data import read_label_map
    cfg = model if isinstance(model, Config) else model.cfg
    head = cfg.model.get('cls_head') or {}
    return read_label_map(label_map, head.get('num_classes'))


__all__ = ['RecognitionResult', 'class_names', 'default_label_map', 'inference_recognizer',
           'parse_views', 'resolve_true_label', 'inference_pipeline', 'topk_classes']
