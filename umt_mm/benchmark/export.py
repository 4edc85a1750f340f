"""The recognizer exported to ONNX: onnxruntime against PyTorch eager."""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch

from .model import BENCHMARK_ARCHS, resolve_arch
from .resources import recipe_file
from .timing import median, time_interleaved

EXPORT_CONFIG = 'configs/k400/umt-base-p16-res224_k710-ft_16xb16-u8-5e_kinetics400-rgb.py'
#: named backbone archs besides the model's own (``tiny``: for tests)
EXPORT_ARCHS = BENCHMARK_ARCHS


def build_recognizer(arch: str | dict = 'base', frames: int = 8,
                     size: int = 224) -> torch.nn.Module:
    """The K400 UMT recognizer (random weights; ``arch``, ``frames``, ``size`` change its
    backbone), in eval mode.

    Args:
        arch (str | dict): Backbone arch or a ``BENCHMARK_ARCHS`` name. Defaults to 'base'.
        frames (int): Frames. Defaults to 8.
        size (int): Frame side. Defaults to 224.

    Returns:
        torch.nn.Module: The recognizer.
    """
    from mmaction.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import umt_mm  # noqa: F401
    from umt_mm.deployment.exporter import quiet_init_weights
    cfg = Config.fromfile(recipe_file(EXPORT_CONFIG))
    cfg.model.backbone.update(arch=resolve_arch(arch), num_frames=frames, img_size=size)
    init_default_scope('mmaction')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    cfg.model.cls_head.in_channels = model.backbone.embed_dims
    model.cls_head = MODELS.build(cfg.model.cls_head)
    quiet_init_weights(model)
    model.cfg = cfg
    return model.eval()


def export_benchmark(arch: str | dict = 'base', frames: int = 8, size: int = 224,
                     repeats: int = 5) -> dict:
    """Latency of the exported recognizer in onnxruntime against PyTorch eager.

    The K400 UMT recipe's recognizer (random weights; ``arch``, ``frames``, ``size``
    change its backbone) is exported by ``umt_mm.deployment`` (one view, batch 1) to a
    temporary ONNX file, run by onnxruntime's CPU execution provider with
    ``ORT_ENABLE_ALL`` graph optimisations and as many intra-op threads as PyTorch uses,
    and timed against the same modules in PyTorch eager (``torch.no_grad``) in
    alternating rounds. ``speedup_onnxruntime`` is the median over rounds of eager / ORT.

    Args:
        arch (str | dict): Backbone arch, or a key of ``EXPORT_ARCHS``. Defaults to 'base'.
        frames (int): Frames per clip. Defaults to 8.
        size (int): Frame side. Defaults to 224.
        repeats (int): Alternating rounds. Defaults to 5.

    Returns:
        dict: ``cpu_capability``, ``threads``, ``torch``, ``onnxruntime``, ``exporter``,
        ``ort_provider``, ``ort_graph_optimization``, ``onnx_mib``, ``max_abs_diff_logits``,
        ``eager_s``, ``onnxruntime_s`` (best rounds), ``speedup_onnxruntime``,
        ``speedup_onnxruntime_of_bests`` and ``speedup_onnxruntime_rounds``.
    """
    import onnxruntime

    import umt_mm  # noqa: F401
    from umt_mm.deployment import example_inputs, export, make_wrapper, onnx_session
    from umt_mm.deployment.exporter import ONNX_OPSET

    model = build_recognizer(arch, frames, size)
    wrapper = make_wrapper(model)
    (clip, ) = example_inputs(wrapper, (frames, size, size))
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
    timed = time_interleaved({'eager': eager, 'onnxruntime': ort}, repeats)
    for key, values in timed.items():
        results[f'{key}_s'] = min(values)
    rounds = [e / o for e, o in zip(timed['eager'], timed['onnxruntime'])]
    # headline: eager / onnxruntime per round (> 1: onnxruntime faster), median over rounds
    results['speedup_onnxruntime'] = median(rounds)
    results['speedup_onnxruntime_of_bests'] = min(timed['eager']) / min(timed['onnxruntime'])
    results['speedup_onnxruntime_rounds'] = [round(r, 3) for r in rounds]
    return results
