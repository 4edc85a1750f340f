"""Normalise each clip, then zero-pad the batch to a multiple of the patch size."""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from mmaction.models.data_preprocessors import ActionDataPreprocessor
from mmaction.registry import MODELS


@MODELS.register_module()
class UMTDetDataPreprocessor(ActionDataPreprocessor):
    """``ActionDataPreprocessor`` for AVA detection with the reference's padding.

    The reference detector (AlphAction's ``collate_batch.py``) normalises each clip
    and then zero-pads the batch at the bottom/right to the largest size rounded up to a
    multiple of 16, so test frames of any width (short side 256) reach a ViT with a
    16-pixel patch. MMAction2's preprocessor pads *before* normalising (the padding
    becomes ``-mean / std``) and never rounds up; this one normalises first and pads with
    ``pad_value`` (0) to a multiple of ``pad_size_divisor``. Boxes and ``img_shape`` keep
    the unpadded size, so RoIs are unaffected.

    Args:
        mean (Sequence[float]): Per-channel mean (0-255 scale).
        std (Sequence[float]): Per-channel std.
        pad_size_divisor (int): Pad height and width (never frames) up to a multiple
            of this.
            Defaults to 16.
        pad_value (float): Value of the padding, after normalisation. Defaults to 0.
        **kwargs: Other :class:`ActionDataPreprocessor` arguments (``format_shape``
            defaults to ``'NCTHW'`` here).

    Examples:
        >>> import torch
        >>> from mmaction.registry import MODELS
        >>> import umt_mm  # noqa
        >>> pre = MODELS.build(dict(type='UMTDetDataPreprocessor',
        ...                         mean=[122.7717, 115.9465, 102.9801], std=[57.375] * 3))
        >>> out = pre(dict(inputs=[torch.zeros(3, 8, 256, 340)], data_samples=[None]))
        >>> out['inputs'].shape
        torch.Size([1, 3, 8, 256, 352])
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float],
                 pad_size_divisor: int = 16, pad_value: float = 0.0,
                 format_shape: str = 'NCTHW', **kwargs) -> None:
        if format_shape != 'NCTHW':
            raise ValueError(f"UMTDetDataPreprocessor expects format_shape='NCTHW', "
                             f'got {format_shape!r}')
        if kwargs.get('blending') is not None:
            raise ValueError('UMTDetDataPreprocessor does not blend detection batches')
        super().__init__(mean=mean, std=std, format_shape=format_shape, **kwargs)
        self.pad_size_divisor = int(pad_size_divisor)
        self.pad_value = float(pad_value)

    def preprocess(self, inputs: list[torch.Tensor], data_samples, training: bool = False
                   ) -> tuple:
        """Normalise each ``(C, T, H, W)`` clip, then pad and stack.

        Args:
            inputs (list[torch.Tensor]): Clips ``(C, T, H, W)`` (0-255).
            data_samples (list): Data samples (unchanged).
            training (bool): Unused (no blending). Defaults to False.

        Returns:
            tuple: ``(B, C, T, H', W')`` batch and the data samples.
        """
        normed = []
        for clip in inputs:
            if clip.ndim != 4:
                raise ValueError(f'UMTDetDataPreprocessor expects (C, T, H, W) clips, got '
                                 f'shape {tuple(clip.shape)} (use FormatShape("NCTHW", '
                                 'collapse=True))')
            clip = clip.float()
            if self.to_rgb:
                clip = clip[[2, 1, 0]]
            normed.append((clip - self.mean) / self.std)
        if len({clip.shape[:2] for clip in normed}) != 1:
            raise ValueError('UMTDetDataPreprocessor: clips of one batch need the same channels '
                             f'and frames, got {[tuple(c.shape) for c in normed]}')
        div = self.pad_size_divisor
        height = -(-max(clip.shape[-2] for clip in normed) // div) * div
        width = -(-max(clip.shape[-1] for clip in normed) // div) * div
        batch = torch.stack([
            F.pad(clip, (0, width - clip.shape[-1], 0, height - clip.shape[-2]),
                  value=self.pad_value) for clip in normed])
        return batch, data_samples
