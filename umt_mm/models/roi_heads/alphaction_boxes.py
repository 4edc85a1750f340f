"""Box jitter (training) and box extension (testing) of the reference AVA detector.

The UMT detector (``action_detection/``) inherits both from AlphAction's ``BoxList``: boxes
are pixel ``x1, y1, x2, y2`` with AlphAction's inclusive-pixel convention (a box from
``x1`` to ``x2`` is ``x2 - x1 + 1`` wide) on an image of ``(width, height)``.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch

_TO_REMOVE = 1.0  # AlphAction's inclusive pixel convention


def jitter_boxes(boxes: torch.Tensor, image_size: Sequence[int], x_out: float = 0.2,
                 x_in: float = 0.1, y_out: float = 0.1, y_in: float = 0.05,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """AlphAction's ``BoxList.random_aug(x_out, x_in, y_out, y_in)``.

    Each side moves by a uniform fraction of the box width (height): the left side by
    ``U(-x_out, x_in) * w``, the right side by ``U(-x_in, x_out) * w`` (so ``x_out``
    enlarges and ``x_in`` shrinks the box), the top by ``U(-y_out, y_in) * h`` and the
    bottom by ``U(-y_in, y_out) * h``, with ``w = x2 - x1 + 1``. ``x1, y1`` are then
    clamped to ``[0, size - 2]``, ``x2, y2`` to at most ``size - 1`` and at least
    ``x1 + 1`` (``y1 + 1``); finally every coordinate is clamped to ``[0, size - 1]``.
    The reference calls it as ``random_aug(0.2, 0.1, 0.1, 0.05)`` on the ground-truth
    boxes of the cropped training clip.

    Args:
        boxes (torch.Tensor): ``(N, 4)`` pixel boxes ``x1, y1, x2, y2``.
        image_size (Sequence[int]): ``(width, height)`` of the image the boxes live on.
        x_out (float): Largest outward move of the left/right sides, in box widths.
            Defaults to 0.2.
        x_in (float): Largest inward move of the left/right sides. Defaults to 0.1.
        y_out (float): Largest outward move of the top/bottom sides, in box heights.
            Defaults to 0.1.
        y_in (float): Largest inward move of the top/bottom sides. Defaults to 0.05.
        generator (torch.Generator, optional): Random generator. Defaults to None.

    Returns:
        torch.Tensor: The jittered ``(N, 4)`` boxes (float32).
    """
    boxes = boxes.float()
    width, height = float(image_size[0]), float(image_size[1])
    x1, y1, x2, y2 = boxes.unbind(dim=-1)
    box_w, box_h = x2 - x1 + _TO_REMOVE, y2 - y1 + _TO_REMOVE
    num = boxes.shape[0]

    def uniform(low: float, high: float) -> torch.Tensor:
        rand = torch.rand(num, generator=generator, dtype=torch.float32)
        return rand.to(boxes.device) * (high - low) + low

    # draw order as the reference: x1, y1, x2, y2
    jx1 = x1 + box_w * uniform(-x_out, x_in)
    jy1 = y1 + box_h * uniform(-y_out, y_in)
    jx2 = x2 + box_w * uniform(-x_in, x_out)
    jy2 = y2 + box_h * uniform(-y_in, y_out)
    jx1 = jx1.clamp(min=0, max=width - _TO_REMOVE - 1)
    jy1 = jy1.clamp(min=0, max=height - _TO_REMOVE - 1)
    jx2 = torch.maximum(jx2.clamp(max=width - _TO_REMOVE), jx1 + 1)
    jy2 = torch.maximum(jy2.clamp(max=height - _TO_REMOVE), jy1 + 1)
    out = torch.stack((jx1, jy1, jx2, jy2), dim=-1)
    return clip_boxes(out, image_size)


def extend_boxes(boxes: torch.Tensor, image_size: Sequence[int],
                 scale: Sequence[float] = (0.1, 0.05)) -> torch.Tensor:
    """AlphAction's ``BoxList.extend(scale)``: grow each box, then clip to the image.

    The box grows by ``scale[0] * w / 2`` on the left and on the right and by
    ``scale[1] * h / 2`` at the top and at the bottom (``w = x2 - x1 + 1``). The
    reference extends the test person boxes by ``(0.1, 0.05)`` before RoI pooling (the
    reported boxes stay the detector's).

    Args:
        boxes (torch.Tensor): ``(N, 4)`` pixel boxes ``x1, y1, x2, y2``.
        image_size (Sequence[int]): ``(width, height)``.
        scale (Sequence[float]): ``(x_scale, y_scale)``, or one value for both.
            Defaults to (0.1, 0.05).

    Returns:
        torch.Tensor: The extended ``(N, 4)`` boxes (float32).
    """
    scale = tuple(scale)
    x_scale, y_scale = (scale[0], scale[0]) if len(scale) < 2 else scale[:2]
    boxes = boxes.float()
    x1, y1, x2, y2 = boxes.unbind(dim=-1)
    pad_w = float(x_scale) * (x2 - x1 + _TO_REMOVE) / 2
    pad_h = float(y_scale) * (y2 - y1 + _TO_REMOVE) / 2
    out = torch.stack((x1 - pad_w, y1 - pad_h, x2 + pad_w, y2 + pad_h), dim=-1)
    return clip_boxes(out, image_size)


def clip_boxes(boxes: torch.Tensor, image_size: Sequence[int]) -> torch.Tensor:
    """AlphAction's ``clip_to_image`` (no removal): x to ``[0, w - 1]``, y to ``[0, h - 1]``.

    Args:
        boxes (torch.Tensor): ``(N, 4)`` pixel boxes.
        image_size (Sequence[int]): ``(width, height)``.

    Returns:
        torch.Tensor: Clipped copy.
    """
    width, height = float(image_size[0]), float(image_size[1])
    out = boxes.clone()
    out[:, 0::2] = out[:, 0::2].clamp(min=0, max=width - _TO_REMOVE)
    out[:, 1::2] = out[:, 1::2].clamp(min=0, max=height - _TO_REMOVE)
    return out
