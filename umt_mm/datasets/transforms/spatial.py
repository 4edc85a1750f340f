"""Spatial transforms of the reference UMT / VideoMAE pipeline (``datasets/video_transforms.py``).

MMAction2 1.2.0 differs from the reference in the fallback of ``RandomResizedCrop``, the
rounding of the long side in ``Resize(scale=(-1, S))``, the centre offset of
``CenterCrop``, the far offset of ``ThreeCrop`` and the resampling filter of the
pretraining crops (cv2 ``INTER_LINEAR`` instead of PIL's antialiased ``BILINEAR``); the
classes below follow the reference exactly and keep MMAction2's result keys.
"""
from __future__ import annotations

import math
import random
import warnings
from typing import Sequence

import cv2
import numpy as np
from mmaction.datasets.transforms.processing import (
    CenterCrop,
    RandomResizedCrop,
    Resize,
    _init_lazy_if_proper,
)
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform
from PIL import Image

#: Pillow filters by MMAction2 / mmcv interpolation name.
PIL_FILTERS = {
    'nearest': Image.Resampling.NEAREST,
    'bilinear': Image.Resampling.BILINEAR,
    'bicubic': Image.Resampling.BICUBIC,
    'box': Image.Resampling.BOX,
    'hamming': Image.Resampling.HAMMING,
    'lanczos': Image.Resampling.LANCZOS,
}


def reference_rrc_params(img_h: int, img_w: int, scale: Sequence[float] = (0.08, 1.0),
                         ratio: Sequence[float] = (0.75, 1.3333),
                         num_repeat: int = 10) -> tuple[int, int, int, int]:
    """Crop box of VideoMAE's ``_get_param_spatial_crop`` (``log_scale=True``).

    Up to ``num_repeat`` tries of ``target_area = random.uniform(*scale) * H * W``,
    ``aspect = exp(random.uniform(log r0, log r1))``, ``w = int(round(sqrt(target_area *
    aspect)))``, ``h = int(round(sqrt(target_area / aspect)))``, accepted if ``0 < w <= W``
    and ``0 < h <= H`` with ``top = random.randint(0, H - h)`` then
    ``left = random.randint(0, W - w)``. Fallback: the centred box of the whole frame
    with its aspect ratio clamped into ``ratio``. (The reference also draws one unused
    ``np.random.uniform()`` per try for its disabled ``switch_hw``; that is not repeated.)

    Args:
        img_h (int): Frame height.
        img_w (int): Frame width.
        scale (Sequence[float]): Area fraction range. Defaults to (0.08, 1.0).
        ratio (Sequence[float]): Aspect ratio (w / h) range. Defaults to (0.75, 1.3333).
        num_repeat (int): Random tries before the fallback. Defaults to 10.

    Returns:
        tuple[int, int, int, int]: ``(top, left, h, w)``.
    """
    area = img_h * img_w
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(num_repeat):
        target_area = random.uniform(*scale) * area
        aspect_ratio = math.exp(random.uniform(*log_ratio))
        w = int(round(math.sqrt(target_area * aspect_ratio)))
        h = int(round(math.sqrt(target_area / aspect_ratio)))
        if 0 < w <= img_w and 0 < h <= img_h:
            top = random.randint(0, img_h - h)
            left = random.randint(0, img_w - w)
            return top, left, h, w
    in_ratio = float(img_w) / float(img_h)
    if in_ratio < min(ratio):
        w = img_w
        h = int(round(w / min(ratio)))
    elif in_ratio > max(ratio):
        h = img_h
        w = int(round(h * max(ratio)))
    else:
        w, h = img_w, img_h
    return (img_h - h) // 2, (img_w - w) // 2, h, w


