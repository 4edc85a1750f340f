"""AVA v2.2 data for the UMT detector: dataset, clip sampling, colour jitter, proposals,
25-fps frame preparation."""
from .alphaction_proposals import convert_alphaction_boxes, read_alphaction_images
from .ava_clip_decode import UMTAVAClipDecode
from .ava_dataset import UMTAVADataset
from .ava_sampling import UMTSampleAVAFrames
from .frame_extraction import FpsFrameSelector, extract_ava_frames, reference_frame_size
from .hsv_color_jitter import UMTHSVColorJitter

__all__ = ['UMTAVADataset', 'UMTSampleAVAFrames', 'UMTAVAClipDecode', 'UMTHSVColorJitter',
           'convert_alphaction_boxes', 'read_alphaction_images', 'FpsFrameSelector',
           'extract_ava_frames', 'reference_frame_size']
