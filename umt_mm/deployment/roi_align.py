"""mmcv's RoIAlign (``aligned=False``) exported as the standard ONNX ``RoiAlign`` operator."""
from __future__ import annotations

import torch

#: ONNX ``RoiAlign`` (opset >= 16) coordinate mode equal to mmcv's ``aligned=False``: no
#: half-pixel shift of the box corners and a box side of at least one feature cell.
LEGACY_COORDINATE_MODE = 'output_half_pixel'


class _RoIAlignFunction(torch.autograd.Function):
    """mmcv ``roi_align`` in PyTorch, ONNX ``RoiAlign`` in the exported graph."""

    @staticmethod
    def forward(ctx, feat: torch.Tensor, boxes: torch.Tensor, batch_indices: torch.Tensor,
                output_size: tuple[int, int], spatial_scale: float, sampling_ratio: int,
                pool_mode: str) -> torch.Tensor:
        from mmcv.ops import roi_align
        rois = torch.cat((batch_indices.to(boxes.dtype)[:, None], boxes), dim=1)
        return roi_align(feat, rois, output_size, spatial_scale, sampling_ratio, pool_mode,
                         False)

    @staticmethod
    def symbolic(g, feat, boxes, batch_indices, output_size, spatial_scale, sampling_ratio,
                 pool_mode):
        return g.op('RoiAlign', feat, boxes, batch_indices,
                    coordinate_transformation_mode_s=LEGACY_COORDINATE_MODE,
                    mode_s=pool_mode, output_height_i=int(output_size[0]),
                    output_width_i=int(output_size[1]), sampling_ratio_i=int(sampling_ratio),
                    spatial_scale_f=float(spatial_scale))


def roi_align_legacy(feat: torch.Tensor, boxes: torch.Tensor, batch_indices: torch.Tensor,
                     output_size: tuple[int, int], spatial_scale: float,
                     sampling_ratio: int = 0, pool_mode: str = 'avg') -> torch.Tensor:
    """RoIAlign with mmcv's ``aligned=False`` coordinates, exportable to ONNX ``RoiAlign``.

    In PyTorch it is :func:`mmcv.ops.roi_align` (``aligned=False``); the ONNX exporter
    (TorchScript-based, ``dynamo=False``) writes one standard ``RoiAlign`` node (opset 16)
    with ``coordinate_transformation_mode='output_half_pixel'``, which onnxruntime computes
    like mmcv's legacy mode: box corners scaled by ``spatial_scale`` without the -0.5 shift,
    box sides at least 1, ``ceil(side / output)`` samples per bin when
    ``sampling_ratio`` is 0, samples outside ``[-1, size]`` counted as zero.

    Args:
        feat (torch.Tensor): Feature map ``(B, C, H, W)``.
        boxes (torch.Tensor): ``(N, 4)`` boxes ``x1, y1, x2, y2`` in input pixels.
        batch_indices (torch.Tensor): ``(N,)`` int64 index of each box's image.
        output_size (tuple[int, int]): Pooled ``(height, width)``.
        spatial_scale (float): Feature cells per input pixel (1/16 for the UMT ViT).
        sampling_ratio (int): Samples per bin side; 0 is adaptive. Defaults to 0.
        pool_mode (str): ``'avg'`` or ``'max'`` within a bin. Defaults to 'avg'.

    Returns:
        torch.Tensor: ``(N, C, output_h, output_w)``.
    """
    if pool_mode not in ('avg', 'max'):
        raise ValueError(f"pool_mode must be 'avg' or 'max', got {pool_mode!r}")
    return _RoIAlignFunction.apply(feat, boxes, batch_indices, tuple(output_size),
                                   float(spatial_scale), int(sampling_ratio), pool_mode)
