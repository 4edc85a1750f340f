"""A UMT recognizer as one traceable graph: views in, per-view logits and averaged scores out."""
from __future__ import annotations

import torch
import torch.nn as nn

from .exportability import check_recognizer


class ExportableRecognizer(nn.Module):
    """``Recognizer3D`` (UMT ViT + UMT head) at test time, without data samples.

    The input is what MMAction2's ``ActionDataPreprocessor`` hands the recognizer at test
    time: ``(B, V, C, T, H, W)``, normalised, ``V`` views (clips x crops) of each video.
    The outputs are the per-view logits and the video scores averaged over the views as
    the head's ``average_clips`` does (``'prob'``: mean of the softmaxes, ``'score'``:
    mean of the logits, None: the logits of the views, no averaging) — the
    ``pred_score`` of ``Recognizer3D.test_step``.

    Args:
        recognizer (nn.Module): A built ``Recognizer3D`` (checked with
            :func:`check_recognizer`), in eval mode.
        num_views (int): ``V``, fixed in the graph. Defaults to 1.

    Examples:
        >>> wrapper = ExportableRecognizer(model.eval(), num_views=3)  # doctest: +SKIP
        >>> scores, logits = wrapper(torch.rand(2, 3, 3, 8, 224, 224))  # doctest: +SKIP
        >>> scores.shape, logits.shape  # doctest: +SKIP
        (torch.Size([2, 400]), torch.Size([2, 3, 400]))
    """

    def __init__(self, recognizer: nn.Module, num_views: int = 1) -> None:
        super().__init__()
        check_recognizer(recognizer)
        if num_views < 1:
            raise ValueError(f'num_views must be >= 1, got {num_views}')
        self.backbone = recognizer.backbone
        self.cls_head = recognizer.cls_head
        self.num_views = int(num_views)
        self.average_clips = recognizer.cls_head.average_clips

    def forward(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Args:
            inputs (torch.Tensor): ``(B, V, C, T, H, W)`` normalised views.

        Returns:
            tuple[torch.Tensor, torch.Tensor]: ``scores`` ``(B, K)`` (``(B, V, K)`` when
            ``average_clips`` is None) and ``logits`` ``(B, V, K)``.
        """
        views = inputs.reshape((-1, ) + tuple(inputs.shape[2:]))
        logits = self.cls_head(self.backbone(views))
        logits = logits.reshape(-1, self.num_views, logits.shape[-1])
        if self.average_clips == 'prob':
            scores = logits.softmax(dim=2).mean(dim=1)
        elif self.average_clips == 'score':
            scores = logits.mean(dim=1)
        else:
            scores = logits
        return scores, logits
