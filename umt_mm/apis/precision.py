"""Inference precision and backend: fp32, bf16 or int8 UMT backbones, eager or compiled.

Every inference entry point (the APIs of this package and the tools over them) takes
``precision`` (``'fp32' | 'bf16' | 'int8' | 'auto'``), ``backend`` (``'eager' | 'compile' |
'onnxruntime' | 'openvino'``)
and ``threads``; :func:`prepare_inference` applies them to a built recognizer or AVA
detector, in place, and returns a :class:`PrecisionChoice` that says what was chosen and
why.

* ``bf16``: the patch embedding and the transformer blocks hold bf16 weights and run bf16
  activations (whole-model bf16, not per-op autocast casts); the final norms, the token
  pooling, the heads and the AVA RoI pooling stay fp32 (the last block's output is cast
  back), so a model's scores keep fp32 arithmetic where precision matters.
* ``int8``: post-training dynamic quantization of every ``Linear`` of the blocks
  (weights int8 per tensor, activations quantized per call; PyTorch's x86 / FBGEMM
  kernels, which use AVX-512 VNNI or AMX-INT8 where the CPU has them). It needs no
  calibration data; the attention product and the norms stay fp32. The ``qkv`` layer's
  separate q / v biases are folded into one ``Linear`` bias first (numerically the same).
  The quantized output is checked against fp32 on ``calibration`` clips (else the gate
  clip); below :data:`INT8_MIN_COSINE` the layers int8 hurts most stay in float
  (:mod:`umt_mm.apis.quantization`).
* ``auto``: bf16 where :func:`umt_mm.engine.cpu_bf16.cpu_bf16_support` (CPU flags and a
  measured matmul probe, the same decision as training's CPU mixed precision) says bf16
  is faster than fp32 on this CPU, or on a CUDA device that supports bf16 — and only if the
  model passes the accuracy gate on a probe clip (logit / feature cosine against fp32
  >= :data:`BF16_MIN_COSINE`); fp32 otherwise.
* ``backend='compile'``: ``torch.compile`` (Inductor, frozen weights) of the backbone; the
  first call compiles (tens of seconds to minutes on a small CPU), later calls of the same shapes
  reuse it.
* ``backend='onnxruntime'`` (CPU, the ``deploy`` extra): the backbone exported to ONNX at its
  first input of each shape and run by onnxruntime, in fp32 or, with ``precision='int8'``,
  quantized by onnxruntime's dynamic quantization (:class:`OnnxRuntimeBackbone`).
* ``backend='openvino'`` (CPU, the ``openvino`` extra): the same export run by OpenVINO in
  fp32, bf16 (its bf16 inference precision) or int8 (static quantization calibrated on real
  clips: ``calibration``, else the first input of each shape; the weight layers int8 hurts
  most stay in float where the output on those clips would fall below
  :data:`INT8_MIN_COSINE`; :class:`OpenVinoBackbone`); ``auto`` takes bf16 under the same
  decision and gate as eager.
"""
from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field

import torch
import torch.nn as nn

from ..models.layers import ATTENTION_KERNELS
from .attention_kernels import AttentionChoice, choose_attention_kernel, set_attention_kernel
from .exported_backends import OnnxRuntimeBackbone, OpenVinoBackbone
from .quantization import (
    INT8_MIN_COSINE,
    Int8Report,
    keep_sensitive_in_float,
    output_cosine,
    relative_error,
)

PRECISIONS = ('fp32', 'bf16', 'int8', 'auto')
BACKENDS = ('eager', 'compile', 'onnxruntime', 'openvino')

#: accuracy gates: cosine between the fp32 output and the reduced-precision one (int8's,
#: INT8_MIN_COSINE, lives with the int8 search in :mod:`umt_mm.apis.quantization`)
BF16_MIN_COSINE = 0.999


