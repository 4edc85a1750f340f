"""Clip-consistent RandAugment of the UMT / VideoMAE fine-tuning recipes.

A re-implementation (numpy + PIL only) of timm 0.4.12's ``timm/data/auto_augment.py``
RandAugment as the VideoMAE / UMT ``datasets/rand_augment.py`` applies it to videos: the
op list and every random op argument (magnitude noise, sign, interpolation) are drawn
once per clip and the same ops are applied to every frame.

The random draws use Python's :mod:`random` and numpy's global generator in the same
order as the reference (``np.random.choice`` of the ops, then per op ``random.random``
for the 0.5 probability, ``random.gauss`` for the magnitude noise and ``random.random``
for the sign), so MMEngine's seeding makes runs reproducible and a seeded run draws the
same ops as the reference.
"""
from __future__ import annotations

import random
import re
from typing import Any, Callable, NamedTuple, Sequence

import cv2
import numpy as np
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform
from PIL import Image, ImageEnhance, ImageOps

_FILL = (128, 128, 128)

# The largest magnitude; also the level denominator (timm's ``_MAX_LEVEL``).
_MAX_LEVEL = 10.0

_AFFINE = Image.Transform.AFFINE

_PIL_INTERPOLATION = {
    'nearest': Image.Resampling.NEAREST,
    'bilinear': Image.Resampling.BILINEAR,
    'bicubic': Image.Resampling.BICUBIC,
    'lanczos': Image.Resampling.LANCZOS,
    'box': Image.Resampling.BOX,
    'hamming': Image.Resampling.HAMMING,
}

# timm's ``_RANDOM_INTERPOLATION``, used for ``interpolation='random'``.
_RANDOM_INTERPOLATION = (Image.Resampling.BILINEAR, Image.Resampling.BICUBIC)

_RAND_TRANSFORMS = [
    'AutoContrast',
    'Equalize',
    'Invert',
    'Rotate',
    'Posterize',
    'Solarize',
    'SolarizeAdd',
    'Color',
    'Contrast',
    'Brightness',
    'Sharpness',
    'ShearX',
    'ShearY',
    'TranslateXRel',
    'TranslateYRel',
]

_RAND_INCREASING_TRANSFORMS = [
    'AutoContrast',
    'Equalize',
    'Invert',
    'Rotate',
    'PosterizeIncreasing',
    'SolarizeIncreasing',
    'SolarizeAdd',
    'ColorIncreasing',
    'ContrastIncreasing',
    'BrightnessIncreasing',
    'SharpnessIncreasing',
    'ShearX',
    'ShearY',
    'TranslateXRel',
    'TranslateYRel',
]

# timm's only choice-weight table (``w0``); it names the non-increasing ops only.
_RAND_CHOICE_WEIGHTS_0 = {
    'Rotate': 0.3,
    'ShearX': 0.2,
    'ShearY': 0.2,
    'TranslateXRel': 0.1,
    'TranslateYRel': 0.1,
    'Color': 0.025,
    'Sharpness': 0.025,
    'AutoContrast': 0.025,
    'Solarize': 0.005,
    'SolarizeAdd': 0.005,
    'Contrast': 0.005,
    'Brightness': 0.005,
    'Equalize': 0.005,
    'Posterize': 0,
    'Invert': 0,
}

_GEOMETRIC_OPS = frozenset(
    ['Rotate', 'ShearX', 'ShearY', 'TranslateX', 'TranslateY', 'TranslateXRel',
     'TranslateYRel'])

#: Ops whose output value depends only on the same pixel's value in the same band: Pillow
#: ``point`` tables (invert, posterize, solarize, solarize-add) and the brightness blend
#: with a constant black image. Each is exactly a 256-entry table per band, so a run of
#: them is applied to a frame as one composed table (``cv2.LUT``) instead of one Pillow
#: pass each, and a frame whose ops are all of this kind never becomes a PIL image.
_VALUE_OPS = frozenset(
    ['Invert', 'Posterize', 'PosterizeIncreasing', 'Solarize', 'SolarizeIncreasing',
     'SolarizeAdd', 'Brightness', 'BrightnessIncreasing'])

