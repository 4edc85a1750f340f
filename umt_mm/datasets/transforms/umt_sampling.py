"""Frame sampling of the reference UMT data loaders (``kinetics_sparse.py``, ``ssv2.py``)."""
from __future__ import annotations

import numpy as np
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform


def kinetics_sparse_indices(num_frames: int, clip_len: int, mode: str,
                            clip_index: int = 0, num_clips: int = 1,
                            rng: np.random.Generator | None = None) -> np.ndarray:
    """Indices of the reference ``Kinetics_sparse`` / ``mitv1_sparse`` loaders.

    ``seg = (len - 1) / T``. Train: ``min(randint(round(seg*i), round(seg*(i+1))), len-1)``
    (both ends inclusive). Val: ``round(seg*i) + int(seg/2)``. Test clip ``c`` of ``n``:
    ``round(seg*i) + int(seg/(n+1)*(c+1))``. ``round`` is numpy's (half to even), as in
    the reference.

    Args:
        num_frames (int): Frames in the video.
        clip_len (int): Frames to sample (``T``).
        mode (str): ``'train'``, ``'val'`` or ``'test'``.
        clip_index (int): Test clip ``c``. Defaults to 0.
        num_clips (int): Test clips ``n``. Defaults to 1.
        rng (np.random.Generator, optional): Random source for train mode.
            Defaults to None (numpy's global generator state).

    Returns:
        np.ndarray: ``clip_len`` int64 indices.
    """
    if num_frames < 1:
        raise ValueError(f'cannot sample from a video with {num_frames} frames')
    seg = float(num_frames - 1) / clip_len
    out = np.empty(clip_len, dtype=np.int64)
    for i in range(clip_len):
        start = int(np.round(seg * i))
        end = int(np.round(seg * (i + 1)))
        if mode == 'train':
            pick = int(rng.integers(start, end + 1)) if rng is not None else \
                int(np.random.randint(start, end + 1))
            out[i] = min(pick, num_frames - 1)
        elif mode == 'val':
            out[i] = start + int(seg / 2)
        elif mode == 'test':
            out[i] = start + int(seg / (num_clips + 1) * (clip_index + 1))
        else:
            raise ValueError(f"mode must be 'train', 'val' or 'test', got {mode!r}")
    return out


def ssv2_indices(num_frames: int, clip_len: int, mode: str, clip_index: int = 0,
                 num_clips: int = 1, rng: np.random.Generator | None = None) -> np.ndarray:
    """Indices of the reference Something-Something v2 loader (TSN-style).

    Train: ``avg = len // T``; ``i*avg + randint(avg)``. Val: ``int(tick/2 + tick*i)``
    with ``tick = len / T``. Test: the sorted union of ``{int(tick/2 + tick*i)}`` and
    ``{int(tick*i)}``; clip ``c`` takes every ``n``-th index starting at ``c``.
    For videos shorter than the clip (``avg == 0``) train mode samples sorted random
    frames and test clips are padded with their last index so every clip has ``T``
    frames (the reference would return a shorter clip there).

    Args:
        num_frames (int): Frames in the video.
        clip_len (int): Frames to sample (``T``).
        mode (str): ``'train'``, ``'val'`` or ``'test'``.
        clip_index (int): Test clip ``c``. Defaults to 0.
        num_clips (int): Test clips ``n`` (the reference uses 2). Defaults to 1.
        rng (np.random.Generator, optional): Random source for train mode.
            Defaults to None.

    Returns:
        np.ndarray: ``clip_len`` int64 indices.
    """
    if num_frames < 1:
        raise ValueError(f'cannot sample from a video with {num_frames} frames')
    randint = rng.integers if rng is not None else np.random.randint
    if mode == 'train':
        avg = num_frames // clip_len
        if avg > 0:
            return (np.arange(clip_len) * avg + randint(0, avg, size=clip_len)).astype(np.int64)
        return np.sort(randint(0, num_frames, size=clip_len)).astype(np.int64)
    tick = num_frames / float(clip_len)
    centres = [int(tick / 2.0 + tick * i) for i in range(clip_len)]
    if mode == 'val':
        return np.asarray(centres, dtype=np.int64)
    if mode != 'test':
        raise ValueError(f"mode must be 'train', 'val' or 'test', got {mode!r}")
    union = sorted(set(centres + [int(tick * i) for i in range(clip_len)]))
    picked = union[clip_index::num_clips][:clip_len]
    picked += [picked[-1]] * (clip_len - len(picked))
    return np.asarray(picked, dtype=np.int64)


