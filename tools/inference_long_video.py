r"""Recognise actions over a whole (long) video: windows through the recipe's test pipeline.

Example::

    python tools/inference_long_video.py video.mp4 CONFIG CHECKPOINT \
        --window 2 --stride 1 --label-map k400 --topk 5 \
        --out-json pred.json --out-plot timeline.png --out-video overlay.mp4

CONFIG is a config file or a model name (its label map is then the default); the checkpoint
loads strictly (``--non-strict``: the matching tensors only). The video is cut into windows of
``--window`` seconds every ``--stride`` seconds (the last window ends at the last frame). Each
window goes through the config's test pipeline (``test_pipeline``, else
``test_dataloader.dataset.pipeline``; ``--views CLIPSxCROPS`` changes its views) as if it were
the whole video, and through the model's ``test_step`` (``umt_mm.apis.recognize_video``): the
score of a window is what ``tools/test.py`` predicts for a clip holding exactly those frames
(multi-view averaging as the config's ``average_clips``). Outputs: the top-k classes of every
window as json (with the plotted series), a timeline PNG of the top classes' scores over
time, and optionally a copy of the video with the current window's top-k drawn on every frame.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from umt_mm.apis import init_recognizer, recognize_video
from umt_mm.apis.cli_options import add_model_options
from umt_mm.apis.model_loading import default_device, load_config
from umt_mm.apis.precision import prepare_inference
from umt_mm.apis.recognition import class_names, default_label_map
from umt_mm.engine.progress import ProgressReporter
from umt_mm.visualization import plot_timeline, write_labelled_copy


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('video', help='video file (mp4, avi, webm, ...)')
    parser.add_argument('config', help='recognizer config file or model name')
    parser.add_argument('checkpoint', help='checkpoint file (umt_mm layout)')
    parser.add_argument('--window', type=float, default=None,
                        help='window length in seconds (default: the whole video)')
    parser.add_argument('--stride', type=float, default=None,
                        help='seconds between window starts (default: --window)')
    parser.add_argument('--views', help="test views as CLIPSxCROPS, e.g. '1x1' (default: the "
                        "config's test pipeline)")
    parser.add_argument('--label-map', help='bundled label map name (k400, ...) or a file with '
                        'one class name per line (default: the model name\'s label map)')
    parser.add_argument('--topk', type=int, default=5, help='classes kept per window')
    parser.add_argument('--plot-classes', type=int, default=5,
                        help='classes drawn on the timeline: those with the highest peak score')
    parser.add_argument('--out-json', required=True, help='per-window top-k (json)')
    parser.add_argument('--out-plot', help='timeline plot (png)')
    parser.add_argument('--out-video', help='copy of the video with the top-k of the current '
                        'window drawn (.mp4, .avi, .webm)')
    add_model_options(parser)
    args = parser.parse_args(argv)
    if args.topk < 1 or args.plot_classes < 1:
        parser.error('--topk and --plot-classes must be >= 1')
    if args.stride is not None and args.window is None:
        parser.error('--stride needs --window')
    return args


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    device = default_device(args.device)
    label_map = args.label_map or default_label_map(args.config)
    names = class_names(cfg, label_map)
    print(f'[long-video] building the model of {args.config} on {device}')
    model = init_recognizer(cfg, args.checkpoint, device=device, strict=not args.non_strict,
                            opt_out='--non-strict')
    choice = prepare_inference(model, args.precision, args.backend, args.threads)
    print(f'[long-video] {choice.describe()}')
    print(f'[long-video] recognising {args.video}')
    windows_done = ProgressReporter(what='windows', label='[long-video]', stream=sys.stdout)
    predictions = recognize_video(model, args.video, args.window, args.stride,
                                  views=args.views, progress=windows_done.update)
    windows_done.finish()
    windows = [p.window for p in predictions]
    scores = np.stack([p.scores for p in predictions])
    total, fps = windows[-1].stop, windows[-1].fps
    print(f'[long-video] {args.video}: {total} frames at {fps:.2f} fps, {len(windows)} windows')
    num_classes = scores.shape[1]
    if names is None:
        names = [str(i) for i in range(num_classes)]
    elif len(names) != num_classes:
        raise ValueError(f'label map {label_map} has {len(names)} names but the model '
                         f'predicts {num_classes} classes')
    k = min(args.topk, num_classes)
    top = np.argsort(-scores, axis=1, kind='stable')[:, :k]
    plotted = np.argsort(-scores.max(axis=0), kind='stable')[:min(args.plot_classes,
                                                                   num_classes)]
    times = np.array([w.center_sec for w in windows])
    result = dict(
        video=str(args.video), config=str(args.config), checkpoint=str(args.checkpoint),
        fps=fps, total_frames=total, window_sec=args.window, stride_sec=args.stride,
        views=args.views,
        windows=[dict(index=w.index, **w.as_dict(),
                      topk=[dict(label=int(c), name=names[c], score=float(scores[i, c]))
                            for c in top[i]])
                 for i, w in enumerate(windows)],
        timeline=dict(times_sec=times.round(4).tolist(),
                      classes=[dict(label=int(c), name=names[c],
                                    scores=scores[:, c].astype(float).tolist())
                               for c in plotted]),
        plot=args.out_plot)
    Path(args.out_json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out_json).write_text(json.dumps(result, indent=1) + '\n')
    print(f'[long-video] wrote {args.out_json}')
    for entry in result['windows']:
        best = entry['topk'][0]
        print(f"  {entry['start_sec']:8.2f}-{entry['end_sec']:8.2f}s  {best['name']}: "
              f"{best['score']:.3f}")
    if args.out_plot:
        plot_timeline(args.out_plot, times, scores[:, plotted].T, [names[c] for c in plotted],
                      f'{Path(args.video).name}: top {len(plotted)} classes')
        print(f'[long-video] wrote {args.out_plot}')
    if args.out_video:
        centres = np.array([(w.start + w.stop) / 2 for w in windows])

        def frame_lines(index: int) -> list[str]:
            current = int(np.argmin(np.abs(centres - (index + 0.5))))
            win = windows[current]
            return [f'{win.start_sec:.1f}-{win.stop_sec:.1f}s'] + [
                f'{names[c]}: {scores[current, c]:.3f}' for c in top[current]]

        print(f'[long-video] writing {args.out_video}')
        frames_done = ProgressReporter(total, what='frames', label='[long-video]',
                                       stream=sys.stdout)
        frames = write_labelled_copy(args.video, args.out_video, frame_lines,
                                     option='--out-video', progress=frames_done.update)
        frames_done.finish()
        print(f'[long-video] wrote {args.out_video} ({frames} frames)')
    return result


if __name__ == '__main__':
    main()