@dataclass
class PrecisionChoice:
    """What :func:`prepare_inference` did.

    Attributes:
        requested (str): The precision asked for.
        precision (str): The precision the model now runs (``'fp32'``, ``'bf16'``, ``'int8'``).
        backend (str): ``'eager'``, ``'compile'``, ``'onnxruntime'`` or ``'openvino'``.
        threads (int): Intra-op threads in use.
        reason (str): Why (one line, for the tools to print).
        gate_cosine (float | None): The probe's cosine to fp32, when a gate ran.
        warnings (list[str]): Requests that could not be honoured as asked.
        attention (str | None): The attention kernel of the eager and compile backends
            (``'sdpa'`` or ``'matmul'``); None for the engines (their own).
        attention_reason (str | None): Why that kernel (the measured ratio).
    """

    requested: str
    precision: str
    backend: str
    threads: int
    reason: str
    gate_cosine: float | None = None
    warnings: list[str] = field(default_factory=list)
    attention: str | None = None
    attention_reason: str | None = None

    def describe(self) -> str:
        """One line: ``precision bf16 (auto: ...), backend eager, 2 threads, sdpa attention``."""
        how = self.reason if self.requested == self.precision else \
            f'{self.requested} requested: {self.reason}'
        line = (f'precision {self.precision} ({how}), backend {self.backend}, '
                f'{self.threads} thread{"s" if self.threads != 1 else ""}')
        return line + (f', {self.attention} attention' if self.attention else '')

    def as_dict(self) -> dict:
        """The choice as plain data (for manifests and json outputs)."""
        return dict(requested=self.requested, precision=self.precision, backend=self.backend,
                    threads=self.threads, reason=self.reason, gate_cosine=self.gate_cosine,
                    attention=self.attention, attention_reason=self.attention_reason)


def _backbone(model: nn.Module) -> nn.Module:
    backbone = getattr(model, 'backbone', None)
    if backbone is None or not hasattr(backbone, 'blocks'):
        raise TypeError(f'{type(model).__name__}: precision options apply to models with a UMT '
                        'ViT backbone (model.backbone.blocks)')
    return backbone


def _device_of(module: nn.Module) -> torch.device:
    for tensor in module.parameters():
        return tensor.device
    return torch.device('cpu')


