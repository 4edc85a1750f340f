"""What int8 inference shares across backends: simulated quantization, and the search that
keeps the layers int8 hurts most in float.

Both int8 paths of :func:`umt_mm.apis.prepare_inference` (PyTorch's dynamic quantization,
eager, and the static quantization the OpenVINO backend runs) quantize every weight layer
of the blocks, check the model's output on real (or probe) clips against fp32, and where the
cosine falls below the int8 gate keep in float the layers that lose the most to int8 alone:
:func:`keep_sensitive_in_float`. A layer's sensitivity is the relative squared error of its
output with only its input and weight quantized (:func:`relative_error`), e.g. large for a
layer that reads a few outlier channels, whose per-tensor range leaves the rest at zero.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

#: the int8 accuracy gate: cosine between the fp32 output and the int8 one
INT8_MIN_COSINE = 0.99


def output_cosine(reference: torch.Tensor, other: torch.Tensor) -> float:
    """Cosine similarity of two outputs, flattened (the accuracy gates' measure)."""
    return float(torch.nn.functional.cosine_similarity(reference.double().flatten(),
                                                       other.double().flatten(), dim=0))


def fake_quantize_activation(x: torch.Tensor, low: float, high: float,
                             levels: int = 255) -> torch.Tensor:
    """``x`` through asymmetric unsigned quantization over ``[low, high]`` (zero included).

    Args:
        x (torch.Tensor): The activation.
        low (float): The range's low end.
        high (float): The range's high end.
        levels (int): The largest code: 255 for uint8, 127 where the kernel reduces the range
            (PyTorch's x86 dynamic quantization). Defaults to 255.

    Returns:
        torch.Tensor: ``x`` quantized and dequantized.
    """
    low, high = min(low, 0.0), max(high, 0.0)
    scale = max(high - low, 1e-12) / levels
    zero = round(-low / scale)
    return (torch.clamp(torch.round(x / scale) + zero, 0, levels) - zero) * scale


def fake_quantize_weight(weight: torch.Tensor, per_channel: bool = True) -> torch.Tensor:
    """``weight`` ``(in, out)`` through symmetric int8 quantization.

    Args:
        weight (torch.Tensor): The weight as ``x @ weight`` reads it.
        per_channel (bool): One scale per output channel (static int8) or one per tensor
            (PyTorch's dynamic ``Linear``). Defaults to True.

    Returns:
        torch.Tensor: ``weight`` quantized and dequantized.
    """
    peak = weight.abs().amax(dim=0, keepdim=True) if per_channel else weight.abs().amax()
    scale = peak.clamp_min(1e-12) / 127
    return torch.clamp(torch.round(weight / scale), -127, 127) * scale


def relative_error(x: torch.Tensor, weight: torch.Tensor, low: float, high: float,
                   levels: int = 255, per_channel: bool = True) -> tuple[float, float]:
    """What int8 alone costs one layer ``x @ weight``: ``(noise, signal)`` squared sums.

    Args:
        x (torch.Tensor): The layer's input ``(..., in)``.
        weight (torch.Tensor): Its weight ``(in, out)``.
        low (float): The input's quantization range, low end.
        high (float): Its high end.
        levels (int): See :func:`fake_quantize_activation`. Defaults to 255.
        per_channel (bool): See :func:`fake_quantize_weight`. Defaults to True.

    Returns:
        tuple[float, float]: ``|x_q W_q - x W|^2`` and ``|x W|^2`` (sum them over clips,
        then divide).
    """
    x = x.reshape(-1, x.shape[-1]).float()
    exact = x @ weight
    quantized = fake_quantize_activation(x, low, high, levels) @ \
        fake_quantize_weight(weight, per_channel)
    return float((quantized - exact).square().sum()), float(exact.square().sum())


@dataclass
class Int8Report:
    """Which weight layers run in int8, which stay in float, and the measured cosines.

    Args:
        layers (list[str]): The weight layers in int8.
        kept_float (list[str]): Layers kept in float by their sensitivity, most sensitive
            first. Defaults to [].
        cosine (float, optional): The output cosine to fp32 on the checked clips. Defaults
            to None (not checked).
        first_cosine (float, optional): The same with every layer in int8, where layers were
            then kept in float. Defaults to None.
    """

    layers: list[str]
    kept_float: list[str] = field(default_factory=list)
    cosine: float | None = None
    first_cosine: float | None = None

    def describe(self) -> str:
        """One line for the log."""
        total = len(self.layers) + len(self.kept_float)
        line = f'{len(self.layers)} of {total} weight layers in int8'
        if self.cosine is not None:
            line += f', output cosine to fp32 {self.cosine:.5f}'
        if self.kept_float:
            line += (f' (all in int8: {self.first_cosine:.5f}; kept in float as the most '
                     f'sensitive: {", ".join(self.kept_float)})')
        return line


def keep_sensitive_in_float(layers: list[str], install: Callable[[list[str]], None],
                            measure: Callable[[], float],
                            errors: Callable[[], dict[str, float]],
                            min_cosine: float | None) -> Int8Report:
    """Quantize every layer; below ``min_cosine``, keep the most sensitive ones in float.

    Where every layer in int8 falls below ``min_cosine``, the layers are ranked by
    ``errors()`` (largest first) and 1, 2, 4, ... of them kept in float until the cosine
    reaches ``min_cosine`` (with all of them in float, the model is fp32). The quantization
    installed last is the one reported.

    Args:
        layers (list[str]): The weight layers, in model order.
        install (Callable[[list[str]], None]): Installs a model with exactly these layers
            in int8.
        measure (Callable[[], float]): The installed model's output cosine to fp32.
        errors (Callable[[], dict[str, float]]): Each layer's sensitivity (called only where
            the first check fails).
        min_cosine (float, optional): The cosine to keep; None installs every layer in int8
            without a check.

    Returns:
        Int8Report: What is installed.
    """
    report = Int8Report(list(layers))
    install(report.layers)
    if min_cosine is None:
        return report
    report.cosine = measure()
    if report.cosine >= min_cosine:
        return report
    report.first_cosine = report.cosine
    sensitivity = errors()
    ranked = sorted(layers, key=lambda layer: -sensitivity[layer])
    count = 1
    while report.cosine < min_cosine and report.kept_float != ranked:
        report.kept_float = ranked[:count]
        report.layers = [layer for layer in layers if layer not in report.kept_float]
        install(report.layers)
        report.cosine = measure()
        count *= 2
    return report


__all__ = ['INT8_MIN_COSINE', 'Int8Report', 'fake_quantize_activation', 'fake_quantize_weight',
           'keep_sensitive_in_float', 'output_cosine', 'relative_error']
