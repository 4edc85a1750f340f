"""AVA v2.2 data for the UMT detector: dataset, clip sampling, colour jitter, proposals."""
from .alphaction_proposals import convert_alphaction_boxes, read_alphaction_images
from .ava_dataset import UMTAVADataset
from .ava_sampling import UMTSampleAVAFrames
from .hsv_color_jitter import UMTHSVColorJitter

__all__ = ['UMTAVADataset', 'UMTSampleAVAFrames', 'UMTHSVColorJitter',
           'convert_alphaction_boxes', 'read_alphaction_images']
