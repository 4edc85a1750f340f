"""Text drawn on video frames: white lines on a darkened panel."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def text_scale(height: int, width: int) -> tuple[float, int, int]:
    """``(font scale, thickness, line height)`` legible on a ``height`` x ``width`` frame.

    Args:
        height (int): Frame height in pixels.
        width (int): Frame width in pixels.

    Returns:
        tuple[float, int, int]: OpenCV's Hershey font scale, stroke thickness and the
        distance between lines in pixels.
    """
    scale = max(height, width) / 640
    return max(0.3, 0.5 * scale), max(1, round(scale)), int(22 * max(scale, 0.6))


def draw_text_panel(frame: np.ndarray, lines: Sequence[str],
                    origin: tuple[int, int] = (0, 0), darken: float = 0.35) -> None:
    """Draw ``lines`` at ``origin`` (top-left) of a BGR frame over a darkened panel.

    Args:
        frame (np.ndarray): ``(H, W, 3)`` uint8 BGR frame, drawn on in place.
        lines (Sequence[str]): Text lines, top to bottom.
        origin (tuple[int, int]): ``(x, y)`` of the panel's top-left corner.
            Defaults to (0, 0).
        darken (float): Factor of the pixels behind the text. Defaults to 0.35.
    """
    import cv2
    if not lines:
        return
    font_scale, thickness, line_height = text_scale(*frame.shape[:2])
    x, y = origin
    text_w = max(cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, thickness)[0][0]
                 for text in lines)
    panel = frame[y:y + line_height * len(lines) + 8, x:x + text_w + 12]
    panel[:] = (panel * darken).astype(np.uint8)
    for k, text in enumerate(lines):
        cv2.putText(frame, text, (x + 6, y + line_height * (k + 1)), cv2.FONT_HERSHEY_SIMPLEX,
                    font_scale, (255, 255, 255), thickness, cv2.LINE_AA)
