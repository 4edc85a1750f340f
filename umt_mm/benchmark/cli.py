"""Speed and memory of the UMT models against naive baselines, and of the data pipelines.

Measures, in one run on the same machine (ratios, not absolute times, are the targets):

* the fp32 matmul peak of the machine (a large ``torch.mm``), the ceiling;
* inference latency of UMT-B/16 at 8x224 (batch 1), fp32 and bf16 autocast, with
  ``F.scaled_dot_product_attention`` (ours) and with an explicit ``softmax(q k^T) v``
  attention (the baseline, same weights);
* one train step (forward + loss + backward), both attentions;
* the train step's peak memory (peak RSS of a fresh process above its RSS after building
  the model), both attentions.

The variants are timed in alternating rounds (sdpa, naive, sdpa, naive, ...) so that the
drift of a shared machine hits both alike. ``speedup_*`` is the median over rounds of the
per-round ratio naive / sdpa; ``speedup_*_of_bests`` (ratio of the best rounds) and the
best times (``*_s``) are reported beside it.

Results go to stdout as a Markdown table (and JSON with ``--json``). Example::

    python tools/analysis_tools/benchmark.py --repeats 5
    python tools/analysis_tools/benchmark.py --detection --repeats 3  # AVA detector forward
    python tools/analysis_tools/benchmark.py --pretrain --repeats 5   # pretraining step
    python tools/analysis_tools/benchmark.py --export --repeats 5     # onnxruntime vs eager
    python tools/analysis_tools/benchmark.py --data --repeats 3       # data pipelines per core
    python tools/analysis_tools/benchmark.py --gpu --batch 32         # model vs loader on CUDA
    python tools/analysis_tools/benchmark.py --inference --repeats 3  # precisions vs CPU peaks
"""
from __future__ import annotations

import argparse
import json

from .data import DATA_RECIPES, DATA_STAGES, data_benchmark, data_rows
from .detection import detection_benchmark, detection_forward_memory
from .device import device_benchmark
from .export import export_benchmark
from .inference import (
    DEFAULT_PATHS,
    INFERENCE_PATHS,
    format_inference_report,
    inference_benchmark,
)
from .model import ATTENTION_VARIANTS, model_benchmark, train_step_memory
from .pretrain import PRETRAIN_VARIANTS, pretrain_benchmark, pretrain_step_memory
from .resources import default_shared_videos