class _FoldedQKVAttention(nn.Module):
    """Forward of a ``UMTAttention`` whose ``qkv`` Linear carries the folded q / v bias."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, num_tokens, channels = x.shape
        qkv = self.qkv(x).reshape(batch, num_tokens, 3, self.num_heads, self.head_dims)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        out = nn.functional.scaled_dot_product_attention(q, k, v)
        out = out.transpose(1, 2).reshape(batch, num_tokens, channels)
        return self.proj_drop(self.proj(out))


def fold_qkv_bias(backbone: nn.Module) -> int:
    """Give every UMT attention a ``qkv`` ``Linear`` with its q / v bias (k bias 0) folded in.

    The output is the same; the layer becomes a plain ``nn.Linear`` that quantization and
    compilers treat like any other.

    Args:
        backbone (nn.Module): A UMT ViT.

    Returns:
        int: Attention layers changed.
    """
    from ..models.layers.attention import UMTAttention
    changed = 0
    for module in backbone.modules():
        if not isinstance(module, UMTAttention) or isinstance(module, _FoldedQKVAttention):
            continue
        old = module.qkv
        new = nn.Linear(old.in_features, old.out_features, bias=True).to(
            device=old.weight.device, dtype=old.weight.dtype)
        with torch.no_grad():
            new.weight.copy_(old.weight)
            bias = module.qkv_bias()
            new.bias.copy_(bias if bias is not None else torch.zeros_like(new.bias))
        module.qkv = new
        module.q_bias = None
        module.v_bias = None
        module.__class__ = type('FoldedUMTAttention', (_FoldedQKVAttention, type(module)), {})
        changed += 1
    return changed


def _cast_input_hook(dtype: torch.dtype):
    def hook(module, args):
        return tuple(a.to(dtype) if torch.is_tensor(a) and a.is_floating_point() else a
                     for a in args)
    return hook


def _float_output_hook(module, args, output):
    return output.float()


def to_bf16(model: nn.Module) -> nn.Module:
    """Run the backbone's patch embedding and blocks in bf16 (norms, pooling, heads in fp32).

    Args:
        model (nn.Module): A recognizer or AVA detector with a UMT ViT backbone (in place).

    Returns:
        nn.Module: ``model``.
    """
    backbone = _backbone(model)
    backbone.patch_embed.to(torch.bfloat16)
    backbone.blocks.to(torch.bfloat16)
    backbone._umt_bf16_hooks = (
        backbone.register_forward_pre_hook(_cast_input_hook(torch.bfloat16)),
        backbone.blocks[-1].register_forward_hook(_float_output_hook))
    return model


def to_int8(model: nn.Module, clips: torch.Tensor | None = None,
            min_cosine: float | None = None) -> Int8Report:
    """Dynamic int8 quantization of the blocks' ``Linear`` layers (CPU only).

    With ``clips`` and ``min_cosine``, the quantized backbone's output on ``clips`` is
    compared with fp32's; below ``min_cosine`` the ``Linear`` layers that lose the most to
    int8 alone stay in float (:func:`umt_mm.apis.quantization.keep_sensitive_in_float`).

    Args:
        model (nn.Module): A recognizer or AVA detector with a UMT ViT backbone on the CPU
            (in place).
        clips (torch.Tensor, optional): Clips ``(N, C, T, H, W)`` to check on. Defaults to
            None (no check).
        min_cosine (float, optional): The output cosine to fp32 to keep. Defaults to None
            (every ``Linear`` in int8, unchecked).

    Returns:
        Int8Report: The layers (module names in the backbone, ``blocks.0.attn.qkv``...)
        in int8 and those kept in float.
    """
    backbone = _backbone(model)
    if _device_of(backbone).type != 'cpu':
        raise ValueError('int8 inference runs on the CPU only (PyTorch dynamic quantization)')
    fold_qkv_bias(backbone)
    blocks = backbone.blocks
    linears = {f'blocks.{name}': module for name, module in blocks.named_modules()
               if isinstance(module, nn.Linear)}
    check = clips is not None and min_cosine is not None
    if check:
        with torch.no_grad():
            reference = backbone(clips)

    def install(layers: list[str]) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')  # torch.ao.quantization's deprecation notice
            from torch.ao.quantization import default_dynamic_qconfig, quantize_dynamic
            backbone.blocks = quantize_dynamic(
                blocks, {layer.removeprefix('blocks.'): default_dynamic_qconfig
                         for layer in layers}, dtype=torch.qint8,
                inplace=not check)

    def measure() -> float:
        with torch.no_grad():
            return output_cosine(reference, backbone(clips))

    def errors() -> dict[str, float]:
        # PyTorch's x86 dynamic Linear: activations over their own range per call, 7 bits
        # (reduce_range); weights symmetric per tensor
        totals = {name: [0.0, 0.0] for name in linears}

        def hook(name):
            def record(module, args):
                x = args[0].detach()
                error, total = relative_error(x, module.weight.detach().t(), float(x.min()),
                                              float(x.max()), levels=127, per_channel=False)
                totals[name][0] += error
                totals[name][1] += total
            return record
        handles = [module.register_forward_pre_hook(hook(name))
                   for name, module in linears.items()]
        installed, backbone.blocks = backbone.blocks, blocks
        try:
            with torch.no_grad():
                backbone(clips)
        finally:
            backbone.blocks = installed
            for handle in handles:
                handle.remove()
        return {name: error / max(total, 1e-30) for name, (error, total) in totals.items()}

    return keep_sensitive_in_float(list(linears), install, measure, errors,
                                   min_cosine if check else None)


def probe_inputs(model: nn.Module, batch: int = 1, seed: int = 0) -> torch.Tensor:
    """A seeded random normalised clip in the backbone's recipe geometry.

    Args:
        model (nn.Module): The model.
        batch (int): Clips. Defaults to 1.
        seed (int): Generator seed. Defaults to 0.

    Returns:
        torch.Tensor: ``(batch, 3, T, H, W)``.
    """
    backbone = _backbone(model)
    gen = torch.Generator().manual_seed(seed)
    size = int(backbone.img_size)
    clip = torch.randn(batch, 3, int(backbone.num_frames), size, size, generator=gen)
    return clip.to(_device_of(backbone))


def _to_exported(model: nn.Module, backend: str, precision: str, device: torch.device,
                 threads: int, calibration: torch.Tensor | None, gate_input,
                 bf16_support) -> PrecisionChoice:
    """Replace the backbone by one run from an ONNX export (onnxruntime or OpenVINO)."""
    from .exported_backends import installed
    if device.type != 'cpu':
        raise ValueError(f'the {backend} backend runs on the CPU; use eager or compile on a GPU')
    extra = 'deploy' if backend == 'onnxruntime' else 'openvino'
    # OpenVINO's int8 quantizes with onnxruntime's tool (in the openvino extra too)
    needed = (backend, 'onnx') + (('onnxruntime', ) if precision == 'int8' else ())
    for package in needed:
        if not installed(package):
            what = f'the {backend} backend' + (
                ' in int8' if package == 'onnxruntime' != backend else '')
            raise ValueError(f'{what} needs {package} (pip install -e .[{extra}])')
    backbone = _backbone(model)
    if backend == 'onnxruntime':
        if precision == 'bf16':
            raise ValueError("the onnxruntime backend runs fp32 or int8; for bf16 use backend "
                             "'eager', 'compile' or 'openvino'")
        resolved = 'int8' if precision == 'int8' else 'fp32'
        reason = ('as asked' if precision != 'auto' else
                  'auto: the onnxruntime backend runs fp32 unless int8 is asked')
        model.backbone = OnnxRuntimeBackbone(backbone, resolved, threads, calibration)
        return PrecisionChoice(precision, resolved, backend, model.backbone.threads, reason)
    choice = PrecisionChoice(precision, precision, backend, threads, 'as asked')
    if precision == 'bf16':
        _warn_unless_bf16_preferred(choice, device, bf16_support)
    elif precision == 'auto':
        trial = OpenVinoBackbone(backbone, 'bf16', threads, calibration)
        if _auto_bf16(choice, model, device, gate_input, bf16_support, trial):
            model.backbone = trial
            return choice
    model.backbone = OpenVinoBackbone(backbone, choice.precision, threads, calibration)
    return choice


def _warn_unless_bf16_preferred(choice: PrecisionChoice, device: torch.device,
                                bf16_support) -> None:
    """bf16 as asked: one warning (logged and in ``choice``) where it is not faster here."""
    preferred, why = _bf16_preferred(device, bf16_support)
    if not preferred:
        choice.warnings.append(f'bf16 requested but not faster here: {why}')
        logging.getLogger('umt_mm').warning('bf16 requested but not faster here: %s', why)


def _auto_bf16(choice: PrecisionChoice, model: nn.Module, device: torch.device, gate_input,
               bf16_support, bf16_backbone) -> bool:
    """Decide ``precision='auto'`` into ``choice``: bf16 where this device prefers it and
    ``bf16_backbone(clip)`` keeps the fp32 backbone's output (cosine >= BF16_MIN_COSINE).

    Returns:
        bool: Whether bf16 was chosen (the caller installs it).
    """
    preferred, why = _bf16_preferred(device, bf16_support)
    choice.precision, choice.reason = 'fp32', f'auto: {why}'
    if not preferred:
        return False
    clip = probe_inputs(model) if gate_input is None else gate_input
    with torch.no_grad():
        reference = _backbone(model)(clip).float()
        cosine = output_cosine(reference, bf16_backbone(clip))
    choice.gate_cosine = cosine
    if cosine < BF16_MIN_COSINE:
        choice.reason = (f'auto: {why}, but the bf16 output fails the accuracy gate '
                         f'(cosine {cosine:.5f} < {BF16_MIN_COSINE})')
        return False
    choice.precision = 'bf16'
    choice.reason = f'auto: {why}; bf16 gate passed (cosine {cosine:.5f})'
    return True


def _bf16_preferred(device: torch.device, support=None) -> tuple[bool, str]:
    if device.type == 'cuda':
        ok = torch.cuda.is_bf16_supported()
        return ok, ('the GPU supports bf16' if ok else 'the GPU has no bf16 support')
    support = cpu_bf16_answer() if support is None else support
    return support.native, support.reason


def cpu_bf16_answer():
    """This CPU's bf16 answer (:func:`umt_mm.engine.cpu_bf16.cpu_bf16_support`, measured
    once per process): the one decision shared with training's CPU mixed precision."""
    from ..engine.cpu_bf16 import cpu_bf16_support
    return cpu_bf16_support()


