"""Colour jitter of the reference's pretraining (``--color_jitter``, ``GroupColorJitter``).

The reference (``datasets/transforms.py``) builds ``GroupColorJitter(s)`` as
``torchvision.transforms.ColorJitter(brightness=s, contrast=s, saturation=s)`` (hue 0) and
places it after ``GroupMultiScaleCrop`` and before the flip (``datasets/build.py``), only
when ``--color_jitter > 0``; the pretraining scripts leave it at 0 (off). torchvision's
``ColorJitter`` on a PIL frame draws, at every call, an order of the four adjustments
(``torch.randperm(4)``) and one factor per enabled adjustment, uniform in
``[max(0, 1 - s), 1 + s]`` (``torch.empty(1).uniform_``; brightness, contrast,
saturation in that order), then applies Pillow's ``ImageEnhance.Brightness``,
``Contrast`` and ``Color`` with those factors in that order. ``GroupColorJitter`` calls it
once per frame, so **every frame of a clip gets its own order and factors** in the
reference, despite the class name. :class:`UMTGroupColorJitter` reproduces that by
default (same torch draws, so a seeded run draws the reference's factors) and offers one
draw per clip (``same_for_all_frames=True``, the usual video augmentation).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform
from PIL import Image, ImageEnhance

#: The adjustments in torchvision's index order (0 brightness, 1 contrast, 2 saturation).
_ENHANCERS = (ImageEnhance.Brightness, ImageEnhance.Contrast, ImageEnhance.Color)
_NAMES = ('brightness', 'contrast', 'saturation')


def jitter_range(strength: float, name: str = 'strength') -> tuple[float, float] | None:
    """Factor range of one adjustment: ``[max(0, 1 - s), 1 + s]``, None when ``s == 0``.

    Args:
        strength (float): ``s >= 0`` (torchvision's scalar form).
        name (str): Argument name for the error. Defaults to 'strength'.

    Returns:
        tuple[float, float] | None: The range, or None (the adjustment is off, as
        torchvision drops a ``(1, 1)`` range and draws nothing for it).
    """
    strength = float(strength)
    if not strength >= 0:
        raise ValueError(f'{name} must be a non-negative number, got {strength!r}')
    if strength == 0:
        return None
    return max(0.0, 1.0 - strength), 1.0 + strength


def draw_jitter_params(ranges: Sequence[tuple[float, float] | None]
                       ) -> tuple[list[int], list[float | None]]:
    """One draw of torchvision ``ColorJitter.get_params`` (hue off), with torch's RNG.

    Args:
        ranges (Sequence[tuple[float, float] | None]): Brightness, contrast and
            saturation ranges (None: off).

    Returns:
        tuple[list[int], list[float | None]]: The order of the adjustments (a permutation
        of ``0..3``; 3 is the unused hue) and the three factors (None for the ones off).
    """
    order = torch.randperm(4).tolist()
    factors = [None if r is None else float(torch.empty(1).uniform_(r[0], r[1]))
               for r in ranges]
    return order, factors


def apply_jitter(frame: np.ndarray, order: Sequence[int],
                 factors: Sequence[float | None]) -> np.ndarray:
    """Apply the adjustments to one ``uint8`` RGB frame as torchvision does on PIL images.

    Args:
        frame (np.ndarray): ``H x W x 3`` ``uint8`` RGB frame.
        order (Sequence[int]): Adjustment order (indices into brightness, contrast,
            saturation; others are ignored).
        factors (Sequence[float | None]): The three factors (None: skipped).

    Returns:
        np.ndarray: The jittered frame (``uint8``).
    """
    img = Image.fromarray(np.ascontiguousarray(frame))
    for index in order:
        if index < len(_ENHANCERS) and factors[index] is not None:
            img = _ENHANCERS[index](img).enhance(factors[index])
    return np.array(img)  # writable (in-place flips follow)


@TRANSFORMS.register_module()
class UMTGroupColorJitter(BaseTransform):
    """Brightness / contrast / saturation jitter of the reference's ``GroupColorJitter``.

    ``strength`` ``s`` sets all three ranges to ``[max(0, 1 - s), 1 + s]`` (the
    reference's ``--color_jitter s``); ``brightness``, ``contrast``, ``saturation``
    override one each. Pixels come from Pillow's ``ImageEnhance`` as in torchvision's PIL
    path: brightness scales the frame, contrast blends with the mean grey level of the
    frame, saturation with its greyscale; results are truncated to ``uint8`` as Pillow
    does. Strength 0 (all three 0) returns the frames unchanged and draws nothing.

    Place it as the reference does: after the multi-scale crop + resize and before the
    flip. Frames must be ``uint8`` RGB (decord's output; the jitter is not defined on
    float frames in the reference).

    Args:
        strength (float): ``s`` of all three adjustments (the reference's
            ``--color_jitter``; 0.4 is the usual value, 0 turns the jitter off).
        brightness (float, optional): Overrides ``strength`` for brightness.
            Defaults to None.
        contrast (float, optional): Overrides ``strength`` for contrast. Defaults to None.
        saturation (float, optional): Overrides ``strength`` for saturation.
            Defaults to None.
        same_for_all_frames (bool): Draw the order and factors once per clip and apply
            them to every frame. Defaults to False: one draw per frame, as the
            reference's ``GroupColorJitter`` (a torchvision ``ColorJitter`` called per
            frame) does.
    """

    def __init__(self,
                 strength: float,
                 brightness: float | None = None,
                 contrast: float | None = None,
                 saturation: float | None = None,
                 same_for_all_frames: bool = False) -> None:
        values = [strength if v is None else v for v in (brightness, contrast, saturation)]
        self.ranges = [jitter_range(v, name) for v, name in zip(values, _NAMES)]
        self.strengths = [float(v) for v in values]
        self.same_for_all_frames = bool(same_for_all_frames)

    def transform(self, results: dict) -> dict:
        """Jitter ``imgs``.

        Args:
            results (dict): Pipeline results with ``imgs`` (``uint8`` RGB frames).

        Returns:
            dict: The results with jittered frames; ``color_jitter_params`` holds the
            ``(order, factors)`` used for each frame.
        """
        imgs = results['imgs']
        if all(r is None for r in self.ranges):
            return results
        for img in imgs:
            if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
                raise TypeError(f'{self.__class__.__name__} needs uint8 H x W x 3 RGB frames '
                                f'(as decoded), got {img.dtype} {img.shape}; put it before '
                                'any float conversion')
        if self.same_for_all_frames:
            params = [draw_jitter_params(self.ranges)] * len(imgs)
        else:
            params = [draw_jitter_params(self.ranges) for _ in imgs]
        results['imgs'] = [apply_jitter(img, *p) for img, p in zip(imgs, params)]
        results['color_jitter_params'] = params
        return results

    def __repr__(self) -> str:
        b, c, s = self.strengths
        return (f'{self.__class__.__name__}(brightness={b}, contrast={c}, saturation={s}, '
                f'same_for_all_frames={self.same_for_all_frames})')


__all__ = ['UMTGroupColorJitter', 'apply_jitter', 'draw_jitter_params', 'jitter_range']
