"""Speed and memory of the UMT backbone against a naive-attention baseline.

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

    python tools/benchmark.py --repeats 5
    python tools/benchmark.py --detection --repeats 3   # AVA detector forward (issue 9)
    python tools/benchmark.py --export --repeats 5      # onnxruntime vs eager (issue 18)
    python tools/benchmark.py --data --repeats 3        # data pipelines per core (issue 17)
    python tools/benchmark.py --gpu --batch 32          # model vs loader on CUDA (issue 17)
"""
from __future__ import annotations

import argparse
import gc
import json
import resource
import subprocess
import sys
import time
from contextlib import contextmanager

import numpy as np
import torch
import torch.nn.functional as F

FORWARD_GFLOP_B16_8X224 = 358.8


def matmul_peak_gflops(n: int = 2048, repeats: int = 5) -> float:
    """Best fp32 ``torch.mm`` throughput in GFLOP/s."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    best = float('inf')
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * n ** 3 / best / 1e9


def naive_attention_forward(self, x: torch.Tensor) -> torch.Tensor:
    """The reference attention: explicit scores, softmax and weighted sum."""
    batch, num_tokens, channels = x.shape
    bias = None
    if self.q_bias is not None:
        bias = torch.cat((self.q_bias, torch.zeros_like(self.v_bias), self.v_bias))
    qkv = F.linear(x, self.qkv.weight, bias)
    qkv = qkv.reshape(batch, num_tokens, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    attn = (q * self.scale) @ k.transpose(-2, -1)
    attn = attn.softmax(dim=-1)
    out = (attn @ v).transpose(1, 2).reshape(batch, num_tokens, channels)
    return self.proj(out)


@contextmanager
def naive_attention(model: torch.nn.Module):
    """Temporarily replace every UMT attention's forward by the naive one."""
    from umt_mm.models.layers import UMTAttention
    patched = [m for m in model.modules() if isinstance(m, UMTAttention)]
    for m in patched:
        m.forward = naive_attention_forward.__get__(m)
    try:
        yield
    finally:
        for m in patched:
            del m.forward


def time_it(fn, repeats: int) -> float:
    """Best wall time of ``repeats`` calls after one warm-up call."""
    fn()  # warm-up
    best = float('inf')
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def time_interleaved(fns: dict, repeats: int) -> dict:
    """Time several variants in alternating rounds (A B A B ...), one warm-up each.

    On a shared machine the speed drifts over seconds; alternating the variants exposes
    them to the same drift, so their ratio is steadier than from back-to-back blocks.

    Args:
        fns (dict): Name -> zero-argument callable.
        repeats (int): Rounds.

    Returns:
        dict: Name -> list of wall times in seconds, one per round.
    """
    for fn in fns.values():
        fn()
    times = {name: [] for name in fns}
    for round_index in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
        # progress on stderr (stdout carries the results table)
        print(f'[benchmark] round {round_index + 1}/{repeats}: ' + ', '.join(
            f'{name} {values[-1]:.3g} s' for name, values in times.items()),
            file=sys.stderr, flush=True)
    return times


def _median(values: list) -> float:
    values = sorted(values)
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def _rss_bytes() -> int:
    """Current resident set size of this process."""
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def _peak_rss_bytes() -> int:
    """``VmHWM``: the high-water mark of this process's own resident memory.

    (getrusage's ``ru_maxrss`` would carry the parent's peak across fork + exec.)
    """
    with open('/proc/self/status') as f:
        return next(int(line.split()[1]) for line in f if line.startswith('VmHWM:')) * 1024


def _child_json(*flags: str) -> dict:
    """Run this script in a fresh process with ``flags`` and return its last JSON line.

    A fresh process per measured variant: the allocator keeps freed memory, so the peak of
    one variant would hide the other's in a shared process.
    """
    child = subprocess.run([sys.executable, __file__, *flags], capture_output=True, text=True,
                           check=True)
    return json.loads(child.stdout.strip().splitlines()[-1])


