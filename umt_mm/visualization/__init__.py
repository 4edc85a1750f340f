"""Overlays and video writing: one place for every demo's drawn output."""
from .boxes import BOX_COLOURS, draw_action_boxes, nearest_key_frame
from .labelled_video import MIN_OUT_SIDE, enlarged_size, write_labelled_copy
from .overlays import draw_text_panel, text_scale
from .timeline import plot_timeline
from .training_curves import latest_log_dir, plot_curves, read_scalars
from .video_writer import FOURCC, open_video_writer, write_video_copy

__all__ = ['BOX_COLOURS', 'draw_action_boxes', 'nearest_key_frame',
           'FOURCC', 'MIN_OUT_SIDE', 'draw_text_panel', 'enlarged_size', 'open_video_writer',
           'latest_log_dir', 'plot_curves', 'plot_timeline', 'read_scalars', 'text_scale',
           'write_labelled_copy', 'write_video_copy']
