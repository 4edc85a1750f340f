"""Models of umt_mm (registered into MMAction2's MODELS registry)."""
from .backbones import CLIPVisionTeacher, UMTVisionTransformer
from .blending import UMTMixupCutmix
from .data_preprocessors import UMTDetDataPreprocessor
from .distillers import UMTAlignmentHeads, UMTDistiller, UMTMaskGenerator
from .heads import UMTHead
from .roi_heads import UMTAVARoIHead, UMTBBoxHeadAVA  # AVA detection (MMDet's MODELS)

__all__ = ['UMTVisionTransformer', 'UMTHead', 'UMTMixupCutmix', 'UMTDistiller', 'UMTMaskGenerator',
           'UMTAlignmentHeads',
           'UMTDetDataPreprocessor', 'UMTAVARoIHead', 'UMTBBoxHeadAVA',
           'CLIPVisionTeacher']