def _report(title: str, results: dict, json_path: str | None) -> None:
    """Print ``results`` as a Markdown table (and write them as JSON when asked)."""
    print(f'| {title} | value |')
    print('|---|---|')
    for key, value in results.items():
        print(f'| {key} | {value:.4g} |' if isinstance(value, float) else f'| {key} | {value} |')
    if json_path:
        with open(json_path, 'w') as f:
            json.dump(results, f, indent=2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--arch', default='base')
    parser.add_argument('--frames', type=int, default=8)
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--repeats', type=int, default=5,
                        help='alternating timing rounds per variant (train: one fewer)')
    parser.add_argument('--json', help='also write the results to this JSON file')
    parser.add_argument('--child-train', choices=['sdpa', 'naive'], help=argparse.SUPPRESS)
    # --- AVA detection forward (issue 9) ---
    parser.add_argument('--detection', action='store_true',
                        help='instead: UMT-B/16 AVA detector forward (8x256x320, 10 boxes), '
                        'sdpa vs naive attention, with peak memory')
    parser.add_argument('--child-detection', choices=['sdpa', 'naive'], help=argparse.SUPPRESS)
    # --- UMT pretraining step (issue 8) ---
    parser.add_argument('--pretrain', action='store_true',
                        help='instead: one UMT-B/16 pretraining step with a CLIP-B/16 teacher '
                        '(batch 1, 8x224): ours vs the naive computation, and a bf16 teacher')
    parser.add_argument('--child-pretrain', choices=PRETRAIN_VARIANTS, help=argparse.SUPPRESS)
    # --- data pipelines (issue 17) ---
    parser.add_argument('--data', action='store_true',
                        help='instead: clips/s per core of the recipes\' data pipelines per '
                        'stage, reference-style decord decoding vs ours, original and prepared '
                        'videos (see docs/benchmarks.md)')
    parser.add_argument('--data-recipes', help=f'comma-separated subset of {list(DATA_RECIPES)}')
    parser.add_argument('--data-shared', default=str(__import__('pathlib').Path(
        __import__('os').environ.get('UMT_MM_SHARED', __import__('pathlib').Path(
            __file__).resolve().parents[2] / 'shared')) / 'data' / 'videos'),
        help='folder of real videos (default $UMT_MM_SHARED/data/videos, UMT_MM_SHARED '
        'defaulting to ../shared)')
    parser.add_argument('--data-no-shared', action='store_true', help='generated videos only')
    parser.add_argument('--data-generated', type=int, default=4,
                        help='Kinetics-like videos to generate (default 4)')
    parser.add_argument('--data-frames', type=int, default=300,
                        help='frames per generated video (default 300: 10 s at 30 fps)')
    parser.add_argument('--data-prepared-gop', type=int, default=16,
                        help='keyframe interval of the re-encoded videos (default 16)')
    # --- model vs loader on a device (issue 17) ---
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
    # --- exported recognizer (issue 18) ---
    parser.add_argument('--export', action='store_true',
                        help='instead: the UMT-B/16 8x224 recognizer exported to ONNX, '
                        'onnxruntime (CPU EP, all graph optimisations) vs PyTorch eager '
                        '(--arch tiny: a 64-channel, 2-block model for tests)')
    args = parser.parse_args()
    if args.export:
        export_benchmark(args)
        return
    if args.data:
        data_benchmark(args)
        return
    if args.gpu:
        device_benchmark(args)
        return

    if args.child_train:
        child_train(args)
        return
    if args.child_detection:
        child_detection(args)
        return
    if args.detection:
        detection_benchmark(args)
        return
    if args.child_pretrain:
        child_pretrain(args)
        return
    if args.pretrain:
        pretrain_benchmark(args)
        return
    from umt_mm.models.backbones import UMTVisionTransformer
    torch.manual_seed(0)
    model = UMTVisionTransformer(arch=args.arch, img_size=args.size, num_frames=args.frames)
    model.init_weights()
    x = torch.randn(1, 3, args.frames, args.size, args.size)
    results: dict = {'threads': torch.get_num_threads(),
                     'peak_gflops_fp32': matmul_peak_gflops()}
    # --- CPU bf16 capability (issue 11): what CPUAmpOptimWrapper decides on this machine ---
    from umt_mm.engine.cpu_bf16 import cpu_bf16_support
    bf16 = cpu_bf16_support()
    results.update(cpu_capability=bf16.capability, cpu_native_bf16=str(bf16.native),
                   cpu_bf16_flags=','.join(bf16.flags) or 'none')

    def infer(naive: bool, bf16: bool):
        def run():
            with (naive_attention(model) if naive else _null()), torch.no_grad(), \
                    torch.autocast('cpu', dtype=torch.bfloat16, enabled=bf16):
                model(x)
        return run

    head = torch.nn.Linear(model.embed_dims, 400)
    target = torch.randint(0, 400, (1,))

    def train(naive: bool):
        def run():
            with naive_attention(model) if naive else _null():
                model.zero_grad(set_to_none=True)
                F.cross_entropy(head(model(x)), target).backward()
        return run

    model.eval()
    timed = time_interleaved({
        'infer_fp32_sdpa': infer(False, False), 'infer_fp32_naive': infer(True, False),
        'infer_bf16_sdpa': infer(False, True), 'infer_bf16_naive': infer(True, True)},
        args.repeats)
    model.train()
    timed.update(time_interleaved({'train_fp32_sdpa': train(False),
                                   'train_fp32_naive': train(True)},
                                  max(1, args.repeats - 1)))
    model.eval()
    for key, values in timed.items():
        results[f'{key}_s'] = min(values)
    for kind in ('infer_fp32', 'infer_bf16', 'train_fp32'):
        rounds = [n / s for n, s in zip(timed[f'{kind}_naive'], timed[f'{kind}_sdpa'])]
        # headline: the median over rounds of naive / sdpa measured side by side
        results[f'speedup_{kind}'] = _median(rounds)
        results[f'speedup_{kind}_of_bests'] = min(timed[f'{kind}_naive']) / min(
            timed[f'{kind}_sdpa'])
    for name in ('sdpa', 'naive'):
        measured = _child_json('--child-train', name, '--arch', args.arch, '--frames',
                               str(args.frames), '--size', str(args.size), '--repeats', '1')
        results[f'train_fp32_{name}_peak_mib'] = measured['peak_mib']
    if args.arch == 'base' and args.frames == 8 and args.size == 224:
        gflops = FORWARD_GFLOP_B16_8X224 / results['infer_fp32_sdpa_s']
        results['infer_fp32_sdpa_gflops'] = gflops
        results['infer_fp32_fraction_of_peak'] = gflops / results['peak_gflops_fp32']
    results['memory_ratio_train_fp32'] = (results['train_fp32_sdpa_peak_mib'] /
                                          results['train_fp32_naive_peak_mib'])

    _report(f'UMT-{args.arch} {args.frames}x{args.size}', results, args.json)


@contextmanager
def _null():
    yield


def child_train(args: argparse.Namespace) -> None:
    """Time train steps and report the peak RSS above the RSS after model set-up."""
    from umt_mm.models.backbones import UMTVisionTransformer
    torch.manual_seed(0)
    model = UMTVisionTransformer(arch=args.arch, img_size=args.size, num_frames=args.frames).train()
    model.init_weights()
    head = torch.nn.Linear(model.embed_dims, 400)
    x = torch.randn(1, 3, args.frames, args.size, args.size)
    target = torch.randint(0, 400, (1,))
    gc.collect()
    baseline = _rss_bytes()

    def train_step():
        model.zero_grad(set_to_none=True)
        loss = F.cross_entropy(head(model(x)), target)
        loss.backward()

    with (naive_attention(model) if args.child_train == 'naive' else _null()):
        seconds = time_it(train_step, max(1, args.repeats - 1))
    print(json.dumps(dict(time_s=seconds, peak_mib=(_peak_rss_bytes() - baseline) / 2 ** 20)))



# ---------------------------------------------------------------- AVA detection (issue 9)
DETECTION_CONFIG = ('action_detection/configs/'
                    'umt-base-p16_k710-ft_16xb8-8x8x1-30e_ava22-rgb.py')


def build_detection_forward(num_boxes: int = 10, frames: int = 8, height: int = 256,
                            width: int = 320):
    """The B/16 AVA detector of the config and a forward on one clip with ``num_boxes`` RoIs.

    Returns:
        tuple: ``(model, run)``; ``run()`` is backbone + RoI head (pooling and classifier),
        what a test step computes besides the data pipeline.
    """
    from pathlib import Path

    from mmdet.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import umt_mm  # noqa: F401
    init_default_scope('mmaction')
    cfg = Config.fromfile(Path(__file__).resolve().parents[1] / DETECTION_CONFIG)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    model.init_weights()
    x = torch.randn(1, 3, frames, height, width)
    corners = torch.rand(num_boxes, 2) * torch.tensor([width / 2, height / 2])
    sizes = 16 + torch.rand(num_boxes, 2) * torch.tensor([width / 2 - 16, height / 2 - 16])
    rois = torch.cat([torch.zeros(num_boxes, 1), corners, corners + sizes], dim=1)
    metas = [dict(img_shape=(height, width))]

    def run():
        with torch.no_grad():
            feat = model.extract_feat(x)
            model.roi_head._bbox_forward(feat, rois, metas)
    return model, run


