"""Generate a small, learnable video classification set (used by the quickstart and tests)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .motion_videos import write_video


def make_toy_video_dataset(root: str | Path,
                           num_per_class: int = 4,
                           num_val_per_class: int = 2,
                           num_frames: int = 16,
                           size: int = 64,
                           seed: int = 0) -> dict[str, Path]:
    """Write a two-class toy video set in MMAction2's ``VideoDataset`` layout.

    Class 0: a bright square moving left to right; class 1: moving right to left, on a
    noisy background. Train and val videos differ in noise, colour and vertical position.

    Args:
        root (str | Path): Output folder; gets ``videos/``, ``train_list.txt`` and
            ``val_list.txt``.
        num_per_class (int): Training videos per class. Defaults to 4.
        num_val_per_class (int): Validation videos per class. Defaults to 2.
        num_frames (int): Frames per video. Defaults to 16.
        size (int): Frame height and width in pixels (decord 0.6.0 mis-decodes 48x48
            mp4v files; 32, 40 and 64 work). Defaults to 64.
        seed (int): Random seed. Defaults to 0.

    Returns:
        dict[str, Path]: ``videos``, ``train_list`` and ``val_list`` paths.
    """
    root = Path(root)
    video_dir = root / 'videos'
    video_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    side = size // 4
    lists: dict[str, list[str]] = {'train': [], 'val': []}
    for split, count in (('train', num_per_class), ('val', num_val_per_class)):
        for label in (0, 1):
            for k in range(count):
                frames = rng.integers(0, 60, size=(num_frames, size, size, 3), dtype=np.uint8)
                colour = rng.integers(160, 256, size=3)
                top = int(rng.integers(0, size - side))
                for t in range(num_frames):
                    progress = t / max(num_frames - 1, 1)
                    if label == 1:
                        progress = 1 - progress
                    left = int(progress * (size - side))
                    frames[t, top:top + side, left:left + side] = colour
                name = f'{split}_{label}_{k}.mp4'
                write_video(video_dir / name, frames)
                lists[split].append(f'{name} {label}')
    paths = {'videos': video_dir}
    for split, lines in lists.items():
        path = root / f'{split}_list.txt'
        path.write_text('\n'.join(lines) + '\n')
        paths[f'{split}_list'] = path
    return paths