def tsn_indices(num_frames: int, clip_len: int, mode: str,
                rng: np.random.Generator | None = None) -> np.ndarray:
    """Indices of the reference pretraining loader (``datasets/mae.py``, TSN sparse).

    Train: ``avg = len // T``; ``i*avg + randint(avg)`` (the SSv2 train formula); a video
    shorter than ``T`` frames gives all zeros (with one frame per segment the reference's
    sorted-random branch, for ``avg == 0`` and more frames than segments, never runs).
    Val/test: the segment centres ``int(tick/2 + tick*i)`` with ``tick = len / T``.

    Args:
        num_frames (int): Frames in the video.
        clip_len (int): Frames to sample (``T``, one per segment).
        mode (str): ``'train'``, ``'val'`` or ``'test'``.
        rng (np.random.Generator, optional): Random source for train mode.
            Defaults to None.

    Returns:
        np.ndarray: ``clip_len`` int64 indices.
    """
    if num_frames < 1:
        raise ValueError(f'cannot sample from a video with {num_frames} frames')
    if mode in ('val', 'test'):
        return ssv2_indices(num_frames, clip_len, 'val')
    if mode != 'train':
        raise ValueError(f"mode must be 'train', 'val' or 'test', got {mode!r}")
    if num_frames < clip_len:  # avg == 0; the reference's sorted-random branch needs more
        return np.zeros(clip_len, dtype=np.int64)  # frames than segments, so zeros remain
    return ssv2_indices(num_frames, clip_len, 'train', rng=rng)  # i*avg + randint(avg)


SAMPLERS = {'kinetics': kinetics_sparse_indices, 'ssv2': ssv2_indices, 'tsn': tsn_indices}


@TRANSFORMS.register_module()
class UMTSampleFrames(BaseTransform):
    """Sample frames exactly as the reference UMT loaders do.

    Required keys: ``total_frames``, optional ``start_index``. Added keys:
    ``frame_inds``, ``clip_len``, ``frame_interval`` (None), ``num_clips``.

    Args:
        clip_len (int): Frames per clip. Defaults to 8.
        num_clips (int): Clips (test views along time); in test mode the clips
            ``0..num_clips-1`` are concatenated. Defaults to 1.
        style (str): ``'kinetics'`` (Kinetics / MiT ``*_sparse`` loaders), ``'ssv2'``
            or ``'tsn'`` (the pretraining loader, one random frame per segment; its test
            mode takes the segment centres and has one clip). Defaults to 'kinetics'.
        test_mode (bool): Deterministic sampling. With ``num_clips == 1`` it is the
            validation formula, otherwise the multi-clip test formula. Defaults to False.
        seed (int, optional): Seed for a private random generator in train mode
            (None: numpy's global state, which MMEngine seeds per worker).
            Defaults to None.

    Examples:
        >>> from umt_mm.datasets.transforms import UMTSampleFrames
        >>> UMTSampleFrames(clip_len=4, test_mode=True)(dict(total_frames=9))['frame_inds']
        array([1, 3, 5, 7])
    """

    def __init__(self, clip_len: int = 8, num_clips: int = 1, style: str = 'kinetics',
                 test_mode: bool = False, seed: int | None = None) -> None:
        if style not in SAMPLERS:
            raise ValueError(f'style must be one of {sorted(SAMPLERS)}, got {style!r}')
        if style == 'tsn' and num_clips > 1:
            raise ValueError("style='tsn' (pretraining) samples one clip")
        if clip_len < 1 or num_clips < 1:
            raise ValueError('clip_len and num_clips must be positive')
        if num_clips > 1 and not test_mode:
            raise ValueError('num_clips > 1 is a test-time setting; set test_mode=True')
        self.clip_len = clip_len
        self.num_clips = num_clips
        self.style = style
        self.test_mode = test_mode
        self.rng = np.random.default_rng(seed) if seed is not None else None

    def transform(self, results: dict) -> dict:
        """Add the frame indices.

        Args:
            results (dict): Needs ``total_frames``.

        Returns:
            dict: ``results`` with ``frame_inds`` and clip information.
        """
        total = results['total_frames']
        if total < 1:
            raise ValueError(f"{results.get('filename', '<unknown file>')}: the video has "
                             f'{total} frames; nothing to sample (empty or unreadable video)')
        sampler = SAMPLERS[self.style]
        if not self.test_mode:
            inds = sampler(total, self.clip_len, 'train', rng=self.rng)
        elif self.num_clips == 1:
            inds = sampler(total, self.clip_len, 'val')
        else:
            inds = np.concatenate([
                sampler(total, self.clip_len, 'test', clip_index=c, num_clips=self.num_clips)
                for c in range(self.num_clips)])
        results['frame_inds'] = inds + results.get('start_index', 0)
        results['clip_len'] = self.clip_len
        results['frame_interval'] = None
        results['num_clips'] = self.num_clips
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(clip_len={self.clip_len}, '
                f'num_clips={self.num_clips}, style={self.style!r}, '
                f'test_mode={self.test_mode})')
