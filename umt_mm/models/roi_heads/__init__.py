"""AVA detection parts of the UMT detector (registered into MMDet's MODELS, like MMAction2's).

They are used inside ``FastRCNN(_scope_='mmdet')`` configs, where MMAction2's own AVA parts
(``SingleRoIExtractor3D``, ``AVARoIHead``, ``BBoxHeadAVA``) live too.
"""
from .alphaction_boxes import clip_boxes, extend_boxes, jitter_boxes
from .bbox_head import UMTBBoxHeadAVA
from .roi_head import UMTAVARoIHead

__all__ = ['UMTAVARoIHead', 'UMTBBoxHeadAVA', 'jitter_boxes', 'extend_boxes', 'clip_boxes']
