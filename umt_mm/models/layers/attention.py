"""Multi-head self-attention of the UMT ViT (q/v-only bias, fused SDPA kernel)."""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

#: the attention kernels :class:`UMTAttention` runs: PyTorch's fused SDPA (a flash kernel on
#: the CPU), or softmax(q k^T) v as batched GEMMs over blocks of queries
ATTENTION_KERNELS = ('sdpa', 'matmul')
#: queries per block of the matmul kernel (a 256 x N score block per head)
MATMUL_QUERY_BLOCK = 256


def matmul_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                     dropout_p: float = 0.0,
                     block: int = MATMUL_QUERY_BLOCK) -> torch.Tensor:
    """``softmax(q k^T / sqrt(d)) v`` as batched GEMMs, ``block`` queries at a time.

    The reference's explicit attention, computed in blocks of queries so that the score
    matrix never exceeds ``block x N`` per head; the softmax runs in fp32 (its output is cast
    back to the input dtype for the second GEMM, as a bf16 GEMM needs).

    Args:
        q (torch.Tensor): Queries ``(B, H, N, d)``.
        k (torch.Tensor): Keys ``(B, H, N, d)``.
        v (torch.Tensor): Values ``(B, H, N, d)``.
        dropout_p (float): Dropout on the attention probabilities. Defaults to 0.
        block (int): Queries per block. Defaults to :data:`MATMUL_QUERY_BLOCK`.

    Returns:
        torch.Tensor: ``(B, H, N, d)``.
    """
    keys_t = (k * (1.0 / math.sqrt(q.shape[-1]))).transpose(-2, -1)
    outputs = []
    for start in range(0, q.shape[-2], block):
        scores = torch.matmul(q[..., start:start + block, :], keys_t)
        probs = torch.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype)
        if dropout_p:
            probs = F.dropout(probs, dropout_p)
        outputs.append(torch.matmul(probs, v))
    return outputs[0] if len(outputs) == 1 else torch.cat(outputs, dim=-2)


class UMTAttention(nn.Module):
    """Self-attention with the reference parameter layout.

    ``qkv`` is a bias-free ``Linear(D, 3D)``; with ``qkv_bias`` separate ``q_bias`` and
    ``v_bias`` are added (the key has no bias). Attention runs through
    :func:`torch.nn.functional.scaled_dot_product_attention` (scale ``head_dim ** -0.5``),
    numerically the reference's explicit softmax attention; ``kernel = 'matmul'`` runs
    :func:`matmul_attention` instead (the inference API sets it where it measures faster,
    ``umt_mm.apis.attention_kernels.choose_attention_kernel``).

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
        #: 'sdpa' or 'matmul' (:data:`ATTENTION_KERNELS`)
        self.kernel = 'sdpa'
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
        dropout = self.attn_drop if self.training else 0.0
        if self.kernel == 'matmul':
            out = matmul_attention(q, k, v, dropout)
        else:
            out = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout)
        out = out.transpose(1, 2).reshape(batch, num_tokens, channels)
        return self.proj_drop(self.proj(out))
