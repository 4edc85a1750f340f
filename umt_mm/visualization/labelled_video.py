"""A copy of a video with text drawn on every frame (the recognition demos' output)."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from .overlays import draw_text_panel
from .video_writer import write_video_copy

#: a labelled copy's short side is at least this many pixels (small videos are enlarged)
MIN_OUT_SIDE = 240


def enlarged_size(width: int, height: int, min_side: int = MIN_OUT_SIDE) -> tuple[int, int]:
    """``(width, height)`` enlarged so that the short side is at least ``min_side``.

    Args:
        width (int): Frame width in pixels.
        height (int): Frame height in pixels.
        min_side (int): The smallest short side. Defaults to :data:`MIN_OUT_SIDE`.

    Returns:
        tuple[int, int]: The size (unchanged when already large enough).
    """
    enlarge = max(1.0, min_side / min(height, width))
    return round(width * enlarge), round(height * enlarge)


def write_labelled_copy(video: str | Path, out: str | Path,
                        lines: Sequence[str] | Callable[[int], Sequence[str]],
                        option: str = '--out', min_side: int = MIN_OUT_SIDE,
                        progress: Callable[[], None] | None = None) -> int:
    """Copy ``video`` to ``out`` with text lines drawn top-left on every frame.

    Same frames and frame rate (:data:`~umt_mm.apis.FALLBACK_FPS` when the file reports
    none); a video whose short side is below ``min_side`` is enlarged to it so that the
    text is legible.

    Args:
        video (str | Path): Input video.
        out (str | Path): Output video; the codec follows the suffix
            (:data:`~umt_mm.visualization.FOURCC`).
        lines (Sequence[str] | Callable): The lines of every frame, or
            ``lines(frame_index)`` giving each frame's lines.
        option (str): The option that named ``out``, for the errors. Defaults to '--out'.
        min_side (int): The smallest short side of the copy. Defaults to
            :data:`MIN_OUT_SIDE`.
        progress (Callable, optional): Called once per written frame. Defaults to None.

    Returns:
        int: Frames written (the input's frame count).
    """
    from ..apis.video_reading import open_video
    reader, info = open_video(video)
    size = enlarged_size(info.width, info.height, min_side)

    def draw(index: int, frame: np.ndarray) -> None:
        text = lines(index) if callable(lines) else lines
        draw_text_panel(frame, list(text))

    return write_video_copy(reader, out, info.fps, draw, size=size, option=option,
                            progress=progress)


__all__ = ['MIN_OUT_SIDE', 'enlarged_size', 'write_labelled_copy']