# every uint8 value in every band: 256 pixels of one row
_RAMP = np.repeat(np.arange(256, dtype=np.uint8)[None, :, None], 3, axis=2)


# --------------------------------------------------------------------------- image ops
def shear_x(img: Image.Image, factor: float, resample: int, fillcolor: tuple) -> Image.Image:
    """Shear along x: output ``(x, y)`` samples input ``(x + factor * y, y)``."""
    return img.transform(img.size, _AFFINE, (1, factor, 0, 0, 1, 0), resample=resample,
                         fillcolor=fillcolor)


def shear_y(img: Image.Image, factor: float, resample: int, fillcolor: tuple) -> Image.Image:
    """Shear along y: output ``(x, y)`` samples input ``(x, factor * x + y)``."""
    return img.transform(img.size, _AFFINE, (1, 0, 0, factor, 1, 0), resample=resample,
                         fillcolor=fillcolor)


def translate_x_rel(img: Image.Image, pct: float, resample: int,
                    fillcolor: tuple) -> Image.Image:
    """Translate by ``pct * width`` pixels (positive ``pct`` moves the content left)."""
    pixels = pct * img.size[0]
    return img.transform(img.size, _AFFINE, (1, 0, pixels, 0, 1, 0), resample=resample,
                         fillcolor=fillcolor)


def translate_y_rel(img: Image.Image, pct: float, resample: int,
                    fillcolor: tuple) -> Image.Image:
    """Translate by ``pct * height`` pixels (positive ``pct`` moves the content up)."""
    pixels = pct * img.size[1]
    return img.transform(img.size, _AFFINE, (1, 0, 0, 0, 1, pixels), resample=resample,
                         fillcolor=fillcolor)


def translate_x_abs(img: Image.Image, pixels: float, resample: int,
                    fillcolor: tuple) -> Image.Image:
    """Translate by ``pixels`` along x (positive moves the content left)."""
    return img.transform(img.size, _AFFINE, (1, 0, pixels, 0, 1, 0), resample=resample,
                         fillcolor=fillcolor)


def translate_y_abs(img: Image.Image, pixels: float, resample: int,
                    fillcolor: tuple) -> Image.Image:
    """Translate by ``pixels`` along y (positive moves the content up)."""
    return img.transform(img.size, _AFFINE, (1, 0, 0, 0, 1, pixels), resample=resample,
                         fillcolor=fillcolor)


def rotate(img: Image.Image, degrees: float, resample: int, fillcolor: tuple) -> Image.Image:
    """Rotate counter-clockwise by ``degrees`` about the centre (PIL >= 5.2 path)."""
    return img.rotate(degrees, resample=resample, fillcolor=fillcolor)


def _histograms(img: Image.Image) -> np.ndarray:
    """``(bands, 256)`` int64 histograms of an ``L`` or ``RGB`` image (Pillow's)."""
    return np.asarray(img.histogram(), dtype=np.int64).reshape(-1, 256)


def _apply_table(img: Image.Image, table: np.ndarray) -> Image.Image:
    """Apply a ``(bands, 256)`` integer table with ``Image.point``."""
    return img.point(table.reshape(-1).tolist())


def auto_contrast(img: Image.Image) -> Image.Image:
    """``ImageOps.autocontrast`` (no cutoff): each band's range stretched to 0-255.

    The table is Pillow's, built with numpy instead of a Python loop: per band, ``lo`` and
    ``hi`` the lowest and highest values present, ``int(v * scale + offset)`` clipped to
    [0, 255] with ``scale = 255.0 / (hi - lo)``, ``offset = -lo * scale`` (the same double
    operations), the identity where ``hi <= lo``.
    """
    if img.mode not in ('L', 'RGB'):
        return ImageOps.autocontrast(img)
    hist = _histograms(img)
    values = np.arange(256, dtype=np.float64)
    table = np.empty(hist.shape, dtype=np.int64)
    for band, h in enumerate(hist):
        present = np.flatnonzero(h)
        lo, hi = (int(present[0]), int(present[-1])) if present.size else (255, 0)
        if hi <= lo:
            table[band] = np.arange(256)
            continue
        scale = 255.0 / (hi - lo)
        offset = -lo * scale
        table[band] = np.clip(np.trunc(values * scale + offset), 0, 255)
    return _apply_table(img, table)


