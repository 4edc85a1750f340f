"""Spatio-temporal action detection: person boxes and their actions at every key frame.

Every whole second ``t`` of a video is a key frame (AVA's 1 Hz). Its person boxes come from
a proposals file (:func:`load_proposals`) or from an MMDet detector
(:func:`detect_persons`, ``mmdet.apis.init_detector`` / ``inference_detector``); the clip
around it is the one the AVA config's test pipeline samples (:class:`KeyFrameClips`), and
the detector's ``test_step`` scores each box (:func:`detect_actions`).

Example:
    >>> from umt_mm.apis import detect_actions, init_ava_detector
    >>> model = init_ava_detector('action_detection/configs/'
    ...                           'umt-base-p16_k710-ft_16xb8-8x8x1-30e_ava22-rgb.py',
    ...                           'checkpoints/umt-base-p16_ava.pth', device='cpu')
    >>> result = detect_actions(model, 'video.mp4', proposals='boxes.csv', label_map='ava')
    >>> result.key_frames[0].scores.shape  # (boxes, 81)
"""
from __future__ import annotations

import csv
import math
import pickle
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch.nn as nn

from .video_reading import VideoInfo, open_video

#: the person class of COCO detectors (MMDet's)
COCO_PERSON = 0


# ---------------------------------------------------------------------------- person boxes
def key_frame_timestamps(info: VideoInfo) -> list[int]:
    """The key frames of a video: every whole second from 0 to its last frame.

    Args:
        info (VideoInfo): The video (:func:`umt_mm.apis.open_video`).

    Returns:
        list[int]: Timestamps in seconds.
    """
    return list(range(0, int((info.num_frames - 1) / info.fps) + 1))


def load_proposals(path: str | Path, video_id: str) -> dict[int, np.ndarray]:
    """Person boxes of ``video_id`` from an AVA proposals pkl or csv.

    The pkl maps ``'video_id,timestamp'`` to ``(n, 4 or 5)`` normalised boxes [+ score]
    (MMAction2's proposal files); the csv has rows ``video_id,timestamp,x1,y1,x2,y2[,score]``
    with normalised coordinates.

    Args:
        path (str | Path): The file (``.pkl``, anything else is read as csv).
        video_id (str): The video's id (its file name without suffix).

    Returns:
        dict[int, np.ndarray]: ``{timestamp: (n, 5) float32}``, normalised ``x1, y1, x2,
        y2`` and a score (1 when the file has none).

    Raises:
        FileNotFoundError: No such file.
        ValueError: A malformed row (with its line), boxes not normalised, or no box of
            ``video_id`` (the message lists the file's videos).
    """
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f'proposals file {path} does not exist')
    rows: dict[int, list] = {}
    ids = set()
    if file.suffix == '.pkl':
        with open(file, 'rb') as f:
            data = pickle.load(f)
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a dict 'video_id,timestamp' -> boxes")
        for key, boxes in data.items():
            vid, _, ts = str(key).rpartition(',')
            ids.add(vid)
            boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, np.shape(boxes)[-1])
            if boxes.shape[1] not in (4, 5):
                raise ValueError(f'{path}: boxes of {key!r} have {boxes.shape[1]} columns '
                                 '(expected 4 or 5)')
            if vid == video_id:
                rows.setdefault(int(ts), []).extend(boxes.tolist())
    else:
        with open(file, newline='') as f:
            for number, row in enumerate(csv.reader(f), 1):
                if not row or not ''.join(row).strip():
                    continue
                if len(row) not in (6, 7):
                    raise ValueError(f'{path}:{number}: expected video_id,timestamp,x1,y1,x2,y2'
                                     f'[,score], got {len(row)} fields')
                try:
                    values = [float(v) for v in row[2:]]
                    ts = int(float(row[1]))
                except ValueError:
                    raise ValueError(f'{path}:{number}: not a number in {row}') from None
                ids.add(row[0])
                if row[0] == video_id:
                    rows.setdefault(ts, []).append(values)
    if not rows:
        raise ValueError(f'{path}: no boxes of video {video_id!r} (the video file name without '
                         f'suffix); videos in the file: {sorted(ids)[:10]}')
    out = {}
    for ts, boxes in rows.items():
        boxes = np.array([b + [1.0] if len(b) == 4 else b for b in boxes], dtype=np.float32)
        if (boxes[:, :4] < -0.01).any() or (boxes[:, :4] > 1.01).any():
            raise ValueError(f'{path}: boxes of {video_id},{ts} are not normalised to [0, 1]')
        out[ts] = boxes
    return out


