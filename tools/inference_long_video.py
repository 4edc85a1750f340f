r"""Recognise actions over a whole (long) video: windows through the recipe's test pipeline.

Example::

    python tools/inference_long_video.py video.mp4 CONFIG CHECKPOINT \
        --window 2 --stride 1 --label-map label_map_k400.txt --topk 5 \
        --out-json pred.json --out-plot timeline.png --out-video overlay.mp4

The video is cut into windows of ``--window`` seconds every ``--stride`` seconds (the last
window ends at the last frame). Each window goes through the config's test pipeline
(``test_pipeline``, else ``test_dataloader.dataset.pipeline``; ``--views CLIPSxCROPS``
changes its views) as if it were the whole video, and through the model's ``test_step``: the
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from inference_cli import add_model_options, default_device, load_config, write_video_copy  # noqa: E402
from video_windows import WindowedPipeline, add_window_options, plan_windows  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('video', help='video file (mp4, avi, webm, ...)')
    parser.add_argument('config', help='recognizer config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    add_window_options(parser)
    parser.add_argument('--views', help="test views as CLIPSxCROPS, e.g. '1x1' (default: the "
                        "config's test pipeline)")
    parser.add_argument('--label-map', help='class names, one per line (line i is class i)')
    parser.add_argument('--topk', type=int, default=5, help='classes kept per window')
    parser.add_argument('--plot-classes', type=int, default=5,
                        help='classes drawn on the timeline: those with the highest peak score')
    parser.add_argument('--out-json', required=True, help='per-window top-k (json)')
    parser.add_argument('--out-plot', help='timeline plot (png)')
    parser.add_argument('--out-video', help='copy of the video with the top-k of the current '
                        'window drawn (.mp4, .avi, .webm)')
    add_model_options(parser)
    return parser.parse_args(argv)


def predict_windows(model, pipeline: WindowedPipeline, video: str, windows) -> np.ndarray:
    """Class scores ``(num_windows, num_classes)`` of ``windows`` of ``video``."""
    import torch
    from mmengine.dataset import pseudo_collate
    from mmengine.utils import ProgressBar
    opened = pipeline.open(video)
    scores = []
    bar = ProgressBar(len(windows))
    for window in windows:
        data = pseudo_collate([pipeline.window(opened, window)])
        with torch.no_grad():
            result = model.test_step(data)[0]
        scores.append(result.pred_score.float().cpu().numpy())
        bar.update()
    print()
    return np.stack(scores)


def plot_timeline(path: str, times: np.ndarray, series: np.ndarray, names: list[str],
                  title: str) -> None:
    """Save the scores ``series`` (classes x windows) over ``times`` (seconds) as a PNG."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(10, 4), dpi=100)
    for name, values in zip(names, series):
        ax.plot(times, values, marker='o', markersize=3, label=name)
    ax.set_xlabel('time (s, window centre)')
    ax.set_ylabel('score')
    ax.set_ylim(0, max(1e-6, float(series.max()) * 1.05) if series.size else 1)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc='upper right', fontsize=8)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def draw_overlay(video: str, out: str, windows, lines: list[list[str]]) -> int:
    """Copy ``video`` with the lines of the window whose centre is nearest drawn on each frame.

    Returns:
        int: Frames written (the input's frame count).
    """
    import cv2
    import decord
    from demo import MIN_OUT_SIDE
    reader = decord.VideoReader(video, num_threads=1)
    fps = float(reader.get_avg_fps()) or 25.0
    height, width = reader[0].shape[:2]
    enlarge = max(1.0, MIN_OUT_SIDE / min(height, width))
    height, width = round(height * enlarge), round(width * enlarge)
    centres = np.array([(w.start + w.stop) / 2 for w in windows])
    scale = max(height, width) / 640
    font_scale, thickness = max(0.3, 0.5 * scale), max(1, round(scale))
    line_height = int(22 * max(scale, 0.6))

    def draw(index: int, frame: np.ndarray) -> None:
        current = int(np.argmin(np.abs(centres - (index + 0.5))))
        text = [f'{windows[current].start_sec:.1f}-{windows[current].stop_sec:.1f}s'
                ] + lines[current]
        text_w = max(cv2.getTextSize(t, cv2.FONT_HERSHEY_SIMPLEX, font_scale, thickness)[0][0]
                     for t in text)
        panel = frame[:line_height * len(text) + 8, :text_w + 12]
        panel[:] = (panel * 0.35).astype(np.uint8)
        for k, t in enumerate(text):
            cv2.putText(frame, t, (6, line_height * (k + 1)), cv2.FONT_HERSHEY_SIMPLEX,
                        font_scale, (255, 255, 255), thickness, cv2.LINE_AA)

    return write_video_copy(reader, out, fps, draw, size=(width, height), option='--out-video')


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    from demo import test_pipeline_cfg
    from mmaction.apis import init_recognizer
    from mmengine.registry import init_default_scope

    import umt_mm  # noqa: F401  (registers modules, applies compat fixes)
    from umt_mm.datasets import read_label_map

    if not Path(args.video).is_file():
        raise FileNotFoundError(f'video {args.video} does not exist')
    if args.topk < 1 or args.plot_classes < 1:
        raise ValueError('--topk and --plot-classes must be >= 1')
    cfg = load_config(args.config, args.cfg_options)
    device = default_device(args.device)
    head = cfg.model.get('cls_head') or {}
    names = read_label_map(args.label_map, head.get('num_classes')) if args.label_map else None
    print(f'[long-video] building the model of {args.config} on {device}')
    model = init_recognizer(cfg, args.checkpoint, device=device)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    pipeline = WindowedPipeline(test_pipeline_cfg(cfg, args.views))
    opened = pipeline.open(args.video)
    total, fps = int(opened['total_frames']), float(opened['avg_fps'])
    windows = plan_windows(total, fps, args.window, args.stride)
    print(f'[long-video] {args.video}: {total} frames at {fps:.2f} fps, {len(windows)} windows')
    scores = predict_windows(model, pipeline, args.video, windows)
    num_classes = scores.shape[1]
    if names is None:
        names = [str(i) for i in range(num_classes)]
    elif len(names) != num_classes:
        raise ValueError(f'label map {args.label_map} has {len(names)} names but the model '
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
        windows=[dict(index=w.index, start_frame=w.start, end_frame=w.stop,
                      start_sec=round(w.start_sec, 4), end_sec=round(w.stop_sec, 4),
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
        lines = [[f'{names[c]}: {scores[i, c]:.3f}' for c in top[i]] for i in range(len(windows))]
        frames = draw_overlay(args.video, args.out_video, windows, lines)
        print(f'[long-video] wrote {args.out_video} ({frames} frames)')
    return result


if __name__ == '__main__':
    main()
