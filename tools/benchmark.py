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
    # --- exported recognizer (issue 18) ---
    parser.add_argument('--export', action='store_true',
                        help='instead: the UMT-B/16 8x224 recognizer exported to ONNX, '
                        'onnxruntime (CPU EP, all graph optimisations) vs PyTorch eager '
                        '(--arch tiny: a 64-channel, 2-block model for tests)')
    args = parser.parse_args()
    if args.export:
        export_benchmark(args)
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


if __name__ == '__main__':
    main()
