"""RandAugment and the random resized crop in one step, with fewer pixels computed.

The UMT / VideoMAE fine-tuning pipelines apply RandAugment to whole frames and then keep a
random crop of 8-100 % of their area (``UMTRandAugment`` then ``UMTRandomResizedCrop``).
Most of RandAugment's cost is Pillow's bicubic affine transform (rotate, shear, translate:
~2.4-3 ms per 340x256 frame), which computes every output pixel, kept or not.
:class:`UMTRandAugmentCrop` draws the same random numbers in the same order (the ops, then
the box: the box depends on the frame size only) and then computes:

* every op up to the last whole-frame one on the whole frame, as before. Whole-frame ops
  are the geometric ones (an output pixel reads input pixels anywhere) and the statistics
  ops (``AutoContrast``, ``Equalize``: histograms; ``Contrast``: the mean grey level);
* the last geometric op, when no statistics op follows it, only on the rectangle from the
  frame's origin to the crop's far corner. Pillow computes the source position of output
  pixel ``(x, y)`` as ``a (x + .5) + b (y + .5) + c`` (and likewise for y) from the pixel's
  position in the output image, so an output image of that rectangle's size gets every
  coordinate, and so every pixel, of the whole frame's output bit for bit. A rectangle
  starting elsewhere would need the map shifted, which changes the rounding of the
  coordinates (a bicubic value near an integer can then truncate the other way), except for
  a pure translation whose shifted offset ``c + x0`` is an exact double: then the one
  addition Pillow does gives the same double, and the rectangle starts at the crop;
* the ops after it (per-value tables, ``Color``, ``Sharpness``) on the crop only, widened by
  one pixel per ``Sharpness`` (a 3 x 3 filter that copies the image border) so the kept
  pixels see the same neighbours.

With the C kernel ``umt_mm._affine_bicubic`` (built by ``pip install -e .`` where a C
compiler is found; ``umt_mm/_ext/affine_bicubic.c``) the bicubic geometric ops are computed
by the same double arithmetic as Pillow's (``ImagingGenericTransform`` with
``bicubic_filter32RGB``) at absolute output positions: the last one on the crop's region
only, whatever its position, the earlier ones on the whole frame, and where one fraction is
exactly 0 (shears, translations) from the one row or column of taps Pillow's 4 x 4
evaluation reduces to. :func:`kernel_available` compares it with Pillow once per process and
it is used only when equal; otherwise everything above runs on Pillow.

``tests/datasets/test_rand_augment_crop.py`` compares the output, the crop keys and the
generators' states with the two transforms on random, smooth and real frames and for every
way a clip splits, with and without the kernel, and the kernel with Pillow on random
rectangles; ``docs/benchmarks.md`` gives the check at scale and the time saved.
"""
from __future__ import annotations

import math
import warnings
from typing import NamedTuple, Sequence

import numpy as np
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform
from PIL import Image

from .rand_augment import _GEOMETRIC_OPS, _VALUE_OPS, SampledOp, UMTRandAugment, compile_ops
from .spatial import UMTRandomResizedCrop

#: Ops whose output depends on statistics of the whole image.
STATISTICS_OPS = frozenset(['AutoContrast', 'Equalize', 'Contrast', 'ContrastIncreasing'])
#: Ops reading the 3 x 3 neighbourhood (``ImageFilter.SMOOTH``); they copy the border.
NEIGHBOURHOOD_OPS = frozenset(['Sharpness', 'SharpnessIncreasing'])
#: Ops whose output pixel depends on the same input pixel only (the per-value tables and
#: ``Color``'s blend with the pixel's own grey level).
PIXEL_OPS = _VALUE_OPS | frozenset(['Color', 'ColorIncreasing'])
try:  # Pillow's bicubic affine transform on any rectangle (setup.py builds it where it can)
    from umt_mm import _affine_bicubic
except ImportError:  # no C compiler at install time: the same pixels come from Pillow
    _affine_bicubic = None

#: Filters Pillow computes with its generic transform (coordinates in double per pixel);
#: ``NEAREST`` takes fixed-point fast paths and is left on the whole frame.
_GENERIC_FILTERS = frozenset([int(Image.Resampling.BILINEAR), int(Image.Resampling.BICUBIC)])
_BICUBIC = int(Image.Resampling.BICUBIC)


