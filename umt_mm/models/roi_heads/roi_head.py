"""The UMT AVA RoI head: ground-truth jitter for training, extended person boxes for testing."""
from __future__ import annotations

from collections.abc import Sequence

import torch
from mmaction.models.roi_heads.roi_head import AVARoIHead
from mmdet.registry import MODELS as MMDET_MODELS
from mmdet.structures.bbox import bbox2roi
from mmengine.structures import InstanceData

from .alphaction_boxes import extend_boxes, jitter_boxes


@MMDET_MODELS.register_module()
class UMTAVARoIHead(AVARoIHead):
    """MMAction2's ``AVARoIHead`` with the reference detector's box handling (spec §4).

    Training (``train_on_gt=True``): the RoIs are the ground-truth boxes of each clip (at
    most ``max_train_rois``, a random subset beyond), each jittered by AlphAction's
    ``random_aug(*train_jitter)`` on the (cropped) clip, and labelled with their own
    ground-truth actions: no proposals, assigner or sampler are used (the data samples
    still carry ``proposals`` because MMDet's ``FastRCNN`` asserts them). With
    ``train_on_gt=False`` it is MMAction2's assigner + sampler training and needs
    ``train_cfg``.

    Testing: every person proposal is extended by ``test_extend`` (AlphAction's
    ``BoxList.extend``) for RoI pooling only; the predicted boxes are the proposals
    themselves. With ``score_by_proposal`` each action score is
    ``sigmoid(logit) x person score``; the scores come from the data sample's
    ``proposal_scores`` (packed by ``PackActionInputs(algorithm_keys=('proposal_scores',))``
    from :class:`umt_mm.datasets.UMTAVADataset`); a sample without them (e.g. from
    MMAction2's ``demo/demo_spatiotemporal_det.py``, whose boxes already passed a person
    score threshold) has every person score 1, i.e. plain sigmoid scores.

    Args:
        train_on_gt (bool): Reference training on jittered ground truth.
            Defaults to True.
        max_train_rois (int): Most ground-truth RoIs per clip. Defaults to 100.
        train_jitter (Sequence[float]): ``(x_out, x_in, y_out, y_in)`` of the jitter
            (see :func:`jitter_boxes`). Defaults to (0.2, 0.1, 0.1, 0.05).
        test_extend (Sequence[float], optional): ``(x, y)`` extension of test boxes;
            None keeps them. Defaults to (0.1, 0.05).
        score_by_proposal (bool): Multiply action scores by the person score.
            Defaults to True.
        **kwargs: :class:`AVARoIHead` arguments (``bbox_roi_extractor``,
            ``bbox_head``, ``train_cfg``, ``test_cfg``...).
    """

    def __init__(self, train_on_gt: bool = True, max_train_rois: int = 100,
                 train_jitter: Sequence[float] = (0.2, 0.1, 0.1, 0.05),
                 test_extend: Sequence[float] | None = (0.1, 0.05),
                 score_by_proposal: bool = True, **kwargs) -> None:
        self.train_on_gt = train_on_gt
        super().__init__(**kwargs)
        if len(tuple(train_jitter)) != 4:
            raise ValueError(f'train_jitter needs (x_out, x_in, y_out, y_in), got {train_jitter}')
        self.max_train_rois = max_train_rois
        self.train_jitter = tuple(float(v) for v in train_jitter)
        self.test_extend = None if test_extend is None else tuple(float(v) for v in test_extend)
        self.score_by_proposal = score_by_proposal

    def init_assigner_sampler(self) -> None:
        """No assigner / sampler when training on ground truth."""
        if self.train_on_gt:
            self.bbox_assigner = None
            self.bbox_sampler = None
            return
        if not self.train_cfg:
            raise ValueError('UMTAVARoIHead(train_on_gt=False) needs train_cfg.rcnn with an '
                             'assigner and a sampler')
        super().init_assigner_sampler()

    def _bbox_forward(self, x, rois, batch_img_metas, **kwargs) -> dict:
        """RoI pooling in fp32 (outside autocast), then the classifier.

        Under mixed precision the backbone's features are fp16 / bf16, which mmcv's
        ``RoIAlign`` does not take on CPU (and not with fp32 RoIs on GPU); the reference's
        ``torchvision.ops.roi_align`` runs in fp32 under autocast, so the features are cast
        back to fp32 for pooling here as well.
        """
        feats = x if isinstance(x, tuple) else (x, )
        feats = tuple(f.float() for f in feats)
        device_type = feats[0].device.type
        with torch.autocast(device_type=device_type, enabled=False):
            bbox_feats, global_feat = self.bbox_roi_extractor(
                feats if isinstance(x, tuple) else feats[0], rois.float())
        if self.with_shared_head:
            bbox_feats = self.shared_head(bbox_feats, feat=global_feat, rois=rois,
                                          img_metas=batch_img_metas)
        cls_score = self.bbox_head(bbox_feats)
        return dict(cls_score=cls_score, bbox_feats=bbox_feats)

    @staticmethod
    def _image_size(data_sample) -> tuple[int, int]:
        height, width = data_sample.metainfo['img_shape'][:2]
        return int(width), int(height)

    # ------------------------------------------------------------------ training
    def loss(self, x, rpn_results_list, data_samples, **kwargs) -> dict:
        """Loss on jittered ground-truth boxes (or MMAction2's when ``train_on_gt`` is off).

        Args:
            x (torch.Tensor): Backbone features ``(B, C, T, H, W)``.
            rpn_results_list (list[InstanceData]): Proposals (unused with ``train_on_gt``).
            data_samples (list[ActionDataSample]): With ``gt_instances`` (``bboxes`` in
                pixels, multi-hot ``labels``) and ``img_shape``.

        Returns:
            dict: Loss and recall / precision logs.
        """
        if not self.train_on_gt:
            return super().loss(x, rpn_results_list, data_samples, **kwargs)
        boxes, labels = [], []
        for sample in data_samples:
            gt_boxes = sample.gt_instances.bboxes
            gt_labels = sample.gt_instances.labels
            if gt_boxes.shape[0] > self.max_train_rois:
                keep = torch.randperm(gt_boxes.shape[0])[:self.max_train_rois]
                keep = keep.to(gt_boxes.device)
                gt_boxes, gt_labels = gt_boxes[keep], gt_labels[keep]
            boxes.append(jitter_boxes(gt_boxes, self._image_size(sample), *self.train_jitter))
            labels.append(gt_labels)
        if sum(b.shape[0] for b in boxes) == 0:
            raise ValueError('UMTAVARoIHead: a training batch without any ground-truth box '
                             f'(img_keys {[s.metainfo.get("img_key") for s in data_samples]})')
        rois = bbox2roi(boxes)
        metas = [sample.metainfo for sample in data_samples]
        cls_score = self._bbox_forward(x, rois, metas)['cls_score']
        return self.bbox_head.loss_by_labels(cls_score, torch.cat(labels))

    # ------------------------------------------------------------------ testing
    def predict(self, x, rpn_results_list, data_samples, **kwargs) -> list:
        """Attach the person scores to the proposals, then predict.

        Args:
            x (torch.Tensor): Backbone features.
            rpn_results_list (list[InstanceData]): Proposals (``bboxes`` in pixels).
            data_samples (list[ActionDataSample]): Test samples.

        Returns:
            list[InstanceData]: ``bboxes`` (normalised to [0, 1]) and ``scores``
            ``(N, num_classes)`` per sample.
        """
        if self.score_by_proposal:
            for results, sample in zip(rpn_results_list, data_samples):
                scores = sample.get('proposal_scores', None)
                if scores is None:  # no person scores: 1 for every proposal
                    scores = torch.ones(results.bboxes.shape[0])
                scores = torch.as_tensor(scores, dtype=torch.float32,
                                         device=results.bboxes.device).reshape(-1)
                if scores.shape[0] != results.bboxes.shape[0]:
                    raise ValueError(f'{scores.shape[0]} proposal scores for '
                                     f'{results.bboxes.shape[0]} proposals '
                                     f'({sample.metainfo.get("img_key")})')
                results.scores = scores
        return super().predict(x, rpn_results_list, data_samples, **kwargs)

    def predict_bbox(self, x, batch_img_metas, rpn_results_list, rcnn_test_cfg) -> list:
        """Pool on the extended proposals, report the proposals themselves."""
        proposals = [res.bboxes.float() for res in rpn_results_list]
        if sum(p.shape[0] for p in proposals) == 0:
            num_classes = self.bbox_head.num_classes
            return [InstanceData(bboxes=p.new_zeros((0, 4)), scores=p.new_zeros((0, num_classes)))
                    for p in proposals]
        pooled = proposals
        if self.test_extend is not None:
            pooled = [extend_boxes(p, (int(m['img_shape'][1]), int(m['img_shape'][0])),
                                   self.test_extend)
                      for p, m in zip(proposals, batch_img_metas)]
        cls_scores = self._bbox_forward(x, bbox2roi(pooled), batch_img_metas)['cls_score']
        num_per_img = tuple(len(p) for p in proposals)
        rois = bbox2roi(proposals).split(num_per_img, 0)
        results_list = self.bbox_head.predict_by_feat(
            rois=rois, cls_scores=cls_scores.split(num_per_img, 0),
            batch_img_metas=batch_img_metas, rcnn_test_cfg=rcnn_test_cfg)
        if self.score_by_proposal:
            for results, res in zip(results_list, rpn_results_list):
                results.scores = results.scores * res.scores.to(results.scores)[:, None]
        return results_list
