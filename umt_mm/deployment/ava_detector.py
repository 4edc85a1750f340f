"""The AVA detector (backbone, temporal mean, RoIAlign, pooling, classifier) as one graph."""
from __future__ import annotations

import torch
import torch.nn as nn

from .exportability import check_ava_detector
from .roi_align import roi_align_legacy

_TO_REMOVE = 1.0  # AlphAction's inclusive pixel convention (see roi_heads.alphaction_boxes)


class ExportableAVADetector(nn.Module):
    """The test-time AVA ``FastRCNN`` of umt_mm with the person boxes as an input.

    One clip (batch 1), ``N`` boxes. The graph computes what ``FastRCNN.predict`` computes
    for the clip's proposals: the UMT feature map, its temporal mean, the RoI boxes
    (``UMTAVARoIHead``: each box extended by ``test_extend`` and clipped to the unpadded
    image), mmcv ``RoIAlign(aligned=False)`` as ONNX ``RoiAlign('output_half_pixel')``,
    the bbox head's temporal and spatial pooling, the classifier, the sigmoid (multi-label
    heads; softmax otherwise) and, with ``score_by_proposal``, the product with the person
    scores.

    Inputs, in order (only those the head uses): ``inputs`` ``(1, C, T, H, W)`` normalised
    and zero-padded like ``UMTDetDataPreprocessor``; ``boxes`` ``(N, 4)`` float pixel
    ``x1, y1, x2, y2`` on the unpadded image; ``img_shape`` ``(2,)`` float
    ``(height, width)`` of the unpadded image (when boxes are extended);
    ``proposal_scores`` ``(N,)`` person scores (with ``score_by_proposal``).
    Output: ``scores`` ``(N, num_classes)``, the ``pred_instances.scores`` of the detector.

    Args:
        detector (nn.Module): A built AVA ``FastRCNN`` (checked with
            :func:`check_ava_detector`), in eval mode.
    """

    def __init__(self, detector: nn.Module) -> None:
        super().__init__()
        check_ava_detector(detector)
        head = detector.roi_head
        self.backbone = detector.backbone
        self.bbox_head = head.bbox_head
        extractor = head.bbox_roi_extractor
        self.temporal_pool_mode = extractor.temporal_pool_mode
        layer = extractor.roi_layer
        self.output_size = tuple(int(v) for v in layer.output_size)
        self.spatial_scale = float(layer.spatial_scale)
        self.sampling_ratio = int(layer.sampling_ratio)
        self.pool_mode = layer.pool_mode
        test_extend = getattr(head, 'test_extend', None)
        self.test_extend = None if test_extend is None else tuple(float(v) for v in test_extend)
        self.score_by_proposal = bool(getattr(head, 'score_by_proposal', False))

    @property
    def input_names(self) -> list[str]:
        """The graph's input names, in order."""
        names = ['inputs', 'boxes']
        if self.test_extend is not None:
            names.append('img_shape')
        if self.score_by_proposal:
            names.append('proposal_scores')
        return names

    def pooling_boxes(self, boxes: torch.Tensor, img_shape: torch.Tensor | None
                      ) -> torch.Tensor:
        """The RoI boxes: AlphAction's ``BoxList.extend`` then clip to the image.

        The same arithmetic as :func:`umt_mm.models.roi_heads.extend_boxes`, written with
        ``torch.min`` / ``torch.max`` against the ``img_shape`` tensor so the image size is
        an input of the graph.
        """
        if self.test_extend is None:
            return boxes
        x_scale, y_scale = ((self.test_extend[0], ) * 2 if len(self.test_extend) < 2
                            else self.test_extend[:2])
        x1, y1, x2, y2 = boxes.unbind(dim=-1)
        pad_w = x_scale * (x2 - x1 + _TO_REMOVE) / 2
        pad_h = y_scale * (y2 - y1 + _TO_REMOVE) / 2
        max_x = img_shape[1] - _TO_REMOVE
        max_y = img_shape[0] - _TO_REMOVE
        zero = torch.zeros_like(max_x)

        def clip(value, high):
            return torch.min(torch.max(value, zero), high)

        return torch.stack((clip(x1 - pad_w, max_x), clip(y1 - pad_h, max_y),
                            clip(x2 + pad_w, max_x), clip(y2 + pad_h, max_y)), dim=-1)

    def classify(self, pooled: torch.Tensor) -> torch.Tensor:
        """``BBoxHeadAVA.forward`` on the ``(N, C, h, w)`` RoI features (one frame after
        the extractor's temporal pooling): its adaptive temporal pool to 1 frame is the
        identity, its adaptive spatial pool to 1x1 is a max (avg) over the bin grid,
        written as a reduction because ONNX has no adaptive pooling with a free axis;
        dropout is the identity at test time."""
        head = self.bbox_head
        if head.spatial_pool_type == 'max':
            feat = pooled.amax(dim=(2, 3))
        else:
            feat = pooled.mean(dim=(2, 3))
        return head.fc_cls(feat)

    def forward(self, inputs: torch.Tensor, boxes: torch.Tensor, *extra: torch.Tensor
                ) -> torch.Tensor:
        """Args:
            inputs (torch.Tensor): ``(1, C, T, H, W)`` normalised, padded clip.
            boxes (torch.Tensor): ``(N, 4)`` pixel boxes.
            *extra (torch.Tensor): ``img_shape`` and / or ``proposal_scores`` (see
                :attr:`input_names`).

        Returns:
            torch.Tensor: ``(N, num_classes)`` scores.
        """
        extra = list(extra)
        img_shape = extra.pop(0).to(boxes.dtype) if self.test_extend is not None else None
        person_scores = extra.pop(0) if self.score_by_proposal else None
        feat = self.backbone(inputs)  # (1, C, T', H', W')
        if self.temporal_pool_mode == 'avg':
            feat = feat.mean(dim=2)
        else:
            feat = feat.amax(dim=2)
        rois = self.pooling_boxes(boxes.float(), img_shape)
        batch_indices = torch.zeros_like(rois[:, 0]).long()
        pooled = roi_align_legacy(feat.float(), rois, batch_indices, self.output_size,
                                  self.spatial_scale, self.sampling_ratio, self.pool_mode)
        logits = self.classify(pooled)
        scores = logits.sigmoid() if self.bbox_head.multilabel else logits.softmax(dim=-1)
        if person_scores is not None:
            scores = scores * person_scores.to(scores.dtype)[:, None]
        return scores