def affine_data(op: SampledOp, width: int, height: int) -> tuple | None:
    """The affine map Pillow applies for geometric op ``op`` on a ``width x height`` frame.

    Output pixel ``(x, y)`` samples input ``(a (x + .5) + b (y + .5) + c, d (x + .5) +
    e (y + .5) + f)``; ``Rotate`` builds its map as ``Image.rotate`` does (about the
    centre, coefficients rounded to 15 decimals).

    Args:
        op (SampledOp): A geometric op.
        width (int): Frame width.
        height (int): Frame height.

    Returns:
        tuple | None: ``(a, b, c, d, e, f)``, or None where Pillow does not transform
        (rotation by a multiple of 180 degrees, or of 90 on a square frame: a copy or a
        transpose).
    """
    name, args = op.name, op.args
    if name == 'ShearX':
        return (1, args[0], 0, 0, 1, 0)
    if name == 'ShearY':
        return (1, 0, 0, args[0], 1, 0)
    if name == 'TranslateXRel':
        return (1, 0, args[0] * width, 0, 1, 0)
    if name == 'TranslateYRel':
        return (1, 0, 0, 0, 1, args[0] * height)
    if name == 'TranslateX':
        return (1, 0, args[0], 0, 1, 0)
    if name == 'TranslateY':
        return (1, 0, 0, 0, 1, args[0])
    if name != 'Rotate':
        raise ValueError(f'{name!r} is not a geometric op; those are {sorted(_GEOMETRIC_OPS)}')
    angle = args[0] % 360.0
    if angle in (0, 180) or (angle in (90, 270) and width == height):
        return None
    centre_x, centre_y = width / 2, height / 2
    radians = -math.radians(angle)
    m = [round(math.cos(radians), 15), round(math.sin(radians), 15), 0.0,
         round(-math.sin(radians), 15), round(math.cos(radians), 15), 0.0]
    x, y = -centre_x - 0, -centre_y - 0  # Image.rotate's post-translation is (0, 0)
    m[2], m[5] = m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]
    m[2] += centre_x
    m[5] += centre_y
    return tuple(m)


#: The Pillow release whose bicubic affine transform ``umt_mm/_ext/affine_bicubic.c`` copies
#: (``ImagingGenericTransform`` and ``bicubic_filter32RGB`` of ``libImaging/Geometry.c``).
#: Another release is used as well when the run-time check passes; when it fails, the
#: warning names both releases.
KERNEL_PILLOW_VERSION = '13.0.0'

#: The ops :func:`kernel_available` checks against Pillow: every geometric op the kernel
#: takes over (both shears, both translations, relative and absolute, rotation), with
#: arguments that reach each of the kernel's paths: one row of taps (a y fraction of 0:
#: ``ShearX``, ``TranslateX``, an integer ``TranslateY``), one column (an x fraction of 0:
#: ``ShearY``, a fractional ``TranslateY``), the full 4 x 4 (rotations), and the fill colour
#: (translations and rotations uncover pixels).
KERNEL_CHECK_OPS: tuple[tuple[str, float], ...] = (
    ('ShearX', 0.3), ('ShearX', -0.1234567), ('ShearY', 0.2876543), ('ShearY', -0.3),
    ('TranslateX', 3.0), ('TranslateX', -2.75), ('TranslateY', 2.0), ('TranslateY', -1.618034),
    ('TranslateXRel', 0.4321), ('TranslateYRel', -0.45), ('Rotate', 17.3), ('Rotate', -29.9),
    ('Rotate', 90.0))

_KERNEL_OK: bool | None = None


def _check_frames() -> dict[str, np.ndarray]:
    """Small non-square frames: noise (every tap differs) and a ramp (values near integers)."""
    rng = np.random.RandomState(0)
    height, width = 23, 37
    noise = rng.randint(0, 256, (height, width, 3)).astype(np.uint8)
    ramp = (np.add.outer(np.arange(height) * 7, np.arange(width) * 3) % 256).astype(np.uint8)
    return dict(noise=noise, ramp=np.repeat(ramp[..., None], 3, axis=2))