def detection_benchmark(args: argparse.Namespace) -> None:
    """sdpa vs naive attention on the detector forward (alternating rounds) + peak memory."""
    model, run = build_detection_forward()

    def variant(naive: bool):
        def call():
            with naive_attention(model) if naive else _null():
                run()
        return call

    results: dict = {'cpu_capability': torch.backends.cpu.get_cpu_capability(),
                     'threads': torch.get_num_threads()}
    timed = time_interleaved({'det_fp32_sdpa': variant(False),
                              'det_fp32_naive': variant(True)}, args.repeats)
    for key, values in timed.items():
        results[f'{key}_s'] = min(values)
    rounds = [n / s for n, s in zip(timed['det_fp32_naive'], timed['det_fp32_sdpa'])]
    results['speedup_det_fp32'] = _median(rounds)
    results['speedup_det_fp32_rounds'] = [round(r, 3) for r in rounds]
    for name in ('sdpa', 'naive'):
        results[f'det_fp32_{name}_peak_mib'] = _child_json('--child-detection',
                                                          name)['peak_mib']
    results['memory_ratio_det_fp32'] = (results['det_fp32_sdpa_peak_mib'] /
                                        results['det_fp32_naive_peak_mib'])
    _report('UMT-B/16 AVA detector, 8x256x320, 10 boxes, forward', results, args.json)


def child_detection(args: argparse.Namespace) -> None:
    """Peak RSS of one detector forward above the RSS after building it (fresh process)."""
    model, run = build_detection_forward()
    gc.collect()
    baseline = _rss_bytes()
    with naive_attention(model) if args.child_detection == 'naive' else _null():
        run()
    print(json.dumps(dict(peak_mib=(_peak_rss_bytes() - baseline) / 2 ** 20)))


# ---------------------------------------------------------------- UMT pretraining (issue 8)
#: ``sdpa``: the step as the recipe runs it (fused attention, CLS row only in the teacher's last
#: block, teacher's last block and projections on the visible tokens only, fused AdamW);
#: ``naive``: the same step computed as the reference does (explicit attention everywhere, the
#: full attention matrix in the teacher's last block, teacher features at every token then
#: gathered, torch's default per-tensor AdamW); ``naive_attention``: the naive step with the
#: fused AdamW (what ours saves besides the optimizer); ``sdpa_bf16_teacher``: the recipe with a
#: bf16-autocast teacher.
PRETRAIN_VARIANTS = ('sdpa', 'naive', 'naive_attention', 'sdpa_bf16_teacher')


def naive_clip_attention_forward(self, x: torch.Tensor, return_cls_attn: bool = False):
    """The reference teacher attention: explicit softmax(q k^T) v for every query, and in the
    last block the full head-averaged attention matrix (``need_weights=True``), of which the
    mask only uses the CLS row."""
    batch, length, width = x.shape
    qkv = F.linear(x, self.in_proj_weight, self.in_proj_bias)
    q, k, v = qkv.reshape(batch, length, 3, self.heads, self.head_dims).permute(
        2, 0, 3, 1, 4).unbind(0)
    attn = ((q * self.head_dims ** -0.5) @ k.transpose(-2, -1)).softmax(dim=-1)
    out = (attn @ v).transpose(1, 2).reshape(batch, length, width)
    cls_attn = attn.mean(dim=1)[:, 0].float() if return_cls_attn else None
    return self.out_proj(out), cls_attn


@contextmanager
def naive_pretraining(model: torch.nn.Module):
    """The reference's computation: naive attention in the student (``naive_attention``)
    and in the CLIP teacher, and teacher features at every token gathered at the visible
    ones (``UMTDistiller.teacher_targets_full``)."""
    from umt_mm.models.backbones.clip_teacher import CLIPAttention
    patched = [m for m in model.modules() if isinstance(m, CLIPAttention)]
    for m in patched:
        m.forward = naive_clip_attention_forward.__get__(m)
    model.teacher_targets = model.teacher_targets_full
    try:
        with naive_attention(model):
            yield
    finally:
        for m in patched:
            del m.forward
        del model.teacher_targets


def build_pretrain_step(variant: str = 'sdpa', frames: int = 8, size: int = 224,
                        arch: str | dict = 'base', teacher_arch: str | dict = 'b16',
                        align_dims: int = 512, num_return_layers: int = 6):
    """UMT-B/16 student + CLIP-B/16 teacher (random weights), AdamW, and one train step.

    Args:
        variant (str): One of ``PRETRAIN_VARIANTS``. Defaults to 'sdpa'.
        frames, size, arch, teacher_arch, align_dims, num_return_layers: the geometry
            (the defaults are the B/16 recipe's; tests pass tiny ones).

    Returns:
        tuple: ``(model, step)``; ``step()`` runs teacher, mask, student, loss, backward and
        the optimizer step of one clip and returns the loss.
    """
    from mmaction.registry import MODELS

    import umt_mm  # noqa: F401
    if variant not in PRETRAIN_VARIANTS:
        raise ValueError(f'variant must be one of {PRETRAIN_VARIANTS}, got {variant!r}')
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='UMTDistiller', align_dims=align_dims, num_return_layers=num_return_layers,
        encoder=dict(type='UMTVisionTransformer', arch=arch, img_size=size, num_frames=frames,
                     drop_path_rate=0.1),
        teacher=dict(type='CLIPVisionTeacher', arch=teacher_arch, input_resolution=size,
                     num_return_layers=num_return_layers,
                     autocast_dtype='bfloat16' if variant == 'sdpa_bf16_teacher' else None)))
    model.init_weights()
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad],
                                  lr=1.2e-3, betas=(0.9, 0.95), weight_decay=0.05,
                                  fused=variant != 'naive')
    x = torch.randn(1, 3, frames, size, size)
    naive = variant in ('naive', 'naive_attention')

    def step():
        with naive_pretraining(model) if naive else _null():
            optimizer.zero_grad(set_to_none=True)
            loss = model(x, mode='loss')['loss_distill']
            loss.backward()
            optimizer.step()
        return loss.detach()
    return model, step


#: The GEMM operators of a step: what no attention kernel or optimizer can make cheaper.
GEMM_OPS = ('aten.addmm', 'aten.mm', 'aten.convolution', 'aten.convolution_backward')


def step_gemm_gflop(step) -> float:
    """GFLOP of the linear layers and convolutions of one call of ``step`` (forward and
    backward; attention's matmuls are left out), counted by
    :class:`torch.utils.flop_counter.FlopCounterMode`."""
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as counter:
        step()
    counts = counter.get_flop_counts()['Global']
    return sum(n for op, n in counts.items()
               if str(op).split('.default')[0] in GEMM_OPS) / 1e9