def detect_persons(det_config: str | Path, det_checkpoint: str | Path | None,
                   frames: Iterable[tuple[int, np.ndarray]], score_thr: float = 0.9,
                   cat_id: int = COCO_PERSON, device: str | None = None,
                   progress: Callable[[], None] | None = None) -> dict[int, np.ndarray]:
    """Person boxes of key frames by an MMDet detector.

    ``mmdet.apis.init_detector`` and ``inference_detector`` on one frame at a time (so a
    long video is never held in memory; ``mmaction.apis.detection_inference`` takes a
    list of frame files and keeps every frame's full result).

    Args:
        det_config (str | Path): MMDet config.
        det_checkpoint (str | Path, optional): Its weights; None keeps random weights
            (with a warning).
        frames (Iterable): ``(timestamp, BGR uint8 frame)`` pairs.
        score_thr (float): Lowest person score kept. Defaults to 0.9 (MMAction2's demo).
        cat_id (int): The detector's person class. Defaults to 0 (COCO).
        device (str, optional): Defaults to None (``cuda:0`` when available, else ``cpu``).
        progress (Callable, optional): Called once per frame. Defaults to None.

    Returns:
        dict[int, np.ndarray]: ``{timestamp: (n, 5) float32}``, pixel ``x1, y1, x2, y2``
        and the person score.
    """
    from mmdet.apis import inference_detector, init_detector

    from .model_loading import default_device
    if det_checkpoint is None:
        warnings.warn('no person detector checkpoint: the detector has random weights',
                      stacklevel=2)
    model = init_detector(str(det_config), None if det_checkpoint is None else
                          str(det_checkpoint), device=default_device(device))
    out = {}
    for ts, frame in frames:
        pred = inference_detector(model, frame).pred_instances.cpu().numpy()
        keep = (pred.labels == cat_id) & (pred.scores >= score_thr)
        out[ts] = np.concatenate([pred.bboxes[keep], pred.scores[keep, None]],
                                 axis=1).astype(np.float32)
        if progress is not None:
            progress()
    return out


def person_boxes(video: str | Path, det_config: str | Path,
                 det_checkpoint: str | Path | None = None,
                 timestamps: Iterable[int] | None = None, score_thr: float = 0.9,
                 cat_id: int = COCO_PERSON, device: str | None = None,
                 progress: Callable[[], None] | None = None) -> dict[int, np.ndarray]:
    """Person boxes at the key frames of a video (:func:`detect_persons` on its frames).

    Args:
        video (str | Path): The video.
        det_config (str | Path): MMDet config.
        det_checkpoint (str | Path, optional): Its weights. Defaults to None (random).
        timestamps (Iterable[int], optional): Key frames in seconds. Defaults to None
            (:func:`key_frame_timestamps`).
        score_thr (float): Lowest person score kept. Defaults to 0.9.
        cat_id (int): The detector's person class. Defaults to 0.
        device (str, optional): Defaults to None (``cuda:0`` when available, else ``cpu``).
        progress (Callable, optional): Called once per key frame. Defaults to None.

    Returns:
        dict[int, np.ndarray]: ``{timestamp: (n, 5)}`` pixel boxes and scores.
    """
    reader, info = open_video(video)
    stamps = key_frame_timestamps(info) if timestamps is None else list(timestamps)
    return detect_persons(det_config, det_checkpoint, _key_frames(reader, info, stamps),
                          score_thr, cat_id, device, progress)


def _key_frames(reader, info: VideoInfo, timestamps: list[int]):
    """``(timestamp, BGR frame)`` of each key frame, decoded one at a time."""
    for ts in timestamps:
        index = min(int(round(ts * info.fps)), info.num_frames - 1)
        yield ts, np.ascontiguousarray(reader[index].asnumpy()[..., ::-1])


