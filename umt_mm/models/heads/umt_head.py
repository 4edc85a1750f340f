"""The UMT classification head: dropout then linear, initialised small."""
from __future__ import annotations

import torch
import torch.nn as nn
from mmaction.models.heads.base import BaseHead
from mmaction.registry import MODELS


@MODELS.register_module()
class UMTHead(BaseHead):
    """Linear classifier on pooled UMT features.

    Weights are truncated-normal (std ``init_std``) and, like the bias, multiplied by
    ``init_scale`` (0.001 in every UMT recipe). Soft targets (mixup / cutmix), label
    smoothing (``label_smooth_eps``) and multi-view averaging (``average_clips``) are
    :class:`mmaction.models.heads.BaseHead`'s.

    Args:
        num_classes (int): Classes.
        in_channels (int): Feature channels.
        loss_cls (dict, optional): Loss config; None means
            ``dict(type='CrossEntropyLoss')``. Defaults to None.
        dropout_ratio (float): Dropout before the linear layer. Defaults to 0.
        init_std (float): Std of the weight init. Defaults to 0.02.
        init_scale (float): Factor applied to the initial weight and bias.
            Defaults to 0.001.
        **kwargs: Passed to :class:`BaseHead` (``label_smooth_eps``, ``average_clips``...).

    Examples:
        >>> import torch
        >>> from mmaction.registry import MODELS
        >>> import umt_mm  # noqa
        >>> head = MODELS.build(dict(type='UMTHead', num_classes=400, in_channels=768,
        ...                          label_smooth_eps=0.1, average_clips='prob'))
        >>> head.init_weights()
        >>> head(torch.rand(2, 768)).shape
        torch.Size([2, 400])
    """

    def __init__(self, num_classes: int, in_channels: int,
                 loss_cls: dict | None = None, dropout_ratio: float = 0.0,
                 init_std: float = 0.02, init_scale: float = 0.001, **kwargs) -> None:
        super().__init__(num_classes, in_channels,
                         loss_cls=loss_cls or dict(type='CrossEntropyLoss'), **kwargs)
        self.init_std = init_std
        self.init_scale = init_scale
        self.dropout_ratio = dropout_ratio
        self.dropout = nn.Dropout(dropout_ratio) if dropout_ratio > 0 else nn.Identity()
        self.fc_cls = nn.Linear(in_channels, num_classes)

    def init_weights(self) -> None:
        """Truncated normal (a=-2, b=2) then scale by ``init_scale``; zero bias."""
        super().init_weights()
        if self.init_cfg is not None and self.init_cfg.get('type') == 'Pretrained':
            return
        nn.init.trunc_normal_(self.fc_cls.weight, std=self.init_std, a=-2.0, b=2.0)
        nn.init.zeros_(self.fc_cls.bias)
        with torch.no_grad():
            self.fc_cls.weight.mul_(self.init_scale)
            self.fc_cls.bias.mul_(self.init_scale)

    def forward(self, x: torch.Tensor, **kwargs) -> torch.Tensor:
        """Args:
            x (torch.Tensor): Features ``(B, C)``.

        Returns:
            torch.Tensor: Class scores ``(B, num_classes)``.
        """
        return self.fc_cls(self.dropout(x))