def reference_resize_size(img_h: int, img_w: int, short_side: int) -> tuple[int, int]:
    """``(new_h, new_w)`` of VideoMAE's ``get_resize_sizes`` (long side floored).

    Args:
        img_h (int): Frame height.
        img_w (int): Frame width.
        short_side (int): Target short side ``S``.

    Returns:
        tuple[int, int]: ``(S, int(S * W / H))`` if ``W >= H``, else
        ``(int(S * H / W), S)``.
    """
    if img_w < img_h:
        return int(short_side * img_h / img_w), short_side
    return short_side, int(short_side * img_w / img_h)


def reference_crop_starts(long_side: int, crop_size: int, num_crops: int) -> list[int]:
    """Crop starts along the long side of the reference test loader.

    ``int(split * (long - S) / (n - 1))`` for ``split`` in ``0..n-1``; one crop is the
    centre ``int((long - S) / 2)``.

    Args:
        long_side (int): Length of the long side.
        crop_size (int): Crop size ``S``.
        num_crops (int): Number of crops ``n``.

    Returns:
        list[int]: The ``n`` starts in the reference's order.
    """
    if num_crops == 1:
        return [int(1.0 * (long_side - crop_size) / 2)]
    step = 1.0 * (long_side - crop_size) / (num_crops - 1)
    return [int(split * step) for split in range(num_crops)]


@TRANSFORMS.register_module()
class UMTRandomResizedCrop(RandomResizedCrop):
    """``RandomResizedCrop`` with the box sampling of the reference (VideoMAE).

    Follows :func:`reference_rrc_params`; follow it with
    ``Resize(scale=(224, 224), keep_ratio=False)``. Result keys (``crop_bbox``,
    ``img_shape``, ``crop_quadruple``, ``lazy``, keypoints, boxes) are set by the parent.

    Differences of MMAction2's ``RandomResizedCrop`` (1.2.0): when all 10 tries fail it
    falls back to the centred *square* of side ``min(H, W)``, whereas the reference takes
    the whole frame with its aspect ratio clamped into ``aspect_ratio_range`` (the whole
    frame for a 4:3 video); it accepts ``w <= W and h <= H`` without the reference's
    ``0 < w, h``; it draws area and aspect with numpy (all 10 tries at once, aspects
    first) and the offsets with ``random`` in x-then-y order; its default ratio range is
    ``(3/4, 4/3)`` while the reference uses ``(0.75, 1.3333)``.

    The reference resizes the crop with ``F.interpolate(bilinear, align_corners=False)``
    on float tensors; MMAction2's ``Resize`` (cv2 ``INTER_LINEAR``) rounds uint8 frames
    back to uint8 (measured: up to 0.8 grey levels off). With ``to_float32=True`` the
    crops are converted to float32, so the following ``Resize`` interpolates in float
    (measured: within 0.007 grey levels of ``F.interpolate``).

    Args:
        area_range (Sequence[float]): Crop area fraction range. Defaults to (0.08, 1.0).
        aspect_ratio_range (Sequence[float]): Crop aspect ratio (w / h) range.
            Defaults to (0.75, 1.3333), the reference's values.
        lazy (bool): MMAction2's lazy mode (see ``Fuse``). Defaults to False.
        to_float32 (bool): Convert the cropped frames to float32 (not with ``lazy``).
            Defaults to False.
    """

    def __init__(self,
                 area_range: Sequence[float] = (0.08, 1.0),
                 aspect_ratio_range: Sequence[float] = (0.75, 1.3333),
                 lazy: bool = False,
                 to_float32: bool = False) -> None:
        if lazy and to_float32:
            raise ValueError('to_float32 is not supported with lazy=True')
        super().__init__(area_range=tuple(float(a) for a in area_range),
                         aspect_ratio_range=tuple(float(r) for r in aspect_ratio_range),
                         lazy=lazy)
        self.to_float32 = to_float32

    @staticmethod
    def get_crop_bbox(img_shape: tuple[int, int],
                      area_range: Sequence[float],
                      aspect_ratio_range: Sequence[float],
                      max_attempts: int = 10) -> tuple[int, int, int, int]:
        """Draw the crop box as the reference does.

        Args:
            img_shape (tuple[int, int]): ``(H, W)``.
            area_range (Sequence[float]): Crop area fraction range.
            aspect_ratio_range (Sequence[float]): Crop aspect ratio (w / h) range.
            max_attempts (int): Random tries before the fallback. Defaults to 10.

        Returns:
            tuple[int, int, int, int]: ``(left, top, right, bottom)``.
        """
        img_h, img_w = img_shape
        top, left, h, w = reference_rrc_params(img_h, img_w, area_range, aspect_ratio_range,
                                               max_attempts)
        return left, top, left + w, top + h

    def transform(self, results: dict) -> dict:
        """Crop (and optionally convert to float32).

        Args:
            results (dict): Pipeline results.

        Returns:
            dict: The cropped results.
        """
        results = super().transform(results)
        if self.to_float32 and 'imgs' in results:
            results['imgs'] = [np.asarray(img, dtype=np.float32) for img in results['imgs']]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(area_range={self.area_range}, '
                f'aspect_ratio_range={self.aspect_ratio_range}, lazy={self.lazy}, '
                f'to_float32={self.to_float32})')


