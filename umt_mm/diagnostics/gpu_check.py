"""One check that an installation is right and fast on a GPU (``make gpu-check``).

Checks, in order (``--only`` / ``--skip`` take their names):

============== ================================================================== ==========
name           what                                                               needs CUDA
============== ================================================================== ==========
ops            mmcv's compiled ops load; with CUDA, built with CUDA and runnable   no
roi_align      RoIAlign forward and backward on CUDA equal CPU (rel. 1e-5)         yes
forward        the B/16 recognizer in fp32, bf16 and fp16 against CPU fp32         no
               (:data:`FORWARD_TOLERANCE`); without CUDA: bf16 CPU autocast only
finetune_fp16  20 steps of the B/16 finetuning recipe with its own fp16            yes
               ``AmpOptimWrapper`` and loss scaler: loss finite and falling
finetune_bf16  the same in bf16 (without CUDA: the CPU bf16 wrapper, tiny model)    no
pretrain       20 steps of the B/16 pretraining recipe (CLIP-B/16 teacher with     no
               random weights): loss finite and falling
dist_train     ``tools/dist_train.sh CONFIG 1`` (NCCL; gloo without CUDA), 5 steps  no
ava_forward    the B/16 AVA detector forward, CUDA against CPU fp32 (rel. 1e-3)     no
benchmark      ``tools/analysis_tools/benchmark.py --gpu``: clips/s and MFU         yes
============== ================================================================== ==========

With CUDA the models have their recipe size (B/16, 8 frames, 224 px; the detector 8x256x320)
and the training runs use the recipes' pipelines on generated videos with a constant lr
(the point is the numerics, not the schedule). Without CUDA, or with ``--tiny``, everything
runs at a tiny geometry (2 blocks of width 32, 4 frames of 32 px) and the CUDA-only checks
are reported as skipped; the exit status is 0 unless a check that ran failed.

"Falling" means the mean loss of the last 5 steps is below that of the first 5.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

import torch

ROOT = Path(__file__).resolve().parents[2]
FINETUNE_CFG = 'configs/k400/umt-base-p16-res224_k710-ft_16xb16-u8-5e_kinetics400-rgb.py'
PRETRAIN_CFG = ('configs/pretrain/'
                'umt-base-p16-res224_clip-b16-distill_32xb64-u8-201e_kinetics710-rgb.py')
DETECTION_CFG = 'action_detection/configs/umt-base-p16_k710-ft_16xb8-8x8x1-30e_ava22-rgb.py'
BENCHMARK_SCRIPTS = ('tools/analysis_tools/benchmark.py', 'tools/benchmark.py')
TINY_ARCH = dict(embed_dims=32, depth=2, num_heads=2, mlp_ratio=2)
#: largest accepted ``max |x - x_cpu_fp32| / max |x_cpu_fp32|`` of the recognizer's pooled
#: features and class scores, per compute dtype (fp32 with TF32 off)
FORWARD_TOLERANCE = {'float32': 1e-3, 'float16': 1e-2, 'bfloat16': 5e-2}
#: the same for RoIAlign (forward and input gradient) and the AVA detector's class scores
ROI_ALIGN_TOLERANCE = 1e-5
DETECTOR_TOLERANCE = 1e-3


@dataclass
class CheckResult:
    """The outcome of one check.

    Args:
        name (str): Check name.
        status (str): ``'pass'``, ``'fail'`` or ``'skip'``.
        detail (str): Numbers or the reason. Defaults to ''.
        seconds (float): Wall time. Defaults to 0.
        values (dict): Measured values (for ``--json``). Defaults to none.
    """
    name: str
    status: str
    detail: str = ''
    seconds: float = 0.0
    values: dict = field(default_factory=dict)


class CheckFailed(AssertionError):
    """A check ran and found the installation wrong; the message says how."""


class Skip(Exception):
    """A check cannot run here; the message says why."""


@dataclass
class Context:
    """Where and how big the checks run.

    Args:
        device (str): ``'cuda'`` or ``'cpu'``.
        tiny (bool): Tiny models and clips.
        steps (int): Training steps of the finetune / pretrain checks. Defaults to 20.
        work_dir (Path): Scratch folder. Defaults to a new temporary folder.
        python (str): Interpreter for subprocesses. Defaults to this one.
    """
    device: str
    tiny: bool
    steps: int = 20
    work_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix='gpu_check_')))
    python: str = sys.executable
    _videos: dict | None = None

    @property
    def cuda(self) -> bool:
        return self.device.startswith('cuda')

    @property
    def size(self) -> int:
        return 32 if self.tiny else 224

    @property
    def frames(self) -> int:
        return 4 if self.tiny else 8

    @property
    def workers(self) -> int:
        return 0 if self.tiny else 2

    def videos(self, count: int) -> dict:
        """At least ``count`` generated two-class videos: ``videos`` folder, ``train_list``."""
        if self._videos is None or self._videos['count'] < count:
            from umt_mm.testing import make_toy_video_dataset
            per_class = max(2, -(-count // 2))
            made = make_toy_video_dataset(self.work_dir / f'videos_{per_class}',
                                          num_per_class=per_class, num_val_per_class=0,
                                          num_frames=16, size=40)
            self._videos = dict(made, count=2 * per_class)
        return self._videos


def resource(rel: str) -> Path:
    """A config or tool of the checkout, or of the installed package's ``.mim`` folder."""
    for base in (ROOT, Path(__file__).resolve().parents[1] / '.mim'):
        if (base / rel).exists():
            return base / rel
    raise FileNotFoundError(f'{rel} not found in {ROOT} or the package .mim folder')


