"""Decode the sampled frames from AlphAction's per-second AVA clips (the reference's input)."""
from __future__ import annotations

import os.path as osp

import numpy as np
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform


@TRANSFORMS.register_module()
class UMTAVAClipDecode(BaseTransform):
    """Read the clip's frames from per-second mp4 clips ``<frame_dir>/<second>.mp4``.

    The reference reads AVA from AlphAction's per-second clips (the ``AVA_compress``
    download of UMT's DATASET.md, or AlphAction's ``tools/ava/process_ava_videos.py``):
    ``<video_id>/<second>.mp4``, 25 fps, seconds 895 ... 1805. Around timestamp ``t`` it
    decodes (PyAV, ``frame.to_rgb()``) clips ``t, t+1, ...`` as the frames from the key
    frame on and clips ``t-1, t-2, ...`` as the frames before it, so offset ``d`` from the
    key frame is frame ``d`` of the concatenation ``t.mp4 + (t+1).mp4 + ...`` when
    ``d >= 0`` and frame ``-d`` counted back from the end of ``... + (t-2).mp4 + (t-1).mp4``
    otherwise (whatever the clips' frame counts). This transform takes the offsets of
    ``frame_inds`` (from :class:`UMTSampleAVAFrames`) relative to the key frame
    ``round(fps * (t - timestamp_start))`` and decodes only the clips that hold them.

    Use it in place of ``RawFrameDecode`` with a frame-folder dataset whose folders hold
    the clips: ``UMTAVADataset(use_frames=True, start_index=0, fps=25,
    timestamp_start=895, data_prefix=dict(img='data/ava/clips'))``.

    Required keys: ``frame_dir``, ``timestamp``, ``timestamp_start``, ``fps``,
    ``frame_inds``; optional ``start_index`` (default 0). Added or modified keys:
    ``imgs`` (RGB ``uint8`` arrays), ``img_shape``, ``original_shape``.

    Args:
        filename_tmpl (str): Clip file of a second. Defaults to '{}.mp4'.
    """

    def __init__(self, filename_tmpl: str = '{}.mp4') -> None:
        self.filename_tmpl = filename_tmpl

    def _decode(self, folder: str, second: int, cache: dict) -> list[np.ndarray]:
        if second not in cache:
            import av
            path = osp.join(folder, self.filename_tmpl.format(second))
            if not osp.isfile(path):
                raise FileNotFoundError(f'AVA clip not found: {path}')
            with av.open(path) as container:
                frames = [f.to_rgb().to_ndarray() for f in container.decode(video=0)]
            if not frames:
                raise ValueError(f'{path}: no frames could be decoded')
            cache[second] = frames
        return cache[second]

    def transform(self, results: dict) -> dict:
        """Decode the frames of ``frame_inds`` (see the class docstring)."""
        folder = results['frame_dir']
        timestamp = int(results['timestamp'])
        key = int(round(results['fps'] * (timestamp - results['timestamp_start'])))
        offsets = (np.asarray(results['frame_inds']).reshape(-1)
                   - int(results.get('start_index', 0)) - key)
        cache: dict[int, list[np.ndarray]] = {}
        # frames from the key frame on, and before it (nearest first)
        right, left = [], []
        next_right, next_left = timestamp, timestamp - 1
        imgs = []
        for offset in offsets.tolist():
            if offset >= 0:
                while len(right) <= offset:
                    right += self._decode(folder, next_right, cache)
                    next_right += 1
                imgs.append(right[offset])
            else:
                while len(left) < -offset:
                    left += self._decode(folder, next_left, cache)[::-1]
                    next_left -= 1
                imgs.append(left[-offset - 1])
        results['imgs'] = imgs
        results['original_shape'] = imgs[0].shape[:2]
        results['img_shape'] = imgs[0].shape[:2]
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(filename_tmpl={self.filename_tmpl!r})'
