"""Export a umt_mm recognizer or AVA detector to ONNX or TorchScript, with a json sidecar.

Examples::

    # UMT-B/16 Kinetics-400, the recipe's 8x224 clip, one view per row, verified on a
    # random and a real clip
    python tools/deployment/export.py \\
        configs/k400/umt-base-p16-res224_k710-ft_16xb16-u8-5e_kinetics400-rgb.py \\
        checkpoints/umt-base-p16_k710-ft_k400-head.pth --format onnx \\
        --out deploy/umt-b16-k400.onnx --label-map k400 --verify

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
(exit code 2), a checkpoint that does not fill the model (an official UMT file never
converted) with the converter command (exit code 2; ``--non-strict`` loads the matching
tensors only); ``--verify`` exits 1 when a difference exceeds ``--tolerance``. Library:
``umt_mm.apis.export_model`` / ``verify_export``. See docs/deployment.md.
"""
from __future__ import annotations

import argparse
import sys


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='recognizer or AVA detector config (or model name)')
    parser.add_argument('checkpoint', help="checkpoint file ('none': initialised weights)")
    parser.add_argument('--format', choices=('onnx', 'torchscript'), default='onnx')
    parser.add_argument('--out', required=True, help='exported file (.onnx / .pt)')
    parser.add_argument('--shape', type=int, nargs=3, metavar=('T', 'H', 'W'),
                        help='clip frames, height, width (default: the recipe\'s; AVA: '
                        'T x 256 x 464)')
    parser.add_argument('--views', type=int, default=1,
                        help='views per video in one graph row, averaged as the head\'s '
                        'average_clips (recognizers; default 1)')
    parser.add_argument('--label-map', help="class names for the json: a bundled label map's "
                        "name (k400, k600, k700, k710, mitv1, sthv2, ava) or a file")
    parser.add_argument('--verify', action='store_true',
                        help='run the exported file on a random and a real clip and print '
                        'the largest difference to PyTorch')
    parser.add_argument('--video', default=None,
                        help='real clip for --verify (default: a sample video of demo/, or '
                        'a generated clip)')
    parser.add_argument('--tolerance', type=float, default=1e-4,
                        help='--verify fails above this largest difference (default 1e-4)')
    parser.add_argument('--non-strict', action='store_true',
                        help='load the checkpoint\'s matching tensors only (default: fail '
                        'unless it fills the model exactly)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings (key=value)')
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from umt_mm.apis import export_model, verify_export
    from umt_mm.converters.checkpoint_layouts import CheckpointMismatchError
    from umt_mm.deployment import ExportError

    try:
        exported = export_model(args.config, args.checkpoint, format=args.format,
                                out=args.out, shape=args.shape, views=args.views,
                                label_map=args.label_map, cfg_options=args.cfg_options,
                                strict=not args.non_strict, opt_out='--non-strict')
    except (ExportError, CheckpointMismatchError, FileNotFoundError) as error:
        print(f'[export] {args.config}: {error}', file=sys.stderr)
        return 2
    out = exported.path
    print(f'[export] {type(exported.model).__name__} of {args.config}: clip {exported.shape} '
          f'(T, H, W), {args.format} -> {out}')
    print(f'[export] wrote {out} ({out.stat().st_size / 2 ** 20:.1f} MiB) and '
          f'{exported.sidecar}')
    if not args.verify:
        return 0
    report = verify_export(exported, video=args.video, tolerance=args.tolerance)
    if report.note:
        print(f'[export] verify: {report.note} (pass --video)')
    for check in report.checks:
        shapes = ', '.join(str(s) for s in check.shapes)
        print(f'[export] verify {check.name} {shapes}: largest |{args.format} - PyTorch| ' +
              ', '.join(f'{k} {v:.3g}' for k, v in check.differences.items()))
    print(f'[export] verify: largest difference {report.worst:.3g} '
          f'({"within" if report.ok else "ABOVE"} {args.tolerance:g})')
    return 0 if report.ok else 1


if __name__ == '__main__':
    sys.exit(main())
