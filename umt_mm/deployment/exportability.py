"""Which built models have an export path, and the error naming the module that has none."""
from __future__ import annotations

import torch.nn as nn

#: Model kinds with an export path.
RECOGNIZER = 'recognizer'
AVA_DETECTOR = 'ava_detector'


class ExportError(RuntimeError):
    """A model (or one of its modules) cannot be exported; the message names the module."""


def _type_name(module: object) -> str:
    return type(module).__name__


def _blocked(path: str, module: object, why: str, supported: str) -> ExportError:
    return ExportError(f'cannot export: {path} ({_type_name(module)}) {why}; {supported}')


def _check_backbone(backbone: nn.Module, output: str, needed_by: str, supported: str) -> None:
    """Raise unless ``backbone`` is a ``UMTVisionTransformer`` with ``output=output``."""
    from ..models.backbones import UMTVisionTransformer
    if type(backbone) is not UMTVisionTransformer:
        raise _blocked('model.backbone', backbone, 'has no export path', supported)
    if backbone.output != output:
        raise _blocked('model.backbone', backbone,
                       f'has output={backbone.output!r}, {needed_by} needs {output!r}', supported)


def check_recognizer(model: nn.Module) -> None:
    """Check that a ``Recognizer3D`` is made only of modules with an export path.

    Exportable: ``Recognizer3D`` without neck, backbone ``UMTVisionTransformer`` with
    ``output='pooled'``, head ``UMTHead``.

    Args:
        model (nn.Module): The built recognizer.

    Raises:
        ExportError: Naming the first module without an export path.
    """
    from mmaction.models.recognizers import Recognizer3D

    from ..models.heads import UMTHead
    supported = ('exportable recognizers are Recognizer3D(backbone=UMTVisionTransformer'
                 "(output='pooled'), cls_head=UMTHead) without neck")
    if type(model) is not Recognizer3D:
        raise _blocked('model', model, 'has no export path', supported)
    _check_backbone(model.backbone, 'pooled', 'a recognizer', supported)
    if getattr(model, 'with_neck', False) or getattr(model, 'neck', None) is not None:
        raise _blocked('model.neck', model.neck, 'has no export path', supported)
    if not getattr(model, 'with_cls_head', False) or type(model.cls_head) is not UMTHead:
        head = getattr(model, 'cls_head', None)
        raise _blocked('model.cls_head', head, 'has no export path', supported)
    if model.cls_head.average_clips not in ('prob', 'score', None):
        raise _blocked('model.cls_head', model.cls_head,
                       f'has average_clips={model.cls_head.average_clips!r}', supported)


def check_ava_detector(model: nn.Module) -> None:
    """Check that an AVA ``FastRCNN`` is made only of modules with an export path.

    Exportable: ``FastRCNN`` without neck / RPN, backbone ``UMTVisionTransformer`` with
    ``output='feature_map'``, roi head ``UMTAVARoIHead`` or ``AVARoIHead`` without shared
    head, ``SingleRoIExtractor3D`` (one feature map, temporal pooling, no global feature)
    with mmcv ``RoIAlign(aligned=False, pool_mode='avg')``, bbox head ``UMTBBoxHeadAVA``
    or ``BBoxHeadAVA``.

    Args:
        model (nn.Module): The built detector.

    Raises:
        ExportError: Naming the first module without an export path.
    """
    from mmaction.models.roi_heads import AVARoIHead
    from mmaction.models.roi_heads.bbox_heads.bbox_head import BBoxHeadAVA
    from mmaction.models.roi_heads.roi_extractors import SingleRoIExtractor3D
    from mmcv.ops import RoIAlign

    from ..models.roi_heads import UMTAVARoIHead, UMTBBoxHeadAVA
    supported = ("exportable detectors are FastRCNN(backbone=UMTVisionTransformer(output="
                 "'feature_map'), roi_head=UMTAVARoIHead|AVARoIHead with SingleRoIExtractor3D"
                 "(RoIAlign, aligned=False, pool_mode='avg', with_temporal_pool=True) and "
                 'UMTBBoxHeadAVA|BBoxHeadAVA)')
    if _type_name(model) != 'FastRCNN':
        raise _blocked('model', model, 'has no export path', supported)
    _check_backbone(model.backbone, 'feature_map', 'a detector', supported)
    for name in ('neck', 'rpn_head'):
        part = getattr(model, name, None)
        if part is not None:
            raise _blocked(f'model.{name}', part, 'has no export path', supported)
    head = model.roi_head
    if type(head) not in (UMTAVARoIHead, AVARoIHead):
        raise _blocked('model.roi_head', head, 'has no export path', supported)
    if getattr(head, 'shared_head', None) is not None:
        raise _blocked('model.roi_head.shared_head', head.shared_head, 'has no export path',
                       supported)
    extractor = head.bbox_roi_extractor
    if type(extractor) is not SingleRoIExtractor3D:
        raise _blocked('model.roi_head.bbox_roi_extractor', extractor, 'has no export path',
                       supported)
    if not extractor.with_temporal_pool or extractor.with_global:
        raise _blocked('model.roi_head.bbox_roi_extractor', extractor,
                       'needs with_temporal_pool=True and with_global=False', supported)
    layer = extractor.roi_layer
    if type(layer) is not RoIAlign or getattr(layer, 'use_torchvision', False):
        raise _blocked('model.roi_head.bbox_roi_extractor.roi_layer', layer,
                       'has no ONNX path', supported)
    if layer.aligned or layer.pool_mode != 'avg':
        raise _blocked('model.roi_head.bbox_roi_extractor.roi_layer', layer,
                       f'has aligned={layer.aligned}, pool_mode={layer.pool_mode!r}: only '
                       "aligned=False with pool_mode='avg' is exported (ONNX RoiAlign "
                       "'output_half_pixel')", supported)
    if type(head.bbox_head) not in (UMTBBoxHeadAVA, BBoxHeadAVA):
        raise _blocked('model.roi_head.bbox_head', head.bbox_head, 'has no export path',
                       supported)


def model_kind(model: nn.Module) -> str:
    """``'recognizer'`` or ``'ava_detector'``, after checking every module of the model.

    Args:
        model (nn.Module): A built model.

    Returns:
        str: The kind.

    Raises:
        ExportError: When the model, or a module of it, has no export path.
    """
    if _type_name(model) == 'FastRCNN':
        check_ava_detector(model)
        return AVA_DETECTOR
    if _type_name(model).startswith('Recognizer'):
        check_recognizer(model)
        return RECOGNIZER
    raise ExportError(f'cannot export: model ({_type_name(model)}) has no export path; '
                      'exportable are Recognizer3D (UMTVisionTransformer + UMTHead) and the AVA '
                      'FastRCNN detector (UMTVisionTransformer feature map + AVA RoI head)')
