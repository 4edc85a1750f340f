"""Multi-head self-attention of the UMT ViT (q/v-only bias, fused SDPA kernel)."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class UMTAttention(nn.Module):
    """Self-attention with the reference parameter layout.

    ``qkv`` is a bias-free ``Linear(D, 3D)``; with ``qkv_bias`` separate ``q_bias`` and
    ``v_bias`` are added (the key has no bias). Attention runs through
    :func:`torch.nn.functional.scaled_dot_product_attention` (scale ``head_dim ** -0.5``),
    numerically the reference's explicit softmax attention.

    Args:
        embed_dims (int): Channels ``D``.
        num_heads (int): Heads.
        qkv_bias (bool): Learn ``q_bias`` and ``v_bias``. Defaults to True.
        attn_drop (float): Attention dropout. Defaults to 0.
        proj_drop (float): Output dropout. Defaults to 0.
    """

    def __init__(self, embed_dims: int, num_heads: int, qkv_bias: bool = True,
                 attn_drop: float = 0.0, proj_drop: float = 0.0) -> None:
        super().__init__()
        if embed_dims % num_heads:
            raise ValueError(f'embed_dims {embed_dims} is not divisible by num_heads {num_heads}')
        self.num_heads = num_heads
        self.head_dims = embed_dims // num_heads
        self.scale = self.head_dims ** -0.5
        self.qkv = nn.Linear(embed_dims, embed_dims * 3, bias=False)
        if qkv_bias:
            self.q_bias = nn.Parameter(torch.zeros(embed_dims))
            self.v_bias = nn.Parameter(torch.zeros(embed_dims))
        else:
            self.q_bias = None
            self.v_bias = None
        self.attn_drop = attn_drop
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.proj_drop = nn.Dropout(proj_drop)

    def qkv_bias(self) -> torch.Tensor | None:
        """The full qkv bias ``cat(q_bias, 0, v_bias)``, or None."""
        if self.q_bias is None:
            return None
        return torch.cat((self.q_bias, torch.zeros_like(self.v_bias), self.v_bias))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args:
            x (torch.Tensor): Tokens ``(B, N, D)``.

        Returns:
            torch.Tensor: ``(B, N, D)``.
        """
        batch, num_tokens, channels = x.shape
        qkv = F.linear(x, self.qkv.weight, self.qkv_bias())
        qkv = qkv.reshape(batch, num_tokens, 3, self.num_heads, self.head_dims)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        out = F.scaled_dot_product_attention(
            q, k, v, dropout_p=self.attn_drop if self.training else 0.0)
        out = out.transpose(1, 2).reshape(batch, num_tokens, channels)
        return self.proj_drop(self.proj(out))
