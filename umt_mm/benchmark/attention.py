"""The naive attention baseline: explicit ``softmax(q k^T) v`` patched into a UMT model."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch
import torch.nn.functional as F


def naive_attention_forward(self, x: torch.Tensor) -> torch.Tensor:
    """The reference attention: explicit scores, softmax and weighted sum.

    Bound to a :class:`~umt_mm.models.layers.UMTAttention` in place of its forward.

    Args:
        x (torch.Tensor): Tokens of shape ``(batch, tokens, channels)``.

    Returns:
        torch.Tensor: The attention's output, same shape.
    """
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
def naive_attention(model: torch.nn.Module, enabled: bool = True) -> Iterator[None]:
    """Temporarily replace every UMT attention's forward by the naive one.

    Args:
        model (torch.nn.Module): A model with :class:`~umt_mm.models.layers.UMTAttention`
            modules.
        enabled (bool): False leaves the model as it is (the fused variant). Defaults to True.
    """
    from umt_mm.models.layers import UMTAttention
    patched = [m for m in model.modules() if isinstance(m, UMTAttention)] if enabled else []
    for m in patched:
        m.forward = naive_attention_forward.__get__(m)
    try:
        yield
    finally:
        for m in patched:
            del m.forward
