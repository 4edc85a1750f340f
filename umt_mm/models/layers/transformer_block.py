"""Pre-norm transformer block of the UMT ViT."""
from __future__ import annotations

import torch
import torch.nn as nn

from .attention import UMTAttention


class DropPath(nn.Module):
    """Stochastic depth per sample (drops the residual branch of whole samples).

    Args:
        drop_prob (float): Probability of dropping a sample's branch. Defaults to 0.
    """

    def __init__(self, drop_prob: float = 0.0) -> None:
        super().__init__()
        self.drop_prob = drop_prob

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.drop_prob == 0.0 or not self.training:
            return x
        keep = 1.0 - self.drop_prob
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        return x * mask / keep

    def extra_repr(self) -> str:
        return f'drop_prob={self.drop_prob}'


class UMTMlp(nn.Module):
    """``fc1 -> GELU (exact erf) -> fc2 -> dropout``.

    Args:
        embed_dims (int): Input and output channels.
        hidden_dims (int): Hidden channels.
        drop (float): Output dropout. Defaults to 0.
    """

    def __init__(self, embed_dims: int, hidden_dims: int, drop: float = 0.0) -> None:
        super().__init__()
        self.fc1 = nn.Linear(embed_dims, hidden_dims)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_dims, embed_dims)
        self.drop = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.fc2(self.act(self.fc1(x))))


class UMTBlock(nn.Module):
    """``x + drop_path(attn(norm1(x)))``, then ``x + drop_path(mlp(norm2(x)))``.

    Args:
        embed_dims (int): Channels.
        num_heads (int): Attention heads.
        mlp_ratio (float): Hidden / input channels of the MLP. Defaults to 4.
        qkv_bias (bool): q/v biases. Defaults to True.
        drop_path (float): Stochastic-depth rate. Defaults to 0.
        init_values (float): Layer-scale init; 0 disables layer scale (as in every UMT
            recipe). Defaults to 0.
        norm_eps (float): LayerNorm epsilon. Defaults to 1e-6.
    """

    def __init__(self, embed_dims: int, num_heads: int, mlp_ratio: float = 4.0,
                 qkv_bias: bool = True, drop_path: float = 0.0, init_values: float = 0.0,
                 norm_eps: float = 1e-6) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(embed_dims, eps=norm_eps)
        self.attn = UMTAttention(embed_dims, num_heads, qkv_bias=qkv_bias)
        self.drop_path = DropPath(drop_path)
        self.norm2 = nn.LayerNorm(embed_dims, eps=norm_eps)
        self.mlp = UMTMlp(embed_dims, int(embed_dims * mlp_ratio))
        if init_values > 0:
            self.gamma_1 = nn.Parameter(init_values * torch.ones(embed_dims))
            self.gamma_2 = nn.Parameter(init_values * torch.ones(embed_dims))
        else:
            self.gamma_1 = self.gamma_2 = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.gamma_1 is None:
            x = x + self.drop_path(self.attn(self.norm1(x)))
            return x + self.drop_path(self.mlp(self.norm2(x)))
        x = x + self.drop_path(self.gamma_1 * self.attn(self.norm1(x)))
        return x + self.drop_path(self.gamma_2 * self.mlp(self.norm2(x)))
