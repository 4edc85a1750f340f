"""The fixed sin-cos position table of UMT, built and interpolated as the reference does."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

#: The reference builds every table from the 8-frame, 14x14 (224 / 16) base.
BASE_FRAMES = 8
BASE_GRID = 14


def sincos_table_1d(n_position: int, dim: int) -> torch.Tensor:
    """1-D sin-cos table over the flattened token index.

    ``angle(p, j) = p / 10000 ** (2 * (j // 2) / dim)``; even ``j`` take the sine, odd
    ``j`` the cosine (interleaved). Computed in float64 with numpy, returned as float32,
    exactly like the reference ``get_sinusoid_encoding_table``.

    Args:
        n_position (int): Number of positions.
        dim (int): Channels.

    Returns:
        torch.Tensor: Shape ``(1, n_position, dim)``, float32.
    """
    positions = np.arange(n_position, dtype=np.float64)[:, None]
    exponents = 2 * (np.arange(dim) // 2) / dim
    table = positions / np.power(10000, exponents)[None, :]
    table[:, 0::2] = np.sin(table[:, 0::2])
    table[:, 1::2] = np.cos(table[:, 1::2])
    return torch.tensor(table, dtype=torch.float32).unsqueeze(0)


def umt_position_table(dim: int, num_frames_tokens: int, grid_hw: tuple[int, int],
                       base_frames: int = BASE_FRAMES, base_grid: int = BASE_GRID
                       ) -> torch.Tensor:
    """The (interpolated) position table for ``num_frames_tokens x grid_hw`` tokens.

    Starts from the 1-D table of ``base_frames * base_grid**2`` positions; if the grid
    differs, every frame's ``base_grid x base_grid`` table is resized bicubically
    (``align_corners=False``); then, if the number of temporal positions differs, each
    spatial position's channel vector is linearly interpolated along time
    (``align_corners=False``). Non-square grids (detection inputs) resize to ``(H', W')``.

    Args:
        dim (int): Channels.
        num_frames_tokens (int): Temporal positions ``T'`` (frames / tubelet).
        grid_hw (tuple[int, int]): Spatial grid ``(H', W')``.
        base_frames (int): Temporal size of the base table. Defaults to 8.
        base_grid (int): Spatial size of the base table. Defaults to 14.

    Returns:
        torch.Tensor: Shape ``(1, T' * H' * W', dim)``, float32, token order ``(t, h, w)``.

    Examples:
        >>> umt_position_table(64, 16, (14, 14)).shape  # 16 frames, tubelet 1, 224
        torch.Size([1, 3136, 64])
        >>> umt_position_table(64, 8, (16, 20)).shape  # detection frames 256x320
        torch.Size([1, 2560, 64])
    """
    height, width = (int(v) for v in grid_hw)
    num_frames = int(num_frames_tokens)
    table = sincos_table_1d(base_frames * base_grid * base_grid, dim)
    if (height, width) != (base_grid, base_grid):
        frames = table.reshape(base_frames, base_grid, base_grid, dim).permute(0, 3, 1, 2)
        frames = F.interpolate(frames, size=(height, width), mode='bicubic',
                               align_corners=False)
        table = frames.permute(0, 2, 3, 1).reshape(1, base_frames * height * width, dim)
    if num_frames != base_frames:
        per_position = table.reshape(base_frames, height * width * dim).t().unsqueeze(0)
        per_position = F.interpolate(per_position, size=num_frames, mode='linear',
                                     align_corners=False)
        table = per_position.squeeze(0).t().reshape(1, num_frames * height * width, dim)
    return table.contiguous()