def pretrain_benchmark(args: argparse.Namespace) -> None:
    """fused vs naive pretraining step (alternating rounds) + bf16 teacher + peak memory,
    and the step's GEMM floor: its linear/convolution FLOPs at this CPU's matmul peak."""
    steps = {variant: build_pretrain_step(variant)[1] for variant in PRETRAIN_VARIANTS}
    results: dict = {'cpu_capability': torch.backends.cpu.get_cpu_capability(),
                     'threads': torch.get_num_threads()}
    # the floor: no implementation of this step in fp32 can take less time than its GEMMs
    # at the best fp32 matmul throughput of this machine (measured now)
    results['matmul_peak_gflops'] = max(matmul_peak_gflops() for _ in range(3))
    for variant in ('sdpa', 'naive'):
        results[f'pretrain_{variant}_gemm_gflop'] = step_gemm_gflop(steps[variant])
    results['gemm_floor_s'] = (results['pretrain_sdpa_gemm_gflop'] /
                               results['matmul_peak_gflops'])
    timed = time_interleaved({f'pretrain_{v}': steps[v] for v in PRETRAIN_VARIANTS},
                             args.repeats)
    for key, values in timed.items():
        results[f'{key}_s'] = min(values)
    def ratio(num: str, den: str) -> float:
        return _median([a / b for a, b in zip(timed[f'pretrain_{num}'], timed[f'pretrain_{den}'])])

    # headline: per-round ratio ours / naive (target <= 0.60), median over rounds
    results['time_ratio_sdpa_over_naive'] = ratio('sdpa', 'naive')
    results['time_ratio_sdpa_over_naive_attention'] = ratio('sdpa', 'naive_attention')
    results['time_ratio_bf16_teacher_over_naive'] = ratio('sdpa_bf16_teacher', 'naive')
    results['time_ratio_bf16_teacher_over_sdpa'] = ratio('sdpa_bf16_teacher', 'sdpa')
    # the lowest ratio any fp32 implementation with these GEMMs could reach in this run
    results['gemm_floor_over_naive'] = results['gemm_floor_s'] / _median(
        timed['pretrain_naive'])
    del steps
    for variant in PRETRAIN_VARIANTS:
        results[f'pretrain_{variant}_peak_mib'] = _child_json('--child-pretrain',
                                                             variant)['peak_mib']
    results['memory_ratio_sdpa_over_naive'] = (results['pretrain_sdpa_peak_mib'] /
                                               results['pretrain_naive_peak_mib'])
    _report('UMT-B/16 pretraining step, CLIP-B/16 teacher, batch 1, 8x224', results, args.json)


def child_pretrain(args: argparse.Namespace) -> None:
    """Peak RSS of two pretraining steps above the RSS after building (fresh process)."""
    _, step = build_pretrain_step(args.child_pretrain)
    gc.collect()
    baseline = _rss_bytes()
    step()
    step()  # the optimizer state exists from the second step on
    print(json.dumps(dict(peak_mib=(_peak_rss_bytes() - baseline) / 2 ** 20)))


# ---------------------------------------------------------------- data pipelines (issue 17)
#: recipe -> (config, dataloader key or pipeline variable of the config)
DATA_RECIPES = {
    'pretrain': ('configs/pretrain/'
                 'umt-base-p16-res224_clip-b16-distill_32xb64-u8-201e_kinetics710-rgb.py',
                 'train_dataloader'),
    'k400_train': ('configs/k400/umt-base-p16-res224_k710-ft_16xb16-u8-5e_kinetics400-rgb.py',
                   'train_dataloader'),
    'k400_test': ('configs/k400/umt-base-p16-res224_k710-ft_16xb16-u8-5e_kinetics400-rgb.py',
                  'test_dataloader'),
    'ssv2_train': ('configs/sthv2/umt-base-p16-res224_k710-pre_16xb16-u8-30e_sthv2-rgb.py',
                   'train_dataloader'),
    'ssv2_test': ('configs/sthv2/umt-base-p16-res224_k710-pre_16xb16-u8-30e_sthv2-rgb.py',
                  'test_dataloader'),
    'ava_train': (DETECTION_CONFIG, 'train_pipeline_videos'),
}
DATA_STAGES = ('open', 'index', 'decode', 'augment', 'format')
_OPEN = ('DecordInit', 'PyAVSparseInit', 'PyAVInit', 'OpenCVInit')
_INDEX = ('UMTSampleFrames', 'UMTSampleAVAFrames', 'SampleFrames', 'SampleAVAFrames')
_DECODE = ('DecordDecode', 'DecordSparseDecode', 'PyAVSparseDecode', 'PyAVDecode',
           'RawFrameDecode', 'OpenCVDecode')
_FORMAT = ('FormatShape', 'PackActionInputs')
#: variant -> (description, how the decoding transforms of a recipe pipeline are replaced)
DATA_VARIANTS = {
    'reference': 'decord get_batch of the sampled indices (DecordInit + DecordDecode)',
    'decord_sparse': 'decord, sorted unique indices (DecordInit + DecordSparseDecode)',
    'pyav_sparse': 'PyAV, one forward pass, unsampled non-reference frames skipped '
                   '(PyAVSparseInit + PyAVSparseDecode)',
    'frames': 'JPEG frame folders (RawFrameDecode, cv2)',
}


def data_stage(type_name: str) -> str:
    """The benchmark stage of a pipeline transform (``open``, ``index``, ``decode``,
    ``augment`` or ``format``)."""
    if type_name in _OPEN:
        return 'open'
    if type_name in _INDEX:
        return 'index'
    if type_name in _DECODE:
        return 'decode'
    if type_name in _FORMAT:
        return 'format'
    return 'augment'


def recipe_pipeline(recipe: str, root=None) -> tuple[list, int]:
    """The pipeline of ``recipe`` as its config defines it, and its repeated augmentations.

    Returns:
        tuple: ``(pipeline dicts, num_repeats)`` (``num_repeats`` > 1 for the
        ``RepeatAugDataset`` recipes: one decode, that many augmentations).
    """
    from pathlib import Path

    from mmengine.config import Config
    config, key = DATA_RECIPES[recipe]
    cfg = Config.fromfile(str(Path(root or Path(__file__).resolve().parents[1]) / config))
    if key.endswith('_dataloader'):
        dataset = cfg[key]['dataset']
        repeats = int(dataset.get('num_repeats', 1)) if 'RepeatAug' in dataset['type'] else 1
        return [dict(t) for t in dataset['pipeline']], repeats
    return [dict(t) for t in cfg[key]], 1


def variant_pipeline(pipeline: list, variant: str) -> list:
    """Swap the decoding transforms of a (decord) recipe pipeline for ``variant``'s.

    The ``reference`` variant also computes as the reference does after decoding:
    ``UMTRandAugmentCrop`` (RandAugment and the crop fused, the same draws and pixels)
    becomes its two steps, RandAugment on whole frames then the crop.
    """
    if variant not in DATA_VARIANTS:
        raise ValueError(f'variant must be one of {sorted(DATA_VARIANTS)}, got {variant!r}')
    out = []
    for t in pipeline:
        t = dict(t)
        if t['type'] == 'UMTRandAugmentCrop' and variant == 'reference':
            from umt_mm.datasets.transforms.rand_augment_crop import UMTRandAugmentCrop
            out.extend(UMTRandAugmentCrop(t.get('rand_augment'), t.get('crop')).unfused())
            continue
        if t['type'] == 'DecordInit':
            if variant == 'pyav_sparse':
                t = dict(type='PyAVSparseInit')
            elif variant == 'frames':
                continue
        elif t['type'] == 'DecordDecode':
            t = dict(type={'reference': 'DecordDecode', 'decord_sparse': 'DecordSparseDecode',
                           'pyav_sparse': 'PyAVSparseDecode',
                           'frames': 'RawFrameDecode'}[variant])
        out.append(t)
    return out