# ---------------------------------------------------------------------------- clips
def config_fps(cfg) -> float:
    """The frame rate the AVA config samples at: its test dataset's ``fps`` (MMAction2: 30).

    Args:
        cfg (mmengine.Config): The AVA detector config.

    Returns:
        float: Frames per second.
    """
    dataset = cfg.test_dataloader.dataset
    if dataset.get('fps') is not None:
        return float(dataset.fps)
    from mmaction.registry import DATASETS
    cls = DATASETS.get(dataset.type) if isinstance(dataset.type, str) else dataset.type
    return float(getattr(cls, '_FPS', 30)) if cls is not None else 30.0


def _step_class(step: dict):
    from mmaction.registry import TRANSFORMS
    kind = step['type']
    return TRANSFORMS.get(kind) if isinstance(kind, str) else kind


def _step_name(step: dict) -> str:
    kind = step['type']
    return kind.rsplit('.', 1)[-1] if isinstance(kind, str) else kind.__name__


def is_ava_sampler(step: dict) -> bool:
    """Whether a pipeline step samples an AVA clip around a key frame: its registered class
    is MMAction2's ``SampleAVAFrames``, umt_mm's ``UMTSampleAVAFrames`` or a subclass.

    Args:
        step (dict): A pipeline step (``dict(type=...)``).

    Returns:
        bool: Whether it is an AVA sampler.
    """
    import inspect

    from mmaction.datasets.transforms import SampleAVAFrames

    from ..datasets.ava import UMTSampleAVAFrames
    cls = _step_class(step)
    return inspect.isclass(cls) and issubclass(cls, (SampleAVAFrames, UMTSampleAVAFrames))


class KeyFrameClips:
    """The config's test clip around a key frame of an arbitrary video.

    The config's test pipeline is split at its AVA sampler (:func:`is_ava_sampler`) and
    at its decoder (the first step after it whose registered name ends in ``Decode``,
    MMAction2's naming: ``DecordDecode``, ``RawFrameDecode``, ``PyAVSparseDecode``,
    ``UMTAVAClipDecode``...). The sampler picks frames on the config's frame rate
    (:func:`config_fps`), mapped to the video's frames. When the pipeline reads videos
    (steps before the sampler open ``filename``: ``DecordInit``, ``PyAVSparseInit``...)
    those steps and its decoder run on the video; when it reads frame folders or AVA's
    per-second clips, which a video does not have, MMAction2's ``DecordDecode`` reads the
    video in their place. Every step after the decoder (``Resize``, ``FormatShape``,
    ``PackActionInputs``) runs as in ``tools/test.py``.

    Args:
        cfg (mmengine.Config): The AVA detector config.
        video (str | Path): The video.
        info (VideoInfo): Its frame count and rate (:func:`umt_mm.apis.open_video`).
        reader (decord.VideoReader, optional): An open reader of it, for pipelines that
            do not decode videos. Defaults to None (opened when needed).

    Raises:
        ValueError: The test pipeline has no AVA sampler, several, or no decoder after it.
    """

    def __init__(self, cfg, video: str | Path, info: VideoInfo, reader=None) -> None:
        from mmaction.registry import TRANSFORMS
        from mmengine.dataset import Compose

        from ..deployment.deploy_info import test_pipeline
        steps = test_pipeline(cfg)
        names = [_step_name(s) for s in steps]
        samplers = [i for i, s in enumerate(steps) if is_ava_sampler(s)]
        if len(samplers) != 1:
            raise ValueError(f'{cfg.filename}: the test pipeline needs exactly one AVA sampler '
                             '(SampleAVAFrames, UMTSampleAVAFrames or a subclass); got '
                             f'{names}')
        first = samplers[0]
        decoders = [i for i in range(first + 1, len(steps)) if names[i].endswith('Decode')]
        if not decoders:
            raise ValueError(f'{cfg.filename}: no decoding step (a *Decode transform) after '
                             f'the AVA sampler in the test pipeline {names}')
        last = decoders[0]
        self.video = str(video)
        self.info = info
        self.cfg_fps = config_fps(cfg)
        self.reads_video = first > 0
        self.sampler = TRANSFORMS.build(steps[first])
        if self.reads_video:
            self.opening = Compose(steps[:first])
            self.decoding = Compose(steps[first + 1:last + 1])
        else:
            self.opening = None
            self.decoding = Compose([dict(type='DecordDecode')])
            if reader is None:
                reader, _ = open_video(video)
        self.reader = reader
        self.transforms = Compose(steps[last + 1:])
        self.decoder_name = '+'.join(names[:first] + names[first + 1:last + 1]) \
            if self.reads_video else f'DecordDecode (for {names[last]})'

    def frame_indices(self, timestamp: int) -> np.ndarray:
        """The video's frames of the clip of the key frame at ``timestamp`` seconds.

        Args:
            timestamp (int): Seconds from the start of the video.

        Returns:
            np.ndarray: Frame indices of the video.
        """
        return self._sample(dict(timestamp=timestamp))['frame_inds']

    def _sample(self, results: dict) -> dict:
        total = int(math.ceil(self.info.num_frames * self.cfg_fps / self.info.fps))
        results.update(timestamp_start=0, fps=self.cfg_fps, total_frames=total,
                       shot_info=(0, total), start_index=0)
        results = self.sampler(results)
        inds = np.round(np.asarray(results['frame_inds']) * self.info.fps / self.cfg_fps)
        results['frame_inds'] = np.clip(inds, 0, self.info.num_frames - 1).astype(np.int64)
        results['total_frames'] = self.info.num_frames
        return results

    def __call__(self, timestamp: int, boxes: np.ndarray, video_id: str) -> dict:
        """The packed test sample of a key frame with its person boxes.

        Args:
            timestamp (int): Seconds from the start of the video.
            boxes (np.ndarray): ``(n, 5)`` pixel boxes of the video's frames and scores.
            video_id (str): The video's id.

        Returns:
            dict: ``inputs`` and ``data_samples`` (proposals and their scores).
        """
        width, height = self.info.width, self.info.height
        normalised = boxes[:, :4] / np.array([width, height, width, height], np.float32)
        results = dict(filename=self.video, modality='RGB', video_id=video_id,
                       timestamp=timestamp, img_key=f'{video_id},{timestamp:04d}',
                       # empty ground truth: PackActionInputs packs proposals only with it
                       gt_bboxes=np.zeros((0, 4), dtype=np.float32),
                       gt_labels=np.zeros((0, ), dtype=np.int64),
                       proposals=normalised.astype(np.float32),
                       proposal_scores=boxes[:, 4].astype(np.float32))
        if self.reads_video:
            results = self.opening(results)
        else:
            results['video_reader'] = self.reader
        results = self.decoding(self._sample(results))
        # pixel boxes of the decoded frames, whatever the decoder did with the proposals
        img_h, img_w = results['img_shape'][:2]
        scale = np.array([img_w / width, img_h / height] * 2, np.float32)
        results['proposals'] = (boxes[:, :4] * scale).astype(np.float32)
        return self.transforms(results)


