"""Person boxes and their top actions drawn on video frames."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: box colours (RGB), one per box of a frame, cycled
BOX_COLOURS = [(0, 119, 182), (0, 180, 216), (56, 176, 0), (255, 183, 3), (251, 133, 0),
               (230, 57, 70)]


def draw_action_boxes(frame: np.ndarray, boxes: Sequence[dict], max_labels: int = 5) -> None:
    """Draw person boxes with their top actions on a BGR frame.

    Args:
        frame (np.ndarray): ``(H, W, 3)`` uint8 BGR frame, drawn on in place.
        boxes (Sequence[dict]): Boxes as
            :meth:`umt_mm.apis.SpatioTemporalResult.detections` gives them: ``bbox``
            (pixels ``x1, y1, x2, y2``) and ``actions`` (``name``, ``score``), best first.
        max_labels (int): Actions written per box. Defaults to 5.
    """
    import cv2
    height, width = frame.shape[:2]
    scale = max(0.4, min(height, width) / 480)
    font, thick = cv2.FONT_HERSHEY_SIMPLEX, max(1, round(scale * 1.5))
    line_h = int(18 * scale) + 4
    for k, box in enumerate(boxes):
        colour = BOX_COLOURS[k % len(BOX_COLOURS)][::-1]
        x1, y1, x2, y2 = (int(round(v)) for v in box['bbox'])
        cv2.rectangle(frame, (x1, y1), (x2, y2), colour, thick + 1)
        for j, action in enumerate(box['actions'][:max_labels]):
            text = f'{action["name"]}: {action["score"]:.2f}'
            (tw, th), _ = cv2.getTextSize(text, font, 0.45 * scale, thick)
            org = (max(0, x1), max(th + 2, y1 + line_h * (j + 1)))
            cv2.rectangle(frame, (org[0], org[1] - th - 3), (org[0] + tw + 4, org[1] + 3),
                          colour, -1)
            cv2.putText(frame, text, (org[0] + 2, org[1]), font, 0.45 * scale,
                        (255, 255, 255), thick, cv2.LINE_AA)


def nearest_key_frame(timestamps: np.ndarray, index: int, fps: float) -> int | None:
    """The position in ``timestamps`` (seconds) of the key frame nearest to frame ``index``.

    Args:
        timestamps (np.ndarray): Sorted key frame timestamps.
        index (int): A frame of the video.
        fps (float): The video's frame rate.

    Returns:
        int | None: The position, None when there is no key frame.
    """
    if not len(timestamps):
        return None
    return int(np.argmin(np.abs(np.asarray(timestamps) - index / fps)))


__all__ = ['BOX_COLOURS', 'draw_action_boxes', 'nearest_key_frame']