def build_parser() -> argparse.ArgumentParser:
    """The benchmark's command-line flags.

    Returns:
        argparse.ArgumentParser: The parser.
    """
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--arch', default='base',
                        help="backbone: 'base', 'large' or 'tiny' (a 64-channel, 2-block "
                        "model for tests)")
    parser.add_argument('--frames', type=int, default=8)
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--repeats', type=int, default=5,
                        help='alternating timing rounds per variant (train: one fewer)')
    parser.add_argument('--json', help='also write the results to this JSON file')
    parser.add_argument('--child-train', choices=ATTENTION_VARIANTS, help=argparse.SUPPRESS)
    # --- AVA detection forward ---
    parser.add_argument('--detection', action='store_true',
                        help='instead: UMT-B/16 AVA detector forward (8x256x320, 10 boxes), '
                        'sdpa vs naive attention, with peak memory')
    parser.add_argument('--child-detection', choices=ATTENTION_VARIANTS,
                        help=argparse.SUPPRESS)
    # --- UMT pretraining step ---
    parser.add_argument('--pretrain', action='store_true',
                        help='instead: one UMT-B/16 pretraining step with a CLIP-B/16 teacher '
                        '(batch 1, 8x224): ours vs the naive computation, and a bf16 teacher')
    parser.add_argument('--child-pretrain', choices=PRETRAIN_VARIANTS, help=argparse.SUPPRESS)
    # --- data pipelines ---
    parser.add_argument('--data', action='store_true',
                        help='instead: clips/s per core of the recipes\' data pipelines per '
                        'stage, reference-style decord decoding vs ours, original and prepared '
                        'videos (see docs/benchmarks.md)')
    parser.add_argument('--data-recipes', help=f'comma-separated subset of {list(DATA_RECIPES)}')
    parser.add_argument('--data-shared', default=str(default_shared_videos()),
                        help='folder of real videos (default $UMT_MM_SHARED/data/videos, '
                        'UMT_MM_SHARED defaulting to ../shared)')
    parser.add_argument('--data-no-shared', action='store_true', help='generated videos only')
    parser.add_argument('--data-generated', type=int, default=4,
                        help='Kinetics-like videos to generate (default 4)')
    parser.add_argument('--data-frames', type=int, default=300,
                        help='frames per generated video (default 300: 10 s at 30 fps)')
    parser.add_argument('--data-prepared-gop', type=int, default=16,
                        help='keyframe interval of the re-encoded videos (default 16)')
    # --- model vs loader on a device ---
    parser.add_argument('--gpu', action='store_true',
                        help='instead: recognizer train step and pretraining step on --device '
                        '(bf16 autocast, fused AdamW, SDPA; clips/s and MFU against the '
                        'device peak) and the data loader clips/s per worker beside them')
    parser.add_argument('--device', default='cuda', help="for --gpu: 'cuda', 'cuda:N', 'cpu' "
                        "or 'auto' (default cuda)")
    parser.add_argument('--batch', type=int, default=16, help='for --gpu: clips per step')
    parser.add_argument('--peak-tflops', type=float, default=None,
                        help='for --gpu: the device peak, when its name is not in the table')
    parser.add_argument('--loader-workers', type=int, default=4,
                        help='for --gpu: DataLoader workers measured (default 4)')
    parser.add_argument('--loader-clips', type=int, default=32,
                        help='for --gpu: clips loaded per variant (default 32)')
    # --- exported recognizer ---
    parser.add_argument('--export', action='store_true',
                        help='instead: the UMT-B/16 8x224 recognizer exported to ONNX, '
                        'onnxruntime (CPU EP, all graph optimisations) vs PyTorch eager '
                        '(--arch tiny: a 64-channel, 2-block model for tests)')
    # --- inference precisions against the CPU's peaks ---
    parser.add_argument('--inference', action='store_true',
                        help='instead: the CPU\'s paper and measured GEMM peaks per precision, '
                        'and the fp32 / bf16 / int8 inference paths of the recognizer, the '
                        'AVA detector backbone and feature extraction as fractions of them, '
                        'time split into attention / linears / rest; a finetuning step fp32 '
                        'vs bf16 autocast')
    parser.add_argument('--inference-batches', default='1',
                        help="for --inference: recognizer batches, e.g. '1,12' (12: the "
                        "4x3-view test protocol; default '1')")
    parser.add_argument('--inference-threads', type=int, default=None,
                        help="for --inference: intra-op threads (default: torch's); the "
                        'paper peaks count that many cores')
    parser.add_argument('--compile', action='store_true',
                        help='for --inference: also time backend=compile (torch.compile; '
                        'compiling B/16 takes minutes on 2 cores)')
    parser.add_argument('--inference-parts', default='detector,features,train',
                        help='for --inference: what runs beside the GEMM peaks and the '
                        "recognizer, comma-separated of detector, features, train, or 'none' "
                        "(default: all three)")
    parser.add_argument('--inference-paths', default=None,
                        help='for --inference: comma-separated paths of '
                        f'{", ".join(INFERENCE_PATHS)} (fp32 always runs; default: '
                        f'{", ".join(DEFAULT_PATHS)}, the exported ones where installed)')
    return parser


#: the optional parts of --inference
INFERENCE_PARTS = {'detector', 'features', 'train'}


def format_table(title: str, results: dict) -> str:
    """``results`` as a two-column Markdown table (floats to 4 significant digits).

    Args:
        title (str): Header of the first column.
        results (dict): Name -> value.

    Returns:
        str: The table's lines.
    """
    lines = [f'| {title} | value |', '|---|---|']
    for key, value in results.items():
        lines.append(f'| {key} | {value:.4g} |' if isinstance(value, float) else
                     f'| {key} | {value} |')
    return '\n'.join(lines)


def format_data_report(results: dict) -> str:
    """The data benchmark's results as its CPU line, a note and one Markdown table.

    Args:
        results (dict): What :func:`~umt_mm.benchmark.data.data_benchmark` returned.

    Returns:
        str: The report's lines.
    """
    lines = [
        f"CPU: {results['cpu_model']}, {results['cpu_cores']} cores, capability "
        f"{results['cpu_capability']}, load average at start {results['load_average']}, "
        f"torch threads {results['torch_threads']}, UMTRandAugmentCrop's C kernel "
        f"{'used' if results['augment_kernel'] else 'not built: Pillow'}",
        'clips/s per core = clips / CPU seconds of this process (all threads); a K400/SSv2 '
        'train clip is one decode and `repeats` augmentations. Stage times: CPU ms per clip.',
        '',
        '| recipe | videos | decoding | repeats | clips/s per core | vs reference | '
        + ' | '.join(f'{s} ms' for s in DATA_STAGES) + ' | pixel diff max / mean |',
        '|---|---|---|---|---|---|' + '---|' * len(DATA_STAGES) + '---|']
    for recipe, set_name, variant, repeats, v in data_rows(results):
        stages = ' | '.join(f"{v[f'{s}_cpu_ms']:.1f}" for s in DATA_STAGES)
        lines.append(f"| {recipe} | {set_name} | {variant} | {repeats} | "
                     f"{v['clips_per_cpu_s']:.2f} | {v['speedup_per_core']:.2f}x | {stages} | "
                     f"{v['max_pixel_diff']:.0f} / {v['mean_pixel_diff']:.2f} |")
    lines.append(f"\nload average at the end: {results['load_average_end']}")
    return '\n'.join(lines)


