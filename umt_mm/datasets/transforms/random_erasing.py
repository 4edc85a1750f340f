"""Cube random erasing of the reference UMT / VideoMAE fine-tuning pipeline."""
from __future__ import annotations

import math
import random
from typing import Sequence

import numpy as np
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform

IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)


@TRANSFORMS.register_module()
class UMTRandomErasing(BaseTransform):
    """VideoMAE's cube ``RandomErasing`` for un-normalised MMAction2 frames.

    The reference applies ``RandomErasing(probability=0.25, mode='pixel', max_count=1,
    num_splits=1, device='cpu', cube=True)`` to the *normalised* ``(T, C, H, W)`` clip
    (``_erase_cube``)::

        if random.random() > probability: return
        for _ in range(100):
            target_area = random.uniform(min_area, max_area) * H * W   # count == 1
            aspect = math.exp(random.uniform(log(min_aspect), log(max_aspect)))
            h = int(round(sqrt(target_area * aspect)))
            w = int(round(sqrt(target_area / aspect)))
            if w < W and h < H:
                top = random.randint(0, H - h); left = random.randint(0, W - w)
                for every frame: frame[:, top:top + h, left:left + w] = fill()
                break

    where ``fill()`` is drawn afresh for every frame: ``'pixel'`` a per-pixel standard
    normal ``(C, h, w)``, ``'rand'`` a per-channel standard-normal colour ``(C, 1, 1)``
    (timm's ``rand_color``), ``'const'`` zeros. If no attempt fits, nothing is erased.

    MMAction2 frames are still 0-255 RGB here (``ActionDataPreprocessor`` normalises
    later), so the box is filled with ``mean + std * z`` per channel, which the
    preprocessor maps back to exactly the reference's normalised value ``z``. These
    values are **not** clipped to [0, 255] and **not** rounded, hence the output is
    float32: every frame of the clip is converted to ``np.float32`` whenever this
    transform runs, erased or not, so that all samples of a batch share one dtype (put it
    after the resize/crop/flip transforms and before ``FormatShape``). ``results['imgs']``
    keeps its container type (list of ``H x W x C`` arrays, or one ``T x H x W x C``
    array); the input arrays are never written to. All frames in ``results['imgs']``
    (every clip/crop of the sample) share the one box, as frames of one reference sample.

    The box uses Python's ``random`` (as the reference) and the fill uses numpy's global
    generator (the reference uses torch's; the distribution is the same).

    Differences of MMAction2's own ``RandomErasing`` (1.2.0, from mmcls):

    * defaults ``erase_prob=0.5``, ``mode='const'`` with ``fill_color=128``; the coin
      is ``np.random.rand() > erase_prob`` (numpy, not ``random``);
    * one box draw, no retry: ``h = min(round(sqrt(area * aspect)), H)`` and
      ``w = min(..., W)`` are *clamped* to the image, whereas the reference rejects a box
      that is not strictly smaller than the image and re-draws up to 100 times (and
      erases nothing if all fail); clamping makes full-height/full-width boxes possible;
    * ``top = np.random.randint(0, H - h)`` excludes ``H - h`` (the box never touches the
      bottom/right border unless it spans the image); the reference's
      ``random.randint`` includes it;
    * no ``'pixel'`` mode: ``'rand'`` is per-pixel uniform in [0, 256) or, with
      ``fill_std``, ``normal(fill_color, fill_std)`` truncated to int and clipped to
      [0, 255]; the fill is written as uint8 into the frames in place. Even with
      ``fill_color=mean, fill_std=std`` the normalised values are therefore quantised and
      limited to about [-2.12, 2.25] (R), [-2.04, 2.43] (G), [-1.80, 2.64] (B) instead
      of unbounded N(0, 1); its ``'rand'`` is not timm's per-channel ``rand_color``.
    * Like the reference, it uses one box for all frames and a fresh fill per frame.

    Args:
        erase_prob (float): Probability that the clip is erased; erased when
            ``random.random() <= erase_prob``. Defaults to 0.25.
        min_area_ratio (float): Minimum box area / frame area. Defaults to 0.02.
        max_area_ratio (float): Maximum box area / frame area. Defaults to 1/3.
        min_aspect (float): Minimum box aspect ratio (h / w), sampled log-uniformly.
            Defaults to 0.3.
        max_aspect (float, optional): Maximum aspect ratio. Defaults to None
            (``1 / min_aspect``).
        mode (str): ``'pixel'`` (per-pixel N(0, 1) in normalised space), ``'rand'``
            (one N(0, 1) colour per channel and frame) or ``'const'`` (0 in normalised
            space, i.e. ``mean``). Defaults to ``'pixel'``.
        max_attempts (int): Box draws before giving up. Defaults to 100.
        mean (Sequence[float]): Per-channel mean of the later normalisation (0-255).
            Defaults to ``(123.675, 116.28, 103.53)``.
        std (Sequence[float]): Per-channel std of the later normalisation (0-255).
            Defaults to ``(58.395, 57.12, 57.375)``.
    """

    MODES = ('pixel', 'rand', 'const')

    def __init__(self,
                 erase_prob: float = 0.25,
                 min_area_ratio: float = 0.02,
                 max_area_ratio: float = 1 / 3,
                 min_aspect: float = 0.3,
                 max_aspect: float | None = None,
                 mode: str = 'pixel',
                 max_attempts: int = 100,
                 mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD) -> None:
        if not 0.0 <= erase_prob <= 1.0:
            raise ValueError(f'erase_prob must be in [0, 1], got {erase_prob}')
        if not 0.0 < min_area_ratio <= max_area_ratio:
            raise ValueError('need 0 < min_area_ratio <= max_area_ratio, got '
                             f'{min_area_ratio}, {max_area_ratio}')
        max_aspect = max_aspect or 1 / min_aspect
        if not 0.0 < min_aspect <= max_aspect:
            raise ValueError(f'need 0 < min_aspect <= max_aspect, got {min_aspect}, {max_aspect}')
        mode = mode.lower()
        if mode not in self.MODES:
            raise ValueError(f'mode must be one of {self.MODES}, got {mode!r}')
        if max_attempts < 1:
            raise ValueError(f'max_attempts must be >= 1, got {max_attempts}')
        if len(mean) != len(std):
            raise ValueError('mean and std must have the same length')
        self.erase_prob = erase_prob
        self.min_area_ratio = min_area_ratio
        self.max_area_ratio = max_area_ratio
        self.min_aspect = min_aspect
        self.max_aspect = max_aspect
        self.log_aspect_ratio = (math.log(min_aspect), math.log(max_aspect))
        self.mode = mode
        self.max_attempts = max_attempts
        self.mean = tuple(float(m) for m in mean)
        self.std = tuple(float(s) for s in std)
        self._mean = np.asarray(self.mean, dtype=np.float64)
        self._std = np.asarray(self.std, dtype=np.float64)

    def sample_box(self, img_h: int, img_w: int) -> tuple[int, int, int, int] | None:
        """Draw the erasing box as the reference does (after the probability coin).

        Args:
            img_h (int): Frame height.
            img_w (int): Frame width.

        Returns:
            tuple[int, int, int, int] | None: ``(top, left, h, w)``, or None when no
            attempt gave a box strictly smaller than the frame.
        """
        area = img_h * img_w
        count = 1
        for _ in range(self.max_attempts):
            target_area = random.uniform(self.min_area_ratio, self.max_area_ratio) * area / count
            aspect_ratio = math.exp(random.uniform(*self.log_aspect_ratio))
            h = int(round(math.sqrt(target_area * aspect_ratio)))
            w = int(round(math.sqrt(target_area / aspect_ratio)))
            if w < img_w and h < img_h:
                top = random.randint(0, img_h - h)
                left = random.randint(0, img_w - w)
                return top, left, h, w
        return None

    def _fill(self, h: int, w: int, chan: int) -> np.ndarray:
        """Fill values (0-255 scale, float64) that normalise to the reference's draw."""
        if self.mode == 'pixel':
            z = np.random.standard_normal((h, w, chan))
        elif self.mode == 'rand':
            z = np.random.standard_normal((1, 1, chan))
        else:
            z = np.zeros((1, 1, chan))
        # in place (no temporaries): the same float64 products and sums as
        # ``mean + std * z``; the caller casts to float32 when writing the box
        z *= self._std
        z += self._mean
        return z

    def transform(self, results: dict) -> dict:
        """Convert the frames to float32 and erase one box on all of them.

        Args:
            results (dict): Pipeline results with ``imgs``.

        Returns:
            dict: ``results`` with float32 ``imgs``.
        """
        imgs = results['imgs']
        as_array = isinstance(imgs, np.ndarray)
        frames = list(imgs) if as_array else imgs
        box = None
        if frames and random.random() <= self.erase_prob:
            img_h, img_w = frames[0].shape[:2]
            box = self.sample_box(img_h, img_w)
        if box is None:
            out = [np.asarray(img, dtype=np.float32) for img in frames]
        else:
            top, left, h, w = box
            out = []
            for img in frames:
                img = np.array(img, dtype=np.float32)  # a copy: never write to the input
                if img.ndim != 3 or img.shape[2] != len(self.mean):
                    raise ValueError(f'expected H x W x {len(self.mean)} frames, got '
                                     f'{img.shape}')
                img[top:top + h, left:left + w] = self._fill(h, w, img.shape[2])
                out.append(img)
        if as_array:
            results['imgs'] = (np.stack(out) if out else
                               np.asarray(imgs, dtype=np.float32))
        else:
            results['imgs'] = out
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(erase_prob={self.erase_prob}, '
                f'min_area_ratio={self.min_area_ratio}, '
                f'max_area_ratio={self.max_area_ratio}, min_aspect={self.min_aspect}, '
                f'max_aspect={self.max_aspect}, mode={self.mode!r}, '
                f'max_attempts={self.max_attempts}, mean={self.mean}, std={self.std})')