# ---------------------------------------------------------------------------- results
@dataclass
class KeyFrameDetections:
    """The detections of one key frame.

    Attributes:
        timestamp (int): Seconds from the start of the video.
        boxes (np.ndarray): ``(n, 4)`` float32 pixel boxes ``x1, y1, x2, y2``.
        person_scores (np.ndarray): ``(n, )`` person scores.
        scores (np.ndarray): ``(n, num_classes)`` action scores (column ``c`` is action
            id ``c``; sigmoid x person score for the umt_mm AVA heads).
    """

    timestamp: int
    boxes: np.ndarray
    person_scores: np.ndarray
    scores: np.ndarray


@dataclass
class SpatioTemporalResult:
    """The detections of a video.

    Attributes:
        video (VideoInfo): The video.
        video_id (str): Its id (file name without suffix).
        config_fps (float): The frame rate the clips were sampled at.
        key_frames (list[KeyFrameDetections]): Per key frame with boxes, in time order.
        label_names (dict[int, str] | None): Action names by id; actions missing from it
            are not reported.
        action_score_thr (float): Actions below it are not reported.
        config (str | None): The detector's config file.
    """

    video: VideoInfo
    video_id: str
    config_fps: float
    key_frames: list[KeyFrameDetections] = field(default_factory=list)
    label_names: dict[int, str] | None = None
    action_score_thr: float = 0.5
    config: str | None = None

    def detections(self) -> list[dict]:
        """json-ready detections: per key frame, per box, the actions above the threshold.

        Returns:
            list[dict]: ``{timestamp, boxes: [{bbox, bbox_normalized, person_score,
            actions: [{id, name, score}]}]}``, actions by decreasing score.
        """
        width, height = self.video.width, self.video.height
        names = self.label_names
        out = []
        for frame in self.key_frames:
            entries = []
            for box, person, row in zip(frame.boxes, frame.person_scores, frame.scores):
                actions = [dict(id=int(c), name=names[c] if names else f'action {c}',
                                score=float(row[c]))
                           for c in range(1, row.shape[0])
                           if (names is None or c in names) and row[c] >= self.action_score_thr]
                actions.sort(key=lambda a: -a['score'])
                norm = [box[0] / width, box[1] / height, box[2] / width, box[3] / height]
                entries.append(dict(bbox=[round(float(v), 2) for v in box[:4]],
                                    bbox_normalized=[float(v) for v in norm],
                                    person_score=float(person), actions=actions))
            out.append(dict(timestamp=int(frame.timestamp), boxes=entries))
        return out

    def to_dict(self, checkpoint: str | None = None) -> dict:
        """The whole result as json-ready data (what ``--out-json`` writes).

        Args:
            checkpoint (str, optional): The checkpoint, recorded. Defaults to None.

        Returns:
            dict: The video, the settings and :meth:`detections`.
        """
        return dict(video=self.video.path, video_id=self.video_id, fps=self.video.fps,
                    num_frames=self.video.num_frames, width=self.video.width,
                    height=self.video.height, config=self.config, checkpoint=checkpoint,
                    config_fps=self.config_fps, action_score_thr=self.action_score_thr,
                    detections=self.detections())

    def to_csv_rows(self) -> list[list[str]]:
        """AVA csv rows ``video_id,timestamp,x1,y1,x2,y2,action_id,score`` (normalised boxes).

        Returns:
            list[list[str]]: One row per reported action of each box.
        """
        rows = []
        for det in self.detections():
            for box in det['boxes']:
                x1, y1, x2, y2 = box['bbox_normalized']
                for action in box['actions']:
                    rows.append([self.video_id, f'{det["timestamp"]:04d}', f'{x1:.3f}',
                                 f'{y1:.3f}', f'{x2:.3f}', f'{y2:.3f}', str(action['id']),
                                 f'{action["score"]:.6f}'])
        return rows