def prepare_inference(model: nn.Module, precision: str = 'fp32', backend: str = 'eager',
                      threads: int | None = None, gate_input: torch.Tensor | None = None,
                      bf16_support=None, calibration: torch.Tensor | None = None,
                      attention: str = 'auto') -> PrecisionChoice:
    """Apply a precision, a backend and a thread count to a built model, in place.

    Args:
        model (nn.Module): A recognizer or AVA detector (eval mode, on its device).
        precision (str): ``'fp32'``, ``'bf16'``, ``'int8'`` or ``'auto'``. Defaults to 'fp32'.
        backend (str): ``'eager'``, ``'compile'``, ``'onnxruntime'`` or ``'openvino'``.
            Defaults to 'eager'.
        threads (int, optional): ``torch.set_num_threads``. Defaults to None (unchanged).
        gate_input (torch.Tensor, optional): The clip the ``auto`` accuracy gate compares
            on. Defaults to None (:func:`probe_inputs`).
        bf16_support (CPUBf16Support, optional): The CPU's bf16 answer (tests inject it).
            Defaults to None (measured once per process).
        calibration (torch.Tensor, optional): Real clips ``(N, C, T, H, W)`` for int8:
            the OpenVINO backend's static quantization calibrates on them; both int8 paths
            check their output on them against fp32 and keep the layers int8 hurts most in
            float below :data:`INT8_MIN_COSINE`. Defaults to None (OpenVINO: the first
            input of each shape; eager: ``gate_input``, else :func:`probe_inputs`).
        attention (str): The eager and compile backends' attention kernel: ``'auto'``
            times the fused SDPA kernel and the GEMM form at the backbone's shape and
            precision on this CPU and keeps the GEMM form only where it is clearly faster
            with the same numbers (:func:`~umt_mm.apis.attention_kernels.choose_attention_kernel`);
            ``'sdpa'`` or ``'matmul'`` sets one. The engines run their own. Defaults to
            'auto'.

    Returns:
        PrecisionChoice: What runs now and why.

    Raises:
        ValueError: An unknown precision, backend or attention kernel, int8 on a GPU, an
            exported backend on a GPU or without its package (or with an attention kernel
            asked), or bf16 on onnxruntime.
    """
    if precision not in PRECISIONS:
        raise ValueError(f'precision {precision!r}: choose one of {", ".join(PRECISIONS)}')
    if backend not in BACKENDS:
        raise ValueError(f'backend {backend!r}: choose one of {", ".join(BACKENDS)}')
    if attention not in ('auto', *ATTENTION_KERNELS):
        raise ValueError(f'attention {attention!r}: choose auto, {", ".join(ATTENTION_KERNELS)}')
    if threads is not None:
        if threads < 1:
            raise ValueError(f'threads must be >= 1, got {threads}')
        torch.set_num_threads(threads)
    backbone = _backbone(model)
    device = _device_of(backbone)
    if backend in ('onnxruntime', 'openvino'):
        if attention != 'auto':
            raise ValueError(f'the {backend} backend runs its own attention; the attention '
                             'kernel applies to the eager and compile backends')
        return _to_exported(model, backend, precision, device, torch.get_num_threads(),
                            calibration, gate_input, bf16_support)
    choice = PrecisionChoice(precision, precision, backend, torch.get_num_threads(), 'as asked')
    if precision == 'auto':
        def bf16_backbone(clip: torch.Tensor) -> torch.Tensor:
            import copy
            return to_bf16(copy.deepcopy(model)).backbone(clip)
        if _auto_bf16(choice, model, device, gate_input, bf16_support, bf16_backbone):
            to_bf16(model)
    elif precision == 'bf16':
        _warn_unless_bf16_preferred(choice, device, bf16_support)
        to_bf16(model)
    elif precision == 'int8':
        clips = calibration if calibration is not None else gate_input
        report = to_int8(model, probe_inputs(model) if clips is None else clips,
                         INT8_MIN_COSINE)
        choice.gate_cosine = report.cosine
        choice.reason = f'as asked; {report.describe()}'
    if attention == 'auto':
        picked = choose_attention_kernel(backbone)
    else:
        set_attention_kernel(backbone, attention)
        picked = AttentionChoice(attention, 'as asked')
    choice.attention, choice.attention_reason = picked.kernel, picked.reason
    if backend == 'compile':
        # static shapes: a new input size (another video's frames for the AVA detector)
        # recompiles; with dynamic shapes Inductor (torch 2.13) fails on the position-table
        # resize of the UMT backbone. Frozen weights: in inference (no grad) Inductor takes
        # the parameters as constants, folds them and prepacks them for its GEMMs; changes
        # made to the parameters after the first call are not seen.
        model.backbone = torch.compile(backbone, dynamic=False, options={'freezing': True})
    return choice




