"""Inference at the CPU's limit: paper and measured peaks, and every precision's share of them.

``--inference`` measures, in one run on one machine:

* the CPU (model, SIMD / matrix flags, clock) and its **paper peak** per precision
  (:func:`paper_peaks`, assumptions in its docstring and in docs/benchmarks.md);
* the **measured GEMM peak** per precision at the model's own GEMM shapes (the four
  ``Linear`` layers of a block at batch 1: qkv, proj, fc1, fc2): fp32 and bf16 ``F.linear``,
  int8 through ``torch.ao.nn.quantized.dynamic.Linear`` (what ``precision='int8'`` runs,
  activation quantization included) and ``torch._int_mm`` (the bare int8 x int8 -> int32
  kernel); the int8 peak is the faster of the two;
* every inference path of :func:`umt_mm.apis.precision.prepare_inference` (fp32 eager, bf16,
  int8, ``torch.compile`` when asked, and the onnxruntime / OpenVINO paths of
  :data:`EXPORTED_PATHS` where installed) on the K400 UMT recognizer (batch 1, and the test
  protocol's 12 views when asked) and on the AVA detector's backbone (8 x 256 x 464 frames,
  batch 1): median time over alternating rounds, GFLOP/s (FLOPs counted analytically by
  :func:`forward_flops`), the fraction of the measured peak of its precision, the speed-up
  over fp32 eager (median of the per-round ratios), the output cosine to fp32, and the time
  split into attention, linears and the rest (:func:`op_group_seconds`: a
  ``torch.profiler`` CPU op tree of one forward, each op charged to its outermost
  attention / linear ancestor);
* feature-extraction throughput (clips/s of :func:`umt_mm.apis.extract_features` on a
  generated video) per path;
* one finetuning step (forward, cross-entropy, backward) in fp32 and under bf16 autocast,
  what ``tools/train.py --amp`` would run on this CPU.
"""
from __future__ import annotations

import copy
import logging
import os
import re
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from .detection import DETECTION_CONFIG
from .export import build_recognizer
from .model import resolve_arch
from .resources import recipe_file

#: the eager inference paths: a ``prepare_inference`` precision, or ``compile`` (fp32, Inductor)
EAGER_PATHS = ('fp32', 'bf16', 'int8', 'compile')
#: the paths through an exported graph: ``<backend>-<precision>`` (CPU, their extras)
EXPORTED_PATHS = ('onnxruntime-fp32', 'onnxruntime-int8', 'openvino-fp32', 'openvino-bf16',
                  'openvino-int8')
INFERENCE_PATHS = EAGER_PATHS + EXPORTED_PATHS
#: what runs without being asked: the eager precisions, and the exported paths whose engine
#: is installed (``compile`` takes minutes to compile B/16 on 2 cores: ``--compile``)
DEFAULT_PATHS = ('fp32', 'bf16', 'int8') + EXPORTED_PATHS


def path_spec(path: str) -> tuple[str, str]:
    """``(precision, backend)`` of an inference path (``'openvino-int8'``: int8, openvino).

    Raises:
        ValueError: A path not in :data:`INFERENCE_PATHS`.
    """
    if path not in INFERENCE_PATHS:
        raise ValueError(f'inference path {path!r}: choose from {", ".join(INFERENCE_PATHS)}')
    if path == 'compile':
        return 'fp32', 'compile'
    if '-' in path:
        backend, precision = path.split('-')
        return precision, backend
    return path, 'eager'


def available_paths(paths: tuple[str, ...] = DEFAULT_PATHS) -> tuple[str, ...]:
    """``paths`` less the exported ones whose engine (or int8 tool) is not installed."""
    from umt_mm.apis.exported_backends import installed
    kept = []
    for path in paths:
        backend = path_spec(path)[1]
        if backend in ('onnxruntime', 'openvino') and not (
                installed(backend) and installed('onnxruntime')):
            continue
        kept.append(path)
    return tuple(kept)


#: /proc/cpuinfo flags that decide the peaks (reported when present)
PEAK_FLAGS = ('fma', 'avx2', 'avx512f', 'avx512_bf16', 'avx512_vnni', 'avx_vnni',
              'avx512_fp16', 'amx_tile', 'amx_bf16', 'amx_int8', 'amx_fp16')
#: the AVA detector backbone's input (frames, height, width) at full size
DETECTION_GEOMETRY = (8, 256, 464)
#: op groups of the time split
OP_GROUPS = ('attention', 'linears', 'rest')


# ----------------------------------------------------------------------------- the CPU
def cpu_info(path: str = '/proc/cpuinfo') -> dict:
    """The CPU's model, peak-relevant flags, cores and clock.

    Args:
        path (str): The cpuinfo file. Defaults to '/proc/cpuinfo'.

    Returns:
        dict: ``cpu_model``, ``cores`` (logical CPUs this process may run on),
        ``threads`` (torch intra-op threads), ``flags`` (the :data:`PEAK_FLAGS` present),
        ``cpu_mhz`` (mean ``cpu MHz``, None if absent), ``name_ghz`` (the ``@ x.xxGHz`` of
        the model name, None if absent), ``clock_ghz`` (the name's GHz, else ``cpu MHz``;
        the clock the paper peaks use), ``capability`` (ATen's kernel level) and
        ``load_average``.
    """
    model, flags, mhz = 'unknown', set(), []
    try:
        with open(path, encoding='utf-8', errors='replace') as f:
            for line in f:
                key, _, value = line.partition(':')
                key = key.strip().lower()
                if key == 'model name' and model == 'unknown':
                    model = value.strip()
                elif key in ('flags', 'features'):
                    flags.update(value.lower().split())
                elif key == 'cpu mhz':
                    try:
                        mhz.append(float(value))
                    except ValueError:
                        pass
    except OSError:
        pass
    match = re.search(r'([\d.]+)\s*GHz', model, re.I)
    name_ghz = float(match.group(1)) if match else None
    cpu_mhz = sum(mhz) / len(mhz) if mhz else None
    clock = name_ghz or (cpu_mhz / 1000 if cpu_mhz else None)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else \
        os.cpu_count() or 1
    return dict(cpu_model=model, cores=cores, threads=torch.get_num_threads(),
                flags=[f for f in PEAK_FLAGS if f in flags], cpu_mhz=cpu_mhz,
                name_ghz=name_ghz, clock_ghz=clock,
                capability=torch.backends.cpu.get_cpu_capability(),
                load_average=' '.join(f'{x:.2f}' for x in os.getloadavg()))