def _write_json(results: dict, path: str | None) -> None:
    if path:
        with open(path, 'w') as f:
            json.dump(results, f, indent=2)


def main(argv: list[str] | None = None) -> dict:
    """Parse the flags, run the chosen benchmark, print its report (and write its JSON).

    Args:
        argv (list[str], optional): Flags. Defaults to None (``sys.argv[1:]``).

    Returns:
        dict: The results.
    """
    args = build_parser().parse_args(argv)
    # a --child-* mode is a measurement in a fresh process spawned by the benchmark
    # (umt_mm.benchmark.process.child_json): it prints one JSON line
    child = None
    if args.export:
        results = export_benchmark(args.arch, args.frames, args.size, args.repeats)
        title = (f'UMT-{args.arch} recognizer {args.frames}x{args.size}, batch 1: '
                 'onnxruntime vs eager')
    elif args.inference:
        try:
            batches = tuple(int(b) for b in args.inference_batches.split(','))
        except ValueError:
            raise SystemExit(f'--inference-batches {args.inference_batches!r}: give '
                             "comma-separated clip counts, e.g. '1,12'") from None
        paths = None
        if args.inference_paths:
            paths = tuple(p.strip() for p in args.inference_paths.split(',') if p.strip())
            unknown = [p for p in paths if p not in INFERENCE_PATHS]
            if unknown:
                raise SystemExit(f'--inference-paths: unknown {", ".join(unknown)}; choose '
                                 f'from {", ".join(INFERENCE_PATHS)}')
        parts = {p.strip() for p in args.inference_parts.split(',') if p.strip()} - {'none'}
        unknown_parts = sorted(parts - INFERENCE_PARTS)
        if unknown_parts:
            raise SystemExit(f'--inference-parts: unknown {", ".join(unknown_parts)}; choose '
                             f'from {", ".join(sorted(INFERENCE_PARTS))} or none')
        results = inference_benchmark(args.arch, args.frames, args.size, args.repeats,
                                      batches, compile_=args.compile,
                                      detection='detector' in parts,
                                      features='features' in parts, train='train' in parts,
                                      threads=args.inference_threads, paths=paths)
        print(format_inference_report(results))
        _write_json(results, args.json)
        return results
    elif args.data:
        results = data_benchmark(
            recipes=args.data_recipes.split(',') if args.data_recipes else None,
            shared=None if args.data_no_shared else args.data_shared,
            num_generated=args.data_generated, num_frames=args.data_frames,
            prepared_gop=args.data_prepared_gop, repeats=args.repeats)
        print(format_data_report(results))
        _write_json(results, args.json)
        return results
    elif args.gpu:
        results = device_benchmark(
            args.device, args.batch, args.frames, args.size, args.arch, args.repeats,
            args.peak_tflops, args.loader_workers, args.loader_clips, args.data_generated,
            args.data_frames)
        title = (f"{results['device']}: model vs loader (batch {args.batch}, "
                 f'{args.frames}x{args.size})')
    elif args.child_train:
        child = train_step_memory(args.child_train, args.arch, args.frames, args.size,
                                  args.repeats)
    elif args.child_detection:
        child = detection_forward_memory(args.child_detection)
    elif args.detection:
        results = detection_benchmark(args.repeats)
        title = 'UMT-B/16 AVA detector, 8x256x320, 10 boxes, forward'
    elif args.child_pretrain:
        child = pretrain_step_memory(args.child_pretrain)
    elif args.pretrain:
        results = pretrain_benchmark(args.repeats)
        title = 'UMT-B/16 pretraining step, CLIP-B/16 teacher, batch 1, 8x224'
    else:
        results = model_benchmark(args.arch, args.frames, args.size, args.repeats)
        title = f'UMT-{args.arch} {args.frames}x{args.size}'
    if child is not None:
        print(json.dumps(child))
        return child
    print(format_table(title, results))
    _write_json(results, args.json)
    return results
