"""Repeated augmentation (decode once, augment ``num_repeats`` times) for every decoder.

MMAction2's ``RepeatAugDataset`` asserts ``DecordInit`` / ``DecordDecode`` at pipeline
positions 0 and 2. These datasets do the same work with any of the decoders umt_mm and
MMAction2 provide: :class:`SparseRepeatAugDataset` for videos (``DecordInit`` or
``PyAVSparseInit``, a frame sampler, ``DecordDecode`` / ``DecordSparseDecode`` /
``PyAVSparseDecode``) and :class:`RawframeRepeatAugDataset` for frame folders (a frame
sampler, then ``RawFrameDecode``; MMAction2's ``RawframeDataset`` lists).
"""
from __future__ import annotations

from copy import deepcopy

import numpy as np
from mmaction.datasets import RawframeDataset, RepeatAugDataset, VideoDataset
from mmaction.registry import DATASETS

VIDEO_INITS = ('DecordInit', 'PyAVSparseInit')
VIDEO_DECODES = ('DecordDecode', 'DecordSparseDecode', 'PyAVSparseDecode')


def _type_name(transform) -> str:
    return transform['type'] if isinstance(transform, dict) else type(transform).__name__


def repeat_augment(transforms: list, data_info: dict, num_repeats: int, sample_once: bool,
                   has_init: bool) -> list:
    """Run ``[init], sample, decode`` once and the remaining transforms ``num_repeats`` times.

    Args:
        transforms (list): The built pipeline transforms.
        data_info (dict): The sample's data info.
        num_repeats (int): Augmented copies.
        sample_once (bool): One set of frame indices for every copy (the UMT recipes).
        has_init (bool): ``transforms[0]`` opens the video.

    Returns:
        list[dict]: ``num_repeats`` processed samples.
    """
    offset = 1 if has_init else 0
    if has_init:
        data_info = transforms[0](data_info)
    sampler, decoder = transforms[offset], transforms[offset + 1]
    probe = dict(total_frames=data_info['total_frames'],
                 start_index=data_info.get('start_index', 0))
    draws = 1 if sample_once else num_repeats
    sampled = [sampler(dict(probe)) for _ in range(draws)]
    inds = [s['frame_inds'].reshape(-1) for s in sampled] * (num_repeats if sample_once else 1)
    bounds = np.cumsum([0] + [len(i) for i in inds])
    data_info.update(sampled[-1])
    data_info['frame_inds'] = np.concatenate(inds)
    data_info = decoder(data_info)
    imgs = data_info.pop('imgs')
    out = []
    for repeat in range(num_repeats):
        copy = deepcopy(data_info)
        copy['imgs'] = imgs[bounds[repeat]:bounds[repeat + 1]]
        for transform in transforms[offset + 2:]:
            copy = transform(copy)
        out.append(copy)
    return out


@DATASETS.register_module()
class SparseRepeatAugDataset(RepeatAugDataset):
    """``RepeatAugDataset`` accepting umt_mm's decoders (``PyAVSparseInit`` /
    ``PyAVSparseDecode``, ``DecordSparseDecode``) as well as decord's.

    Args:
        ann_file (str): ``path label`` list.
        pipeline (list): ``[init, sampler, decode, ...]``.
        num_repeats (int): Augmented copies per video. Defaults to 4.
        sample_once (bool): Same frame indices for every copy. Defaults to False.
        **kwargs: Other ``VideoDataset`` arguments.
    """

    def __init__(self, ann_file: str, pipeline: list, num_repeats: int = 4,
                 sample_once: bool = False, **kwargs) -> None:
        names = [_type_name(t) for t in pipeline[:3]]
        if len(names) < 3 or names[0] not in VIDEO_INITS or names[2] not in VIDEO_DECODES:
            raise ValueError(f'SparseRepeatAugDataset needs [one of {VIDEO_INITS}, a frame '
                             f'sampler, one of {VIDEO_DECODES}, ...] as its pipeline, got '
                             f'{names}')
        kwargs.pop('test_mode', None)
        VideoDataset.__init__(self, ann_file, pipeline=pipeline, test_mode=False, **kwargs)
        self.num_repeats = num_repeats
        self.sample_once = sample_once

    def prepare_data(self, idx: int) -> list:
        """``num_repeats`` samples of video ``idx`` from one decode."""
        return repeat_augment(self.pipeline.transforms, self.get_data_info(idx),
                              self.num_repeats, self.sample_once, has_init=True)


@DATASETS.register_module()
class RawframeRepeatAugDataset(RawframeDataset):
    """Repeated augmentation over frame folders (``frame_dir total_frames label`` lists).

    Args:
        ann_file (str): MMAction2's rawframe list.
        pipeline (list): ``[sampler, RawFrameDecode, ...]``.
        num_repeats (int): Augmented copies per video. Defaults to 4.
        sample_once (bool): Same frame indices for every copy. Defaults to False.
        **kwargs: Other ``RawframeDataset`` arguments (``filename_tmpl``, ``start_index``).
    """

    def __init__(self, ann_file: str, pipeline: list, num_repeats: int = 4,
                 sample_once: bool = False, **kwargs) -> None:
        names = [_type_name(t) for t in pipeline[:2]]
        if len(names) < 2 or names[1] != 'RawFrameDecode':
            raise ValueError('RawframeRepeatAugDataset needs [a frame sampler, '
                             f'RawFrameDecode, ...] as its pipeline, got {names}')
        kwargs.pop('test_mode', None)
        super().__init__(ann_file, pipeline=pipeline, test_mode=False, **kwargs)
        self.num_repeats = num_repeats
        self.sample_once = sample_once

    def prepare_data(self, idx: int) -> list:
        """``num_repeats`` samples of frame folder ``idx`` from one decode."""
        return repeat_augment(self.pipeline.transforms, self.get_data_info(idx),
                              self.num_repeats, self.sample_once, has_init=False)
