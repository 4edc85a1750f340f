"""One UMT pretraining step (student + CLIP teacher): ours vs the reference's computation."""
from __future__ import annotations

import gc
from contextlib import contextmanager, nullcontext
from typing import Callable, Iterator

import torch
import torch.nn.functional as F

from .attention import naive_attention
from .cpu import matmul_peak_gflops
from .process import child_json, peak_rss_bytes, rss_bytes
from .timing import median, time_interleaved

#: ``sdpa``: the step as the recipe runs it (fused attention, CLS row only in the teacher's last
#: block, teacher's last block and projections on the visible tokens only, fused AdamW);
#: ``naive``: the same step computed as the reference does (explicit attention everywhere, the
#: full attention matrix in the teacher's last block, teacher features at every token then
#: gathered, torch's default per-tensor AdamW); ``naive_attention``: the naive step with the
#: fused AdamW (what ours saves besides the optimizer); ``sdpa_bf16_teacher``: the recipe with a
#: bf16-autocast teacher.
PRETRAIN_VARIANTS = ('sdpa', 'naive', 'naive_attention', 'sdpa_bf16_teacher')

#: The GEMM operators of a step: what no attention kernel or optimizer can make cheaper.
GEMM_OPS = ('aten.addmm', 'aten.mm', 'aten.convolution', 'aten.convolution_backward')


def naive_clip_attention_forward(self, x: torch.Tensor,
                                 return_cls_attn: bool = False) -> tuple:
    """The reference teacher attention: explicit softmax(q k^T) v for every query, and in the
    last block the full head-averaged attention matrix (``need_weights=True``), of which the
    mask only uses the CLS row.

    Bound to a ``CLIPAttention`` in place of its forward.

    Args:
        x (torch.Tensor): Tokens of shape ``(batch, length, width)``.
        return_cls_attn (bool): Also return the CLS row of the head-averaged attention.
            Defaults to False.

    Returns:
        tuple: ``(output, cls_attn or None)``.
    """
    batch, length, width = x.shape
    qkv = F.linear(x, self.in_proj_weight, self.in_proj_bias)
    q, k, v = qkv.reshape(batch, length, 3, self.heads, self.head_dims).permute(
        2, 0, 3, 1, 4).unbind(0)
    attn = ((q * self.head_dims ** -0.5) @ k.transpose(-2, -1)).softmax(dim=-1)
    out = (attn @ v).transpose(1, 2).reshape(batch, length, width)
    cls_attn = attn.mean(dim=1)[:, 0].float() if return_cls_attn else None
    return self.out_proj(out), cls_attn


@contextmanager
def naive_pretraining(model: torch.nn.Module) -> Iterator[None]:
    """The reference's computation: naive attention in the student (``naive_attention``)
    and in the CLIP teacher, and teacher features at every token gathered at the visible
    ones (``UMTDistiller.teacher_targets_full``).

    Args:
        model (torch.nn.Module): A ``UMTDistiller``.
    """
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
                        align_dims: int = 512, num_return_layers: int = 6
                        ) -> tuple[torch.nn.Module, Callable[[], torch.Tensor]]:
    """UMT-B/16 student + CLIP-B/16 teacher (random weights), AdamW, and one train step.

    The geometry defaults are the B/16 recipe's; tests pass tiny ones.

    Args:
        variant (str): One of ``PRETRAIN_VARIANTS``. Defaults to 'sdpa'.
        frames (int): Frames per clip. Defaults to 8.
        size (int): Frame side. Defaults to 224.
        arch (str | dict): Student arch. Defaults to 'base'.
        teacher_arch (str | dict): CLIP teacher arch. Defaults to 'b16'.
        align_dims (int): Channels of the alignment heads. Defaults to 512.
        num_return_layers (int): Aligned layers. Defaults to 6.

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
        with naive_pretraining(model) if naive else nullcontext():
            optimizer.zero_grad(set_to_none=True)
            loss = model(x, mode='loss')['loss_distill']
            loss.backward()
            optimizer.step()
        return loss.detach()
    return model, step


def step_gemm_gflop(step: Callable[[], object]) -> float:
    """GFLOP of the linear layers and convolutions of one call of ``step`` (forward and
    backward; attention's matmuls are left out), counted by
    :class:`torch.utils.flop_counter.FlopCounterMode`.

    Args:
        step (Callable): Zero-argument callable (it is called once).

    Returns:
        float: GFLOP of the ``GEMM_OPS``.
    """
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as counter:
        step()
    counts = counter.get_flop_counts()['Global']
    return sum(n for op, n in counts.items()
               if str(op).split('.default')[0] in GEMM_OPS) / 1e9


def pretrain_benchmark(repeats: int = 5) -> dict:
    """Fused vs naive pretraining step (alternating rounds) + bf16 teacher + peak memory,
    and the step's GEMM floor: its linear/convolution FLOPs at this CPU's matmul peak.

    Args:
        repeats (int): Alternating rounds per variant. Defaults to 5.

    Returns:
        dict: ``cpu_capability``, ``threads``, ``matmul_peak_gflops``,
        ``pretrain_{sdpa,naive}_gemm_gflop``, ``gemm_floor_s``, ``pretrain_{variant}_s``
        (best round of each of ``PRETRAIN_VARIANTS``), ``time_ratio_sdpa_over_naive``,
        ``time_ratio_sdpa_over_naive_attention``, ``time_ratio_bf16_teacher_over_naive``,
        ``time_ratio_bf16_teacher_over_sdpa`` (medians of per-round ratios),
        ``gemm_floor_over_naive``, ``pretrain_{variant}_peak_mib`` and
        ``memory_ratio_sdpa_over_naive``.
    """
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
                             repeats)
    for key, values in timed.items():
        results[f'{key}_s'] = min(values)

    def ratio(num: str, den: str) -> float:
        return median([a / b for a, b in zip(timed[f'pretrain_{num}'],
                                             timed[f'pretrain_{den}'])])

    # headline: per-round ratio ours / naive (target <= 0.60), median over rounds
    results['time_ratio_sdpa_over_naive'] = ratio('sdpa', 'naive')
    results['time_ratio_sdpa_over_naive_attention'] = ratio('sdpa', 'naive_attention')
    results['time_ratio_bf16_teacher_over_naive'] = ratio('sdpa_bf16_teacher', 'naive')
    results['time_ratio_bf16_teacher_over_sdpa'] = ratio('sdpa_bf16_teacher', 'sdpa')
    # the lowest ratio any fp32 implementation with these GEMMs could reach in this run
    results['gemm_floor_over_naive'] = results['gemm_floor_s'] / median(
        timed['pretrain_naive'])
    del steps
    for variant in PRETRAIN_VARIANTS:
        results[f'pretrain_{variant}_peak_mib'] = child_json('--child-pretrain',
                                                            variant)['peak_mib']
    results['memory_ratio_sdpa_over_naive'] = (results['pretrain_sdpa_peak_mib'] /
                                               results['pretrain_naive_peak_mib'])
    return results


def pretrain_step_memory(variant: str = 'sdpa') -> dict:
    """Peak RSS of two pretraining steps above the RSS after building the model.

    Meant for a fresh process (``python -m umt_mm.benchmark --child-pretrain VARIANT``).

    Args:
        variant (str): One of ``PRETRAIN_VARIANTS``. Defaults to 'sdpa'.

    Returns:
        dict: ``peak_mib``.
    """
    _, step = build_pretrain_step(variant)
    gc.collect()
    baseline = rss_bytes()
    step()
    step()  # the optimizer state exists from the second step on
    return dict(peak_mib=(peak_rss_bytes() - baseline) / 2 ** 20)
