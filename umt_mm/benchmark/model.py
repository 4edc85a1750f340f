"""Speed and memory of the UMT backbone against the naive-attention baseline.

Measures, in one run on the same machine (ratios, not absolute times, are the targets):

* the fp32 matmul peak of the machine (a large ``torch.mm``), the ceiling;
* inference latency of the UMT backbone (batch 1), fp32 and bf16 autocast, with
  ``F.scaled_dot_product_attention`` (ours) and with an explicit ``softmax(q k^T) v``
  attention (the baseline, same weights);
* one train step (forward + loss + backward), both attentions;
* the train step's peak memory (peak RSS of a fresh process above its RSS after building
  the model), both attentions.

The variants are timed in alternating rounds (sdpa, naive, sdpa, naive, ...) so that the
drift of a shared machine hits both alike. ``speedup_*`` is the median over rounds of the
per-round ratio naive / sdpa; ``speedup_*_of_bests`` (ratio of the best rounds) and the
best times (``*_s``) are reported beside it.
"""
from __future__ import annotations

import gc

import torch
import torch.nn.functional as F

from .attention import naive_attention
from .cpu import matmul_peak_gflops
from .process import child_json, peak_rss_bytes, rss_bytes
from .timing import median, time_interleaved, time_it

#: forward GFLOP of UMT-B/16 on one 8x224 clip
FORWARD_GFLOP_B16_8X224 = 358.8
#: the two attentions compared
ATTENTION_VARIANTS = ('sdpa', 'naive')
#: named backbone archs besides the backbone's own ('base', 'large'); ``tiny``: for tests
BENCHMARK_ARCHS = {'tiny': dict(embed_dims=64, depth=2, num_heads=2, mlp_ratio=4.0)}


def resolve_arch(arch: str | dict) -> str | dict:
    """``arch`` with the names of ``BENCHMARK_ARCHS`` replaced by their settings.

    Args:
        arch (str | dict): An arch name or settings.

    Returns:
        str | dict: What ``UMTVisionTransformer(arch=...)`` takes.
    """
    return BENCHMARK_ARCHS.get(arch, arch) if isinstance(arch, str) else arch


def _backbone(arch: str | dict, frames: int, size: int) -> torch.nn.Module:
    from umt_mm.models.backbones import UMTVisionTransformer
    torch.manual_seed(0)
    model = UMTVisionTransformer(arch=resolve_arch(arch), img_size=size, num_frames=frames)
    model.init_weights()
    return model