def _pixel_proposals(proposals, video_id: str, info: VideoInfo,
                     timestamps: list[int]) -> dict[int, np.ndarray]:
    found = proposals if isinstance(proposals, Mapping) else load_proposals(proposals, video_id)
    scale = np.array([info.width, info.height, info.width, info.height, 1], np.float32)
    out = {}
    for ts in timestamps:
        if ts in found:
            boxes = np.asarray(found[ts], dtype=np.float32).reshape(-1, np.shape(found[ts])[-1])
            if boxes.shape[1] == 4:
                boxes = np.concatenate([boxes, np.ones((len(boxes), 1), np.float32)], 1)
            out[ts] = boxes * scale
    return out


def _model_device(model: nn.Module) -> str:
    param = next(model.parameters(), None)
    return str(param.device) if param is not None else 'cpu'


def predict_key_frame(model: nn.Module, clips: KeyFrameClips, timestamp: int,
                      boxes: np.ndarray, video_id: str) -> np.ndarray:
    """Action scores of person boxes at a key frame (the detector's ``test_step``).

    Args:
        model (nn.Module): The AVA detector (:func:`umt_mm.apis.init_ava_detector`).
        clips (KeyFrameClips): The clips of the video.
        timestamp (int): The key frame in seconds.
        boxes (np.ndarray): ``(n, 5)`` pixel boxes and person scores.
        video_id (str): The video's id.

    Returns:
        np.ndarray: ``(n, num_classes)`` action scores.
    """
    import torch
    from mmengine.dataset import pseudo_collate
    packed = clips(timestamp, boxes, video_id)
    with torch.no_grad():
        result = model.test_step(pseudo_collate([packed]))[0]
    return result.pred_instances.scores.float().cpu().numpy()


