"""The per-layer alignment heads of UMT pretraining (the reference's ``clip_decoder``)."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmaction.registry import MODELS
from mmengine.model import BaseModule, ModuleList


class UMTAlignmentHead(BaseModule):
    """``Linear(D -> C) -> LayerNorm(C, eps 1e-6) -> L2-normalise`` (``Linear_Decoder``).

    Parameter names (``head``, ``norm``) are the reference's, so that
    ``clip_decoder.{k}.head.weight`` of an official pretraining checkpoint loads as is.

    Args:
        in_dims (int): Student channels ``D``.
        out_dims (int): Teacher output channels ``C``.
        init_cfg (dict | list[dict], optional): Defaults to Xavier-uniform Linear with
            zero bias and unit LayerNorm, as the reference.
    """

    def __init__(self, in_dims: int, out_dims: int,
                 init_cfg: dict | list[dict] | None = None) -> None:
        if init_cfg is None:
            init_cfg = [dict(type='Xavier', layer='Linear', distribution='uniform', bias=0.0),
                        dict(type='Constant', layer='LayerNorm', val=1.0, bias=0.0)]
        super().__init__(init_cfg=init_cfg)
        self.head = nn.Linear(in_dims, out_dims)
        self.norm = nn.LayerNorm(out_dims, eps=1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args:
            x (torch.Tensor): ``(..., D)``.

        Returns:
            torch.Tensor: ``(..., C)`` of unit L2 norm, float32.
        """
        return F.normalize(self.norm(self.head(x)).float(), dim=-1)


@MODELS.register_module()
class UMTAlignmentHeads(ModuleList):
    """One :class:`UMTAlignmentHead` per returned student block.

    Indexable like the reference's ``clip_decoder`` ``nn.ModuleList`` (keys
    ``{k}.head.*``, ``{k}.norm.*``).

    Args:
        in_dims (int): Student channels ``D``.
        out_dims (int): Teacher output channels ``C``.
        num_layers (int): Returned blocks ``K``. Defaults to 6.
        init_cfg (dict, optional): Defaults to None (each head's own init).

    Examples:
        >>> heads = UMTAlignmentHeads(64, 32, num_layers=2)
        >>> heads(torch.rand(2, 1, 5, 64)).shape  # (K, B, N_vis, D) -> (K, B, N_vis, C)
        torch.Size([2, 1, 5, 32])
    """

    def __init__(self, in_dims: int, out_dims: int, num_layers: int = 6,
                 init_cfg: dict | None = None) -> None:
        super().__init__([UMTAlignmentHead(in_dims, out_dims) for _ in range(num_layers)],
                         init_cfg=init_cfg)
        self.in_dims = in_dims
        self.out_dims = out_dims

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args:
            x (torch.Tensor): ``(K, B, N, D)``, one slice per head.

        Returns:
            torch.Tensor: ``(K, B, N, C)``.
        """
        if x.shape[0] != len(self):
            raise ValueError(f'{x.shape[0]} returned blocks for {len(self)} alignment heads')
        return torch.stack([head(x[k]) for k, head in enumerate(self)])