class StagedPipeline:
    """A recipe pipeline run stage by stage, with CPU and wall time per stage.

    ``[open], index, decode`` run once per clip, the rest ``repeats`` times on copies (what
    ``RepeatAugDataset(sample_once=True)`` does).
    """

    def __init__(self, pipeline: list, repeats: int = 1) -> None:
        from mmaction.registry import TRANSFORMS
        self.stages = [data_stage(t['type']) for t in pipeline]
        self.transforms = [TRANSFORMS.build(t) for t in pipeline]
        self.repeats = repeats
        decode = self.stages.index('decode')
        self.split = decode + 1
        self.reset()

    def reset(self) -> None:
        """Forget the times measured so far (after a warm-up clip)."""
        self.cpu = dict.fromkeys(DATA_STAGES, 0.0)
        self.wall = dict.fromkeys(DATA_STAGES, 0.0)
        self.clips = 0

    def _timed(self, stage: str, transform, results: dict) -> dict:
        cpu, wall = time.process_time(), time.perf_counter()
        results = transform(results)
        self.cpu[stage] += time.process_time() - cpu
        self.wall[stage] += time.perf_counter() - wall
        return results

    def __call__(self, results: dict) -> tuple:
        """Run one clip. Returns ``(decoded frames as one array, [packed samples])``."""
        import copy
        for stage, transform in zip(self.stages[:self.split], self.transforms[:self.split]):
            if stage == 'decode' and self.repeats > 1:
                # RepeatAugDataset(sample_once=True) decodes the indices repeated
                results['frame_inds'] = np.tile(results['frame_inds'], self.repeats)
            results = self._timed(stage, transform, results)
        imgs = results.pop('imgs')
        clip = len(imgs) // self.repeats
        if self.repeats > 1:
            results['frame_inds'] = results['frame_inds'][:clip]
        outputs = []
        for repeat in range(self.repeats):
            sample = copy.deepcopy(results) if self.repeats > 1 else results
            sample['imgs'] = imgs[repeat * clip:(repeat + 1) * clip]
            for stage, transform in zip(self.stages[self.split:], self.transforms[self.split:]):
                sample = self._timed(stage, transform, sample)
            outputs.append(sample)
        self.clips += 1
        return np.stack(imgs[:clip]), outputs

    def report(self) -> dict:
        """Per-clip CPU milliseconds per stage, clips/s per core and per wall second."""
        cpu_total = sum(self.cpu.values())
        out = {f'{stage}_cpu_ms': 1e3 * self.cpu[stage] / max(self.clips, 1)
               for stage in DATA_STAGES}
        out['clips_per_cpu_s'] = self.clips / cpu_total if cpu_total else float('nan')
        out['clips_per_wall_s'] = self.clips / max(sum(self.wall.values()), 1e-12)
        return out


def data_sample(path: str, recipe: str, variant: str, total_frames: int) -> dict:
    """What the recipe's dataset hands its pipeline for ``path`` (a video or frame folder
    of ``total_frames`` frames)."""
    results = dict(label=0, modality='RGB', start_index=0)
    if variant == 'frames':
        results.update(frame_dir=path, total_frames=total_frames, start_index=1,
                       filename_tmpl='img_{:05d}.jpg')
    else:
        results['filename'] = path
    if recipe.startswith('ava'):
        # a key frame in the middle of the clip; one box and one proposal (normalised)
        results.update(fps=30, timestamp_start=0, timestamp=total_frames / 60,
                       shot_info=(0, total_frames),
                       gt_bboxes=np.array([[.1, .2, .6, .9]], np.float32),
                       gt_labels=np.zeros((1, 81), np.float32),
                       proposals=np.array([[.1, .2, .6, .9]], np.float32),
                       entity_ids=np.zeros(1, np.int64))
    return results


def cpu_description() -> dict:
    """The CPU model, cores, torch's capability and the load average (noise indicator)."""
    import os
    model = 'unknown'
    try:
        with open('/proc/cpuinfo') as f:
            model = next((line.split(':', 1)[1].strip() for line in f
                          if line.startswith('model name')), model)
    except OSError:
        pass
    return dict(cpu_model=model, cpu_cores=os.cpu_count(),
                cpu_capability=torch.backends.cpu.get_cpu_capability(),
                load_average=' '.join(f'{x:.2f}' for x in os.getloadavg()))


def prepare_data_sets(work: str, num_generated: int, num_frames: int, shared: str | None,
                      gop: int = 250, prepared_gop: int = 16) -> dict:
    """The video sets of the benchmark: ``shared`` (the real videos), ``generated``
    (Kinetics-like: 340x256, 30 fps, H.264 with B-frames and a typical GOP, every other one
    with a variable frame rate, a short last GOP), ``reencoded`` (those re-encoded with
    ``tools/data/reencode_videos.py``'s function, GOP ``prepared_gop``) and ``frames`` (their
    JPEG frame folders)."""
    from pathlib import Path

    from umt_mm.datasets.preparation.video_preparation import extract_frames, reencode_video
    from umt_mm.testing.kinetics_like_videos import write_kinetics_like_video
    work = Path(work)
    sets: dict = {}
    if shared and Path(shared).is_dir():
        from umt_mm.datasets.transforms.decoding import open_sparse_video
        sets['shared'] = []
        for path in sorted(Path(shared).iterdir()):
            if path.suffix in ('.mp4', '.avi'):
                video = open_sparse_video(str(path))
                sets['shared'].append((str(path), len(video)))
                video.close()
    generated, reencoded, frames = [], [], []
    for i in range(num_generated):
        path = work / f'kinetics_like_{i}.mp4'
        write_kinetics_like_video(path, num_frames=num_frames, gop=gop, bframes=3,
                                  variable_frame_rate=bool(i % 2), seed=i)
        generated.append((str(path), num_frames))
        reencode_video(path, work / f'reencoded_{i}.mp4', gop=prepared_gop)
        reencoded.append((str(work / f'reencoded_{i}.mp4'), num_frames))
        info = extract_frames(path, work / f'frames_{i}')
        frames.append((str(work / f'frames_{i}'), info['frames']))
    sets.update(generated=generated, reencoded=reencoded, frames=frames)
    return sets


#: which variants run on which set (the reference always runs on the original videos)
SET_VARIANTS = {'shared': ('reference', 'decord_sparse', 'pyav_sparse'),
                'generated': ('reference', 'decord_sparse', 'pyav_sparse'),
                'reencoded': ('pyav_sparse', ),
                'frames': ('frames', )}


