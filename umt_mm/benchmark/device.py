"""Model vs loader on a device: the recipes' train steps (clips/s, MFU) and the data loader.

The recognizer train step and the pretraining step run with bf16 autocast (where the device
supports it), fused AdamW and SDPA attention; their FLOPs are counted, their model FLOPs
utilisation is taken against the device's dense peak, and the data loader's clips/s per
worker beside them says how many workers keep one device busy.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

from .cpu import cpu_description
from .data import recipe_pipeline, variant_pipeline

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

    Args:
        device (torch.device): Where the attention runs.
        dtype (torch.dtype): Dtype of the queries, keys and values.
        heads (int): Attention heads. Defaults to 12 (UMT-B).
        tokens (int): Tokens. Defaults to 1568 (8x224 with 16x16 patches, tubelet 1).
        head_dims (int): Channels per head. Defaults to 64.

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


def timed_steps(step: Callable[[], object], steps: int, device: torch.device) -> float:
    """Seconds per call of ``step`` (one warm-up; CUDA synchronised around the timing).

    Args:
        step (Callable): Zero-argument callable.
        steps (int): Timed calls.
        device (torch.device): The device ``step`` runs on.

    Returns:
        float: Mean seconds per call.
    """
    step()
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
    return (time.perf_counter() - start) / steps


def step_flops(step: Callable[[], object]) -> float:
    """FLOPs of one call of ``step`` (forward and backward, every op
    :class:`~torch.utils.flop_counter.FlopCounterMode` counts, attention included).

    Args:
        step (Callable): Zero-argument callable (it is called once).

    Returns:
        float: FLOPs.
    """
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as counter:
        step()
    return float(counter.get_total_flops())


def build_device_steps(device: torch.device, batch: int, frames: int = 8, size: int = 224,
                       arch: str | dict = 'base', teacher_arch: str | dict = 'b16',
                       align_dims: int = 512, num_return_layers: int = 6,
                       bf16: bool | None = None) -> dict:
    """The recognizer train step and the pretraining step of the recipes on ``device``:
    bf16 autocast (on CUDA by default), fused AdamW, SDPA attention.

    Args:
        device (torch.device): Where the models run.
        batch (int): Clips per step.
        frames (int): Frames per clip. Defaults to 8.
        size (int): Frame side. Defaults to 224.
        arch (str | dict): Student / backbone arch. Defaults to 'base'.
        teacher_arch (str | dict): CLIP teacher arch. Defaults to 'b16'.
        align_dims (int): Channels of the alignment heads. Defaults to 512.
        num_return_layers (int): Aligned layers. Defaults to 6.
        bf16 (bool, optional): bf16 autocast. Defaults to None (on CUDA only).

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
    per video: a clip here is one decoded video) over ``videos``.

    Args:
        videos (list): Video paths.
        workers (int): DataLoader workers (0: in this process).
        clips (int): Clips timed after the workers' first ones.
        variant (str): Decoding, a key of ``umt_mm.benchmark.data.DATA_VARIANTS``.
            Defaults to 'pyav_sparse'.

    Returns:
        float: Clips per second per worker.
    """
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


def device_benchmark(device: str = 'cuda', batch: int = 16, frames: int = 8, size: int = 224,
                     arch: str | dict = 'base', repeats: int = 5,
                     peak_tflops: float | None = None, loader_workers: int = 4,
                     loader_clips: int = 32, num_generated: int = 4,
                     num_frames: int = 300, teacher_arch: str | dict = 'b16',
                     align_dims: int = 512, num_return_layers: int = 6) -> dict:
    """Model clips/s and MFU (recognizer train step, pretraining step) on the device, and
    the data loader's clips/s per worker beside it: which one bounds training.

    Args:
        device (str): ``'cuda'``, ``'cuda:N'``, ``'cpu'`` or ``'auto'``. Defaults to 'cuda'.
        batch (int): Clips per step. Defaults to 16.
        frames (int): Frames per clip. Defaults to 8.
        size (int): Frame side. Defaults to 224.
        arch (str | dict): Backbone arch. Defaults to 'base'.
        repeats (int): Timed steps after one warm-up. Defaults to 5.
        peak_tflops (float, optional): The device peak, for a device not in
            ``DEVICE_PEAK_TFLOPS``. Defaults to None (looked up).
        loader_workers (int): DataLoader workers measured. Defaults to 4.
        loader_clips (int): Clips loaded per variant. Defaults to 32.
        num_generated (int): Kinetics-like videos generated for the loader. Defaults to 4.
        num_frames (int): Frames per generated video. Defaults to 300.
        teacher_arch (str | dict): CLIP teacher arch of the pretraining step. Defaults to
            'b16'.
        align_dims (int): Channels of the alignment heads. Defaults to 512.
        num_return_layers (int): Aligned layers. Defaults to 6.

    Returns:
        dict: ``device``, ``device_type``, ``autocast``, ``optimizer``, ``peak_tflops``,
        ``sdpa_backend``, ``sdpa_usable``; per step (``recognizer_train``,
        ``pretrain_step``) ``{step}_clips_per_s``, ``{step}_tflop_per_clip``, ``{step}_mfu``
        (a string when the peak is unknown) and on CUDA ``{step}_peak_mem_gib``; per
        decoding (``reference``, ``pyav_sparse``)
        ``loader_{variant}_clips_per_s_per_worker`` and ``workers_per_device_{variant}``.
    """
    from mmengine.registry import init_default_scope

    from umt_mm.testing.kinetics_like_videos import write_kinetics_like_video
    init_default_scope('mmaction')
    device = select_device(device)
    bf16 = device.type == 'cuda' and torch.cuda.is_bf16_supported()
    name = torch.cuda.get_device_name(device) if device.type == 'cuda' else \
        cpu_description()['cpu_model']
    peak = peak_tflops or (device_peak_tflops(name, 'bf16' if bf16 else 'fp32')
                           if device.type == 'cuda' else None)
    results: dict = dict(device=name, device_type=device.type, autocast='bf16' if bf16 else
                         'off (fp32)', optimizer='AdamW(fused=True)', peak_tflops=peak)
    attention = sdpa_backend(device, torch.bfloat16 if bf16 else torch.float32)
    results.update(sdpa_backend=attention['chosen'], sdpa_usable=','.join(attention['usable']))
    steps = build_device_steps(device, batch, frames, size, arch, teacher_arch, align_dims,
                               num_return_layers, bf16=bf16)
    for key, (step, clips) in steps.items():
        flops = step_flops(step) / clips
        seconds = timed_steps(step, repeats, device)
        results[f'{key}_clips_per_s'] = clips / seconds
        results[f'{key}_tflop_per_clip'] = flops / 1e12
        mfu = model_flops_utilization(flops, clips / seconds, peak)
        results[f'{key}_mfu'] = mfu if mfu is not None else 'n/a (unknown peak: --peak-tflops)'
        if device.type == 'cuda':
            results[f'{key}_peak_mem_gib'] = torch.cuda.max_memory_allocated(device) / 2 ** 30
    # the loader beside it: clips/s per worker on Kinetics-like videos
    with tempfile.TemporaryDirectory() as tmp:
        videos = [write_kinetics_like_video(Path(tmp) / f'v{i}.mp4', num_frames=num_frames,
                                            seed=i, gop=250, bframes=3)['path']
                  for i in range(num_generated)]
        for variant in ('reference', 'pyav_sparse'):
            per_worker = loader_clips_per_worker(videos, loader_workers, loader_clips, variant)
            results[f'loader_{variant}_clips_per_s_per_worker'] = per_worker
            results[f'workers_per_device_{variant}'] = (
                results['recognizer_train_clips_per_s'] / per_worker)
    return results
