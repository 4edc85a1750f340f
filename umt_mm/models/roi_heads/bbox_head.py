"""The UMT AVA classifier: MMAction2's ``BBoxHeadAVA`` with the reference init and loss."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmaction.models.roi_heads.bbox_heads.bbox_head import BBoxHeadAVA
from mmdet.registry import MODELS as MMDET_MODELS


@MMDET_MODELS.register_module()
class UMTBBoxHeadAVA(BBoxHeadAVA):
    """``BBoxHeadAVA`` (temporal pool, spatial pool, dropout, linear) as the UMT detector.

    The reference head (``modeling_finetune.py``) is ``MaxPool2d(7)`` on the 7x7 RoI features
    then ``Linear(D, 80)`` initialised truncated-normal (std 0.02) and multiplied by
    ``init_scale`` (0.001; the bias is 0), trained with
    ``BCEWithLogits(mean) x num_rois`` on ground-truth boxes. MMAction2's head keeps its
    pooling and prediction; this class changes the init and adds
    :meth:`loss_by_labels`, the loss on RoIs whose labels are known (no assigner).

    Args:
        init_std (float): Std of the truncated-normal weight init. Defaults to 0.02.
        init_scale (float): Factor on the initial weight and bias. Defaults to 0.001.
        loss_scale_by_num_rois (bool): Multiply the mean BCE by the number of RoIs in
            the batch, as the reference. Defaults to True.
        **kwargs: :class:`BBoxHeadAVA` arguments (``background_class``, ``in_channels``,
            ``num_classes``, ``temporal_pool_type``, ``spatial_pool_type``,
            ``dropout_ratio``, ``multilabel``, ``topk``...).

    Examples:
        >>> import torch
        >>> from mmdet.registry import MODELS
        >>> import umt_mm  # noqa
        >>> head = MODELS.build(dict(type='UMTBBoxHeadAVA', background_class=True,
        ...                          in_channels=64, num_classes=81))
        >>> head.init_weights()
        >>> head(torch.rand(3, 64, 1, 7, 7)).shape
        torch.Size([3, 81])
    """

    def __init__(self, init_std: float = 0.02, init_scale: float = 0.001,
                 loss_scale_by_num_rois: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        self.init_std = init_std
        self.init_scale = init_scale
        self.loss_scale_by_num_rois = loss_scale_by_num_rois

    def init_weights(self) -> None:
        """Truncated normal (std ``init_std``, cut at +-2) times ``init_scale``; zero bias."""
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.trunc_normal_(module.weight, std=self.init_std, a=-2.0, b=2.0)
                nn.init.zeros_(module.bias)
                with torch.no_grad():
                    module.weight.mul_(self.init_scale)
                    module.bias.mul_(self.init_scale)

    def loss_by_labels(self, cls_score: torch.Tensor, labels: torch.Tensor) -> dict:
        """Multi-label BCE on RoIs with known (multi-hot) labels.

        Args:
            cls_score (torch.Tensor): ``(N, num_classes)`` logits.
            labels (torch.Tensor): ``(N, num_classes)`` multi-hot targets (column 0 is
                the unused background column when ``background_class``).

        Returns:
            dict: ``loss_action_cls`` plus MMAction2's recall / precision logs.
        """
        if not self.multilabel:
            raise ValueError('UMTBBoxHeadAVA.loss_by_labels is the multi-label BCE loss; '
                             'set multilabel=True')
        labels = labels.to(cls_score.dtype)
        if self.background_class:
            cls_score, labels = cls_score[:, 1:], labels[:, 1:]
        losses = {}
        with torch.no_grad():
            recall_thr, prec_thr, recall_k, prec_k = self.topk_accuracy(
                cls_score.detach().float(), labels.float(), thr=0.5)
        losses['recall@thr=0.5'] = recall_thr
        losses['prec@thr=0.5'] = prec_thr
        for i, k in enumerate(self.topk):
            losses[f'recall@top{k}'] = recall_k[i]
            losses[f'prec@top{k}'] = prec_k[i]
        loss = F.binary_cross_entropy_with_logits(cls_score, labels, reduction='mean')
        if self.loss_scale_by_num_rois:
            loss = loss * cls_score.shape[0]
        losses['loss_action_cls'] = loss
        return losses