def paper_peaks(flags: list[str] | set[str], cores: int, clock_ghz: float | None) -> dict:
    """The paper peak per precision: cores x GHz x operations per cycle per core.

    Assumptions (per core and cycle, two vector FMA units as on Xeon Scalable and Zen 4+):
    fp32 with AVX-512 2 units x 16 lanes x 2 (multiply + add) = 64 FLOP, with AVX2 + FMA
    2 x 8 x 2 = 32, otherwise 8 (SSE: a 4-lane multiply and a 4-lane add); bf16 with
    AVX512-BF16 (``vdpbf16ps``: two bf16 products per fp32 lane) 2 x fp32 = 128, with
    AMX-BF16 1024, otherwise emulated through the fp32 units (the fp32 figure); int8 with
    AMX-INT8 2048 ops, with AVX512-VNNI (``vpdpbusd``: four int8 products per 32-bit lane)
    4 x fp32 = 256, with AVX-VNNI (256-bit) 4 x the AVX2 figure = 128, with AVX2 only 2 x
    = 64 (``vpmaddubsw`` + ``vpmaddwd``). ``cores`` are the logical CPUs this process may
    use: where two of them are hyper-threads of one core the figures are twice the
    silicon's. The clock is the base clock the CPU reports; turbo clocks raise the real
    ceiling, frequency drops under AVX-512 lower it.

    Args:
        flags (list[str] | set[str]): CPU flags (lower case).
        cores (int): Cores.
        clock_ghz (float, optional): Clock in GHz (None: unknown, no figures).

    Returns:
        dict: ``{precision: {'per_cycle_per_core', 'gflops', 'unit'}}`` for fp32, bf16 and
        int8 (``gflops`` None without a clock; int8 in GOP/s), and ``fastest_native``: the
        precision and unit with the most operations per cycle.
    """
    flags = set(flags)
    if 'avx512f' in flags:
        fp32, fp32_unit = 64, 'AVX-512 FMA (2 units)'
    elif 'avx2' in flags and 'fma' in flags:
        fp32, fp32_unit = 32, 'AVX2 FMA (2 units)'
    else:
        fp32, fp32_unit = 8, 'SSE'
    if 'amx_bf16' in flags:
        bf16, bf16_unit = 1024, 'AMX-BF16'
    elif 'avx512_bf16' in flags:
        bf16, bf16_unit = 2 * fp32, 'AVX512-BF16 vdpbf16ps'
    else:
        bf16, bf16_unit = fp32, 'emulated (fp32 units)'
    if 'amx_int8' in flags:
        int8, int8_unit = 2048, 'AMX-INT8'
    elif 'avx512_vnni' in flags:
        int8, int8_unit = 4 * fp32, 'AVX512-VNNI vpdpbusd'
    elif 'avx_vnni' in flags:
        int8, int8_unit = 128, 'AVX-VNNI vpdpbusd'
    elif 'avx2' in flags:
        int8, int8_unit = 2 * fp32, 'AVX2 vpmaddubsw'
    else:
        int8, int8_unit = None, 'none'
    peaks: dict = {}
    for name, per_cycle, unit in (('fp32', fp32, fp32_unit), ('bf16', bf16, bf16_unit),
                                  ('int8', int8, int8_unit)):
        gflops = cores * clock_ghz * per_cycle if per_cycle and clock_ghz else None
        peaks[name] = dict(per_cycle_per_core=per_cycle, gflops=gflops, unit=unit)
    best = max(('fp32', 'bf16', 'int8'), key=lambda p: peaks[p]['per_cycle_per_core'] or 0)
    peaks['fastest_native'] = f"{best} ({peaks[best]['unit']})"
    return peaks


# ----------------------------------------------------------------------------- GEMMs
def gemm_shapes(embed_dims: int, hidden: int, tokens: int) -> dict:
    """The GEMMs of one block: ``name -> (rows, in_features, out_features)``.

    Args:
        embed_dims (int): Channels (768 for B/16).
        hidden (int): MLP hidden channels (3072 for B/16).
        tokens (int): Rows (tokens of the batch; 1568 for B/16 8x224 at batch 1).

    Returns:
        dict: qkv, proj, fc1 and fc2.
    """
    return dict(qkv=(tokens, embed_dims, 3 * embed_dims),
                proj=(tokens, embed_dims, embed_dims),
                fc1=(tokens, embed_dims, hidden), fc2=(tokens, hidden, embed_dims))


def _int8_dynamic_linear(weight: torch.Tensor) -> nn.Module:
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear
        layer = DynamicLinear(weight.shape[1], weight.shape[0], dtype=torch.qint8)
    scale = float(weight.abs().max()) / 127
    layer.set_weight_bias(torch.quantize_per_tensor(weight, scale, 0, torch.qint8),
                          torch.zeros(weight.shape[0]))
    return layer


