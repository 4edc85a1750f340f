r"""Spatio-temporal action detection on a video with a UMT AVA detector.

Example (person boxes from an MMDet detector, as MMAction2's demo takes them)::

    python tools/demo_spatiotemporal.py demo.mp4 \
        action_detection/configs/umt-base-p16_k710-ft_16xb8-8x8x1-30e_ava22-rgb.py AVA_CKPT \
        --det-config faster-rcnn_r50_fpn_2x_coco_infer.py --det-checkpoint FASTER_RCNN_CKPT \
        --label-map ava_label_map.txt --out demo_det.mp4 --out-csv demo_det.csv \
        --out-json demo_det.json

or with person boxes from a file (``--proposals``: an AVA proposals pkl, ``'video_id,ts'``
-> ``(n, 4 or 5)`` normalised boxes [+ score], or a csv ``video_id,timestamp,x1,y1,x2,y2[,score]``
with normalised coordinates; the video id is the video's file name without suffix).

Every whole second ``t`` of the video is a key frame (AVA's 1 Hz). Its person boxes (detector
boxes of ``--det-cat-id`` with a score >= ``--det-score-thr``, or the file's) go with the clip
the recipe samples around it: the config's test sampler (``UMTSampleAVAFrames``: 8 frames at
stride 8 with the reference's offset) on the config's frame rate (the AVA dataset's ``fps``),
mapped to the video's own frame rate, then the config's test transforms after decoding and the
detector's ``test_step`` (its preprocessor, proposals extended for pooling, action score =
sigmoid x person score). Outputs: a copy of the video (same frames, same frame rate) with the
boxes and their top actions drawn around each key frame, the detections as AVA csv
(``video_id,timestamp,x1,y1,x2,y2,action_id,score``, boxes normalised) and as json.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import pickle
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from inference_cli import add_model_options, default_device, load_config, write_video_copy  # noqa: E402

_DECODERS = ('RawFrameDecode', 'DecordDecode', 'PyAVDecode', 'OpenCVDecode')
_AVA_SAMPLERS = ('UMTSampleAVAFrames', 'SampleAVAFrames')
_COLOURS = [(0, 119, 182), (0, 180, 216), (56, 176, 0), (255, 183, 3), (251, 133, 0),
            (230, 57, 70)]  # RGB, one per box (cycled)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('video', help='input video (any length)')
    parser.add_argument('config', help='UMT AVA detector config')
    parser.add_argument('checkpoint', help='its checkpoint')
    boxes = parser.add_mutually_exclusive_group(required=True)
    boxes.add_argument('--det-config', help='MMDet person detector config')
    boxes.add_argument('--proposals', help='person boxes: AVA proposals pkl or csv')
    parser.add_argument('--det-checkpoint', help='MMDet detector checkpoint')
    parser.add_argument('--det-score-thr', type=float, default=0.9,
                        help='person detection score threshold (MMAction2 demo: 0.9)')
    parser.add_argument('--det-cat-id', type=int, default=0,
                        help='category id of persons in the detector (COCO: 0)')
    parser.add_argument('--action-score-thr', type=float, default=0.5,
                        help='actions with a score below this are not reported (MMAction2 '
                        'demo: 0.5)')
    parser.add_argument('--label-map', help="action names as 'id: name' lines (AVA's "
                        'label_map.txt); actions missing from it are not reported')
    parser.add_argument('--max-labels', type=int, default=5,
                        help='top actions drawn per box')
    parser.add_argument('--out', help='output video (.mp4, .avi, .webm)')
    parser.add_argument('--out-csv', help='detections as AVA csv')
    parser.add_argument('--out-json', help='detections as json')
    add_model_options(parser)
    args = parser.parse_args(argv)
    if not (args.out or args.out_csv or args.out_json):
        parser.error('give at least one of --out, --out-csv, --out-json')
    return args


# ---------------------------------------------------------------------- inputs
def load_label_map(path: str) -> dict[int, str]:
    """``{action id: name}`` from ``'id: name'`` lines (MMAction2's AVA label map)."""
    names = {}
    for number, line in enumerate(Path(path).read_text(encoding='utf-8').splitlines(), 1):
        if not line.strip():
            continue
        head, sep, name = line.partition(':')
        if not sep or not head.strip().isdigit() or not name.strip():
            raise ValueError(f"{path}:{number}: expected 'id: name', got {line!r}")
        if int(head) in names:
            raise ValueError(f'{path}:{number}: action id {int(head)} repeats')
        names[int(head)] = name.strip()
    if not names:
        raise ValueError(f'label map {path} is empty')
    return names


def load_proposals(path: str, video_id: str) -> dict[int, np.ndarray]:
    """Person boxes of ``video_id`` from an AVA proposals pkl or csv.

    Returns:
        dict: ``{timestamp: (n, 5) float32}``, normalised ``x1, y1, x2, y2`` and a score
        (1 when the file has none).
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


def detect_persons(det_config: str, det_checkpoint: str | None, frames, num_frames: int,
                   score_thr: float, cat_id: int, device: str) -> dict[int, np.ndarray]:
    """Person boxes ``{timestamp: (n, 5)}`` (pixels + score) of key frames by MMDet.

    Args:
        det_config (str): MMDet config.
        det_checkpoint (str, optional): Its weights (None: random, with a warning).
        frames (Iterable): ``(timestamp, BGR frame)`` pairs, decoded one at a time so that
            long videos are never held in memory.
        num_frames (int): How many pairs (for the progress bar).
        score_thr (float): Lowest person score kept.
        cat_id (int): The person class of the detector.
        device (str): Torch device.
    """
    from mmdet.apis import inference_detector, init_detector
    from mmengine.utils import ProgressBar
    if det_checkpoint is None:
        print('[demo-st] WARNING: no --det-checkpoint, the person detector has random weights')
    model = init_detector(det_config, det_checkpoint, device=device)
    out = {}
    print(f'[demo-st] detecting persons on {num_frames} key frames')
    bar = ProgressBar(num_frames)
    for ts, frame in frames:
        pred = inference_detector(model, frame).pred_instances.cpu().numpy()
        keep = (pred.labels == cat_id) & (pred.scores >= score_thr)
        out[ts] = np.concatenate([pred.bboxes[keep], pred.scores[keep, None]],
                                 axis=1).astype(np.float32)
        bar.update()
    print()
    del model
    return out


# ---------------------------------------------------------------------- detector
def config_fps(cfg) -> float:
    """Frame rate the AVA config samples at (its test dataset's ``fps``, MMAction2's 30)."""
    dataset = cfg.test_dataloader.dataset
    if dataset.get('fps') is not None:
        return float(dataset.fps)
    from mmaction.registry import DATASETS
    cls = DATASETS.get(dataset.type)
    return float(getattr(cls, '_FPS', 30)) if cls is not None else 30.0


class KeyFrameClips:
    """The recipe's test clip around a key frame of an arbitrary video.

    The config's test pipeline is split at its AVA sampler and at its decoder: the sampler
    picks frame indices on the config's frame rate, which are mapped to the video's frames;
    the steps after the decoder (resize, ``FormatShape``, ``PackActionInputs``) run as in
    ``tools/test.py``.

    Args:
        cfg (mmengine.Config): The AVA detector config.
        video_fps (float): The video's frame rate.
        num_frames (int): The video's frame count.
    """

    def __init__(self, cfg, video_fps: float, num_frames: int) -> None:
        from mmaction.registry import TRANSFORMS
        from mmengine.dataset import Compose
        steps = [dict(s) for s in cfg.test_dataloader.dataset.pipeline]
        samplers = [i for i, s in enumerate(steps) if s['type'] in _AVA_SAMPLERS]
        decoders = [i for i, s in enumerate(steps) if s['type'] in _DECODERS]
        if len(samplers) != 1 or len(decoders) != 1 or decoders[0] < samplers[0]:
            raise ValueError('the test pipeline needs one AVA sampler '
                             f'({", ".join(_AVA_SAMPLERS)}) followed by one decoder '
                             f'({", ".join(_DECODERS)}); got {[s["type"] for s in steps]}')
        self.sampler = TRANSFORMS.build(steps[samplers[0]])
        self.transforms = Compose(steps[decoders[0] + 1:])
        self.cfg_fps = config_fps(cfg)
        self.video_fps = float(video_fps)
        self.num_frames = int(num_frames)

    def frame_indices(self, timestamp: int) -> np.ndarray:
        """The video's frames of the clip of the key frame at ``timestamp`` seconds."""
        total = int(math.ceil(self.num_frames * self.cfg_fps / self.video_fps))
        results = self.sampler(dict(timestamp=timestamp, timestamp_start=0, fps=self.cfg_fps,
                                    total_frames=total, shot_info=(0, total), start_index=0))
        inds = np.round(np.asarray(results['frame_inds']) * self.video_fps / self.cfg_fps)
        return np.clip(inds, 0, self.num_frames - 1).astype(np.int64)

    def pack(self, frames: np.ndarray, boxes: np.ndarray, timestamp: int, video_id: str,
             frame_inds: np.ndarray) -> dict:
        """Run the post-decoding transforms on RGB ``frames`` with pixel ``boxes`` (n, 5)."""
        height, width = frames.shape[1:3]
        results = dict(imgs=list(frames), img_shape=(height, width),
                       original_shape=(height, width), frame_inds=frame_inds,
                       clip_len=len(frame_inds), num_clips=1, modality='RGB',
                       # empty ground truth: PackActionInputs packs proposals only with it
                       gt_bboxes=np.zeros((0, 4), dtype=np.float32),
                       gt_labels=np.zeros((0, ), dtype=np.int64),
                       proposals=boxes[:, :4].astype(np.float32),
                       proposal_scores=boxes[:, 4].astype(np.float32),
                       video_id=video_id, timestamp=timestamp,
                       img_key=f'{video_id},{timestamp:04d}', fps=self.cfg_fps,
                       crop_quadruple=np.array([0, 0, 1, 1], dtype=np.float32))
        return self.transforms(results)


def predict_key_frame(model, clips: KeyFrameClips, reader, timestamp: int, boxes: np.ndarray,
                      video_id: str) -> np.ndarray:
    """Action scores ``(n, num_classes)`` of pixel ``boxes`` (n, 5) at ``timestamp``."""
    import torch
    from mmengine.dataset import pseudo_collate
    inds = clips.frame_indices(timestamp)
    frames = reader.get_batch(list(inds)).asnumpy()
    packed = clips.pack(frames, boxes, timestamp, video_id, inds)
    with torch.no_grad():
        result = model.test_step(pseudo_collate([packed]))[0]
    return result.pred_instances.scores.float().cpu().numpy()


# ---------------------------------------------------------------------- outputs
def build_detections(boxes: dict, scores: dict, size: tuple[int, int], names: dict | None,
                     action_thr: float) -> list[dict]:
    """json-ready detections: per timestamp, per box, actions above ``action_thr``."""
    width, height = size
    out = []
    for ts in sorted(boxes):
        entries = []
        for box, row in zip(boxes[ts], scores.get(ts, np.zeros((0, 0)))):
            actions = [dict(id=int(c), name=names[c] if names else f'action {c}',
                            score=float(row[c]))
                       for c in range(1, row.shape[0])
                       if (names is None or c in names) and row[c] >= action_thr]
            actions.sort(key=lambda a: -a['score'])
            norm = [box[0] / width, box[1] / height, box[2] / width, box[3] / height]
            entries.append(dict(bbox=[round(float(v), 2) for v in box[:4]],
                                bbox_normalized=[float(v) for v in norm],
                                person_score=float(box[4]), actions=actions))
        out.append(dict(timestamp=int(ts), boxes=entries))
    return out


def write_csv(path: str, video_id: str, detections: list[dict]) -> int:
    """AVA csv rows ``video_id,timestamp,x1,y1,x2,y2,action_id,score``; returns the count."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with open(path, 'w', newline='') as f:
        writer = csv.writer(f)
        for det in detections:
            for box in det['boxes']:
                x1, y1, x2, y2 = box['bbox_normalized']
                for action in box['actions']:
                    writer.writerow([video_id, f'{det["timestamp"]:04d}', f'{x1:.3f}',
                                     f'{y1:.3f}', f'{x2:.3f}', f'{y2:.3f}', action['id'],
                                     f'{action["score"]:.6f}'])
                    count += 1
    return count


def draw_video(reader, out: str, detections: list[dict], fps: float, max_labels: int) -> int:
    """Copy the video with the boxes and top actions of the nearest key frame on each frame.

    Returns:
        int: Frames written (the input's frame count).
    """
    import cv2
    height, width = reader[0].shape[:2]
    by_ts = {d['timestamp']: d['boxes'] for d in detections}
    stamps = np.array(sorted(by_ts)) if by_ts else np.zeros(0)
    scale = max(0.4, min(height, width) / 480)
    font, thick = cv2.FONT_HERSHEY_SIMPLEX, max(1, round(scale * 1.5))
    line_h = int(18 * scale) + 4

    def draw(index: int, frame: np.ndarray) -> None:
        if not stamps.size:
            return
        ts = int(stamps[np.argmin(np.abs(stamps - index / fps))])
        for k, box in enumerate(by_ts[ts]):
            colour = _COLOURS[k % len(_COLOURS)][::-1]
            x1, y1, x2, y2 = (int(round(v)) for v in box['bbox'])
            cv2.rectangle(frame, (x1, y1), (x2, y2), colour, thick + 1)
            for j, action in enumerate(box['actions'][:max_labels]):
                text = f'{action["name"]}: {action["score"]:.2f}'
                (tw, th), _ = cv2.getTextSize(text, font, 0.45 * scale, thick)
                org = (max(0, x1), max(th + 2, y1 + line_h * (j + 1)))
                cv2.rectangle(frame, (org[0], org[1] - th - 3), (org[0] + tw + 4, org[1] + 3),
                              colour, -1)
                cv2.putText(frame, text, (org[0] + 2, org[1]), font, 0.45 * scale,
                            (255, 255, 255), thick, cv2.LINE_AA)

    print(f'[demo-st] writing {len(reader)} frames to {out}')
    return write_video_copy(reader, out, fps, draw)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    import decord
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint
    from mmengine.utils import ProgressBar

    import umt_mm  # noqa: F401  (registers modules, applies compat fixes)

    if not Path(args.video).is_file():
        raise FileNotFoundError(f'video {args.video} does not exist')
    device = default_device(args.device)
    cfg = load_config(args.config, args.cfg_options)
    names = load_label_map(args.label_map) if args.label_map else None
    video_id = Path(args.video).stem
    reader = decord.VideoReader(args.video, num_threads=1)
    num_frames, fps = len(reader), float(reader.get_avg_fps()) or 25.0
    height, width = reader[0].shape[:2]
    timestamps = list(range(0, int((num_frames - 1) / fps) + 1))
    print(f'[demo-st] {args.video}: {num_frames} frames at {fps:.2f} fps ({width}x{height}), '
          f'{len(timestamps)} key frames (every second)')

    # person boxes in pixels with their scores, per timestamp
    if args.proposals:
        found = load_proposals(args.proposals, video_id)
        scale = np.array([width, height, width, height, 1], dtype=np.float32)
        boxes = {ts: found[ts] * scale for ts in timestamps if ts in found}
    else:
        key_frames = ((ts, np.ascontiguousarray(
            reader[min(int(round(ts * fps)), num_frames - 1)].asnumpy()[..., ::-1]))
            for ts in timestamps)
        boxes = detect_persons(args.det_config, args.det_checkpoint, key_frames,
                               len(timestamps), args.det_score_thr, args.det_cat_id, device)

    # the UMT AVA detector
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    from mmaction.registry import MODELS
    model = MODELS.build(cfg.model)
    load_checkpoint(model, args.checkpoint, map_location='cpu')
    model.to(device).eval()
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    clips = KeyFrameClips(cfg, fps, num_frames)
    print(f'[demo-st] clips of the config: {clips.sampler!r} at {clips.cfg_fps:g} fps; '
          f'{sum(len(b) for b in boxes.values())} person boxes on {len(boxes)} key frames')
    scores = {}
    bar = ProgressBar(len(boxes))
    for ts in sorted(boxes):
        if len(boxes[ts]):
            scores[ts] = predict_key_frame(model, clips, reader, ts, boxes[ts], video_id)
        bar.update()
    print()
    detections = build_detections(boxes, scores, (width, height), names, args.action_score_thr)
    result = dict(video=str(args.video), video_id=video_id, fps=fps, num_frames=num_frames,
                  width=width, height=height, config=str(args.config),
                  checkpoint=str(args.checkpoint), config_fps=clips.cfg_fps,
                  action_score_thr=args.action_score_thr, detections=detections)
    if args.out_json:
        Path(args.out_json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out_json).write_text(json.dumps(result, indent=1) + '\n')
        print(f'[demo-st] wrote {args.out_json}')
    if args.out_csv:
        rows = write_csv(args.out_csv, video_id, detections)
        print(f'[demo-st] wrote {args.out_csv} ({rows} rows)')
    if args.out:
        frames = draw_video(reader, args.out, detections, fps, args.max_labels)
        print(f'[demo-st] wrote {args.out} ({frames} frames)')
    return result


if __name__ == '__main__':
    main()
