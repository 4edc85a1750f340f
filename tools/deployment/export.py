"""Export a umt_mm recognizer or AVA detector to ONNX or TorchScript, with a json sidecar.

Examples::

    # UMT-B/16 Kinetics-400, the recipe's 8x224 clip, one view per row, verified on a
    # random and a real clip
    python tools/deployment/export.py \\
        configs/k400/umt-base-p16-res224_k710-ft_16xb16-u8-5e_kinetics400-rgb.py \\
        checkpoints/umt-base-p16_k710-ft_k400-head.pth --format onnx \\
        --out deploy/umt-b16-k400.onnx --label-map label_map_k400.txt --verify

    # all 12 test views (4 clips x 3 crops) in one graph row, averaged inside the graph
    python tools/deployment/export.py CONFIG CHECKPOINT --format torchscript \\
        --out deploy/umt-b16-k400-12views.pt --views 12 --verify

    # the AVA detector (boxes are an input), 8 frames of 256x464
    python tools/deployment/export.py \\
        action_detection/configs/umt-base-p16_k710-ft_16xb8-8x8x1-30e_ava22-rgb.py \\
        CHECKPOINT --format onnx --out deploy/umt-b16-ava.onnx --verify

Writes ``--out`` and ``--out`` with the suffix ``.json`` (input shape, mean/std, labels,
test protocol). The exported files run without umt_mm (onnxruntime, or ``torch.jit.load``).
ONNX files come from PyTorch's TorchScript-based exporter (``dynamo=False``, opset 17: the
dynamo exporter cannot run mmcv's RoIAlign), TorchScript files from ``torch.jit.trace``.
A model with a module that has no export path stops with an error naming the module
(exit code 2); ``--verify`` exits 1 when a difference exceeds ``--tolerance``. See
docs/deployment.md.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def default_video() -> Path:
    """``test.mp4`` of the shared data (``UMT_MM_SHARED``, default ``../shared``)."""
    shared = Path(os.environ.get('UMT_MM_SHARED', ROOT.parent / 'shared'))
    return shared / 'data' / 'videos' / 'test.mp4'


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='recognizer or AVA detector config')
    parser.add_argument('checkpoint', help="checkpoint file ('none': initialised weights)")
    parser.add_argument('--format', choices=('onnx', 'torchscript'), default='onnx')
    parser.add_argument('--out', required=True, help='exported file (.onnx / .pt)')
    parser.add_argument('--shape', type=int, nargs=3, metavar=('T', 'H', 'W'),
                        help='clip frames, height, width (default: the recipe\'s; AVA: '
                        'T x 256 x 464)')
    parser.add_argument('--views', type=int, default=1,
                        help='views per video in one graph row, averaged as the head\'s '
                        'average_clips (recognizers; default 1)')
    parser.add_argument('--label-map', help='class names, one per line, for the json')
    parser.add_argument('--verify', action='store_true',
                        help='run the exported file on a random and a real clip and print '
                        'the largest difference to PyTorch')
    parser.add_argument('--video', default=None,
                        help='real clip for --verify (default: ../shared/data/videos/test.mp4; '
                        'AVA: demo_spatiotemporal_det.mp4 there)')
    parser.add_argument('--tolerance', type=float, default=1e-4,
                        help='--verify fails above this largest difference (default 1e-4)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings (key=value)')
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch

    from umt_mm.deployment import (
        ExportError,
        build_model,
        default_shape,
        deploy_info,
        example_inputs,
        export,
        largest_difference,
        make_wrapper,
        real_clip_inputs,
        write_deploy_info,
    )
    from umt_mm.deployment.exporter import check_format, wrapper_kind

    torch.manual_seed(0)
    cfg, model = build_model(args.config, args.checkpoint, args.cfg_options)
    try:
        wrapper = make_wrapper(model, args.views)
        check_format(wrapper, args.format)
    except ExportError as error:
        print(f'[export] {args.config}: {error}', file=sys.stderr)
        return 2
    shape = tuple(args.shape) if args.shape else default_shape(model)
    out = Path(args.out)
    inputs = example_inputs(wrapper, shape)
    print(f'[export] {type(model).__name__} of {args.config}: clip {shape} (T, H, W), '
          f'{args.format} -> {out}')
    export(wrapper, inputs, out, args.format)
    info = deploy_info(cfg, model, wrapper, shape, args.format, out,
                       checkpoint=args.checkpoint, label_map=args.label_map)
    sidecar = write_deploy_info(info, out.with_suffix('.json'))
    print(f'[export] wrote {out} ({out.stat().st_size / 2 ** 20:.1f} MiB) and {sidecar}')
    if not args.verify:
        return 0

    worst = 0.0
    checks = [('random clip', inputs)]
    if wrapper_kind(wrapper) == 'recognizer':
        checks.append(('random clips, batch 2', example_inputs(wrapper, shape, batch=2,
                                                               seed=1)))
    video = Path(args.video) if args.video else default_video()
    if not args.video and wrapper_kind(wrapper) == 'ava_detector':
        video = video.with_name('demo_spatiotemporal_det.mp4')
    if video.is_file():
        checks.append((f'real clip {video.name}',
                       real_clip_inputs(cfg, model, wrapper, video, shape)))
    else:
        print(f'[export] verify: no real clip ({video} does not exist; pass --video)')
    for name, check_inputs in checks:
        diffs = largest_difference(wrapper, out, args.format, check_inputs)
        shapes = ', '.join(f'{tuple(t.shape)}' for t in check_inputs)
        print(f'[export] verify {name} {shapes}: largest |{args.format} - PyTorch| ' +
              ', '.join(f'{k} {v:.3g}' for k, v in diffs.items()))
        worst = max([worst] + list(diffs.values()))
    ok = worst <= args.tolerance
    print(f'[export] verify: largest difference {worst:.3g} '
          f'({"within" if ok else "ABOVE"} {args.tolerance:g})')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
