"""Classify one video with a trained umt_mm / MMAction2 recognizer and print the top-5 labels.

Example::

    python tools/demo.py demo.mp4 CONFIG CHECKPOINT --label-map label_map_k400.txt \
        --views 4x3 --out demo_out.mp4

The video (mp4, avi, webm: anything decord reads) goes through the config's test pipeline
(``test_pipeline``, else ``test_dataloader.dataset.pipeline``) and MMAction2's
``inference_recognizer``; the multi-view prediction is the config's ``average_clips``
(probabilities averaged over views for the UMT recipes). ``--views CLIPSxCROPS`` changes the
number of temporal clips and spatial crops of that pipeline. ``--out`` writes a copy of the
video (same frames, same frame rate; enlarged to a short side of 240 px if smaller) with the top
labels drawn on every frame. ``--true-label`` (a class name of the label map or a class
index) adds the true class: printed and drawn above the top labels with its score and rank,
whether the top-1 prediction is right, and the true class marked among the top labels.
"""
from __future__ import annotations

import argparse
import copy
import re
from pathlib import Path

import numpy as np
from mmengine.config import DictAction

_SAMPLERS = ('UMTSampleFrames', 'SampleFrames', 'UniformSample', 'UniformSampleFrames')
_FOURCC = {'.mp4': 'mp4v', '.avi': 'MJPG', '.webm': 'VP80', '.mkv': 'mp4v'}
MIN_OUT_SIDE = 240  # the labelled copy's short side is at least this many pixels


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('video', help='video file (mp4, avi, webm, ...)')
    parser.add_argument('config', help='recognizer config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--label-map', help='text file with one class name per line '
                        '(line i is class i); without it classes are printed as numbers')
    parser.add_argument('--views', help="test views as CLIPSxCROPS, e.g. '4x3' or '1x1' "
                        "(default: the config's test pipeline)")
    parser.add_argument('--topk', type=int, default=5, help='how many labels to print')
    parser.add_argument('--true-label', metavar='NAME|INDEX',
                        help='the true class of the video (a name of the label map or a class '
                        'index): printed and drawn beside the prediction')
    parser.add_argument('--out', help='write a copy of the video with the labels drawn '
                        '(.mp4, .avi or .webm)')
    parser.add_argument('--device', default=None,
                        help="'cpu' or 'cuda:0' (default: cuda:0 when available)")
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value as in tools/test.py')
    return parser.parse_args()


def test_pipeline_cfg(cfg, views: str | None = None) -> list[dict]:
    """The config's test pipeline, with ``views`` (``'CLIPSxCROPS'``) applied.

    Args:
        cfg (mmengine.Config): The recognizer config.
        views (str, optional): ``'4x3'``-style view count. Defaults to None (unchanged).

    Returns:
        list[dict]: Transform configs for ``mmengine.dataset.Compose``.
    """
    if 'test_pipeline' in cfg:
        pipeline = copy.deepcopy(cfg.test_pipeline)
    elif 'test_dataloader' in cfg:
        pipeline = copy.deepcopy(cfg.test_dataloader.dataset.pipeline)
    else:
        raise KeyError('the config has neither test_pipeline nor test_dataloader')
    pipeline = [dict(step) for step in pipeline]
    if views is None:
        return pipeline
    match = re.fullmatch(r'(\d+)x(\d+)', views)
    if not match or min(int(match[1]), int(match[2])) < 1:
        raise ValueError(f"--views must look like '4x3' (clips x crops), got {views!r}")
    clips, crops = int(match[1]), int(match[2])
    samplers = [s for s in pipeline if s['type'] in _SAMPLERS]
    if not samplers:
        raise ValueError(f'--views: no frame sampler ({", ".join(_SAMPLERS)}) in the test '
                         'pipeline')
    for step in samplers:
        step['num_clips'] = clips
        step['test_mode'] = True
    for i, step in enumerate(pipeline):
        if step['type'] == 'UMTMultiCrop':
            step['num_crops'] = crops
        elif step['type'] in ('ThreeCrop', 'TenCrop', 'CenterCrop', 'UMTCenterCrop'):
            size = step['crop_size']
            size = size if isinstance(size, int) else size[0]
            pipeline[i] = (dict(type='UMTMultiCrop', crop_size=size, num_crops=crops)
                           if crops != 1 or step['type'] in ('ThreeCrop', 'TenCrop')
                           else step)
    return pipeline


def resolve_true_label(true_label: str, names: list[str]) -> int:
    """The class index of ``true_label``, a class name or an index.

    Args:
        true_label (str): A name in ``names`` or an integer in ``[0, len(names))``.
        names (list[str]): Class names (line i of the label map is class i).

    Returns:
        int: The class index.

    Raises:
        ValueError: If ``true_label`` is neither a class name nor a valid index.
    """
    if true_label in names:
        return names.index(true_label)
    if re.fullmatch(r'\d+', true_label.strip()):
        index = int(true_label)
        if index < len(names):
            return index
        raise ValueError(f'--true-label {true_label}: class index out of range (the model '
                         f'has {len(names)} classes)')
    raise ValueError(f'--true-label {true_label!r} is neither a class name of the label map nor '
                     'a class index')


