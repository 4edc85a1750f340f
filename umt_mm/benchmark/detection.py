"""The AVA detector's forward (backbone + RoI head), sdpa vs naive attention."""
from __future__ import annotations

import gc
from typing import Callable

import torch

from .attention import naive_attention
from .model import ATTENTION_VARIANTS
from .process import child_json, peak_rss_bytes, rss_bytes
from .resources import recipe_file
from .timing import median, time_interleaved

DETECTION_CONFIG = ('action_detection/configs/'
                    'umt-base-p16_k710-ft_16xb8-8x8x1-30e_ava22-rgb.py')


def build_detection_forward(num_boxes: int = 10, frames: int = 8, height: int = 256,
                            width: int = 320) -> tuple[torch.nn.Module, Callable[[], None]]:
    """The B/16 AVA detector of the config and a forward on one clip with ``num_boxes`` RoIs.

    Args:
        num_boxes (int): RoIs of the clip (random boxes). Defaults to 10.
        frames (int): Frames of the clip. Defaults to 8.
        height (int): Frame height. Defaults to 256.
        width (int): Frame width. Defaults to 320.

    Returns:
        tuple: ``(model, run)``; ``run()`` is backbone + RoI head (pooling and classifier),
        what a test step computes besides the data pipeline.
    """
    from mmdet.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import umt_mm  # noqa: F401
    init_default_scope('mmaction')
    cfg = Config.fromfile(recipe_file(DETECTION_CONFIG))
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


def detection_benchmark(repeats: int = 3) -> dict:
    """sdpa vs naive attention on the detector forward (alternating rounds) + peak memory.

    Args:
        repeats (int): Alternating rounds per variant. Defaults to 3.

    Returns:
        dict: ``cpu_capability``, ``threads``, ``det_fp32_{sdpa,naive}_s`` (best round),
        ``speedup_det_fp32`` (median of the per-round naive / sdpa),
        ``speedup_det_fp32_rounds``, ``det_fp32_{sdpa,naive}_peak_mib`` and
        ``memory_ratio_det_fp32``.
    """
    model, run = build_detection_forward()

    def variant(naive: bool):
        def call():
            with naive_attention(model, naive):
                run()
        return call

    results: dict = {'cpu_capability': torch.backends.cpu.get_cpu_capability(),
                     'threads': torch.get_num_threads()}
    timed = time_interleaved({'det_fp32_sdpa': variant(False),
                              'det_fp32_naive': variant(True)}, repeats)
    for key, values in timed.items():
        results[f'{key}_s'] = min(values)
    rounds = [n / s for n, s in zip(timed['det_fp32_naive'], timed['det_fp32_sdpa'])]
    results['speedup_det_fp32'] = median(rounds)
    results['speedup_det_fp32_rounds'] = [round(r, 3) for r in rounds]
    for name in ATTENTION_VARIANTS:
        results[f'det_fp32_{name}_peak_mib'] = child_json('--child-detection',
                                                         name)['peak_mib']
    results['memory_ratio_det_fp32'] = (results['det_fp32_sdpa_peak_mib'] /
                                        results['det_fp32_naive_peak_mib'])
    return results


def detection_forward_memory(variant: str = 'sdpa') -> dict:
    """Peak RSS of one detector forward above the RSS after building it.

    Meant for a fresh process (``python -m umt_mm.benchmark --child-detection VARIANT``).

    Args:
        variant (str): ``'sdpa'`` or ``'naive'``. Defaults to 'sdpa'.

    Returns:
        dict: ``peak_mib``.
    """
    if variant not in ATTENTION_VARIANTS:
        raise ValueError(f'variant must be one of {ATTENTION_VARIANTS}, got {variant!r}')
    model, run = build_detection_forward()
    gc.collect()
    baseline = rss_bytes()
    with naive_attention(model, variant == 'naive'):
        run()
    return dict(peak_mib=(peak_rss_bytes() - baseline) / 2 ** 20)
