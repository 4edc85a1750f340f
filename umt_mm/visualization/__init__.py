"""Overlays and video writing: one place for every demo's drawn output."""
from .overlays import draw_text_panel, text_scale
from .video_writer import FOURCC, open_video_writer, write_video_copy

__all__ = ['FOURCC', 'draw_text_panel', 'open_video_writer', 'text_scale', 'write_video_copy']