def kernel_mismatch() -> str | None:
    """The first difference between the C kernel and Pillow, or None when there is none.

    Each op of :data:`KERNEL_CHECK_OPS` is computed by RandAugment's own Pillow call
    (:func:`~umt_mm.datasets.transforms.rand_augment.apply_op`, so :func:`affine_data` is
    checked too) and by the kernel on the whole frame, an inner rectangle, one row, one
    column and the last pixel, with a fill colour whose channels differ. A kernel that
    raises counts as a difference.

    Returns:
        str | None: What differs (op, argument, frame, rectangle), or None.
    """
    from .rand_augment import apply_op
    fill = (17, 128, 231)
    for frame_name, frame in _check_frames().items():
        height, width = frame.shape[:2]
        rects = ((0, 0, width, height), (5, 3, 30, 21), (0, 11, width, 12), (17, 0, 18, height),
                 (width - 1, height - 1, width, height))
        for name, arg in KERNEL_CHECK_OPS:
            op = SampledOp(name, (arg, ), 7.0, _BICUBIC)
            data = affine_data(op, width, height)
            if data is None:
                continue  # Pillow copies or transposes; the kernel is not used
            whole = np.asarray(apply_op(Image.fromarray(frame), name, (arg, ), resample=_BICUBIC,
                                        fill=fill))
            for x0, y0, x1, y1 in rects:
                out = np.empty((y1 - y0, x1 - x0, 3), np.uint8)
                where = f'{name}({arg}) on the {frame_name} frame, rectangle {(x0, y0, x1, y1)}'
                try:
                    _affine_bicubic.transform(frame, out, tuple(float(v) for v in data), x0, y0,
                                              fill)
                except Exception as err:  # noqa: BLE001 (any failure means: use Pillow)
                    return f'{where}: {type(err).__name__}: {err}'
                if not np.array_equal(out, whole[y0:y1, x0:x1]):
                    return f'{where}: pixels differ'
    return None


def kernel_available() -> bool:
    """Whether the C kernel (``umt_mm._affine_bicubic``) is built and gives Pillow's pixels.

    Checked once per process against Pillow itself (:func:`kernel_mismatch`, a few
    milliseconds); a kernel that differs on any op it takes over (a Pillow release that
    computes otherwise, a compiler that fuses multiply-adds) is not used, with one warning
    that names the difference and, where they differ, the installed Pillow and
    :data:`KERNEL_PILLOW_VERSION`.

    Returns:
        bool: True when :func:`apply_crop_plan` computes the rectangle with the kernel.
    """
    global _KERNEL_OK
    if _KERNEL_OK is None:
        mismatch = None if _affine_bicubic is None else kernel_mismatch()
        _KERNEL_OK = _affine_bicubic is not None and mismatch is None
        if mismatch is not None:
            installed = Image.__version__
            release = '' if installed == KERNEL_PILLOW_VERSION else (
                f' (the kernel copies Pillow {KERNEL_PILLOW_VERSION}; Pillow {installed} is '
                'installed)')
            warnings.warn(f'umt_mm._affine_bicubic does not reproduce Pillow {installed} on '
                          f'this machine{release}: {mismatch}; UMTRandAugmentCrop uses Pillow '
                          '(the same pixels, slower)', stacklevel=2)
    return _KERNEL_OK


def _is_op(step, names: frozenset) -> bool:
    return isinstance(step, SampledOp) and step.name in names