def data_benchmark(args: argparse.Namespace) -> dict:
    """Clips/s per core of the recipes' pipelines, per stage, reference-style decoding and
    ours side by side (alternating per clip), on the shared and generated videos and on
    prepared data. Prints Markdown tables; returns the results."""
    import random
    import tempfile

    from mmengine.registry import init_default_scope

    import umt_mm  # noqa: F401
    init_default_scope('mmaction')
    # as in the recipes' data workers: env_cfg.mp_cfg.opencv_num_threads=0 (MMEngine sets it
    # before the loader forks); cv2's own threads would add their overhead to the CPU time
    import cv2
    cv2.setNumThreads(0)
    recipes = args.data_recipes.split(',') if args.data_recipes else list(DATA_RECIPES)
    from umt_mm.datasets.transforms.rand_augment_crop import kernel_available
    results: dict = dict(cpu_description(), torch_threads=torch.get_num_threads(),
                         augment_kernel=kernel_available())
    with tempfile.TemporaryDirectory(prefix='umt_data_bench_') as work:
        sets = prepare_data_sets(work, args.data_generated, args.data_frames,
                                 None if args.data_no_shared else args.data_shared,
                                 prepared_gop=args.data_prepared_gop)
        rows = []
        for recipe in recipes:
            pipeline, repeats = recipe_pipeline(recipe)
            measured, originals = {}, {}
            for set_name, videos in sets.items():
                runners = {v: StagedPipeline(variant_pipeline(pipeline, v), repeats)
                           for v in SET_VARIANTS[set_name]}
                for variant, runner in runners.items():  # warm-up (lazy set-up), not timed
                    runner(data_sample(videos[0][0], recipe, variant, videos[0][1]))
                    runner.reset()
                diffs = {v: [] for v in runners}
                for round_index in range(args.repeats):
                    for video_index, (path, frames) in enumerate(videos):
                        seed = 1000 * round_index + video_index
                        for variant, runner in runners.items():  # alternating, same draws
                            random.seed(seed)
                            np.random.seed(seed)
                            torch.manual_seed(seed)
                            decoded, _ = runner(data_sample(path, recipe, variant, frames))
                            # against decord's frames of the same (or the source) video
                            key = (round_index, video_index)
                            if variant == 'reference':
                                reference = decoded
                                if set_name == 'generated':
                                    originals[key] = decoded
                            elif set_name in ('reencoded', 'frames'):
                                reference = originals.get(key)
                            if reference is not None and decoded.shape == reference.shape:
                                diffs[variant].append(np.abs(decoded.astype(np.int16) -
                                                             reference))
                for variant, runner in runners.items():
                    found = diffs[variant]
                    measured[(set_name, variant)] = dict(
                        runner.report(),
                        max_pixel_diff=float(max(d.max() for d in found)) if found else
                        float('nan'),
                        mean_pixel_diff=float(np.mean([d.mean() for d in found])) if found else
                        float('nan'))
            base = measured.get(('generated', 'reference'))
            for (set_name, variant), values in measured.items():
                ref = measured.get((set_name, 'reference'), base)
                if set_name in ('reencoded', 'frames'):
                    ref = base  # prepared data against the originals' reference decoding
                values['speedup_per_core'] = (values['clips_per_cpu_s'] /
                                              ref['clips_per_cpu_s']) if ref else float('nan')
                rows.append((recipe, set_name, variant, repeats, values))
                results[f'{recipe}/{set_name}/{variant}'] = values
    print(f"CPU: {results['cpu_model']}, {results['cpu_cores']} cores, capability "
          f"{results['cpu_capability']}, load average at start {results['load_average']}, "
          f"torch threads {results['torch_threads']}, UMTRandAugmentCrop's C kernel "
          f"{'used' if results['augment_kernel'] else 'not built: Pillow'}")
    print('clips/s per core = clips / CPU seconds of this process (all threads); a K400/SSv2 '
          'train clip is one decode and `repeats` augmentations. Stage times: CPU ms per clip.')
    print()
    print('| recipe | videos | decoding | repeats | clips/s per core | vs reference | '
          + ' | '.join(f'{s} ms' for s in DATA_STAGES) + ' | pixel diff max / mean |')
    print('|---|---|---|---|---|---|' + '---|' * len(DATA_STAGES) + '---|')
    for recipe, set_name, variant, repeats, v in rows:
        stages = ' | '.join(f"{v[f'{s}_cpu_ms']:.1f}" for s in DATA_STAGES)
        print(f"| {recipe} | {set_name} | {variant} | {repeats} | {v['clips_per_cpu_s']:.2f} | "
              f"{v['speedup_per_core']:.2f}x | {stages} | {v['max_pixel_diff']:.0f} / "
              f"{v['mean_pixel_diff']:.2f} |")
    results['load_average_end'] = cpu_description()['load_average']
    print(f"\nload average at the end: {results['load_average_end']}")
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=2)
    return results


# ---------------------------------------------------------------- ONNX export (issue 18)
EXPORT_CONFIG = 'configs/k400/umt-base-p16-res224_k710-ft_16xb16-u8-5e_kinetics400-rgb.py'
EXPORT_ARCHS = {'tiny': dict(embed_dims=64, depth=2, num_heads=2, mlp_ratio=4.0)}


