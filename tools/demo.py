"""Classify one video with a trained umt_mm / MMAction2 recognizer and print the top-5 labels.

Example::

    python tools/demo.py demo.mp4 CONFIG CHECKPOINT --label-map k400 --views 4x3 \
        --out demo_out.mp4

CONFIG is a config file or a model name (``umt_mm.apis.list_models()``; its label map is then
the default). The checkpoint loads strictly: an official UMT file that was never converted
fails with the converter command (``--non-strict`` loads the matching tensors only). The video
(mp4, avi, webm: anything decord reads) goes through the config's test pipeline
(``test_pipeline``, else ``test_dataloader.dataset.pipeline``) and MMAction2's
``inference_recognizer`` (``umt_mm.apis.inference_recognizer``); the multi-view prediction
is the config's ``average_clips`` (probabilities averaged over views for the UMT recipes).
``--views CLIPSxCROPS`` changes the number of temporal clips and spatial crops of that
pipeline. ``--label-map`` is a bundled label map's name (``k400``, ``k710``, ``sthv2``...) or a
file with one class name per line. ``--out`` writes a copy of the video (same frames, same
frame rate; enlarged to a short side of 240 px if smaller) with the top labels drawn on every
frame. ``--true-label`` (a class name of the label map or a class index) adds the true class:
printed and drawn above the top labels with its score and rank, whether the top-1 prediction
is right, and the true class marked among the top labels.
"""
from __future__ import annotations

import argparse
import sys

from umt_mm.apis import inference_recognizer, init_recognizer
from umt_mm.apis.cli_options import add_model_options
from umt_mm.apis.model_loading import default_device, load_config
from umt_mm.apis.precision import prepare_inference
from umt_mm.apis.recognition import class_names, default_label_map, resolve_true_label
from umt_mm.visualization import write_labelled_copy


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('video', help='video file (mp4, avi, webm, ...)')
    parser.add_argument('config', help='recognizer config file or model name')
    parser.add_argument('checkpoint', help='checkpoint file (umt_mm layout)')
    parser.add_argument('--label-map', help='bundled label map name (k400, k600, k700, k710, '
                        'mitv1, sthv2) or a text file with one class name per line (line i '
                        'is class i); default: the model name\'s label map, else classes are '
                        'printed as numbers')
    parser.add_argument('--views', help="test views as CLIPSxCROPS, e.g. '4x3' or '1x1' "
                        "(default: the config's test pipeline)")
    parser.add_argument('--topk', type=int, default=5, help='how many labels to print')
    parser.add_argument('--true-label', metavar='NAME|INDEX',
                        help='the true class of the video (a name of the label map or a class '
                        'index): printed and drawn beside the prediction')
    parser.add_argument('--out', help='write a copy of the video with the labels drawn '
                        '(.mp4, .avi or .webm)')
    add_model_options(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    device = default_device(args.device)
    label_map = args.label_map or default_label_map(args.config)
    names = class_names(cfg, label_map)
    if names is not None and args.true_label is not None:
        resolve_true_label(args.true_label, names)  # a wrong name fails before the model runs
    print(f'[demo] building the model of {args.config} on {device}')
    model = init_recognizer(cfg, args.checkpoint, device=device, strict=not args.non_strict,
                            opt_out='--non-strict')
    choice = prepare_inference(model, args.precision, args.backend, args.threads)
    print(f'[demo] {choice.describe()}')
    print(f'[demo] classifying {args.video}')
    result = inference_recognizer(model, args.video, views=args.views)
    if names is None:
        names = [str(i) for i in range(result.num_classes)]
    elif len(names) != result.num_classes:
        raise ValueError(f'label map {label_map} has {len(names)} names but the model '
                         f'predicts {result.num_classes} classes')
    true_index = (resolve_true_label(args.true_label, names)
                  if args.true_label is not None else None)
    lines, true_line = result.lines(names, args.topk, true_index)
    print(f'[demo] top-{len(lines)} for {args.video}:')
    for rank, line in enumerate(lines, 1):
        print(f'  {rank}. {line}')
    if true_line is not None:
        print(f'[demo] {true_line}')
    if args.out:
        drawn = ([true_line] if true_line else []) + [
            f'{rank}. {line}' for rank, line in enumerate(lines, 1)]
        print(f'[demo] writing {args.out}')
        frames = write_labelled_copy(args.video, args.out, drawn)
        print(f'[demo] wrote {args.out} ({frames} frames)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