def add_inference_options(parser, default_precision: str | None = 'auto') -> None:
    """Add ``--precision``, ``--backend`` and ``--threads`` to a tool's parser.

    Args:
        parser (argparse.ArgumentParser): The tool's parser.
        default_precision (str): ``'auto'`` for the demos, whole-video inference and
            feature extraction; ``'fp32'`` where numbers must stay comparable (evaluation,
            export); None leaves it to the caller (``tools/test.py``: the config's
            ``test_precision``, else fp32). Defaults to 'auto'.
    """
    group = parser.add_argument_group('inference precision and backend')
    default_text = default_precision or "fp32, or the config's test_precision"
    group.add_argument('--precision', choices=PRECISIONS, default=default_precision,
                       help='fp32, bf16 (backbone in bf16), int8 (dynamic quantization, CPU) '
                       'or auto (bf16 where measured faster and accurate, fp32 otherwise); '
                       f'default: {default_text}')
    group.add_argument('--backend', choices=BACKENDS,
                       default='eager' if default_precision else None,
                       help='eager, compile (torch.compile of the backbone; the first call '
                       'compiles), onnxruntime (the backbone exported to ONNX at the first '
                       'input of each shape; fp32 or int8) or openvino (the same export in '
                       'OpenVINO: fp32, bf16, or int8 calibrated on the first clip; the '
                       'openvino extra)')
    group.add_argument('--threads', type=int, default=None,
                       help='intra-op threads (default: torch\'s)')


__all__ = ['BACKENDS', 'BF16_MIN_COSINE', 'INT8_MIN_COSINE', 'PRECISIONS', 'PrecisionChoice',
           'OnnxRuntimeBackbone', 'OpenVinoBackbone', 'add_inference_options',
           'fold_qkv_bias', 'output_cosine', 'prepare_inference', 'probe_inputs', 'to_bf16',
           'to_int8']