def model_benchmark(arch: str = 'base', frames: int = 8, size: int = 224,
                    repeats: int = 5) -> dict:
    """Inference (fp32, bf16 autocast) and train-step times of the backbone, sdpa vs naive
    attention in alternating rounds, and each train step's peak memory in a fresh process.

    Args:
        arch (str): Backbone arch (``'tiny'``: see ``BENCHMARK_ARCHS``). Defaults to 'base'.
        frames (int): Frames per clip. Defaults to 8.
        size (int): Frame side. Defaults to 224.
        repeats (int): Alternating rounds per variant (train: one fewer). Defaults to 5.

    Returns:
        dict: ``threads``, ``peak_gflops_fp32``, ``cpu_capability``, ``cpu_native_bf16``,
        ``cpu_bf16_flags``; ``{kind}_{sdpa,naive}_s`` (best round) for the kinds
        ``infer_fp32``, ``infer_bf16``, ``train_fp32``; ``speedup_{kind}`` (median of the
        per-round naive / sdpa) and ``speedup_{kind}_of_bests``;
        ``train_fp32_{sdpa,naive}_peak_mib``; ``memory_ratio_train_fp32``; and for UMT-B/16
        at 8x224 also ``infer_fp32_sdpa_gflops`` and ``infer_fp32_fraction_of_peak``.
    """
    model = _backbone(arch, frames, size)
    x = torch.randn(1, 3, frames, size, size)
    results: dict = {'threads': torch.get_num_threads(),
                     'peak_gflops_fp32': matmul_peak_gflops()}
    # CPU bf16 capability: what CPUAmpOptimWrapper decides on this machine
    from umt_mm.engine.cpu_bf16 import cpu_bf16_support
    bf16 = cpu_bf16_support()
    results.update(cpu_capability=bf16.capability, cpu_native_bf16=str(bf16.native),
                   cpu_bf16_flags=','.join(bf16.flags) or 'none')

    def infer(naive: bool, bf16: bool):
        def run():
            with naive_attention(model, naive), torch.no_grad(), \
                    torch.autocast('cpu', dtype=torch.bfloat16, enabled=bf16):
                model(x)
        return run

    head = torch.nn.Linear(model.embed_dims, 400)
    target = torch.randint(0, 400, (1,))

    def train(naive: bool):
        def run():
            with naive_attention(model, naive):
                model.zero_grad(set_to_none=True)
                F.cross_entropy(head(model(x)), target).backward()
        return run

    model.eval()
    timed = time_interleaved({
        'infer_fp32_sdpa': infer(False, False), 'infer_fp32_naive': infer(True, False),
        'infer_bf16_sdpa': infer(False, True), 'infer_bf16_naive': infer(True, True)},
        repeats)
    model.train()
    timed.update(time_interleaved({'train_fp32_sdpa': train(False),
                                   'train_fp32_naive': train(True)},
                                  max(1, repeats - 1)))
    model.eval()
    for key, values in timed.items():
        results[f'{key}_s'] = min(values)
    for kind in ('infer_fp32', 'infer_bf16', 'train_fp32'):
        rounds = [n / s for n, s in zip(timed[f'{kind}_naive'], timed[f'{kind}_sdpa'])]
        # headline: the median over rounds of naive / sdpa measured side by side
        results[f'speedup_{kind}'] = median(rounds)
        results[f'speedup_{kind}_of_bests'] = min(timed[f'{kind}_naive']) / min(
            timed[f'{kind}_sdpa'])
    for name in ATTENTION_VARIANTS:
        measured = child_json('--child-train', name, '--arch', arch, '--frames', str(frames),
                              '--size', str(size), '--repeats', '1')
        results[f'train_fp32_{name}_peak_mib'] = measured['peak_mib']
    if arch == 'base' and frames == 8 and size == 224:
        gflops = FORWARD_GFLOP_B16_8X224 / results['infer_fp32_sdpa_s']
        results['infer_fp32_sdpa_gflops'] = gflops
        results['infer_fp32_fraction_of_peak'] = gflops / results['peak_gflops_fp32']
    results['memory_ratio_train_fp32'] = (results['train_fp32_sdpa_peak_mib'] /
                                          results['train_fp32_naive_peak_mib'])
    return results


def train_step_memory(variant: str = 'sdpa', arch: str | dict = 'base', frames: int = 8,
                      size: int = 224, repeats: int = 1) -> dict:
    """Time train steps and measure the peak RSS above the RSS after model set-up.

    Meant for a fresh process (``python -m umt_mm.benchmark --child-train VARIANT``): the
    peak is the process's own.

    Args:
        variant (str): ``'sdpa'`` or ``'naive'``. Defaults to 'sdpa'.
        arch (str | dict): Backbone arch. Defaults to 'base'.
        frames (int): Frames per clip. Defaults to 8.
        size (int): Frame side. Defaults to 224.
        repeats (int): As ``model_benchmark``'s: ``repeats - 1`` (at least 1) timed steps
            after a warm-up. Defaults to 1.

    Returns:
        dict: ``time_s`` (best step) and ``peak_mib``.
    """
    if variant not in ATTENTION_VARIANTS:
        raise ValueError(f'variant must be one of {ATTENTION_VARIANTS}, got {variant!r}')
    model = _backbone(arch, frames, size).train()
    head = torch.nn.Linear(model.embed_dims, 400)
    x = torch.randn(1, 3, frames, size, size)
    target = torch.randint(0, 400, (1,))
    gc.collect()
    baseline = rss_bytes()

    def train_step():
        model.zero_grad(set_to_none=True)
        loss = F.cross_entropy(head(model(x)), target)
        loss.backward()

    with naive_attention(model, variant == 'naive'):
        seconds = time_it(train_step, max(1, repeats - 1))
    return dict(time_s=seconds, peak_mib=(peak_rss_bytes() - baseline) / 2 ** 20)
