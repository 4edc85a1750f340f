r"""Spatio-temporal action detection on a video with a UMT AVA detector.

Example (person boxes from an MMDet detector, as MMAction2's demo takes them)::

    python tools/demo_spatiotemporal.py demo.mp4 \
        action_detection/configs/umt-base-p16_k710-ft_16xb8-8x8x1-30e_ava22-rgb.py AVA_CKPT \
        --det-config faster-rcnn_r50_fpn_2x_coco_infer.py --det-checkpoint FASTER_RCNN_CKPT \
        --label-map ava --out demo_det.mp4 --out-csv demo_det.csv --out-json demo_det.json

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

The checkpoint loads strictly: an official UMT AVA file that was never converted fails with
the converter command (``--non-strict`` loads the matching tensors only). ``--label-map`` is
``ava`` (the bundled 60 AVA v2.2 actions) or an ``id: name`` / pbtxt file; with a model name
as the config it defaults to the model's. Library: ``umt_mm.apis.detect_actions``.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

from umt_mm.apis import (
    default_device,
    detect_actions,
    get_model_info,
    init_ava_detector,
    load_proposals,
    open_video,
    person_boxes,
)
from umt_mm.apis.cli_options import add_model_options
from umt_mm.apis.detection import key_frame_timestamps
from umt_mm.apis.precision import prepare_inference
from umt_mm.engine.progress import ProgressReporter
from umt_mm.visualization import draw_action_boxes, nearest_key_frame, write_video_copy


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('video', help='input video (any length)')
    parser.add_argument('config', help='UMT AVA detector config (or model name)')
    parser.add_argument('checkpoint', help='its checkpoint (umt_mm layout)')
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
    parser.add_argument('--label-map', help="action names: 'ava' (bundled) or a file of "
                        "'id: name' lines (AVA's label_map.txt) or a pbtxt; actions missing "
                        'from it are not reported')
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


def draw_video(reader, out: str, detections: list[dict], fps: float, max_labels: int) -> int:
    """Copy the video with the boxes and top actions of the nearest key frame on each frame.

    Returns:
        int: Frames written (the input's frame count).
    """
    stamps = [d['timestamp'] for d in detections]
    by_position = [d['boxes'] for d in detections]

    def draw(index, frame) -> None:
        position = nearest_key_frame(stamps, index, fps)
        if position is not None:
            draw_action_boxes(frame, by_position[position], max_labels)

    print(f'[demo-st] writing {len(reader)} frames to {out}')
    bar = ProgressReporter(len(reader), what='frames', label='[demo-st]', stream=sys.stdout)
    written = write_video_copy(reader, out, fps, draw, progress=bar.update)
    bar.finish()
    return written


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    device = default_device(args.device)
    reader, info = open_video(args.video)
    video_id = Path(info.path).stem
    timestamps = key_frame_timestamps(info)
    fps_note = '' if info.fps_reported else ' (none reported: assumed)'
    print(f'[demo-st] {args.video}: {info.num_frames} frames at {info.fps:.2f} fps{fps_note} '
          f'({info.width}x{info.height}), {len(timestamps)} key frames (every second)')
    model = init_ava_detector(args.config, args.checkpoint, device=device,
                              strict=not args.non_strict, cfg_options=args.cfg_options,
                              opt_out='--non-strict')
    choice = prepare_inference(model, args.precision, args.backend, args.threads)
    print(f'[demo-st] {choice.describe()}')
    label_map = args.label_map
    if label_map is None and not Path(args.config).is_file():  # a model name: its label map
        label_map = get_model_info(args.config).label_map

    # person boxes: a file's (normalised) or the detector's (pixels)
    found = dict(proposals=None, boxes=None)
    if args.proposals:
        found['proposals'] = load_proposals(args.proposals, video_id)
        count = sum(ts in found['proposals'] for ts in timestamps)
    else:
        print(f'[demo-st] detecting persons on {len(timestamps)} key frames')
        if args.det_checkpoint is None:
            print('[demo-st] WARNING: no --det-checkpoint, the person detector has random '
                  'weights')
        bar = ProgressReporter(len(timestamps), what='key frames', label='[demo-st] persons',
                               stream=sys.stdout)
        found['boxes'] = person_boxes(args.video, args.det_config, args.det_checkpoint,
                                      timestamps, args.det_score_thr, args.det_cat_id, device,
                                      progress=bar.update)
        bar.finish()
        count = len(found['boxes'])
    print(f'[demo-st] scoring the actions of the person boxes on {count} key frames')
    bar = ProgressReporter(count, what='key frames', label='[demo-st] actions',
                           stream=sys.stdout)
    result = detect_actions(model, args.video, **found, label_map=label_map,
                            action_score_thr=args.action_score_thr, device=device,
                            progress=bar.update)
    bar.finish()
    print(f'[demo-st] clips of the config at {result.config_fps:g} fps; '
          f'{sum(len(k.boxes) for k in result.key_frames)} person boxes on '
          f'{len(result.key_frames)} key frames')
    output = result.to_dict(checkpoint=str(args.checkpoint))
    output['config'] = str(args.config)
    output['precision'] = choice.as_dict()
    if args.out_json:
        Path(args.out_json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out_json).write_text(json.dumps(output, indent=1) + '\n')
        print(f'[demo-st] wrote {args.out_json}')
    if args.out_csv:
        rows = result.to_csv_rows()
        Path(args.out_csv).parent.mkdir(parents=True, exist_ok=True)
        with open(args.out_csv, 'w', newline='') as f:
            csv.writer(f).writerows(rows)
        print(f'[demo-st] wrote {args.out_csv} ({len(rows)} rows)')
    if args.out:
        frames = draw_video(reader, args.out, output['detections'], info.fps, args.max_labels)
        print(f'[demo-st] wrote {args.out} ({frames} frames)')
    return output


def cli(argv: list[str] | None = None) -> int:
    """``main`` with failures as one line on stderr and exit code 2."""
    from umt_mm.converters.checkpoint_layouts import CheckpointMismatchError
    try:
        main(argv)
    except (CheckpointMismatchError, FileNotFoundError, ValueError, RuntimeError) as error:
        print(f'[demo-st] failed: {error}', file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(cli())