def export_benchmark(args: argparse.Namespace) -> None:
    """Latency of the exported recognizer in onnxruntime against PyTorch eager.

    The K400 UMT recipe's recognizer (random weights; ``--arch``, ``--frames``, ``--size``
    change its backbone) is exported by ``umt_mm.deployment`` (one view, batch 1) to a
    temporary ONNX file, run by onnxruntime's CPU execution provider with
    ``ORT_ENABLE_ALL`` graph optimisations and as many intra-op threads as PyTorch uses,
    and timed against the same modules in PyTorch eager (``torch.no_grad``) in
    alternating rounds. ``speedup_onnxruntime`` is the median over rounds of eager / ORT.
    """
    import tempfile
    from pathlib import Path

    import numpy as np
    import onnxruntime
    from mmaction.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import umt_mm  # noqa: F401
    from umt_mm.deployment import example_inputs, export, make_wrapper, onnx_session
    from umt_mm.deployment.exporter import ONNX_OPSET, quiet_init_weights

    cfg = Config.fromfile(Path(__file__).resolve().parents[1] / EXPORT_CONFIG)
    arch = EXPORT_ARCHS.get(args.arch, args.arch)
    cfg.model.backbone.update(arch=arch, num_frames=args.frames, img_size=args.size)
    init_default_scope('mmaction')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    cfg.model.cls_head.in_channels = model.backbone.embed_dims
    model.cls_head = MODELS.build(cfg.model.cls_head)
    quiet_init_weights(model)
    wrapper = make_wrapper(model.eval())
    (clip, ) = example_inputs(wrapper, (args.frames, args.size, args.size))
    results: dict = {'cpu_capability': torch.backends.cpu.get_cpu_capability(),
                     'threads': torch.get_num_threads(), 'torch': torch.__version__,
                     'onnxruntime': onnxruntime.__version__,
                     'exporter': f'torch.onnx.export(dynamo=False), opset {ONNX_OPSET}',
                     'ort_provider': 'CPUExecutionProvider',
                     'ort_graph_optimization': 'ORT_ENABLE_ALL'}
    with tempfile.TemporaryDirectory() as tmp:
        path = export(wrapper, (clip, ), Path(tmp) / 'recognizer.onnx', 'onnx')
        results['onnx_mib'] = path.stat().st_size / 2 ** 20
        session = onnx_session(path, threads=torch.get_num_threads())
    feed = {'inputs': clip.numpy()}

    def eager():
        with torch.no_grad():
            return wrapper(clip)

    def ort():
        return session.run(None, feed)

    results['max_abs_diff_logits'] = float(np.abs(ort()[1] - eager()[1].numpy()).max())
    timed = time_interleaved({'eager': eager, 'onnxruntime': ort}, args.repeats)
    for key, values in timed.items():
        results[f'{key}_s'] = min(values)
    rounds = [e / o for e, o in zip(timed['eager'], timed['onnxruntime'])]
    # headline: eager / onnxruntime per round (> 1: onnxruntime faster), median over rounds
    results['speedup_onnxruntime'] = _median(rounds)
    results['speedup_onnxruntime_of_bests'] = min(timed['eager']) / min(timed['onnxruntime'])
    results['speedup_onnxruntime_rounds'] = [round(r, 3) for r in rounds]
    name = args.arch if isinstance(args.arch, str) else 'custom'
    _report(f'UMT-{name} recognizer {args.frames}x{args.size}, batch 1: onnxruntime vs eager',
            results, args.json)


# ---------------------------------------------------------------- CUDA: model vs loader (issue 17)
#: dense (no structured sparsity) peak TFLOP/s of 16-bit tensor-core matmuls (bf16; fp16 on
#: V100/T4, which have no bf16) and of fp32, from the vendors' data sheets; a device name
#: is matched by the longest key it contains (so 'A100' before 'A10', 'L40S' before 'L4')
DEVICE_PEAK_TFLOPS = {
    'B200': (2250.0, None),
    'H200': (989.4, 66.9),
    'GH200': (989.4, 66.9),
    'H100': (989.4, 66.9),  # SXM (the name reads "H100 80GB HBM3")
    'H100 NVL': (835.0, 60.0),
    'H100 PCIe': (756.5, 51.2),
    'H800': (989.4, 66.9),
    'A100': (312.0, 19.5),
    'A800': (312.0, 19.5),
    'L40S': (362.1, 91.6),
    'L40': (181.0, 90.5),
    'L4': (121.0, 30.3),
    'A10': (125.0, 31.2),
    'A40': (149.7, 37.4),
    'RTX A6000': (154.8, 38.7),
    'V100': (125.0, 15.7),
    'T4': (65.0, 8.1),
}


def device_peak_tflops(name: str, dtype: str = 'bf16') -> float | None:
    """The dense peak TFLOP/s of the device called ``name`` (``torch.cuda.get_device_name``).

    Args:
        name (str): Device name, e.g. ``'NVIDIA H100 PCIe'``.
        dtype (str): ``'bf16'`` (16-bit tensor cores) or ``'fp32'``. Defaults to 'bf16'.

    Returns:
        float | None: TFLOP/s, or None for a device not in :data:`DEVICE_PEAK_TFLOPS`
        (pass ``--peak-tflops``).
    """
    if dtype not in ('bf16', 'fp32'):
        raise ValueError(f"dtype must be 'bf16' or 'fp32', got {dtype!r}")
    for key in sorted(DEVICE_PEAK_TFLOPS, key=len, reverse=True):
        if key.lower() in name.lower():
            return DEVICE_PEAK_TFLOPS[key][0 if dtype == 'bf16' else 1]
    return None


def model_flops_utilization(flops_per_clip: float, clips_per_s: float,
                            peak_tflops: float | None) -> float | None:
    """MFU: the model FLOP/s achieved (``flops_per_clip * clips_per_s``) over the peak.

    Args:
        flops_per_clip (float): FLOPs of one clip's step (forward and backward).
        clips_per_s (float): Measured clips per second.
        peak_tflops (float, optional): The device's peak; None gives None.

    Returns:
        float | None: A fraction (0.4 = 40 %).
    """
    if peak_tflops is None:
        return None
    if peak_tflops <= 0:
        raise ValueError(f'peak_tflops must be positive, got {peak_tflops}')
    return flops_per_clip * clips_per_s / (peak_tflops * 1e12)


def select_device(requested: str = 'auto') -> torch.device:
    """``'auto'``: CUDA when available, else the CPU; ``'cuda'`` / ``'cuda:N'`` fail
    clearly without CUDA.

    Args:
        requested (str): ``'auto'``, ``'cpu'``, ``'cuda'`` or ``'cuda:N'``. Defaults to 'auto'.

    Returns:
        torch.device: The device.
    """
    if requested == 'auto':
        return torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    device = torch.device(requested)
    if device.type == 'cuda':
        if not torch.cuda.is_available():
            raise RuntimeError(f'--device {requested}: CUDA is not available (torch '
                               f'{torch.__version__}, CUDA build: {torch.version.cuda}); use '
                               '--device cpu or auto')
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise RuntimeError(f'--device {requested}: only {torch.cuda.device_count()} CUDA '
                               'devices')
    elif device.type != 'cpu':
        raise RuntimeError(f'--device {requested}: only cpu and cuda are supported')
    return device


def sdpa_backend(device: torch.device, dtype: torch.dtype, heads: int = 12,
                 tokens: int = 1568, head_dims: int = 64) -> dict:
    """The ``F.scaled_dot_product_attention`` backend torch picks for the model's attention
    shapes (``torch._fused_sdp_choice``) and every backend that runs them.

    Returns:
        dict: ``chosen`` (e.g. ``'FLASH_ATTENTION'``) and ``usable`` (a list of names).
    """
    from torch.nn.attention import SDPBackend, sdpa_kernel
    q = torch.randn(1, heads, tokens, head_dims, device=device, dtype=dtype)
    usable = []
    for backend in (SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION,
                    SDPBackend.CUDNN_ATTENTION, SDPBackend.MATH):
        try:
            with sdpa_kernel([backend]):
                F.scaled_dot_product_attention(q, q, q)
            usable.append(backend.name)
        except RuntimeError:
            continue
    try:
        chosen = SDPBackend(torch._fused_sdp_choice(q, q, q)).name
    except (AttributeError, RuntimeError, TypeError):  # private API: may move
        chosen = usable[0] if usable else 'unknown'
    return dict(chosen=chosen, usable=usable)


