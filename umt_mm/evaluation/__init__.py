"""Evaluation of umt_mm: AVA frame mAP with per-class results."""
from .ava_frame_map import ava_frame_map, format_ava_table
from .ava_metric import UMTAVAMetric

__all__ = ['UMTAVAMetric', 'ava_frame_map', 'format_ava_table']