def detect_actions(model: nn.Module, video: str | Path,
                   proposals: str | Path | Mapping[int, np.ndarray] | None = None,
                   boxes: Mapping[int, np.ndarray] | None = None,
                   det_config: str | Path | None = None,
                   det_checkpoint: str | Path | None = None, det_score_thr: float = 0.9,
                   det_cat_id: int = COCO_PERSON,
                   label_map: str | Path | Mapping[int, str] | None = None,
                   action_score_thr: float = 0.5, timestamps: Iterable[int] | None = None,
                   device: str | None = None,
                   progress: Callable[[], None] | None = None) -> SpatioTemporalResult:
    """Detect the persons' actions at every key frame (second) of a video.

    Args:
        model (nn.Module): An AVA detector from :func:`umt_mm.apis.init_ava_detector`
            (``model.cfg`` is its config).
        video (str | Path): The video (any length).
        proposals (str | Path | Mapping, optional): Person boxes: an AVA proposals pkl or
            csv (:func:`load_proposals`; the video's id is its file name without suffix),
            or ``{timestamp: (n, 4 or 5)}`` normalised boxes [+ score]. Defaults to None
            (``boxes`` or ``det_config``).
        boxes (Mapping, optional): Person boxes already found: ``{timestamp: (n, 5)}``
            pixel boxes and scores, as :func:`person_boxes` returns them. Defaults to None.
        det_config (str | Path, optional): MMDet person detector config. Defaults to None.
        det_checkpoint (str | Path, optional): Its weights. Defaults to None.
        det_score_thr (float): Lowest person score kept. Defaults to 0.9.
        det_cat_id (int): The detector's person class. Defaults to 0 (COCO).
        label_map (str | Path | Mapping, optional): Action names: ``'ava'``, an ``id: name``
            file or pbtxt, or a dict; only its actions are reported. Defaults to None
            (every action, named ``action <id>``).
        action_score_thr (float): Actions below it are not reported (the scores of
            :attr:`KeyFrameDetections.scores` are all kept). Defaults to 0.5.
        timestamps (Iterable[int], optional): Key frames in seconds. Defaults to None
            (every second, :func:`key_frame_timestamps`).
        device (str, optional): Device of the person detector. Defaults to None (the AVA
            detector's).
        progress (Callable, optional): Called once per key frame scored (and once per key
            frame searched by the person detector). Defaults to None.

    Returns:
        SpatioTemporalResult: Boxes, person scores and action scores per key frame.

    Raises:
        ValueError: Not exactly one of ``proposals``, ``boxes``, ``det_config``; a test pipeline
            without an AVA sampler (see :class:`KeyFrameClips`).
    """
    given = [name for name, value in (('proposals', proposals), ('boxes', boxes),
                                      ('det_config', det_config)) if value is not None]
    if len(given) != 1:
        raise ValueError('give the person boxes one way: proposals, boxes or det_config '
                         f'(got {", ".join(given) or "none"})')
    from mmengine.registry import init_default_scope

    from ..data import read_action_label_map
    cfg = model.cfg
    names = None
    if label_map is not None:
        names = dict(label_map) if isinstance(label_map, Mapping) else \
            read_action_label_map(label_map)
    reader, info = open_video(video)
    video_id = Path(info.path).stem
    stamps = key_frame_timestamps(info) if timestamps is None else sorted(timestamps)
    if proposals is not None:
        boxes = _pixel_proposals(proposals, video_id, info, stamps)
    elif boxes is not None:
        boxes = {int(ts): np.asarray(b, np.float32).reshape(-1, 5)
                 for ts, b in boxes.items() if int(ts) in set(stamps)}
    else:
        boxes = detect_persons(det_config, det_checkpoint, _key_frames(reader, info, stamps),
                               det_score_thr, det_cat_id, device or _model_device(model),
                               progress)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    clips = KeyFrameClips(cfg, info.path, info, reader)
    result = SpatioTemporalResult(video=info, video_id=video_id, config_fps=clips.cfg_fps,
                                  label_names=names, action_score_thr=action_score_thr,
                                  config=str(cfg.filename) if cfg.filename else None)
    model.eval()
    for ts in sorted(boxes):
        found = boxes[ts]
        if len(found):
            scores = predict_key_frame(model, clips, ts, found, video_id)
        else:
            scores = np.zeros((0, 0), np.float32)
        result.key_frames.append(KeyFrameDetections(
            timestamp=int(ts), boxes=found[:, :4].astype(np.float32),
            person_scores=found[:, 4].astype(np.float32), scores=scores))
        if progress is not None:
            progress()
    return result


__all__ = ['COCO_PERSON', 'KeyFrameClips', 'KeyFrameDetections', 'SpatioTemporalResult',
           'config_fps', 'detect_actions', 'detect_persons', 'is_ava_sampler',
           'key_frame_timestamps', 'load_proposals', 'person_boxes', 'predict_key_frame']