def relative_error(value: torch.Tensor, reference: torch.Tensor) -> float:
    """``max |value - reference| / max |reference|`` in fp32 on the CPU."""
    value, reference = value.detach().float().cpu(), reference.detach().float().cpu()
    scale = reference.abs().max().item() or 1.0
    return (value - reference).abs().max().item() / scale


@contextmanager
def no_tf32() -> Iterator[None]:
    """Full fp32 matmuls and convolutions on CUDA (TF32 off) inside the block."""
    old = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old


def _need_cuda(ctx: Context) -> None:
    if not ctx.cuda:
        raise Skip('needs CUDA (no GPU visible)')


# --------------------------------------------------------------------------- checks
def check_ops(ctx: Context) -> str:
    """mmcv's compiled ops load; with CUDA they were built with CUDA and run on a GPU."""
    from mmcv.ops import RoIAlign, get_compiling_cuda_version
    compiled = get_compiling_cuda_version()
    feats = torch.rand(1, 2, 8, 8)
    rois = torch.tensor([[0, 1.0, 1.0, 6.0, 6.0]])
    RoIAlign((2, 2), 1.0, 2)(feats, rois)
    if not ctx.cuda:
        built = ('built without CUDA' if compiled == 'not available'
                 else f'built with CUDA {compiled}')
        return f'CPU ops load (mmcv {built}); CUDA ops not checked'
    if compiled == 'not available':
        raise CheckFailed('mmcv was built without CUDA ops: rerun make setup with FORCE_CUDA=1')
    RoIAlign((2, 2), 1.0, 2)(feats.to(ctx.device), rois.to(ctx.device))
    return f'CUDA ops load and run (mmcv built with CUDA {compiled}, torch {torch.version.cuda})'


def check_roi_align(ctx: Context) -> str:
    """RoIAlign forward and input gradient on CUDA against CPU."""
    _need_cuda(ctx)
    from mmcv.ops import RoIAlign
    gen = torch.Generator().manual_seed(0)
    feats = torch.rand(2, 16, 32, 32, generator=gen)
    xy = torch.rand(64, 2, generator=gen) * 24
    wh = 1 + torch.rand(64, 2, generator=gen) * 12
    rois = torch.cat([torch.randint(0, 2, (64, 1), generator=gen).float(), xy, xy + wh], 1)
    grad = torch.rand(64, 16, 7, 7, generator=gen)
    outs = {}
    for device in ('cpu', ctx.device):
        x = feats.to(device).requires_grad_()
        y = RoIAlign((7, 7), 1.0, 2, aligned=True)(x, rois.to(device))
        y.backward(grad.to(device))
        outs[device] = (y, x.grad)
    fwd = relative_error(outs[ctx.device][0], outs['cpu'][0])
    bwd = relative_error(outs[ctx.device][1], outs['cpu'][1])
    if max(fwd, bwd) > ROI_ALIGN_TOLERANCE:
        raise CheckFailed(f'CUDA vs CPU: forward {fwd:.2e}, gradient {bwd:.2e} '
                          f'> {ROI_ALIGN_TOLERANCE:g}')
    return f'CUDA vs CPU rel. error: forward {fwd:.1e}, gradient {bwd:.1e}'


