"""The reference detector's HSV colour jitter (one random shift per clip)."""
from __future__ import annotations

import random

import cv2
import numpy as np
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform


@TRANSFORMS.register_module()
class UMTHSVColorJitter(BaseTransform):
    """AlphAction's ``ColorJitter(hue, sat, val)`` on RGB uint8 frames.

    Every frame of the clip is converted to OpenCV HSV (hue 0-179, saturation and value
    0-255) and shifted by the same integers: hue by ``randint(-round(hue/2), round(hue/2))``
    (circular), saturation by ``randint(-round(sat*255), round(sat*255))`` and value
    likewise (both clipped to 0-255), then converted back. The reference detector uses
    ``hue=20, sat=0.1, val=0.1`` on training clips (AlphAction's ``config/defaults.py``).

    Required keys: ``imgs`` (list or array of ``H x W x 3`` RGB uint8 frames).
    Modified keys: ``imgs``.

    Args:
        hue (float): Hue range in degrees (0-360 scale). Defaults to 20.
        saturation (float): Saturation range as a fraction of 255. Defaults to 0.1.
        value (float): Value range as a fraction of 255. Defaults to 0.1.
    """

    def __init__(self, hue: float = 20.0, saturation: float = 0.1, value: float = 0.1) -> None:
        self.hue_bound = int(round(hue / 2))
        self.sat_bound = int(round(saturation * 255))
        self.val_bound = int(round(value * 255))

    def transform(self, results: dict) -> dict:
        """Shift the HSV channels of every frame by one random draw."""
        hue = random.randint(-self.hue_bound, self.hue_bound)
        sat = random.randint(-self.sat_bound, self.sat_bound)
        val = random.randint(-self.val_bound, self.val_bound)
        results['imgs'] = [self.shift(frame, hue, sat, val) for frame in results['imgs']]
        return results

    @staticmethod
    def shift(frame: np.ndarray, hue: int, sat: int, val: int) -> np.ndarray:
        """One RGB uint8 frame with its HSV channels shifted."""
        if frame.dtype != np.uint8:
            raise TypeError(f'UMTHSVColorJitter needs uint8 RGB frames, got {frame.dtype} '
                            '(put it before any float conversion)')
        hsv = cv2.cvtColor(frame, cv2.COLOR_RGB2HSV).astype(np.int32)
        hsv[..., 0] = (hsv[..., 0] + hue + 180) % 180
        hsv[..., 1] = np.clip(hsv[..., 1] + sat, 0, 255)
        hsv[..., 2] = np.clip(hsv[..., 2] + val, 0, 255)
        return cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(hue_bound={self.hue_bound}, '
                f'sat_bound={self.sat_bound}, val_bound={self.val_bound})')