def timed_steps(step, steps: int, device: torch.device) -> float:
    """Seconds per call of ``step`` (one warm-up; CUDA synchronised around the timing)."""
    step()
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
    return (time.perf_counter() - start) / steps


def step_flops(step) -> float:
    """FLOPs of one call of ``step`` (forward and backward, every op
    :class:`~torch.utils.flop_counter.FlopCounterMode` counts, attention included)."""
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as counter:
        step()
    return float(counter.get_total_flops())


def build_device_steps(device: torch.device, batch: int, frames: int = 8, size: int = 224,
                       arch='base', teacher_arch='b16', align_dims: int = 512,
                       num_return_layers: int = 6, bf16: bool | None = None) -> dict:
    """The recognizer train step and the pretraining step of the recipes on ``device``:
    bf16 autocast (on CUDA by default), fused AdamW, SDPA attention.

    Returns:
        dict: name -> ``(step, clips per call)``.
    """
    from mmaction.registry import MODELS

    import umt_mm  # noqa: F401
    bf16 = device.type == 'cuda' if bf16 is None else bf16
    torch.manual_seed(0)
    recognizer = MODELS.build(dict(
        type='Recognizer3D',
        backbone=dict(type='UMTVisionTransformer', arch=arch, img_size=size, num_frames=frames,
                      drop_path_rate=0.1),
        cls_head=dict(type='UMTHead', num_classes=400, in_channels=(
            arch['embed_dims'] if isinstance(arch, dict) else {'base': 768, 'large': 1024}[
                arch])))).to(device).train()
    distiller = MODELS.build(dict(
        type='UMTDistiller', align_dims=align_dims, num_return_layers=num_return_layers,
        encoder=dict(type='UMTVisionTransformer', arch=arch, img_size=size, num_frames=frames,
                     drop_path_rate=0.1),
        teacher=dict(type='CLIPVisionTeacher', arch=teacher_arch, input_resolution=size,
                     num_return_layers=num_return_layers))).to(device).train()
    x = torch.randn(batch, 3, frames, size, size, device=device)
    labels = torch.randint(0, 400, (batch, ), device=device)

    def make(model, loss_fn):
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.05, fused=True)

        def step():
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                loss = loss_fn(model)
            loss.backward()
            optimizer.step()
        return step

    def recognizer_loss(model):
        # Recognizer3D takes (batch, views, C, T, H, W)
        return F.cross_entropy(model.cls_head(model.extract_feat(x[:, None])[0]), labels)

    def distiller_loss(model):
        return model(x, mode='loss')['loss_distill']

    return {'recognizer_train': (make(recognizer, recognizer_loss), batch),
            'pretrain_step': (make(distiller, distiller_loss), batch)}


def loader_clips_per_worker(videos: list, workers: int, clips: int,
                            variant: str = 'pyav_sparse') -> float:
    """Clips/s per DataLoader worker of the K400 train pipeline (2 repeated augmentations
    per video: a clip here is one decoded video) over ``videos``."""
    import tempfile
    from pathlib import Path

    from mmaction.registry import DATASETS
    from mmengine.dataset import pseudo_collate
    from torch.utils.data import DataLoader

    import umt_mm  # noqa: F401
    pipeline, repeats = recipe_pipeline('k400_train')
    with tempfile.TemporaryDirectory() as tmp:
        ann = Path(tmp) / 'list.txt'
        ann.write_text(''.join(f'{v} 0\n' for v in videos))
        dataset = DATASETS.build(dict(
            type='SparseRepeatAugDataset', ann_file=str(ann), num_repeats=repeats,
            sample_once=True, data_prefix=dict(video=''),
            pipeline=variant_pipeline(pipeline, variant)))
        indices = [i % len(dataset) for i in range(clips + workers)]
        loader = DataLoader(torch.utils.data.Subset(dataset, indices), batch_size=1,
                            num_workers=workers, collate_fn=pseudo_collate,
                            persistent_workers=False, prefetch_factor=2 if workers else None)
        iterator = iter(loader)
        for _ in range(max(workers, 1)):  # workers started and warm
            next(iterator)
        start = time.perf_counter()
        count = 0
        for _ in iterator:
            count += 1
        seconds = time.perf_counter() - start
    return count / seconds / max(workers, 1)


def device_benchmark(args: argparse.Namespace) -> dict:
    """Model clips/s and MFU (recognizer train step, pretraining step) on the device, and
    the data loader's clips/s per worker beside it: which one bounds training."""
    from mmengine.registry import init_default_scope
    init_default_scope('mmaction')
    device = select_device(args.device)
    bf16 = device.type == 'cuda' and torch.cuda.is_bf16_supported()
    name = torch.cuda.get_device_name(device) if device.type == 'cuda' else \
        cpu_description()['cpu_model']
    peak = args.peak_tflops or (device_peak_tflops(name, 'bf16' if bf16 else 'fp32')
                                if device.type == 'cuda' else None)
    results: dict = dict(device=name, device_type=device.type, autocast='bf16' if bf16 else
                         'off (fp32)', optimizer='AdamW(fused=True)', peak_tflops=peak)
    attention = sdpa_backend(device, torch.bfloat16 if bf16 else torch.float32)
    results.update(sdpa_backend=attention['chosen'], sdpa_usable=','.join(attention['usable']))
    arch = args.arch
    steps = build_device_steps(device, args.batch, args.frames, args.size, arch, bf16=bf16)
    for key, (step, clips) in steps.items():
        flops = step_flops(step) / clips
        seconds = timed_steps(step, args.repeats, device)
        results[f'{key}_clips_per_s'] = clips / seconds
        results[f'{key}_tflop_per_clip'] = flops / 1e12
        mfu = model_flops_utilization(flops, clips / seconds, peak)
        results[f'{key}_mfu'] = mfu if mfu is not None else 'n/a (unknown peak: --peak-tflops)'
        if device.type == 'cuda':
            results[f'{key}_peak_mem_gib'] = torch.cuda.max_memory_allocated(device) / 2 ** 30
    # the loader beside it: clips/s per worker on Kinetics-like videos
    import tempfile
    from pathlib import Path

    from umt_mm.testing.kinetics_like_videos import write_kinetics_like_video
    with tempfile.TemporaryDirectory() as tmp:
        videos = [write_kinetics_like_video(Path(tmp) / f'v{i}.mp4',
                                            num_frames=args.data_frames, seed=i,
                                            gop=250, bframes=3)['path']
                  for i in range(args.data_generated)]
        for variant in ('reference', 'pyav_sparse'):
            per_worker = loader_clips_per_worker(videos, args.loader_workers,
                                                 args.loader_clips, variant)
            results[f'loader_{variant}_clips_per_s_per_worker'] = per_worker
            results[f'workers_per_device_{variant}'] = (
                results['recognizer_train_clips_per_s'] / per_worker)
    _report(f'{name}: model vs loader (batch {args.batch}, {args.frames}x{args.size})',
            results, args.json)
    return results


if __name__ == '__main__':
    main()