@TRANSFORMS.register_module()
class UMTShortSideResize(BaseTransform):
    """Resize the short side to ``short_side`` as the reference (VideoMAE) does.

    New size from :func:`reference_resize_size` (long side ``int(S * long / short)``,
    floored), pixels from ``cv2.resize(..., INTER_LINEAR)``; frames whose size does not
    change are kept as they are (the reference returns them untouched). Sets
    ``img_shape``, ``keep_ratio`` (True) and ``scale_factor`` like MMAction2's ``Resize``
    and rescales ``keypoint``, ``gt_bboxes`` and ``proposals`` the same way.

    Difference of MMAction2's ``Resize(scale=(-1, S))`` (1.2.0): ``mmcv.rescale_size``
    gives the long side ``int(long * S / short + 0.5)`` (rounded), e.g. 299 instead of
    298 for 320x240 -> short side 224; it interpolates with cv2 ``INTER_LINEAR`` too
    (through ``mmcv.imresize``, whose backend can be switched to Pillow globally).

    Args:
        short_side (int): Target short side ``S`` (224 or 384 in the UMT recipes).
    """

    def __init__(self, short_side: int) -> None:
        if not isinstance(short_side, int) or short_side < 1:
            raise ValueError(f'short_side must be a positive int, got {short_side!r}')
        self.short_side = short_side

    def transform(self, results: dict) -> dict:
        """Resize ``imgs`` (and keypoints/boxes).

        Args:
            results (dict): Pipeline results.

        Returns:
            dict: The resized results.
        """
        _init_lazy_if_proper(results, False)
        if 'scale_factor' not in results:
            results['scale_factor'] = np.array([1, 1], dtype=np.float32)
        img_h, img_w = results['img_shape']
        new_h, new_w = reference_resize_size(img_h, img_w, self.short_side)
        scale_factor = np.array([new_w / img_w, new_h / img_h], dtype=np.float32)
        results['img_shape'] = (new_h, new_w)
        results['keep_ratio'] = True
        results['scale_factor'] = results['scale_factor'] * scale_factor
        if 'imgs' in results and (new_h, new_w) != (img_h, img_w):
            results['imgs'] = [cv2.resize(img, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
                               for img in results['imgs']]
        if 'keypoint' in results:
            results['keypoint'] = results['keypoint'] * scale_factor
        if 'gt_bboxes' in results:
            results['gt_bboxes'] = Resize._box_resize(results['gt_bboxes'], scale_factor)
            if results.get('proposals') is not None:
                results['proposals'] = Resize._box_resize(results['proposals'], scale_factor)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(short_side={self.short_side})'


def pil_resize(img: np.ndarray, width: int, height: int,
               interpolation: str = 'bilinear') -> np.ndarray:
    """Resize one frame with Pillow's ``Image.resize`` (the reference's PIL path).

    Pillow's ``BILINEAR`` (like its other filters except ``NEAREST``) widens its kernel
    by the scale factor when shrinking, i.e. it antialiases; cv2's ``INTER_LINEAR`` always
    reads the 2x2 nearest pixels. A ``uint8`` ``H x W x 3`` frame is resized as one RGB
    image, exactly as ``Image.fromarray(frame).resize((width, height), filter)``; other
    channel counts and float frames are resized one channel at a time (``'L'`` / ``'F'``
    images, the same kernel; Pillow would premultiply an alpha channel).

    Args:
        img (np.ndarray): ``H x W`` or ``H x W x C`` frame, ``uint8`` or float.
        width (int): Output width.
        height (int): Output height.
        interpolation (str): A key of :data:`PIL_FILTERS`. Defaults to 'bilinear'.

    Returns:
        np.ndarray: The resized frame, same dtype and channels (a writable array: MMAction2's
        ``Flip`` flips in place).
    """
    resample = PIL_FILTERS[interpolation]
    size = (width, height)
    if img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3:  # an 'RGB' image
        return np.array(Image.fromarray(np.ascontiguousarray(img)).resize(size, resample))
    # uint8 planes are 'L' images, float32 planes 'F' images
    work = img if img.dtype == np.uint8 else img.astype(np.float32, copy=False)
    planes = [work] if work.ndim == 2 else [work[..., c] for c in range(work.shape[2])]
    out = [np.array(Image.fromarray(np.ascontiguousarray(plane)).resize(size, resample))
           for plane in planes]
    result = out[0] if work.ndim == 2 else np.stack(out, axis=-1)
    return result.astype(img.dtype, copy=False)


@TRANSFORMS.register_module()
class UMTPILResize(Resize):
    """MMAction2's ``Resize`` resampled with Pillow, as the reference's pretraining crops.

    The reference (``datasets/transforms.py`` ``GroupMultiScaleCrop``, used by
    ``datasets/build.py`` for pretraining) crops PIL frames and resizes each crop with
    ``img.resize(input_size, Image.BILINEAR)``, which antialiases when shrinking (a
    256 px crop of a 340x256 frame to 224 px: every output pixel averages a 2.3 px wide
    kernel). MMAction2's ``Resize`` goes through ``mmcv.imresize`` with cv2
    ``INTER_LINEAR`` (no antialiasing). Measured against PIL on middle frames of the
    shared videos: shrinking a whole 340x256 frame to 224x224, cv2 is up to 44 grey levels
    off (``test.mp4``; 84 on ``demo_spatiotemporal_det.mp4``; mean 0.7-1.1); enlarging a
    168 px crop, at most 1 (mean 0.17). This class is ``Resize`` with the
    same arguments and result keys whose pixels come from :func:`pil_resize`, i.e. from
    Pillow itself: equal to the reference's resize. Sizes follow ``Resize``
    (``keep_ratio``, ``scale``). Lazy mode is not supported (``Fuse`` resamples with cv2).

    The finetuning recipes need no such class: there the reference resizes numpy frames
    with cv2 ``INTER_LINEAR`` (validation / test, ``UMTShortSideResize``) and float
    tensors with ``F.interpolate`` (training crops, ``UMTRandomResizedCrop`` +
    ``Resize`` in float32), which MMAction2's cv2 path already matches.

    Args:
        scale (float | tuple[int, int]): As ``Resize``: ``(w, h)`` with
            ``keep_ratio=False``.
        keep_ratio (bool): As ``Resize``. Defaults to True.
        interpolation (str): A key of :data:`PIL_FILTERS`. Defaults to 'bilinear'
            (the reference's ``Image.BILINEAR``).
    """

    def __init__(self,
                 scale: float | tuple[int, int],
                 keep_ratio: bool = True,
                 interpolation: str = 'bilinear') -> None:
        if interpolation not in PIL_FILTERS:
            raise ValueError(f'unknown interpolation {interpolation!r}; expected one of '
                             f'{sorted(PIL_FILTERS)}')
        super().__init__(scale=scale, keep_ratio=keep_ratio, interpolation=interpolation,
                         lazy=False)

    def _resize_imgs(self, imgs: list[np.ndarray], new_w: int, new_h: int) -> list[np.ndarray]:
        """Resize every frame with Pillow."""
        return [pil_resize(img, new_w, new_h, self.interpolation) for img in imgs]

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(scale={self.scale}, keep_ratio={self.keep_ratio}, '
                f'interpolation={self.interpolation!r})')


@TRANSFORMS.register_module()
class UMTCenterCrop(CenterCrop):
    """Centre crop of the reference validation loader (VideoMAE ``CenterCrop``).

    Offsets ``x1 = int(round((W - w) / 2.))``, ``y1 = int(round((H - h) / 2.))`` with
    Python's round-half-to-even. MMAction2's ``CenterCrop`` floors (``(W - w) // 2``),
    which is one pixel less when ``W - w`` is 3 mod 4 (e.g. 299 - 224 = 75: 38 vs 37).
    A crop larger than the frame raises ``ValueError`` (as the reference; MMAction2
    does not check). Result keys are those of MMAction2's ``CenterCrop``.

    Args:
        crop_size (int | tuple[int, int]): ``(w, h)`` of the crop, or one int for both.
        lazy (bool): MMAction2's lazy mode (see ``Fuse``). Defaults to False.
    """

    def __init__(self, crop_size: int | tuple[int, int], lazy: bool = False) -> None:
        super().__init__(crop_size=crop_size, lazy=lazy)

    def transform(self, results: dict) -> dict:
        """Crop the centre.

        Args:
            results (dict): Pipeline results.

        Returns:
            dict: The cropped results.
        """
        _init_lazy_if_proper(results, self.lazy)
        if 'keypoint' in results:
            assert not self.lazy, 'Keypoint Augmentations are not compatible with lazy == True'
        img_h, img_w = results['img_shape']
        crop_w, crop_h = self.crop_size
        if crop_w > img_w or crop_h > img_h:
            raise ValueError(f'crop {crop_w}x{crop_h} (w x h) is larger than the frame '
                             f'{img_w}x{img_h}')
        left = int(round((img_w - crop_w) / 2.))
        top = int(round((img_h - crop_h) / 2.))
        right, bottom = left + crop_w, top + crop_h
        crop_bbox = np.array([left, top, right, bottom])
        results['crop_bbox'] = crop_bbox
        results['img_shape'] = (crop_h, crop_w)

        if 'crop_quadruple' not in results:
            results['crop_quadruple'] = np.array([0, 0, 1, 1], dtype=np.float32)
        old_x, old_y, old_w, old_h = results['crop_quadruple'][:4]
        results['crop_quadruple'] = np.array(
            [old_x + left / img_w * old_w, old_y + top / img_h * old_h,
             crop_w / img_w * old_w, crop_h / img_h * old_h], dtype=np.float32)

        if not self.lazy:
            if 'keypoint' in results:
                results['keypoint'] = self._crop_kps(results['keypoint'], crop_bbox)
            if 'imgs' in results:
                results['imgs'] = self._crop_imgs(results['imgs'], crop_bbox)
        else:
            lazyop = results['lazy']
            if lazyop['flip']:
                raise NotImplementedError('Put Flip at last for now')
            lazy_left, lazy_top, lazy_right, lazy_bottom = lazyop['crop_bbox']
            sx = (lazy_right - lazy_left) / img_w
            sy = (lazy_bottom - lazy_top) / img_h
            lazyop['crop_bbox'] = np.array(
                [lazy_left + left * sx, lazy_top + top * sy,
                 lazy_left + right * sx, lazy_top + bottom * sy], dtype=np.float32)

        if 'gt_bboxes' in results:
            assert not self.lazy
            results = self._all_box_crop(results, results['crop_bbox'])
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(crop_size={self.crop_size}, lazy={self.lazy})'


@TRANSFORMS.register_module()
class UMTMultiCrop(BaseTransform):
    """Test-time crops of the reference (``num_crops`` squares along the long side).

    Crop ``k`` (``k = 0..n-1``, the reference's ``split_nb`` order: left/top first)
    starts at ``int(k * (long - S) / (n - 1))`` along the long side (the height if
    ``H >= W``, else the width); one crop starts at ``int((long - S) / 2)`` (see
    :func:`reference_crop_starts`). As in the reference only the long side is cut: the
    short side is kept whole (it equals ``crop_size`` after
    ``UMTShortSideResize(crop_size)``). Frames are stacked crop-major like MMAction2's
    ``ThreeCrop`` (``imgs`` becomes ``n * len(imgs)`` frames, ``crops x clips x
    frames``), which is the order ``FormatShape('NCTHW')`` assumes, so every view is one
    clip in one crop. Sets ``crop_bbox`` (one row per output frame) and ``img_shape``.

    Differences of MMAction2's ``ThreeCrop`` (1.2.0): offsets ``0, 2 * ((long - S) // 2),
    (long - S) // 2`` in the order left/top, right/bottom, middle; the far crop ends one
    pixel short of the border when ``long - S`` is odd (reference: ``long - S``). It only
    supports 3 crops. ``CenterCrop`` agrees with one crop here (both floor), but not with
    the validation centre crop (see ``UMTCenterCrop``).

    Args:
        crop_size (int): Crop size ``S``.
        num_crops (int): Number of crops ``n >= 1``. Defaults to 3.
    """

    def __init__(self, crop_size: int, num_crops: int = 3) -> None:
        if not isinstance(crop_size, int) or crop_size < 1:
            raise ValueError(f'crop_size must be a positive int, got {crop_size!r}')
        if not isinstance(num_crops, int) or num_crops < 1:
            raise ValueError(f'num_crops must be a positive int, got {num_crops!r}')
        self.crop_size = crop_size
        self.num_crops = num_crops

    def transform(self, results: dict) -> dict:
        """Produce the crops.

        Args:
            results (dict): Pipeline results with ``imgs``.

        Returns:
            dict: Results with ``num_crops`` times as many frames.
        """
        _init_lazy_if_proper(results, False)
        if 'gt_bboxes' in results or 'proposals' in results:
            warnings.warn('UMTMultiCrop cannot process bounding boxes', stacklevel=2)
        imgs = results['imgs']
        img_h, img_w = imgs[0].shape[:2]
        size = self.crop_size
        along_h = img_h >= img_w
        long_side = img_h if along_h else img_w
        if long_side < size:
            raise ValueError(f'long side {long_side} is shorter than crop_size {size}')
        cropped, crop_bboxes = [], []
        for start in reference_crop_starts(long_side, size, self.num_crops):
            if along_h:
                bbox = [0, start, img_w, start + size]
            else:
                bbox = [start, 0, start + size, img_h]
            x1, y1, x2, y2 = bbox
            cropped.extend(img[y1:y2, x1:x2] for img in imgs)
            crop_bboxes.extend([bbox] * len(imgs))
        results['imgs'] = cropped
        results['crop_bbox'] = np.array(crop_bboxes)
        results['img_shape'] = cropped[0].shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(crop_size={self.crop_size}, '
                f'num_crops={self.num_crops})')


__all__ = ['UMTCenterCrop', 'UMTMultiCrop', 'UMTPILResize', 'UMTRandomResizedCrop',
           'UMTShortSideResize', 'PIL_FILTERS', 'pil_resize', 'reference_crop_starts',
           'reference_resize_size', 'reference_rrc_params']