def gemm_peaks(shapes: dict, repeats: int = 10, previous: dict | None = None) -> dict:
    """Measured GEMM throughput per shape and kernel, in rounds over all of them.

    Kernels: ``fp32`` and ``bf16`` (``F.linear`` with bias), ``int8_dynamic`` (a dynamic
    quantized ``Linear``: activation quantization + the x86 / FBGEMM int8 GEMM, fp32 out)
    and ``int8_int_mm`` (``torch._int_mm``: int8 x int8 -> int32). Each call is timed once
    per round after two warm-up rounds (the first calls run well below the steady rate);
    the best round counts. A peak is a best case: on a shared machine measure it more than
    once (``previous``) and keep the best.

    Args:
        shapes (dict): ``name -> (rows, in_features, out_features)`` (:func:`gemm_shapes`).
        repeats (int): Rounds. Defaults to 10.
        previous (dict, optional): An earlier result for the same shapes; its best times
            count too. Defaults to None.

    Returns:
        dict: ``per_shape`` (``{shape: {kernel: GFLOP/s}}``), ``block`` (``{kernel:
        GFLOP/s}`` of the four shapes together: their FLOPs over the sum of their best
        times) and ``peak`` (``{fp32, bf16, int8}``: the block figure; int8 the faster of
        its two kernels), ``int8_kernel`` (which one that is) and ``best_s``
        (``{'shape/kernel': seconds}``).
    """
    gen = torch.Generator().manual_seed(0)
    calls: dict[tuple[str, str], Callable[[], object]] = {}
    flops: dict[str, float] = {}
    for name, (rows, cin, cout) in shapes.items():
        flops[name] = 2.0 * rows * cin * cout
        x = torch.randn(rows, cin, generator=gen)
        w = torch.randn(cout, cin, generator=gen) / cin ** 0.5
        b = torch.zeros(cout)
        xb, wb, bb = x.bfloat16(), w.bfloat16(), b.bfloat16()
        q = _int8_dynamic_linear(w)
        xi = torch.randint(-127, 128, (rows, cin), dtype=torch.int8, generator=gen)
        wi = torch.randint(-127, 128, (cin, cout), dtype=torch.int8, generator=gen)
        calls[name, 'fp32'] = lambda x=x, w=w, b=b: F.linear(x, w, b)
        calls[name, 'bf16'] = lambda x=xb, w=wb, b=bb: F.linear(x, w, b)
        calls[name, 'int8_dynamic'] = lambda x=x, q=q: q(x)
        calls[name, 'int8_int_mm'] = lambda x=xi, w=wi: torch._int_mm(x, w)
    best: dict[tuple[str, str], float] = {}
    if previous is not None:
        best.update({tuple(k.split('/')): v for k, v in previous['best_s'].items()})
    for key, fn in list(calls.items()):
        try:
            fn()
            fn()
        except RuntimeError:  # e.g. _int_mm's shape rules on some builds
            del calls[key]
    for _ in range(repeats):
        for key, fn in calls.items():
            start = time.perf_counter()
            fn()
            best[key] = min(best.get(key, float('inf')), time.perf_counter() - start)
    kernels = ('fp32', 'bf16', 'int8_dynamic', 'int8_int_mm')
    per_shape = {name: {k: flops[name] / best[name, k] / 1e9 for k in kernels
                        if (name, k) in best} for name in shapes}
    block = {}
    for k in kernels:
        if all((name, k) in best for name in shapes):
            block[k] = sum(flops.values()) / sum(best[name, k] for name in shapes) / 1e9
    int8_kernel = max(('int8_dynamic', 'int8_int_mm'), key=lambda k: block.get(k, 0))
    return dict(per_shape=per_shape, block=block, int8_kernel=int8_kernel,
                peak=dict(fp32=block['fp32'], bf16=block['bf16'], int8=block[int8_kernel]),
                best_s={f'{name}/{k}': v for (name, k), v in best.items()})