def invert(img: Image.Image) -> Image.Image:
    """``ImageOps.invert``."""
    return ImageOps.invert(img)


def equalize(img: Image.Image) -> Image.Image:
    """``ImageOps.equalize``: Pillow's table, built with numpy (integer arithmetic).

    Per band: ``step = (count - count of the highest value present) // 255``; the identity
    where at most one value is present or ``step`` is 0; otherwise ``table[i] =
    (step // 2 + number of pixels below i) // step``.
    """
    if img.mode not in ('L', 'RGB'):
        return ImageOps.equalize(img)
    hist = _histograms(img)
    table = np.empty(hist.shape, dtype=np.int64)
    for band, h in enumerate(hist):
        present = np.flatnonzero(h)
        step = (int(h.sum()) - int(h[present[-1]])) // 255 if present.size > 1 else 0
        if not step:
            table[band] = np.arange(256)
            continue
        below = np.concatenate(([0], np.cumsum(h)[:-1]))
        table[band] = (step // 2 + below) // step
    return _apply_table(img, table)


def solarize(img: Image.Image, thresh: int) -> Image.Image:
    """``ImageOps.solarize``: invert the pixels ``>= thresh``."""
    return ImageOps.solarize(img, thresh)


def solarize_add(img: Image.Image, add: int, thresh: int = 128) -> Image.Image:
    """Add ``add`` (clipped to 255) to the pixels below ``thresh``."""
    lut = [min(255, i + add) if i < thresh else i for i in range(256)]
    if img.mode not in ('L', 'RGB'):
        return img
    if img.mode == 'RGB':
        lut = lut * 3
    return img.point(lut)


def posterize(img: Image.Image, bits_to_keep: int) -> Image.Image:
    """Keep the ``bits_to_keep`` most significant bits (identity for 8 or more).

    ``bits_to_keep`` 0 (PosterizeIncreasing at magnitude 10) gives a black image, as the
    ``ImageOps.posterize`` of the reference's Pillow did; newer Pillow rejects 0 bits.
    """
    if bits_to_keep >= 8:
        return img
    if bits_to_keep >= 1:
        return ImageOps.posterize(img, bits_to_keep)
    return img.point([0] * 256 * len(img.getbands()))


def color(img: Image.Image, factor: float) -> Image.Image:
    """``ImageEnhance.Color``."""
    return ImageEnhance.Color(img).enhance(factor)


def contrast(img: Image.Image, factor: float) -> Image.Image:
    """``ImageEnhance.Contrast``."""
    return ImageEnhance.Contrast(img).enhance(factor)


def brightness(img: Image.Image, factor: float) -> Image.Image:
    """``ImageEnhance.Brightness``."""
    return ImageEnhance.Brightness(img).enhance(factor)


def sharpness(img: Image.Image, factor: float) -> Image.Image:
    """``ImageEnhance.Sharpness``."""
    return ImageEnhance.Sharpness(img).enhance(factor)


# ------------------------------------------------------------------ level -> arguments
def _randomly_negate(v: float) -> float:
    """Negate ``v`` with probability 0.5 (one ``random.random()`` draw)."""
    return -v if random.random() > 0.5 else v


def _rotate_level_to_arg(level: float, _hparams: dict) -> tuple:
    # range [-30, 30] degrees
    return (_randomly_negate((level / _MAX_LEVEL) * 30.0),)


def _enhance_level_to_arg(level: float, _hparams: dict) -> tuple:
    # range [0.1, 1.9]
    return ((level / _MAX_LEVEL) * 1.8 + 0.1,)


def _enhance_increasing_level_to_arg(level: float, _hparams: dict) -> tuple:
    # 1.0 is 'no change'; moving towards 0.1 or 1.9 increases the effect
    level = (level / _MAX_LEVEL) * 0.9
    return (1.0 + _randomly_negate(level),)


def _shear_level_to_arg(level: float, _hparams: dict) -> tuple:
    # range [-0.3, 0.3]
    return (_randomly_negate((level / _MAX_LEVEL) * 0.3),)


def _translate_abs_level_to_arg(level: float, hparams: dict) -> tuple:
    translate_const = hparams['translate_const']
    return (_randomly_negate((level / _MAX_LEVEL) * float(translate_const)),)


def _translate_rel_level_to_arg(level: float, hparams: dict) -> tuple:
    # default range [-0.45, 0.45]
    translate_pct = hparams.get('translate_pct', 0.45)
    return (_randomly_negate((level / _MAX_LEVEL) * translate_pct),)


def _posterize_level_to_arg(level: float, _hparams: dict) -> tuple:
    # keep 0 up to 4 MSB; severity decreases with level
    return (int((level / _MAX_LEVEL) * 4),)


def _posterize_increasing_level_to_arg(level: float, hparams: dict) -> tuple:
    # keep 4 down to 0 MSB; severity increases with level
    return (4 - _posterize_level_to_arg(level, hparams)[0],)


def _solarize_level_to_arg(level: float, _hparams: dict) -> tuple:
    # threshold in [0, 256]; severity decreases with level
    return (int((level / _MAX_LEVEL) * 256),)


def _solarize_increasing_level_to_arg(level: float, hparams: dict) -> tuple:
    # threshold in [256, 0]; severity increases with level
    return (256 - _solarize_level_to_arg(level, hparams)[0],)


def _solarize_add_level_to_arg(level: float, _hparams: dict) -> tuple:
    # range [0, 110]
    return (int((level / _MAX_LEVEL) * 110),)


LEVEL_TO_ARG: dict[str, Callable[[float, dict], tuple] | None] = {
    'AutoContrast': None,
    'Equalize': None,
    'Invert': None,
    'Rotate': _rotate_level_to_arg,
    'Posterize': _posterize_level_to_arg,
    'PosterizeIncreasing': _posterize_increasing_level_to_arg,
    'Solarize': _solarize_level_to_arg,
    'SolarizeIncreasing': _solarize_increasing_level_to_arg,
    'SolarizeAdd': _solarize_add_level_to_arg,
    'Color': _enhance_level_to_arg,
    'ColorIncreasing': _enhance_increasing_level_to_arg,
    'Contrast': _enhance_level_to_arg,
    'ContrastIncreasing': _enhance_increasing_level_to_arg,
    'Brightness': _enhance_level_to_arg,
    'BrightnessIncreasing': _enhance_increasing_level_to_arg,
    'Sharpness': _enhance_level_to_arg,
    'SharpnessIncreasing': _enhance_increasing_level_to_arg,
    'ShearX': _shear_level_to_arg,
    'ShearY': _shear_level_to_arg,
    'TranslateX': _translate_abs_level_to_arg,
    'TranslateY': _translate_abs_level_to_arg,
    'TranslateXRel': _translate_rel_level_to_arg,
    'TranslateYRel': _translate_rel_level_to_arg,
}

NAME_TO_OP: dict[str, Callable[..., Image.Image]] = {
    'AutoContrast': auto_contrast,
    'Equalize': equalize,
    'Invert': invert,
    'Rotate': rotate,
    'Posterize': posterize,
    'PosterizeIncreasing': posterize,
    'Solarize': solarize,
    'SolarizeIncreasing': solarize,
    'SolarizeAdd': solarize_add,
    'Color': color,
    'ColorIncreasing': color,
    'Contrast': contrast,
    'ContrastIncreasing': contrast,
    'Brightness': brightness,
    'BrightnessIncreasing': brightness,
    'Sharpness': sharpness,
    'SharpnessIncreasing': sharpness,
    'ShearX': shear_x,
    'ShearY': shear_y,
    'TranslateX': translate_x_abs,
    'TranslateY': translate_y_abs,
    'TranslateXRel': translate_x_rel,
    'TranslateYRel': translate_y_rel,
}


def level_to_arg(name: str, level: float, hparams: dict | None = None) -> tuple:
    """The op arguments of ``name`` at magnitude ``level`` (timm's ``LEVEL_TO_ARG``).

    Signed ops (rotate, shear, translate, the ``*Increasing`` enhance ops) draw their
    sign with one ``random.random()`` call.

    Args:
        name (str): Op name, e.g. ``'Rotate'`` or ``'SolarizeIncreasing'``.
        level (float): Magnitude in ``[0, 10]``.
        hparams (dict, optional): Needs ``translate_const`` for the absolute translate
            ops; ``translate_pct`` (default 0.45) is read by the relative ones.
            Defaults to None (``{'translate_const': 100}``).

    Returns:
        tuple: The positional arguments of the op; ``()`` for AutoContrast, Equalize
        and Invert.
    """
    if name not in LEVEL_TO_ARG:
        raise KeyError(f'unknown RandAugment op {name!r}')
    fn = LEVEL_TO_ARG[name]
    if fn is None:
        return ()
    return fn(level, hparams if hparams is not None else {'translate_const': 100})


def apply_op(img: Image.Image, name: str, args: Sequence[Any] = (),
             resample: int = Image.Resampling.BICUBIC,
             fill: tuple = _FILL) -> Image.Image:
    """Apply op ``name`` with its level arguments ``args`` to one PIL image.

    Args:
        img (PIL.Image.Image): The image.
        name (str): Op name (a key of ``NAME_TO_OP``).
        args (Sequence): The op's arguments, as returned by :func:`level_to_arg`.
            Defaults to ``()``.
        resample (int): PIL resampling filter of the geometric ops.
            Defaults to ``Image.Resampling.BICUBIC``.
        fill (tuple): Colour of the pixels uncovered by the geometric ops.
            Defaults to ``(128, 128, 128)``.

    Returns:
        PIL.Image.Image: The augmented image.
    """
    fn = NAME_TO_OP[name]
    if name in _GEOMETRIC_OPS:
        return fn(img, *args, resample=resample, fillcolor=fill)
    return fn(img, *args)


def parse_rand_policy(policy: str) -> dict:
    """Parse a timm RandAugment policy string such as ``'rand-m7-n4-mstd0.5-inc1'``.

    The first ``-``-separated section must be ``rand``; the others, in any order, are
    ``m<int>`` (magnitude, default 10), ``n<int>`` (ops per clip, default 2),
    ``mstd<float>`` (std of the Gaussian magnitude noise, default 0), ``inc<0|1>`` (use
    the increasing op set, default 0) and ``w<int>`` (choice-weight table; only 0
    exists, and only for the non-increasing op set). timm 0.4.12 tests ``bool('0')``,
    so its ``inc0`` still selects the increasing set; here ``inc0`` means the plain set
    (the UMT recipes use ``inc1``, where both agree).

    Args:
        policy (str): The policy string.

    Returns:
        dict: ``magnitude`` (int), ``num_layers`` (int), ``magnitude_std`` (float),
        ``increasing`` (bool) and ``weight_idx`` (int or None).

    Raises:
        ValueError: For a string not starting with ``rand`` or a bad section (named in
            the message).
    """
    if not isinstance(policy, str):
        raise ValueError(f'RandAugment policy must be a string, got {policy!r}')
    sections = policy.split('-')
    if sections[0] != 'rand':
        raise ValueError(f'RandAugment policy {policy!r} must start with section '
                         f"'rand', got {sections[0]!r}")
    out = dict(magnitude=int(_MAX_LEVEL), num_layers=2, magnitude_std=0.0,
               increasing=False, weight_idx=None)
    for section in sections[1:]:
        match = re.fullmatch(r'([a-z]+)(\d.*)', section)
        key = match.group(1) if match else None
        if key not in ('m', 'n', 'mstd', 'inc', 'w'):
            raise ValueError(f'unknown section {section!r} in RandAugment policy {policy!r} '
                             '(expected m<int>, n<int>, mstd<float>, inc<0|1> or w<int>)')
        val = match.group(2)
        try:
            if key == 'mstd':
                out['magnitude_std'] = float(val)
            elif key == 'inc':
                if val not in ('0', '1'):
                    raise ValueError(val)
                out['increasing'] = val == '1'
            elif key == 'm':
                out['magnitude'] = int(val)
            elif key == 'n':
                out['num_layers'] = int(val)
            else:
                out['weight_idx'] = int(val)
        except ValueError:
            raise ValueError(f'bad value in section {section!r} of RandAugment policy '
                             f'{policy!r}') from None
    if out['num_layers'] < 1:
        raise ValueError(f"section 'n{out['num_layers']}' of RandAugment policy {policy!r}: "
                         'at least one op per clip is needed')
    if out['weight_idx'] is not None:
        w_section = f"w{out['weight_idx']}"
        if out['weight_idx'] != 0:
            raise ValueError(f'section {w_section!r} of RandAugment policy {policy!r}: '
                             'only weight table 0 exists')
        if out['increasing']:
            raise ValueError(f'section {w_section!r} of RandAugment policy {policy!r}: the '
                             'weight table has no entries for the increasing (inc1) op set')
    return out


def _select_rand_weights(transforms: Sequence[str]) -> np.ndarray:
    probs = np.array([_RAND_CHOICE_WEIGHTS_0[k] for k in transforms], dtype=np.float64)
    return probs / probs.sum()


def value_table(name: str, args: Sequence[Any] = ()) -> np.ndarray:
    """The per-band table of a value op (a name in ``_VALUE_OPS``), computed by Pillow.

    The op is applied with :func:`apply_op` to a 1 x 256 RGB image holding every value
    in every band, so ``table[v, c]`` is exactly what the op makes of value ``v`` in
    band ``c`` of any image.

    Args:
        name (str): Op name.
        args (Sequence): The op's arguments. Defaults to ``()``.

    Returns:
        np.ndarray: ``(256, 3)`` uint8 table.
    """
    if name not in _VALUE_OPS:
        raise ValueError(f'{name!r} is not a per-value op; those are {sorted(_VALUE_OPS)}')
    return np.array(apply_op(Image.fromarray(_RAMP), name, args), dtype=np.uint8)[0]


def compile_ops(ops: Sequence[SampledOp]) -> list:
    """Group a clip's ops into the steps applied to each frame.

    Consecutive value ops (``_VALUE_OPS``) become one composed ``(1, 256, 3)`` uint8
    table (``cv2.LUT``'s per-channel layout); every other op stays a Pillow step.

    Args:
        ops (Sequence[SampledOp]): Ops from :meth:`UMTRandAugment.sample_ops`.

    Returns:
        list: ``np.ndarray`` tables and :class:`SampledOp` Pillow steps, in order.
    """
    steps: list = []
    chan = np.arange(3)
    for op in ops:
        if op.name not in _VALUE_OPS:
            steps.append(op)
            continue
        table = value_table(op.name, op.args)
        if steps and isinstance(steps[-1], np.ndarray):
            # compose: this op reads the previous table's output
            steps[-1] = np.ascontiguousarray(table[steps[-1][0], chan].reshape(1, 256, 3))
        else:
            steps.append(table.reshape(1, 256, 3))
    return steps


class SampledOp(NamedTuple):
    """One op of a clip's RandAugment draw.

    Attributes:
        name (str): Op name.
        args (tuple): The op's arguments (from the level, with their sign drawn).
        magnitude (float): The clipped magnitude the arguments were computed from.
        resample (int): PIL resampling filter (used by the geometric ops only).
    """

    name: str
    args: tuple
    magnitude: float
    resample: int


@TRANSFORMS.register_module()
class UMTRandAugment(BaseTransform):
    """timm 0.4.12 RandAugment with one op draw per clip (UMT / VideoMAE recipe).

    Per call, ``num_layers`` ops are chosen with ``np.random.choice`` (with replacement,
    or without replacement using timm's weight table for ``w0``). Each chosen op is
    applied with probability 0.5; its magnitude is ``random.gauss(m, mstd)`` (when
    ``mstd > 0``) clipped to ``[0, 10]`` and turned into op arguments by the timm level
    functions. The same ops with the same arguments are applied to every frame.
    Consecutive per-value ops (invert, posterize, solarize, solarize-add, brightness)
    are applied as one composed 256-entry table per band (:func:`compile_ops`), built
    by Pillow itself, so the pixels equal those of one Pillow call per op; the other ops
    run on PIL images (the bicubic shears, translations and rotation are about 3/4 of
    the cost: ~2.4-3 ms per 340x256 frame, see ``docs/benchmarks.md``).

    Required Keys:

    - imgs (list[np.ndarray]): ``H x W x 3`` uint8 RGB frames (a ``T x H x W x 3``
      uint8 array is accepted too).

    Modified Keys:

    - imgs (same type, shapes and dtype as given)

    Args:
        policy (str): timm RandAugment policy string (see :func:`parse_rand_policy`).
            Defaults to ``'rand-m7-n4-mstd0.5-inc1'``.
        translate_const (int): Maximum shift in pixels of the absolute translate ops
            (``TranslateX``/``TranslateY``); kept as in the reference hparams
            (``int(224 * 0.45)``) although the op sets use the relative translate ops.
            Defaults to 100.
        interpolation (str): Resampling filter of the geometric ops: ``'nearest'``,
            ``'bilinear'``, ``'bicubic'``, ``'lanczos'``, ``'box'``, ``'hamming'`` or
            ``'random'`` (bilinear or bicubic, drawn once per op and clip).
            Defaults to ``'bicubic'``.
        fill (tuple): RGB colour of the pixels uncovered by the geometric ops.
            Defaults to ``(128, 128, 128)``.

    Examples:
        >>> import numpy as np
        >>> from umt_mm.datasets.transforms.rand_augment import UMTRandAugment
        >>> aug = UMTRandAugment('rand-m7-n4-mstd0.5-inc1')
        >>> frames = [np.full((48, 64, 3), 100, np.uint8) for _ in range(4)]
        >>> out = aug(dict(imgs=frames))['imgs']
        >>> len(out), out[0].shape, out[0].dtype
        (4, (48, 64, 3), dtype('uint8'))
        >>> all((f == out[0]).all() for f in out)  # one op draw for the whole clip
        True
    """

    def __init__(self,
                 policy: str = 'rand-m7-n4-mstd0.5-inc1',
                 translate_const: int = 100,
                 interpolation: str = 'bicubic',
                 fill: tuple = _FILL) -> None:
        super().__init__()
        cfg = parse_rand_policy(policy)
        self.policy = policy
        self.magnitude = cfg['magnitude']
        self.num_layers = cfg['num_layers']
        self.magnitude_std = cfg['magnitude_std']
        self.increasing = cfg['increasing']
        self.weight_idx = cfg['weight_idx']
        self.prob = 0.5
        self.transforms = list(
            _RAND_INCREASING_TRANSFORMS if self.increasing else _RAND_TRANSFORMS)
        self.choice_weights = (
            _select_rand_weights(self.transforms) if self.weight_idx is not None else None)

        if interpolation == 'random':
            self._resample: int | tuple = _RANDOM_INTERPOLATION
        elif interpolation in _PIL_INTERPOLATION:
            self._resample = _PIL_INTERPOLATION[interpolation]
        else:
            raise ValueError(f'unknown interpolation {interpolation!r}; expected one of '
                             f"{sorted(_PIL_INTERPOLATION) + ['random']}")
        self.interpolation = interpolation
        fill = tuple(int(c) for c in fill)
        if len(fill) != 3 or not all(0 <= c <= 255 for c in fill):
            raise ValueError(f'fill must be an RGB triple in [0, 255], got {fill!r}')
        self.fill = fill
        self.translate_const = translate_const
        self.hparams = dict(translate_const=translate_const, img_mean=fill,
                            interpolation=self._resample, magnitude_std=self.magnitude_std)

    def sample_ops(self) -> list[SampledOp]:
        """Draw one clip's ops, in timm's order of random draws.

        Returns:
            list[SampledOp]: The ops that passed their 0.5 probability, in the order
            they are applied, each with its arguments; the skipped ops are left out.
        """
        # indices instead of op objects: np.random.choice draws the same either way
        picks = np.random.choice(len(self.transforms), self.num_layers,
                                 replace=self.choice_weights is None,
                                 p=self.choice_weights)
        ops = []
        for idx in picks:
            name = self.transforms[int(idx)]
            if self.prob < 1.0 and random.random() > self.prob:
                continue
            magnitude = float(self.magnitude)
            if self.magnitude_std and self.magnitude_std > 0:
                magnitude = random.gauss(magnitude, self.magnitude_std)
            magnitude = min(_MAX_LEVEL, max(0.0, magnitude))
            args = level_to_arg(name, magnitude, self.hparams)
            resample = self._resample
            if isinstance(resample, tuple):
                # the reference draws this per frame; drawn once per clip here
                resample = random.choice(resample) if name in _GEOMETRIC_OPS else resample[0]
            ops.append(SampledOp(name, args, magnitude, int(resample)))
        return ops

    def apply_ops(self, frame: np.ndarray, ops: Sequence[SampledOp]) -> np.ndarray:
        """Apply ``ops`` to one ``H x W x 3`` uint8 RGB frame.

        Args:
            frame (np.ndarray): The frame.
            ops (Sequence[SampledOp]): Ops from :meth:`sample_ops`.

        Returns:
            np.ndarray: A new uint8 frame of the same shape.
        """
        return self._apply_steps(frame, compile_ops(ops))

    def _apply_steps(self, frame: np.ndarray, steps: Sequence) -> np.ndarray:
        """Apply :func:`compile_ops` steps to one frame (a new uint8 array, same shape).

        Pillow steps run on one PIL image (converted once per run of them); table steps
        run on the array with ``cv2.LUT``. Equal to applying every op with Pillow.
        """
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[-1] != 3:
            raise ValueError('UMTRandAugment expects H x W x 3 uint8 RGB frames, got '
                             f'shape {frame.shape} dtype {frame.dtype}')
        if not steps:
            return frame.copy()
        out = self._run_steps(np.ascontiguousarray(frame), steps)
        if isinstance(out, Image.Image):
            return np.array(out, dtype=np.uint8)
        return out if out is not frame else out.copy()

    def _run_steps(self, image: np.ndarray | Image.Image,
                   steps: Sequence) -> np.ndarray | Image.Image:
        """Apply steps to a contiguous uint8 RGB array or an RGB PIL image.

        Converts only between runs of Pillow and table steps; returns the array or the
        PIL image the last step left (the input itself when ``steps`` is empty).
        """
        arr, img = (image, None) if isinstance(image, np.ndarray) else (None, image)
        for step in steps:
            if isinstance(step, np.ndarray):
                if arr is None:
                    arr = np.array(img, dtype=np.uint8)
                    img = None
                arr = cv2.LUT(arr, step)
            else:
                if img is None:
                    img = Image.fromarray(arr)
                    arr = None
                img = apply_op(img, step.name, step.args, resample=step.resample,
                               fill=self.fill)
        return img if arr is None else arr

    def transform(self, results: dict) -> dict:
        """Apply one RandAugment draw to every frame of ``results['imgs']``.

        Args:
            results (dict): Needs ``imgs``.

        Returns:
            dict: ``results`` with the augmented ``imgs`` (list stays list).
        """
        imgs = results['imgs']
        steps = compile_ops(self.sample_ops())  # the ops' tables once per clip
        out = [self._apply_steps(np.asarray(frame), steps) for frame in imgs]
        if isinstance(imgs, np.ndarray):
            results['imgs'] = np.stack(out) if out else imgs.copy()
        else:
            results['imgs'] = out
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(policy={self.policy!r}, '
                f'translate_const={self.translate_const}, '
                f'interpolation={self.interpolation!r}, fill={self.fill})')