def build_recognizer(ctx: Context) -> torch.nn.Module:
    """The finetuning recipe's B/16 recognizer (tiny with ``ctx.tiny``), random weights."""
    from mmaction.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    init_default_scope('mmaction')
    cfg = Config.fromfile(resource(FINETUNE_CFG)).model
    if ctx.tiny:
        cfg.backbone.update(arch=TINY_ARCH, img_size=ctx.size, num_frames=ctx.frames)
        cfg.cls_head.in_channels = TINY_ARCH['embed_dims']
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    return model.eval()


def check_forward(ctx: Context) -> dict:
    """The recognizer's features and scores per dtype against CPU fp32."""
    model = build_recognizer(ctx)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, ctx.frames, ctx.size, ctx.size, generator=gen)

    def run(device: str, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.no_grad(), no_tf32(), torch.autocast(
                device.split(':')[0], dtype=dtype, enabled=dtype != torch.float32):
            feats = model.backbone(x.to(device))
            return feats.float(), model.cls_head(feats).float()
    ref = run('cpu', torch.float32)
    dtypes = ('float32', 'bfloat16', 'float16') if ctx.cuda else ('bfloat16',)
    if ctx.cuda:
        model.to(ctx.device)
    errors, failed = {}, []
    for name in dtypes:
        feats, scores = run(ctx.device, getattr(torch, name))
        errors[name] = max(relative_error(feats, ref[0]), relative_error(scores, ref[1]))
        if not all(map(math.isfinite, (feats.sum().item(), scores.sum().item()))):
            errors[name] = math.inf
        if not errors[name] <= FORWARD_TOLERANCE[name]:
            failed.append(f'{name} {errors[name]:.2e} > {FORWARD_TOLERANCE[name]:g}')
    model.cpu()
    detail = ', '.join(f'{k} {v:.1e}' for k, v in errors.items())
    where = f'{ctx.device} vs CPU fp32' if ctx.cuda else 'CPU bf16 autocast vs fp32'
    if failed:
        raise CheckFailed(f'{where}: ' + ', '.join(failed))
    return {'detail': f'{where}, rel. error: {detail}', 'values': errors}


def _patch_pipeline(pipeline: list, ctx: Context) -> None:
    for t in pipeline:
        if 'clip_len' in t:
            t['clip_len'] = ctx.frames
        if not ctx.tiny:
            continue
        for key in ('scale', 'crop_size', 'short_side', 'input_size'):
            if key in t:
                t[key] = (ctx.size, ctx.size) if isinstance(t[key], (tuple, list)) else ctx.size


def _list_file(ctx: Context, clips: int, name: str) -> str:
    """A list of ``clips`` different generated videos (the pretraining lists refuse
    duplicates), alternating the two classes."""
    lines = Path(ctx.videos(clips)['train_list']).read_text().splitlines(True)
    by_label = [[ln for ln in lines if ln.split()[-1] == label] for label in ('0', '1')]
    mixed = [ln for pair in zip(*by_label) for ln in pair]
    path = ctx.work_dir / f'{name}_list.txt'
    path.write_text(''.join(mixed[:clips]))
    return str(path)


def _common_train_cfg(cfg, ctx: Context, name: str, lr: float, steps: int, batch: int):
    from umt_mm.cli_config import prepare_train_cfg
    loader = cfg.train_dataloader
    loader.update(batch_size=batch, num_workers=ctx.workers, persistent_workers=False)
    loader.dataset.update(ann_file=_list_file(ctx, steps * batch, name),
                          data_prefix=dict(video=str(ctx.videos(steps * batch)['videos'])))
    if 'num_repeats' in loader.dataset:
        loader.dataset.num_repeats = 1
    _patch_pipeline(loader.dataset.pipeline, ctx)
    cfg.train_cfg.max_epochs = 1
    cfg.param_scheduler = []  # constant lr: the numerics, not the schedule
    cfg.optim_wrapper.optimizer.lr = lr
    cfg.default_hooks.checkpoint = None
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.load_from = None
    cfg.randomness = dict(seed=0)
    cfg.work_dir = str(ctx.work_dir / name)
    cfg.experiment_name = f'{name}-{uuid.uuid4().hex[:8]}'
    cfg.log_level = 'WARNING'
    if ctx.cuda:
        cfg.env_cfg = dict(cfg.get('env_cfg', {}), dist_cfg=dict(backend='nccl'))
    return prepare_train_cfg(cfg, no_validate=True, auto_scale_lr=False)


def finetune_config(ctx: Context, name: str, dtype: str = 'float16', steps: int | None = None):
    """The finetuning recipe reduced to ``steps`` iterations on generated videos.

    Args:
        ctx (Context): Device and size.
        name (str): Work sub-folder and experiment name.
        dtype (str): ``AmpOptimWrapper`` dtype. Defaults to 'float16' (the recipe's).
        steps (int, optional): Iterations. Defaults to ``ctx.steps``.

    Returns:
        Config: The config (``prepare_train_cfg`` applied: the CPU wrapper without CUDA).
    """
    from mmengine.config import Config
    cfg = Config.fromfile(resource(FINETUNE_CFG))
    if ctx.tiny:
        cfg.model.backbone.update(arch=TINY_ARCH, img_size=ctx.size, num_frames=ctx.frames)
        cfg.model.cls_head.in_channels = TINY_ARCH['embed_dims']
    cfg.optim_wrapper.dtype = dtype
    return _common_train_cfg(cfg, ctx, name, lr=1e-3 if ctx.tiny else 1e-4,
                             steps=steps or ctx.steps, batch=2)


def pretrain_config(ctx: Context, name: str = 'pretrain'):
    """The pretraining recipe (random CLIP teacher) reduced to ``ctx.steps`` iterations."""
    from mmengine.config import Config
    cfg = Config.fromfile(resource(PRETRAIN_CFG))
    cfg.model.teacher.init_cfg = None  # random teacher: no CLIP download
    if ctx.tiny:
        cfg.model.encoder.update(arch=TINY_ARCH, img_size=ctx.size, num_frames=ctx.frames)
        cfg.model.teacher.update(arch=dict(patch_size=16, width=32, layers=2, heads=2,
                                           output_dim=16), input_resolution=ctx.size,
                                 num_return_layers=2)
        cfg.model.update(align_dims=16, num_return_layers=2)
    return _common_train_cfg(cfg, ctx, name, lr=1e-3 if ctx.tiny else 1.5e-4,
                             steps=ctx.steps, batch=2)


def train_steps(cfg) -> dict:
    """Train ``cfg`` with MMEngine's runner; the losses and the optimizer wrapper."""
    from mmengine.hooks import Hook
    from mmengine.runner import Runner

    class Record(Hook):
        priority = 'LOWEST'

        def __init__(self):
            self.losses: list[float] = []
            self.scales: list[float] = []

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            loss = outputs['loss']
            self.losses.append(float(loss.detach() if torch.is_tensor(loss) else loss))
            scaler = getattr(runner.optim_wrapper, 'loss_scaler', None)
            if scaler is not None:
                self.scales.append(float(scaler.get_scale()))
    runner = Runner.from_cfg(cfg)
    record = Record()
    runner.register_hook(record)
    runner.train()
    wrapper = runner.optim_wrapper
    return {'losses': record.losses, 'scales': record.scales,
            'wrapper': type(wrapper).__name__,
            'dtype': str(getattr(wrapper, 'cast_dtype', None) or getattr(wrapper, 'dtype', ''))}


def judge_losses(losses: Sequence[float], steps: int) -> str:
    """Raise :class:`CheckFailed` unless all ``steps`` losses are finite and falling."""
    if len(losses) != steps:
        raise CheckFailed(f'{len(losses)} steps ran, {steps} expected')
    bad = [i + 1 for i, v in enumerate(losses) if not math.isfinite(v)]
    if bad:
        raise CheckFailed(f'non-finite loss at step(s) {bad[:5]}')
    k = min(5, max(1, steps // 4))
    first, last = sum(losses[:k]) / k, sum(losses[-k:]) / k
    if not last < first:
        raise CheckFailed(f'loss not falling: first {k} steps {first:.4f}, last {k} {last:.4f}')
    return f'loss {first:.3f} -> {last:.3f} (mean of first / last {k} of {steps} steps)'


def _finetune(ctx: Context, dtype: str, name: str) -> dict:
    run = train_steps(finetune_config(ctx, name, dtype))
    detail = f"{run['wrapper']} {run['dtype']}: " + judge_losses(run['losses'], ctx.steps)
    if ctx.cuda and run['wrapper'] != 'AmpOptimWrapper':
        raise CheckFailed(f"the recipe ran with {run['wrapper']}, not AmpOptimWrapper")
    if run['scales']:
        detail += f"; loss scale {run['scales'][0]:g} -> {run['scales'][-1]:g}"
    return {'detail': detail, 'values': run}


def check_finetune_fp16(ctx: Context) -> dict:
    """The finetuning recipe's own fp16 AmpOptimWrapper and loss scaler."""
    _need_cuda(ctx)
    return _finetune(ctx, 'float16', 'finetune_fp16')


def check_finetune_bf16(ctx: Context) -> dict:
    """The finetuning recipe in bf16 (the CPU bf16 wrapper without CUDA)."""
    return _finetune(ctx, 'bfloat16', 'finetune_bf16')


def check_pretrain(ctx: Context) -> dict:
    """The pretraining recipe (distillation from a random CLIP teacher)."""
    run = train_steps(pretrain_config(ctx))
    return {'detail': f"{run['wrapper']}: " + judge_losses(run['losses'], ctx.steps),
            'values': run}


def _free_port() -> int:
    import socket
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def check_dist_train(ctx: Context) -> str:
    """``tools/dist_train.sh CONFIG 1`` for 5 steps (NCCL with CUDA, gloo without)."""
    cfg = finetune_config(ctx, 'dist_train', 'float16' if ctx.cuda else 'bfloat16', steps=5)
    path = ctx.work_dir / 'dist_train_cfg.py'
    cfg.dump(path)
    env = dict(os.environ, PYTHON=ctx.python, PORT=str(_free_port()), OMP_NUM_THREADS='1')
    start = time.time()
    result = subprocess.run(['bash', str(resource('tools/dist_train.sh')), str(path), '1'],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        tail = (result.stdout + result.stderr).strip().splitlines()[-3:]
        raise CheckFailed(f'exit {result.returncode}: ' + ' | '.join(tail))
    scalars = sorted(Path(cfg.work_dir).glob('*/vis_data/scalars.json'))
    losses = [json.loads(line)['loss'] for line in scalars[-1].read_text().splitlines()
              if '"loss"' in line] if scalars else []
    if len(losses) != 5 or not all(map(math.isfinite, losses)):
        raise CheckFailed(f'expected 5 finite logged losses, got {losses}')
    backend = 'nccl' if ctx.cuda else 'gloo'
    return f'1 process over {backend}, 5 steps, {time.time() - start:.0f} s'


def check_ava_forward(ctx: Context) -> dict:
    """The B/16 AVA detector's forward (backbone, RoIAlign, head) against CPU fp32."""
    from mmdet.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    init_default_scope('mmaction')
    cfg = Config.fromfile(resource(DETECTION_CFG))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    model.init_weights()
    frames, height, width = (8, 64, 80) if ctx.tiny else (8, 256, 320)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(1, 3, frames, height, width, generator=gen)
    corners = torch.rand(10, 2, generator=gen) * torch.tensor([width / 2, height / 2])
    sizes = 8 + torch.rand(10, 2, generator=gen) * torch.tensor([width / 2 - 8, height / 2 - 8])
    rois = torch.cat([torch.zeros(10, 1), corners, corners + sizes], dim=1)
    metas = [dict(img_shape=(height, width))]

    def run(device: str) -> torch.Tensor:
        model.to(device)
        with torch.no_grad(), no_tf32():
            feat = model.extract_feat(x.to(device))
            return model.roi_head._bbox_forward(feat, rois.to(device), metas)['cls_score']
    ref = run('cpu')
    if not torch.isfinite(ref).all():
        raise CheckFailed('non-finite class scores on CPU')
    if not ctx.cuda:
        return {'detail': f'CPU forward {frames}x{height}x{width}, 10 boxes: scores '
                          f'{tuple(ref.shape)}, finite', 'values': {}}
    err = relative_error(run(ctx.device), ref)
    model.cpu()
    if not err <= DETECTOR_TOLERANCE:
        raise CheckFailed(f'CUDA vs CPU class scores rel. error {err:.2e} > {DETECTOR_TOLERANCE:g}')
    return {'detail': f'{frames}x{height}x{width}, 10 boxes, CUDA vs CPU rel. error {err:.1e}',
            'values': {'rel_error': err}}


def check_benchmark(ctx: Context) -> dict:
    """The device benchmark as a subprocess: train-step clips/s and MFU."""
    _need_cuda(ctx)
    script = next((ROOT / s for s in BENCHMARK_SCRIPTS if (ROOT / s).exists()), None)
    if script is None:
        raise CheckFailed(f'no benchmark script ({" or ".join(BENCHMARK_SCRIPTS)})')
    out = ctx.work_dir / 'benchmark.json'
    result = subprocess.run([ctx.python, str(script), '--gpu', '--device', ctx.device,
                             '--repeats', '3', '--json', str(out)], cwd=ROOT,
                            capture_output=True, text=True, timeout=480)
    if result.returncode != 0 or not out.exists():
        tail = (result.stdout + result.stderr).strip().splitlines()[-3:]
        raise CheckFailed(f'{script.relative_to(ROOT)} exit {result.returncode}: '
                          + ' | '.join(tail))
    values = json.loads(out.read_text())
    shown = [f'{k[:-len("_clips_per_s")]} {values[k]:.1f} clips/s, MFU '
             + (f"{values[k[:-len('_clips_per_s')] + '_mfu']:.1%}"
                if isinstance(values.get(k[:-len('_clips_per_s')] + '_mfu'), float) else 'n/a')
             for k in sorted(values) if k.endswith('_clips_per_s') and not k.startswith('loader')]
    return {'detail': '; '.join(shown) or 'no clips/s in the output', 'values': values}


#: every check in run order
CHECKS: dict[str, Callable[[Context], str | dict]] = {
    'ops': check_ops,
    'roi_align': check_roi_align,
    'forward': check_forward,
    'finetune_fp16': check_finetune_fp16,
    'finetune_bf16': check_finetune_bf16,
    'pretrain': check_pretrain,
    'dist_train': check_dist_train,
    'ava_forward': check_ava_forward,
    'benchmark': check_benchmark,
}


def run_checks(ctx: Context, names: Sequence[str] | None = None,
               checks: dict[str, Callable[[Context], str | dict]] | None = None,
               echo: Callable[[str], None] = print) -> list[CheckResult]:
    """Run checks in order; a failure or error is recorded and the next check runs.

    Args:
        ctx (Context): Device and size.
        names (Sequence[str], optional): Checks to run. Defaults to all.
        checks (dict, optional): Name -> check function. Defaults to :data:`CHECKS`.
        echo (Callable): Progress lines. Defaults to ``print``.

    Returns:
        list[CheckResult]: One per check run or skipped.
    """
    checks = CHECKS if checks is None else checks
    results = []
    for name, fn in checks.items():
        if names is not None and name not in names:
            continue
        echo(f'[gpu-check] {name} ...')
        start = time.time()
        try:
            out = fn(ctx)
            out = out if isinstance(out, dict) else {'detail': out}
            res = CheckResult(name, 'pass', out.get('detail', ''), values=out.get('values', {}))
        except Skip as exc:
            res = CheckResult(name, 'skip', str(exc))
        except Exception as exc:  # noqa: BLE001 - every failure goes into the table
            if not isinstance(exc, CheckFailed):
                traceback.print_exc()
            res = CheckResult(name, 'fail', f'{type(exc).__name__}: {exc}'.splitlines()[0])
        res.seconds = time.time() - start
        echo(f'[gpu-check] {name}: {res.status.upper()} ({res.seconds:.1f} s) {res.detail}')
        results.append(res)
    return results


def summary_table(results: Sequence[CheckResult], ctx: Context) -> str:
    """The results as one Markdown table with a heading line."""
    if ctx.cuda:
        where = f'{torch.cuda.get_device_name(ctx.device)}, torch {torch.__version__}'
    else:
        where = f'CPU only, torch {torch.__version__}'
    size = 'tiny models' if ctx.tiny else 'recipe size'
    lines = [f'gpu-check on {where} ({size}):', '',
             '| check | result | time | detail |', '|---|---|---|---|']
    lines += [f'| {r.name} | {r.status.upper()} | {r.seconds:.1f} s | {r.detail} |'
              for r in results]
    counts = {s: sum(r.status == s for r in results) for s in ('pass', 'fail', 'skip')}
    lines += ['', f"{counts['pass']} passed, {counts['fail']} failed, {counts['skip']} skipped"
              + (' (CUDA checks skipped: no GPU visible)' if counts['skip'] and not ctx.cuda
                 else '')]
    return '\n'.join(lines)


def exit_code(results: Sequence[CheckResult]) -> int:
    """1 when any check failed, else 0 (skipped checks do not fail)."""
    return int(any(r.status == 'fail' for r in results))


def _names(text: str | None) -> list[str]:
    names = [n.strip() for n in (text or '').split(',') if n.strip()]
    unknown = [n for n in names if n not in CHECKS]
    if unknown:
        raise SystemExit(f'gpu-check: unknown check(s) {unknown}; known: {list(CHECKS)}')
    return names


def main(argv: Sequence[str] | None = None) -> int:
    """Command line of ``tools/misc/gpu_check.sh`` / ``python -m umt_mm.diagnostics``.

    Returns:
        int: The exit status (1 when a check failed).
    """
    parser = argparse.ArgumentParser(
        prog='gpu_check', description='Check that the installation is right and fast on a GPU.')
    parser.add_argument('--device', default=None,
                        help="'cuda', 'cuda:N' or 'cpu' (default: cuda when available)")
    parser.add_argument('--tiny', action='store_true',
                        help='tiny models and clips also with CUDA (always without)')
    parser.add_argument('--only', help=f'comma-separated subset of {list(CHECKS)}')
    parser.add_argument('--skip', help='comma-separated checks not to run')
    parser.add_argument('--steps', type=int, default=20, help='training steps (default 20)')
    parser.add_argument('--work-dir', type=Path, help='scratch folder (default: a temp folder)')
    parser.add_argument('--json', type=Path, help='also write the results to this file')
    args = parser.parse_args(argv)
    if args.steps < 2:
        parser.error('--steps must be at least 2')
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    if device.startswith('cuda') and not torch.cuda.is_available():
        parser.error(f'--device {device}: no GPU is visible to torch {torch.__version__}')
    ctx = Context(device, tiny=args.tiny or not device.startswith('cuda'), steps=args.steps)
    if args.work_dir:
        args.work_dir.mkdir(parents=True, exist_ok=True)
        ctx.work_dir = args.work_dir
    only, skip = _names(args.only), _names(args.skip)
    names = [n for n in (only or CHECKS) if n not in skip]
    results = run_checks(ctx, names)
    print()
    print(summary_table(results, ctx))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=1, default=str))
    return exit_code(results)
