"""AVA v2.2 data for the UMT detector: dataset, clip sampling, clip decoding, colour jitter,
proposals. The 25-fps frame preparation is :mod:`umt_mm.datasets.preparation.ava_frames`."""
from .alphaction_proposals import convert_alphaction_boxes, read_alphaction_images
from .ava_clip_decode import UMTAVAClipDecode
from .ava_dataset import UMTAVADataset
from .ava_sampling import UMTSampleAVAFrames
from .hsv_color_jitter import UMTHSVColorJitter

__all__ = ['UMTAVADataset', 'UMTSampleAVAFrames', 'UMTAVAClipDecode', 'UMTHSVColorJitter',
           'convert_alphaction_boxes', 'read_alphaction_images']