# ----------------------------------------------------------------------------- FLOPs
def forward_flops(backbone: nn.Module, clip_shape: tuple[int, int, int],
                  batch: int = 1, num_classes: int = 0) -> dict:
    """The forward GFLOP of a UMT ViT (and a linear head), counted analytically.

    Per block, with ``N`` tokens, ``D`` channels and ``H`` MLP channels: qkv ``2 N D 3D``,
    proj ``2 N D D``, MLP ``2 x 2 N D H``, attention ``2 x 2 N N D`` (``q k^T`` and the
    weighted sum of ``v``); the patch embedding ``2 N D (3 t p p)``; a head ``2 D C``.
    Norms, softmax and GELU are left out (a fraction of a percent). UMT-B/16 at 8x224:
    358.8 GFLOP per clip.

    Args:
        backbone (nn.Module): A ``UMTVisionTransformer``.
        clip_shape (tuple[int, int, int]): ``(frames, height, width)`` of the input.
        batch (int): Clips. Defaults to 1.
        num_classes (int): Head classes (0: no head). Defaults to 0.

    Returns:
        dict: GFLOP of ``linears`` (the blocks' Linear layers and the head), ``attention``,
        ``patch_embed`` and ``total``.
    """
    frames, height, width = clip_shape
    kernel = backbone.patch_embed.proj.weight  # (D, 3, t, p, p)
    dims, _, tubelet, patch, _ = kernel.shape
    tokens = (frames // tubelet) * (height // patch) * (width // patch)
    hidden = backbone.blocks[0].mlp.fc1.out_features
    depth = len(backbone.blocks)
    linears = depth * (2 * tokens * dims * 3 * dims + 2 * tokens * dims * dims +
                       2 * 2 * tokens * dims * hidden) + 2 * dims * num_classes
    attention = depth * 2 * 2 * tokens * tokens * dims
    patch_embed = 2 * tokens * kernel.numel()
    out = dict(linears=linears, attention=attention, patch_embed=patch_embed)
    out = {k: v * batch / 1e9 for k, v in out.items()}
    out['total'] = sum(out.values())
    return out


# ----------------------------------------------------------------------------- profile
def op_group(name: str) -> str | None:
    """The group of a profiler op name: 'attention', 'linears' or None (look inside).

    Args:
        name (str): The op's name (``aten::linear``, ``quantized::linear_dynamic``...).

    Returns:
        str | None: The group, None for an op that is neither.
    """
    lowered = name.lower()
    if 'scaled_dot_product' in lowered or 'flash_attention' in lowered:
        return 'attention'
    if (lowered in ('aten::linear', 'aten::addmm', 'aten::mm', 'aten::matmul', 'aten::_int_mm')
            or lowered.startswith('quantized::') or 'linear' in lowered):
        return 'linears'
    return None


def op_group_seconds(fn: Callable[[], object], calls: int = 1) -> dict:
    """CPU seconds of ``calls`` calls of ``fn`` per op group, from a ``torch.profiler``
    op tree.

    Each op is charged with its whole time to its outermost attention / linear ancestor
    (:func:`op_group`); what no such op encloses is ``rest`` (its self time).

    Args:
        fn (Callable): Zero-argument callable (one forward).
        calls (int): Calls profiled together. Defaults to 1.

    Returns:
        dict: ``attention``, ``linears``, ``rest`` in seconds (all calls together).
    """
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(calls):
            fn()
    totals = dict.fromkeys(OP_GROUPS, 0.0)

    def visit(event):
        group = op_group(event.name)
        if group is not None:
            totals[group] += event.cpu_time_total
            return
        totals['rest'] += event.self_cpu_time_total
        for child in event.cpu_children:
            visit(child)

    for event in prof.events():
        if event.cpu_parent is None:
            visit(event)
    return {k: v / 1e6 for k, v in totals.items()}


# ----------------------------------------------------------------------------- models
def _quiet_init(model: nn.Module) -> None:
    from umt_mm.deployment.exporter import quiet_init_weights
    quiet_init_weights(model)


def build_detector(arch: str | dict = 'base', frames: int = 8) -> nn.Module:
    """The AVA detector of the B/16 AVA recipe (random weights, ``arch`` backbone), eval mode.

    Args:
        arch (str | dict): Backbone arch or a ``BENCHMARK_ARCHS`` name. Defaults to 'base'.
        frames (int): Frames. Defaults to 8.

    Returns:
        nn.Module: The detector (only its backbone is timed).
    """
    from mmdet.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import umt_mm  # noqa: F401
    cfg = Config.fromfile(recipe_file(DETECTION_CONFIG))
    cfg.model.backbone.update(arch=resolve_arch(arch), num_frames=frames)
    init_default_scope('mmaction')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    _quiet_init(model)
    return model.eval()


def _prepared(model: nn.Module, path: str) -> tuple[nn.Module, str]:
    """A copy of ``model`` prepared for an inference path, and its one-line description."""
    from umt_mm.apis.precision import cpu_bf16_answer, prepare_inference
    trial = copy.deepcopy(model)
    precision, backend = path_spec(path)
    logger = logging.getLogger('umt_mm')
    level = logger.level
    logger.setLevel(logging.ERROR)  # 'bf16 requested but not faster here' is reported anyway
    try:
        choice = prepare_inference(trial, precision, backend, bf16_support=cpu_bf16_answer())
    finally:
        logger.setLevel(level)
    return trial, choice.describe()


def time_paths(model: nn.Module, forward: Callable[[nn.Module, torch.Tensor], torch.Tensor],
               clip: torch.Tensor, flops: dict, paths: tuple[str, ...], repeats: int) -> dict:
    """Time, profile and compare the inference paths of one model on one input.

    Args:
        model (nn.Module): The fp32 model (copied per path, not changed).
        forward (Callable): ``forward(model, clip) -> output`` (called under ``no_grad``).
        clip (torch.Tensor): The input.
        flops (dict): :func:`forward_flops` of the input.
        paths (tuple[str, ...]): Paths of :data:`INFERENCE_PATHS`; ``fp32`` comes first.
            The exported paths (onnxruntime, OpenVINO) run ops PyTorch's profiler does not
            see: their split is None.
        repeats (int): Alternating rounds (one warm-up call each before them).

    Returns:
        dict: Per path: ``describe`` (the ``PrecisionChoice`` line), ``time_s`` (median of
        rounds), ``best_s``, ``setup_s`` (preparing the model and its first call: the int8
        check, compiling, exporting, calibrating; what a process pays once per input
        shape), ``gflops`` (total FLOPs / median time), ``speedup_vs_fp32``
        (median of the per-round fp32 / path), ``cosine_to_fp32``,
        ``{attention,linears,rest}_s`` (the median time split by the profile's shares),
        ``linears_gflops`` and ``attention_gflops``; :func:`add_peak_fractions` adds the
        fractions of the peaks.
    """
    paths = ('fp32', ) + tuple(p for p in paths if p != 'fp32')
    if 'compile' in paths:
        # each model compiles from fresh caches (the compile time is its own)
        torch._dynamo.reset()
    prepared, described, fns, setup = {}, {}, {}, {}
    outputs = {}
    for path in paths:
        start = time.perf_counter()
        prepared[path], described[path] = _prepared(model, path)

        def run(m=prepared[path]):
            with torch.no_grad():
                return forward(m, clip)
        fns[path] = run
        outputs[path] = run().float()  # warm-up: compiles, exports, calibrates
        setup[path] = time.perf_counter() - start
    from umt_mm.apis.precision import output_cosine
    shares = {}
    for path, fn in fns.items():
        if path_spec(path)[1] in ('onnxruntime', 'openvino'):
            shares[path] = None  # the engine's ops are not PyTorch ops: no split
            continue
        # each group's least time over a few separately profiled calls: a stall of the
        # shared machine in one call does not shift the split
        calls = [op_group_seconds(fn) for _ in range(max(1, min(3, repeats)))]
        split = {k: min(call[k] for call in calls) for k in OP_GROUPS}
        whole = sum(split.values()) or 1.0
        shares[path] = {k: v / whole for k, v in split.items()}
    for fn in fns.values():  # the first call after a profile is slow
        fn()
    rounds: dict[str, list] = {path: [] for path in paths}
    for round_index in range(repeats):
        for path, fn in fns.items():
            start = time.perf_counter()
            fn()
            rounds[path].append(time.perf_counter() - start)
        _progress(f'round {round_index + 1}/{repeats}: ' + ', '.join(
            f'{path} {values[-1]:.3g} s' for path, values in rounds.items()))
    results: dict = {}
    for path in paths:
        seconds = statistics.median(rounds[path])
        row = dict(describe=described[path], time_s=seconds, best_s=min(rounds[path]),
                   setup_s=setup[path],
                   gflops=flops['total'] / seconds,
                   speedup_vs_fp32=statistics.median(
                       f / p for f, p in zip(rounds['fp32'], rounds[path])),
                   cosine_to_fp32=output_cosine(outputs['fp32'], outputs[path]))
        for group in OP_GROUPS:
            row[f'{group}_s'] = None if shares[path] is None else seconds * shares[path][group]
        for group in ('linears', 'attention'):
            group_s = row[f'{group}_s']
            row[f'{group}_gflops'] = flops[group] / group_s if group_s else None
        results[path] = row
    return results


def add_peak_fractions(rows: dict, peaks: dict) -> dict:
    """Add each path's fractions of the measured peak of its precision, in place.

    ``fraction_of_peak`` (the whole forward), ``linears_fraction_of_peak`` and
    ``attention_fraction_of_peak`` (int8 paths run their attention in fp32: the fp32 peak);
    None where a group took no measurable time.

    Args:
        rows (dict): What :func:`time_paths` returned.
        peaks (dict): Measured peak GFLOP/s per precision (``gemm_peaks()['peak']``).

    Returns:
        dict: ``rows``.
    """
    for path, row in rows.items():
        precision = path_spec(path)[0]
        peak = peaks[precision]
        attention_peak = peaks['fp32' if precision == 'int8' else precision]
        row['fraction_of_peak'] = row['gflops'] / peak
        for group, group_peak in (('linears', peak), ('attention', attention_peak)):
            gflops = row[f'{group}_gflops']
            row[f'{group}_fraction_of_peak'] = gflops / group_peak if gflops else None
    return rows


def _progress(message: str) -> None:
    # progress on stderr (stdout carries the report)
    print(f'[benchmark] {message}', file=sys.stderr, flush=True)


def _recognizer_forward(model: nn.Module, clip: torch.Tensor) -> torch.Tensor:
    return model.cls_head(model.backbone(clip))


def _backbone_forward(model: nn.Module, clip: torch.Tensor) -> torch.Tensor:
    out = model.backbone(clip)
    return out[0] if isinstance(out, (tuple, list)) else out


def feature_throughput(arch: str | dict, frames: int, size: int, paths: tuple[str, ...],
                       repeats: int = 2, video_seconds: int = 2) -> dict:
    """Clips/s of :func:`umt_mm.apis.extract_features` per inference path on a generated video.

    One-second windows of a generated Kinetics-like video (30 fps), the UMT test view
    (short side ``size``, centre crop), decoding included; alternating rounds after one
    warm-up each.

    Args:
        arch (str | dict): Backbone arch. Defaults to the recognizer's.
        frames (int): Frames per window.
        size (int): Crop side.
        paths (tuple[str, ...]): Inference paths (:data:`INFERENCE_PATHS`; fp32 first).
        repeats (int): Rounds. Defaults to 2.
        video_seconds (int): Length of the video (= windows). Defaults to 2.

    Returns:
        dict: ``clips`` (windows per call) and per path ``{clips_per_s, speedup_vs_fp32,
        cosine_to_fp32}``.
    """
    from umt_mm.apis import extract_features
    from umt_mm.apis.video_windows import default_test_pipeline
    from umt_mm.testing.kinetics_like_videos import write_kinetics_like_video
    base = build_recognizer(arch, frames, size)
    pipeline = default_test_pipeline(frames, size)
    models = {}
    for path in paths:
        models[path], _ = _prepared(base, path)
        models[path].cfg = base.cfg
    with tempfile.TemporaryDirectory() as tmp:
        video = Path(tmp) / 'clip.mp4'
        write_kinetics_like_video(video, num_frames=30 * video_seconds, fps=30,
                                  width=max(64, size * 2 // 3 * 2), height=max(48, size))
        calls = {p: (lambda m=m: extract_features(m, video, window=1.0,
                                                  test_pipeline=pipeline))
                 for p, m in models.items()}
        feats = {p: fn().features for p, fn in calls.items()}
        rounds: dict[str, list] = {p: [] for p in calls}
        for _ in range(repeats):
            for p, fn in calls.items():
                start = time.perf_counter()
                fn()
                rounds[p].append(time.perf_counter() - start)
    from umt_mm.apis.precision import output_cosine
    clips = len(feats['fp32'])
    results: dict = {'clips': clips}
    for p in calls:
        results[p] = dict(
            clips_per_s=clips / statistics.median(rounds[p]),
            speedup_vs_fp32=statistics.median(f / s for f, s in zip(rounds['fp32'], rounds[p])),
            cosine_to_fp32=output_cosine(torch.from_numpy(feats['fp32']),
                                         torch.from_numpy(feats[p])))
    return results


def train_step_amp(arch: str | dict, frames: int, size: int, batch: int = 1,
                   repeats: int = 3) -> dict:
    """A finetuning step (forward, cross-entropy, backward) in fp32 and under bf16 autocast.

    bf16 autocast is what ``tools/train.py --amp`` runs on a CPU where
    :func:`umt_mm.engine.cpu_bf16.cpu_bf16_support` says bf16 is faster (elsewhere it trains
    in fp32); here both are forced, alternating rounds after one warm-up each.

    Args:
        arch (str | dict): Backbone arch.
        frames (int): Frames.
        size (int): Frame side.
        batch (int): Clips per step. Defaults to 1.
        repeats (int): Rounds. Defaults to 3.

    Returns:
        dict: ``batch``, ``fp32_s``, ``bf16_autocast_s`` (medians), ``speedup_bf16_autocast``
        (median of the per-round fp32 / bf16) and ``amp_uses_bf16_here`` (what ``--amp``
        decides on this CPU) with its ``amp_reason``.
    """
    from umt_mm.apis.precision import cpu_bf16_answer
    model = build_recognizer(arch, frames, size).train()
    gen = torch.Generator().manual_seed(0)
    clip = torch.randn(batch, 3, frames, size, size, generator=gen)
    target = torch.zeros(batch, dtype=torch.long)

    def step(bf16: bool):
        def run():
            model.zero_grad(set_to_none=True)
            with torch.autocast('cpu', dtype=torch.bfloat16, enabled=bf16):
                logits = _recognizer_forward(model, clip)
            F.cross_entropy(logits.float(), target).backward()
        return run

    fns = {'fp32': step(False), 'bf16_autocast': step(True)}
    for fn in fns.values():
        fn()
    rounds: dict[str, list] = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            start = time.perf_counter()
            fn()
            rounds[k].append(time.perf_counter() - start)
    support = cpu_bf16_answer()
    return dict(batch=batch, fp32_s=statistics.median(rounds['fp32']),
                bf16_autocast_s=statistics.median(rounds['bf16_autocast']),
                speedup_bf16_autocast=statistics.median(
                    f / b for f, b in zip(rounds['fp32'], rounds['bf16_autocast'])),
                amp_uses_bf16_here=bool(support.native), amp_reason=support.reason)


def attention_kernel_rates(shape: tuple[int, int, int, int], rounds: int = 5) -> dict:
    """Both attention kernels at the model's shape, fp32 and bf16 (what
    ``prepare_inference(..., attention='auto')`` measures, with more rounds).

    Args:
        shape (tuple[int, int, int, int]): ``(B, heads, tokens, head_dims)``.
        rounds (int): Timed rounds per kernel. Defaults to 5.

    Returns:
        dict: ``shape``, ``gflop`` (``4 N^2 d`` per head) and per precision: ``{kernel:
        {'s', 'gflops'}}``, ``difference`` (the GEMM form's largest relative difference) and
        ``auto`` (the kernel ``attention='auto'`` would keep from these times);
        :func:`_attention_fractions` adds each kernel's fraction of the GEMM peak.
    """
    from umt_mm.apis.attention_kernels import decide, time_attention_kernels
    batch, heads, tokens, dims = shape
    gflop = 4 * batch * heads * tokens * tokens * dims / 1e9
    out: dict = dict(shape=list(shape), gflop=gflop)
    for name, dtype in (('fp32', torch.float32), ('bf16', torch.bfloat16)):
        seconds, difference = time_attention_kernels(shape, dtype, rounds)
        out[name] = dict({k: dict(s=t, gflops=gflop / t) for k, t in seconds.items()},
                         difference=difference, auto=decide(seconds, difference, dtype)[0])
    return out


def _attention_fractions(rates: dict, peaks: dict) -> None:
    for precision in ('fp32', 'bf16'):
        for kernel in ('sdpa', 'matmul'):
            row = rates[precision][kernel]
            row['of_peak'] = row['gflops'] / peaks[precision]


def inference_benchmark(arch: str = 'base', frames: int = 8, size: int = 224,
                        repeats: int = 5, batches: tuple[int, ...] = (1, ),
                        compile_: bool = False, detection: bool = True,
                        features: bool = True, train: bool = True,
                        threads: int | None = None,
                        paths: tuple[str, ...] | None = None) -> dict:
    """The ``--inference`` measurements (see the module docstring).

    Args:
        arch (str): Backbone arch (``'tiny'``: a 64-channel, 2-block model). Defaults to
            'base'.
        frames (int): Recognizer frames. Defaults to 8.
        size (int): Recognizer frame side. Defaults to 224.
        repeats (int): Alternating rounds of the model paths (GEMMs: at least 10, features:
            ``max(1, repeats // 2)``, train step: ``max(1, repeats - 2)``). Defaults to 5.
        batches (tuple[int, ...]): Recognizer batches (12: the 4x3-view test protocol).
            Defaults to (1, ).
        compile_ (bool): Also time ``backend='compile'`` (minutes of compiling for B/16).
            Defaults to False.
        detection (bool): Time the AVA detector backbone. Defaults to True.
        features (bool): Time feature extraction. Defaults to True.
        train (bool): Time the fp32 / bf16-autocast finetuning step. Defaults to True.
        threads (int, optional): Intra-op threads for the run (restored after it); the
            paper peaks count ``min(cores, threads)`` cores. Defaults to None (torch's).
        paths (tuple[str, ...], optional): Inference paths (:data:`INFERENCE_PATHS`; fp32
            always runs, as the baseline). Defaults to None: :data:`DEFAULT_PATHS` whose
            engines are installed.

    Returns:
        dict: ``cpu`` (:func:`cpu_info`), ``paper_peak`` (:func:`paper_peaks`),
        ``gemm`` (:func:`gemm_peaks` at the recognizer's batch-1 shapes, measured before
        and after the models, the best of both, with ``shapes``,
        ``measured_over_paper`` (above 1 where the clock the CPU reports is below the one
        it runs at) and ``implied_clock_ghz`` per precision), ``recognizer`` (``{'batch1':
        {'clip': ..., 'gflop': forward_flops, 'paths': time_paths}, ...}``),
        ``detector`` (the same for one detector backbone input), ``features``
        (:func:`feature_throughput`), ``train_step`` (:func:`train_step_amp`),
        ``auto`` (what ``precision='auto'`` picks here and why),
        ``attention_kernels`` (:func:`attention_kernel_rates` at the recognizer's batch-1
        shape, with fractions of the GEMM peaks) and ``load_average_end``.
    """
    if threads is not None and threads < 1:
        raise ValueError(f'threads must be >= 1, got {threads}')
    paths = available_paths() if paths is None else tuple(paths)
    for path in paths:
        path_spec(path)  # a clear error before minutes of measuring
    paths = ('fp32', ) + tuple(p for p in paths if p not in ('fp32', 'compile')) + (
        ('compile', ) if compile_ or 'compile' in paths else ())
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        return _inference_benchmark(arch, frames, size, repeats, batches, paths,
                                    detection, features, train)
    finally:
        torch.set_num_threads(previous)


def _inference_benchmark(arch, frames, size, repeats, batches, paths, detection, features,
                         train) -> dict:
    from umt_mm.apis.precision import cpu_bf16_answer
    info = cpu_info()
    results: dict = {'cpu': info, 'paper_peak': paper_peaks(
        info['flags'], min(info['cores'], info['threads']), info['clock_ghz'])}
    recognizer = build_recognizer(arch, frames, size)
    backbone = recognizer.backbone
    dims, hidden = backbone.embed_dims, backbone.blocks[0].mlp.fc1.out_features
    patch = backbone.patch_embed.proj.weight.shape  # (D, 3, t, p, p)
    rows = (frames // patch[2]) * (size // patch[3]) * (size // patch[4])
    shapes = gemm_shapes(dims, hidden, rows)
    _progress('GEMM peaks')
    gemm_rounds = max(10, repeats)
    first_gemm = gemm_peaks(shapes, gemm_rounds)
    _progress('attention kernels')
    heads = backbone.blocks[0].attn.num_heads
    results['attention_kernels'] = attention_kernel_rates(
        (1, heads, rows, dims // heads), max(5, repeats))
    support = cpu_bf16_answer()
    results['auto'] = dict(precision='bf16 (if the accuracy gate passes)' if support.native
                           else 'fp32', reason=support.reason)
    gen = torch.Generator().manual_seed(0)
    results['recognizer'] = {}
    for batch in batches:
        _progress(f'recognizer, batch {batch}: {", ".join(paths)}')
        clip = torch.randn(batch, 3, frames, size, size, generator=gen)
        flops = forward_flops(backbone, (frames, size, size), batch,
                              recognizer.cls_head.fc_cls.out_features
                              if hasattr(recognizer.cls_head, 'fc_cls') else 0)
        results['recognizer'][f'batch{batch}'] = dict(
            clip=list(clip.shape), gflop=flops,
            paths=time_paths(recognizer, _recognizer_forward, clip, flops, paths, repeats))
    del recognizer
    if detection:
        det_frames, height, width = DETECTION_GEOMETRY if arch != 'tiny' else \
            (frames, size, 2 * size)
        _progress(f'AVA detector backbone, {det_frames}x{height}x{width}')
        detector = build_detector(arch, det_frames)
        clip = torch.randn(1, 3, det_frames, height, width, generator=gen)
        flops = forward_flops(detector.backbone, (det_frames, height, width))
        results['detector'] = dict(
            clip=list(clip.shape), gflop=flops,
            paths=time_paths(detector, _backbone_forward, clip, flops, paths, repeats))
        del detector
    _progress('GEMM peaks, again')
    gemm = gemm_peaks(shapes, gemm_rounds, previous=first_gemm)
    gemm['shapes'] = {k: list(v) for k, v in shapes.items()}
    paper, cores = results['paper_peak'], min(info['cores'], info['threads'])
    gemm['measured_over_paper'] = {
        p: gemm['peak'][p] / paper[p]['gflops'] for p in ('fp32', 'bf16', 'int8')
        if paper[p]['gflops']}
    # the clock at which the paper figure would equal the measured one
    gemm['implied_clock_ghz'] = {
        p: gemm['peak'][p] / (cores * paper[p]['per_cycle_per_core'])
        for p in ('fp32', 'bf16', 'int8') if paper[p]['per_cycle_per_core']}
    results['gemm'] = gemm
    _attention_fractions(results['attention_kernels'], gemm['peak'])
    for entry in [*results['recognizer'].values(), results.get('detector')]:
        if entry is not None:
            add_peak_fractions(entry['paths'], gemm['peak'])
    if features:
        _progress('feature extraction')
        results['features'] = feature_throughput(
            arch, frames, size, tuple(p for p in paths if p != 'compile'), max(1, repeats // 2))
    if train:
        _progress('finetuning step, fp32 vs bf16 autocast')
        results['train_step'] = train_step_amp(arch, frames, size,
                                               repeats=max(1, repeats - 2))
    results['load_average_end'] = ' '.join(f'{x:.2f}' for x in os.getloadavg())
    return results


def _num(value, fmt: str = '.1f') -> str:
    return '-' if value is None else format(value, fmt)


def _path_table(paths: dict) -> list[str]:
    lines = ['| path | median s | first call s | GFLOP/s | of its peak | vs fp32 | '
             'cosine to fp32 | attention s | linears s | rest s | linears of peak | '
             'attention of peak |',
             '|---|---|---|---|---|---|---|---|---|---|---|---|']
    for path, r in paths.items():
        lines.append(
            f"| {path} | {r['time_s']:.3f} | {r['setup_s']:.1f} | {r['gflops']:.1f} | "
            f"{r['fraction_of_peak']:.0%} | {r['speedup_vs_fp32']:.2f}x | "
            f"{r['cosine_to_fp32']:.5f} | {_num(r['attention_s'], '.3f')} | "
            f"{_num(r['linears_s'], '.3f')} | {_num(r['rest_s'], '.3f')} | "
            f"{_num(r['linears_fraction_of_peak'], '.0%')} | "
            f"{_num(r['attention_fraction_of_peak'], '.0%')} |")
    return lines


def format_inference_report(results: dict) -> str:
    """The ``--inference`` results as Markdown: the CPU, peaks and one table per model.

    Args:
        results (dict): What :func:`inference_benchmark` returned.

    Returns:
        str: The report.
    """
    cpu, paper, gemm = results['cpu'], results['paper_peak'], results['gemm']
    lines = [f"CPU: {cpu['cpu_model']}, {cpu['cores']} cores, {cpu['threads']} torch threads, "
             f"clock {_num(cpu['clock_ghz'], '.2f')} GHz (cpu MHz {_num(cpu['cpu_mhz'], '.0f')}"
             f", model name {_num(cpu['name_ghz'], '.2f')} GHz), ATen {cpu['capability']}",
             f"flags: {', '.join(cpu['flags']) or 'none'}",
             f"load average: start {cpu['load_average']}, end {results['load_average_end']}",
             f"paper peaks for {min(cpu['cores'], cpu['threads'])} cores at "
             f"{_num(cpu['clock_ghz'], '.2f')} GHz",
             '', '| precision | paper unit | per cycle per core | paper GFLOP/s | '
             'measured GEMM GFLOP/s | measured / paper | implied clock GHz |',
             '|---|---|---|---|---|---|---|']
    for p in ('fp32', 'bf16', 'int8'):
        ratio = gemm['measured_over_paper'].get(p)
        lines.append(f"| {p} | {paper[p]['unit']} | {paper[p]['per_cycle_per_core']} | "
                     f"{_num(paper[p]['gflops'])} | {gemm['peak'][p]:.1f} | "
                     f"{_num(ratio, '.2f')} | {_num(gemm['implied_clock_ghz'].get(p), '.2f')} |")
    lines += ['', f"fastest native path on paper: {paper['fastest_native']}; int8 peak "
              f"kernel: {gemm['int8_kernel']}; auto: {results['auto']['precision']} "
              f"({results['auto']['reason']})", '',
              '| GEMM (rows x in x out) | ' + ' | '.join(gemm['block']) + ' |',
              '|---|' + '---|' * len(gemm['block'])]
    for name, per in gemm['per_shape'].items():
        shape = 'x'.join(str(v) for v in gemm['shapes'][name])
        lines.append(f'| {name} {shape} | ' + ' | '.join(
            _num(per.get(k)) for k in gemm['block']) + ' |')
    lines.append('| block (all four) | ' + ' | '.join(
        f'{v:.1f}' for v in gemm['block'].values()) + ' |')
    att = results['attention_kernels']
    lines += ['', f"Attention kernels at {'x'.join(map(str, att['shape']))} (batch, heads, "
              f"tokens, head dims), {att['gflop']:.2f} GFLOP per call; what attention='auto' "
              f"keeps: fp32 {att['fp32']['auto']}, bf16 {att['bf16']['auto']}", '',
              '| kernel | fp32 s | fp32 GFLOP/s | of fp32 GEMM peak | bf16 s | bf16 GFLOP/s | '
              'of bf16 GEMM peak |', '|---|---|---|---|---|---|---|']
    for kernel in ('sdpa', 'matmul'):
        lines.append('| ' + kernel + ' | ' + ' | '.join(
            f"{att[p][kernel]['s'] * 1e3:.1f} ms | {att[p][kernel]['gflops']:.1f} | "
            f"{att[p][kernel]['of_peak']:.0%}" for p in ('fp32', 'bf16')) + ' |')
    for key, entry in results['recognizer'].items():
        lines += ['', f"Recognizer {key}, input {entry['clip']}, "
                  f"{entry['gflop']['total']:.1f} GFLOP (linears "
                  f"{entry['gflop']['linears']:.1f}, attention "
                  f"{entry['gflop']['attention']:.1f})", ''] + _path_table(entry['paths'])
    if 'detector' in results:
        entry = results['detector']
        lines += ['', f"AVA detector backbone, input {entry['clip']}, "
                  f"{entry['gflop']['total']:.1f} GFLOP (linears "
                  f"{entry['gflop']['linears']:.1f}, attention "
                  f"{entry['gflop']['attention']:.1f})", ''] + _path_table(entry['paths'])
    if 'features' in results:
        feats = results['features']
        lines += ['', f"Feature extraction, {feats['clips']} one-second windows per call:", '',
                  '| path | clips/s | vs fp32 | cosine to fp32 |', '|---|---|---|---|']
        for p, r in feats.items():
            if isinstance(r, dict):
                lines.append(f"| {p} | {r['clips_per_s']:.3f} | {r['speedup_vs_fp32']:.2f}x | "
                             f"{r['cosine_to_fp32']:.5f} |")
    if 'train_step' in results:
        t = results['train_step']
        lines += ['', f"Finetuning step, batch {t['batch']}: fp32 {t['fp32_s']:.3f} s, bf16 "
                  f"autocast {t['bf16_autocast_s']:.3f} s, fp32 / bf16 "
                  f"{t['speedup_bf16_autocast']:.2f}x; --amp here: "
                  f"{'bf16 autocast' if t['amp_uses_bf16_here'] else 'fp32'} "
                  f"({t['amp_reason']})"]
    return '\n'.join(lines)