def result_lines(scores, names: list[str], topk: int = 5,
                 true_index: int | None = None) -> tuple[list[str], str | None]:
    """The top-k lines (``name: score``) and the true-class line, as printed and drawn.

    Args:
        scores (torch.Tensor): Class scores, shape ``(num_classes,)``.
        names (list[str]): Class names.
        topk (int): How many top classes. Defaults to 5.
        true_index (int, optional): The true class. Defaults to None (no true-class line; no
            mark).

    Returns:
        tuple[list[str], str | None]: The top-k lines, the one of the true class ending in
        ``' <- true'``, and ``'true: NAME (score S, rank R): top-1 right|wrong'`` or None.
    """
    import torch
    top = torch.topk(scores, min(topk, scores.numel()))
    lines = []
    for score, index in zip(top.values.tolist(), top.indices.tolist()):
        mark = ' <- true' if index == true_index else ''
        lines.append(f'{names[index]}: {score:.3f}{mark}')
    if true_index is None:
        return lines, None
    true_score = float(scores[true_index])
    rank = int((scores > scores[true_index]).sum()) + 1
    verdict = 'right' if rank == 1 else 'wrong'
    return lines, (f'true: {names[true_index]} (score {true_score:.3f}, rank {rank}): '
                   f'top-1 {verdict}')


def draw_labels(video: str, out: str, lines: list[str]) -> int:
    """Copy ``video`` to ``out`` with ``lines`` of text drawn on every frame.

    Args:
        video (str): Input video.
        out (str): Output path; the codec follows the extension (mp4v, MJPG, VP80).
        lines (list[str]): Text lines, drawn top-left.

    Returns:
        int: Number of frames written (equal to the input's). Videos with a short side
        below ``MIN_OUT_SIDE`` pixels are enlarged to it so that the text is legible.
    """
    import cv2
    import decord
    from mmengine.utils import ProgressBar
    suffix = Path(out).suffix.lower()
    if suffix not in _FOURCC:
        raise ValueError(f'--out {out}: unsupported extension {suffix!r} '
                         f'(use one of {", ".join(_FOURCC)})')
    reader = decord.VideoReader(video, num_threads=1)
    fps = float(reader.get_avg_fps()) or 25.0
    height, width = reader[0].shape[:2]
    # small videos (the quickstart's are 80x64) are enlarged so that the text is legible
    enlarge = max(1.0, MIN_OUT_SIDE / min(height, width))
    height, width = round(height * enlarge), round(width * enlarge)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(out, cv2.VideoWriter_fourcc(*_FOURCC[suffix]), fps, (width, height))
    if not writer.isOpened():
        raise RuntimeError(f'OpenCV cannot write {out} (no {_FOURCC[suffix]} encoder)')
    scale = max(height, width) / 640
    font_scale, thickness = max(0.3, 0.5 * scale), max(1, round(scale))
    line_height = int(22 * max(scale, 0.6))
    print(f'writing {len(reader)} frames to {out}')
    bar = ProgressBar(len(reader))
    for index in range(len(reader)):
        frame = np.ascontiguousarray(reader[index].asnumpy()[..., ::-1])  # RGB -> BGR
        if enlarge > 1:
            frame = cv2.resize(frame, (width, height), interpolation=cv2.INTER_LINEAR)
        if lines:  # a darkened panel behind white text
            text_w = max(cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale,
                                         thickness)[0][0] for text in lines)
            panel = frame[:line_height * len(lines) + 8, :text_w + 12]
            panel[:] = (panel * 0.35).astype(np.uint8)
        for k, text in enumerate(lines):
            origin = (6, line_height * (k + 1))
            cv2.putText(frame, text, origin, cv2.FONT_HERSHEY_SIMPLEX, font_scale,
                        (255, 255, 255), thickness, cv2.LINE_AA)
        writer.write(frame)
        bar.update()
    writer.release()
    print()
    return len(reader)


def main() -> None:
    args = parse_args()
    import torch
    from mmaction.apis import inference_recognizer, init_recognizer
    from mmengine.config import Config
    from mmengine.dataset import Compose
    from mmengine.registry import init_default_scope

    import umt_mm  # noqa: F401  (registers modules, applies compat fixes)
    from umt_mm.datasets import read_label_map

    if not Path(args.video).is_file():
        raise FileNotFoundError(f'video {args.video} does not exist')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    device = args.device or ('cuda:0' if torch.cuda.is_available() else 'cpu')
    print(f'[demo] building the model of {args.config} on {device}')
    head = cfg.model.get('cls_head') or {}
    names = read_label_map(args.label_map, head.get('num_classes')) if args.label_map else None
    if names is not None and args.true_label is not None:
        resolve_true_label(args.true_label, names)  # a wrong name fails before the model runs
    model = init_recognizer(cfg, args.checkpoint, device=device)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    pipeline = Compose(test_pipeline_cfg(cfg, args.views))
    print(f'[demo] classifying {args.video}')
    result = inference_recognizer(model, args.video, test_pipeline=pipeline)
    scores = result.pred_score.float().cpu()
    if names is None:
        names = [str(i) for i in range(scores.numel())]
    elif len(names) != scores.numel():
        raise ValueError(f'label map {args.label_map} has {len(names)} names but the model '
                         f'predicts {scores.numel()} classes')
    true_index = (resolve_true_label(args.true_label, names)
                  if args.true_label is not None else None)
    lines, true_line = result_lines(scores, names, args.topk, true_index)
    print(f'[demo] top-{len(lines)} for {args.video}:')
    for rank, line in enumerate(lines, 1):
        print(f'  {rank}. {line}')
    if true_line is not None:
        print(f'[demo] {true_line}')
    if args.out:
        drawn = ([true_line] if true_line else []) + [
            f'{rank}. {line}' for rank, line in enumerate(lines, 1)]
        frames = draw_labels(args.video, args.out, drawn)
        print(f'[demo] wrote {args.out} ({frames} frames)')


if __name__ == '__main__':
    main()