def _exact_origin(offset: float, start: int) -> int:
    """The largest ``o`` in ``[0, start]`` for which ``offset + o`` is exact in double.

    With ``offset = n / 2**k`` in lowest terms (``n`` odd when ``k > 0``), ``offset + o =
    (n + o 2**k) / 2**k`` has the same denominator, so it is a double exactly when
    ``|n + o 2**k| < 2**53``.
    """
    num, den = float(offset).as_integer_ratio()
    return max(0, min(int(start), (2 ** 53 - 1 - num) // den))


class CropPlan(NamedTuple):
    """How one clip's ops are computed for one crop box (:func:`plan_augment_crop`).

    Attributes:
        prefix (list): Steps run on the whole frame.
        region_op (SampledOp | None): The geometric op computed on a rectangle only.
        data (tuple | None): ``region_op``'s affine map, shifted to ``origin``.
        origin (tuple[int, int]): Frame position of the rectangle's first pixel.
        size (tuple[int, int]): ``(width, height)`` of the rectangle ``region_op`` computes.
        suffix (list): Steps run on the region only.
        region (tuple[int, int, int, int]): ``(x0, y0, x1, y1)``, the crop box with one
            pixel more on each side per ``Sharpness`` in ``suffix`` (within the frame).
        box (tuple[int, int, int, int]): The crop ``(left, top, right, bottom)``.
        kernel (bool): Bicubic geometric ops are computed by the C kernel: those of
            ``prefix`` on the whole frame, a bicubic ``region_op`` on the region only (at
            its absolute positions, the unshifted map); otherwise by Pillow.
    """

    prefix: list
    region_op: SampledOp | None
    data: tuple | None
    origin: tuple
    size: tuple
    suffix: list
    region: tuple
    box: tuple
    kernel: bool = False

    @property
    def region_by_kernel(self) -> bool:
        """bool: ``region_op`` is computed by the kernel (at ``origin``, unshifted map)."""
        return _by_kernel(self.kernel, self.region_op)


def _by_kernel(kernel: bool, op: SampledOp | None) -> bool:
    """Whether ``op`` (a geometric op, or None) is computed by the C kernel."""
    return kernel and op is not None and op.resample == _BICUBIC


def plan_augment_crop(steps: Sequence, width: int, height: int,
                      box: tuple[int, int, int, int],
                      use_kernel: bool | None = None) -> CropPlan:
    """Split a clip's compiled ``steps`` into whole-frame and region work for ``box``.

    Args:
        steps (Sequence): The clip's :func:`compile_ops` steps.
        width (int): Frame width.
        height (int): Frame height.
        box (tuple[int, int, int, int]): ``(left, top, right, bottom)`` inside the frame.
        use_kernel (bool, optional): Compute a bicubic ``region_op`` with the C kernel.
            Defaults to None (:func:`kernel_available`).

    Returns:
        CropPlan: The plan (see the module docstring).
    """
    left, top, right, bottom = (int(v) for v in box)
    if not (0 <= left < right <= width and 0 <= top < bottom <= height):
        raise ValueError(f'crop box {tuple(box)} is not inside the {width}x{height} frame')
    steps = list(steps)
    last_geometric = max((i for i, s in enumerate(steps) if _is_op(s, _GEOMETRIC_OPS)),
                         default=-1)
    # statistics ops, and any op not known to be local, need their whole input
    local = _GEOMETRIC_OPS | NEIGHBOURHOOD_OPS | PIXEL_OPS
    last_statistics = max((i for i, s in enumerate(steps)
                           if isinstance(s, SampledOp) and s.name not in local), default=-1)
    region_op, data = None, None
    if last_statistics > last_geometric:
        split = last_statistics + 1  # its statistics need every pixel of its input
    elif last_geometric >= 0:
        split = last_geometric + 1
        op = steps[last_geometric]
        if op.resample in _GENERIC_FILTERS:
            data = affine_data(op, width, height)
            region_op = op if data is not None else None
    else:
        split = 0
    suffix = steps[split:]
    margin = sum(1 for s in suffix if _is_op(s, NEIGHBOURHOOD_OPS))
    x0, y0 = max(0, left - margin), max(0, top - margin)
    x1, y1 = min(width, right + margin), min(height, bottom + margin)
    origin, size = (0, 0), (width, height)
    kernel = kernel_available() if use_kernel is None else bool(use_kernel)
    if region_op is None:
        prefix = steps[:split]
    elif _by_kernel(kernel, region_op):
        # the kernel computes any rectangle at its absolute positions: just the region
        prefix = steps[:last_geometric]
        origin, size = (x0, y0), (x1 - x0, y1 - y0)
        data = tuple(float(v) for v in data)
    else:
        prefix = steps[:last_geometric]
        # Pillow computes the source of output pixel (x, y) of a w x h image from
        # (x + .5, y + .5), so a rectangle from (0, 0) to (x1, y1) has every coordinate,
        # and so every pixel, of the whole frame's transform. A rectangle from (ox, oy)
        # with the map shifted by (ox, oy) has them too only where no rounding changes:
        # for a pure translation (a, b, d, e = 1, 0, 0, 1) when c + ox and f + oy are
        # exact doubles. Rotations and shears keep the origin (0, 0).
        a, b, c, d, e, f = data
        if (a, b, d, e) == (1, 0, 0, 1):
            origin = (_exact_origin(c, x0), _exact_origin(f, y0))
            data = (a, b, c + origin[0], d, e, f + origin[1])
        size = (x1 - origin[0], y1 - origin[1])
    return CropPlan(prefix, region_op, data, origin, size, suffix, (x0, y0, x1, y1),
                    (left, top, right, bottom), kernel)


def _run_whole(aug: UMTRandAugment, image, steps: Sequence, kernel: bool):
    """``aug._run_steps`` on the whole frame, bicubic geometric ops by the kernel if asked."""
    if not kernel:
        return aug._run_steps(image, steps)
    frame_height, frame_width = image.shape[:2]  # every op keeps the frame size
    pending: list = []
    for step in steps:
        if _is_op(step, _GEOMETRIC_OPS) and _by_kernel(True, step):
            data = affine_data(step, frame_width, frame_height)
            if data is not None:  # else Pillow copies or transposes
                image = aug._run_steps(image, pending)
                pending = []
                source = np.ascontiguousarray(np.asarray(image, dtype=np.uint8))
                image = np.empty_like(source)
                _affine_bicubic.transform(source, image, tuple(float(v) for v in data), 0, 0,
                                          aug.fill)
                continue
        pending.append(step)
    return aug._run_steps(image, pending)


def apply_crop_plan(aug: UMTRandAugment, frame: np.ndarray, plan: CropPlan,
                    dtype: type = np.uint8) -> np.ndarray:
    """Compute ``plan`` on one ``H x W x 3`` uint8 frame: the augmented crop.

    Args:
        aug (UMTRandAugment): The RandAugment (its fill colour is used).
        frame (np.ndarray): The frame.
        plan (CropPlan): From :func:`plan_augment_crop` for this frame's size.
        dtype (type): dtype of the returned crop (the uint8 values converted).
            Defaults to ``np.uint8``.

    Returns:
        np.ndarray: The crop, writable; it never shares memory with ``frame``.
    """
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[-1] != 3:
        raise ValueError('UMTRandAugmentCrop expects H x W x 3 uint8 RGB frames, got '
                         f'shape {frame.shape} dtype {frame.dtype}')
    x0, y0, x1, y1 = plan.region
    left, top, right, bottom = plan.box
    frame = np.ascontiguousarray(frame)
    whole = _run_whole(aug, frame, plan.prefix, plan.kernel)  # an array or a PIL image
    if plan.region_by_kernel:
        source = np.ascontiguousarray(np.asarray(whole, dtype=np.uint8))
        region = np.empty((y1 - y0, x1 - x0, 3), np.uint8)
        _affine_bicubic.transform(source, region, plan.data, x0, y0, aug.fill)
    elif plan.region_op is not None:
        if isinstance(whole, np.ndarray):
            whole = Image.fromarray(whole)
        ox, oy = plan.origin
        region = whole.transform(plan.size, Image.Transform.AFFINE, plan.data,
                                 resample=plan.region_op.resample, fillcolor=aug.fill)
        if (ox, oy) != (x0, y0):
            region = region.crop((x0 - ox, y0 - oy, x1 - ox, y1 - oy))
    elif isinstance(whole, Image.Image):
        region = whole.crop((x0, y0, x1, y1))
    else:
        region = whole[y0:y1, x0:x1]
        # never a view of the frame given: the caller's frames stay as they are
        region = region.copy() if whole is frame else np.ascontiguousarray(region)
    out = aug._run_steps(region, plan.suffix)
    out = np.asarray(out) if isinstance(out, Image.Image) else out  # read-only from PIL
    crop = out[top - y0:bottom - y0, left - x0:right - x0]
    if dtype is not np.uint8 or not crop.flags.writeable:
        crop = np.array(crop, dtype=dtype)
    return crop


def augment_crop(aug: UMTRandAugment, frame: np.ndarray, steps: Sequence,
                 box: tuple[int, int, int, int]) -> np.ndarray:
    """``aug``'s compiled ``steps`` applied to ``frame``, then cropped to ``box``.

    Equal to ``aug._apply_steps(frame, steps)[top:bottom, left:right]`` (see the module
    docstring), computing the pixels outside the box only where an op needs them.

    Args:
        aug (UMTRandAugment): The RandAugment (its fill colour is used).
        frame (np.ndarray): ``H x W x 3`` uint8 RGB frame.
        steps (Sequence): The clip's :func:`compile_ops` steps.
        box (tuple[int, int, int, int]): ``(left, top, right, bottom)`` inside the frame.

    Returns:
        np.ndarray: The ``(bottom - top) x (right - left) x 3`` uint8 crop; it never
        shares memory with ``frame``.
    """
    height, width = frame.shape[:2]
    return apply_crop_plan(aug, frame, plan_augment_crop(steps, width, height, box))


@TRANSFORMS.register_module()
class UMTRandAugmentCrop(BaseTransform):
    """``UMTRandAugment`` then ``UMTRandomResizedCrop``, with fewer pixels computed.

    The same random draws in the same order as the two transforms (the clip's ops, then
    the crop box) and the same pixels (see :mod:`.rand_augment_crop` for how, and the
    tests); the bicubic transform of the last geometric op runs on the crop's region only
    (the C kernel) or on the rectangle from the origin to the crop's far corner (Pillow),
    and the ops after it on the crop only. On the K400 train pipeline of 340x256 videos
    this halves the augmentation stage with the kernel, and takes about a fifth off it
    without (``docs/benchmarks.md``).

    Result keys are those of ``UMTRandomResizedCrop`` (``crop_bbox``, ``img_shape``,
    ``crop_quadruple``, boxes); ``imgs`` becomes a list of the augmented crops (float32
    with ``to_float32=True`` in ``crop``).

    Args:
        rand_augment (dict): Arguments of :class:`UMTRandAugment`. Defaults to None
            (its defaults: ``'rand-m7-n4-mstd0.5-inc1'``, bicubic).
        crop (dict): Arguments of :class:`UMTRandomResizedCrop` (``lazy`` is not
            supported). Defaults to None (its defaults).

    Examples:
        >>> import numpy as np
        >>> from umt_mm.datasets.transforms.rand_augment_crop import UMTRandAugmentCrop
        >>> t = UMTRandAugmentCrop(crop=dict(to_float32=True))
        >>> frames = [np.full((48, 64, 3), 100, np.uint8) for _ in range(4)]
        >>> out = t(dict(imgs=frames, img_shape=(48, 64)))
        >>> len(out['imgs']), out['imgs'][0].dtype, out['img_shape'] == out['imgs'][0].shape[:2]
        (4, dtype('float32'), True)
    """

    def __init__(self, rand_augment: dict | None = None, crop: dict | None = None) -> None:
        super().__init__()
        self.rand_augment_cfg = dict(rand_augment or {})
        self.crop_cfg = dict(crop or {})
        if self.crop_cfg.get('lazy', False):
            raise ValueError('UMTRandAugmentCrop does not support a lazy crop; use '
                             'UMTRandAugment then UMTRandomResizedCrop(lazy=True)')
        self.rand_augment = UMTRandAugment(**self.rand_augment_cfg)
        self.to_float32 = bool(self.crop_cfg.get('to_float32', False))
        # the crop's bookkeeping runs on the original frames; the pixels are computed here
        self.crop = UMTRandomResizedCrop(**dict(self.crop_cfg, to_float32=False))

    def unfused(self) -> list[dict]:
        """The two transforms this one stands for, as pipeline dicts.

        Returns:
            list[dict]: ``UMTRandAugment`` and ``UMTRandomResizedCrop`` configs.
        """
        return [dict(type='UMTRandAugment', **self.rand_augment_cfg),
                dict(type='UMTRandomResizedCrop', **self.crop_cfg)]

    def transform(self, results: dict) -> dict:
        """Augment and crop ``results['imgs']``.

        Args:
            results (dict): Needs ``imgs`` (``H x W x 3`` uint8 RGB frames) and
                ``img_shape`` (``(H, W)``).

        Returns:
            dict: ``results`` with the augmented crops and the crop's keys.
        """
        imgs = results['imgs']
        shape = tuple(results['img_shape'])
        for frame in imgs:
            if tuple(frame.shape[:2]) != shape:
                raise ValueError(f'UMTRandAugmentCrop: a frame of shape {frame.shape} does '
                                 f'not match img_shape {shape}')
        steps = compile_ops(self.rand_augment.sample_ops())  # RandAugment's draws first
        results = self.crop.transform(results)  # then the box, and the crop's keys
        plan = plan_augment_crop(steps, shape[1], shape[0], results['crop_bbox'])
        dtype = np.float32 if self.to_float32 else np.uint8
        results['imgs'] = [apply_crop_plan(self.rand_augment, np.asarray(frame), plan, dtype)
                           for frame in imgs]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(rand_augment={self.rand_augment!r}, '
                f'crop={self.crop_cfg!r})')


__all__ = ['UMTRandAugmentCrop', 'CropPlan', 'affine_data', 'apply_crop_plan', 'augment_crop',
           'kernel_available', 'kernel_mismatch', 'plan_augment_crop']
