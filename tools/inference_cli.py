"""Command-line pieces shared by the inference tools.

Used by ``tools/demo_spatiotemporal.py``, ``tools/inference_long_video.py`` and
``tools/extract_features.py`` (imported with ``tools/`` on ``sys.path``, as when they run as
scripts): the ``--device`` / ``--cfg-options`` options and the config they give, the default
device, and the writing of the annotated video copies.
"""
from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np
from mmengine.config import DictAction

# output video suffix -> OpenCV fourcc (the same table as tools/demo.py)
FOURCC = {'.mp4': 'mp4v', '.avi': 'MJPG', '.webm': 'VP80', '.mkv': 'mp4v'}


def add_model_options(parser: argparse.ArgumentParser,
                      device_help: str = "'cpu' or 'cuda:0' (default: cuda:0 when "
                      'available)') -> None:
    """Add ``--device`` and ``--cfg-options`` (as in ``tools/test.py``) to ``parser``.

    Args:
        parser (argparse.ArgumentParser): The tool's parser.
        device_help (str): Help of ``--device``. Defaults to cuda:0 when available.
    """
    parser.add_argument('--device', default=None, help=device_help)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value as in tools/test.py')


def load_config(path: str, cfg_options: dict | None = None):
    """The config at ``path`` with ``cfg_options`` (``--cfg-options``) merged in.

    Args:
        path (str): Config file.
        cfg_options (dict, optional): ``key=value`` overrides. Defaults to None.

    Returns:
        mmengine.config.Config: The config.
    """
    from mmengine.config import Config
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def default_device(device: str | None) -> str:
    """``device``, or ``'cuda:0'`` when CUDA is available and ``'cpu'`` otherwise."""
    import torch
    return device or ('cuda:0' if torch.cuda.is_available() else 'cpu')


def open_video_writer(out: str, fps: float, width: int, height: int, option: str = '--out'):
    """An OpenCV writer of ``out`` (its suffix picks the codec, see :data:`FOURCC`).

    Args:
        out (str): Output video; its folder is created.
        fps (float): Frame rate.
        width (int): Frame width in pixels.
        height (int): Frame height in pixels.
        option (str): The option that named ``out``, for the error messages.
            Defaults to '--out'.

    Returns:
        cv2.VideoWriter: The opened writer.

    Raises:
        ValueError: The suffix is not one of :data:`FOURCC`.
        RuntimeError: OpenCV has no encoder for it.
    """
    import cv2
    suffix = Path(out).suffix.lower()
    if suffix not in FOURCC:
        raise ValueError(f'{option} {out}: unsupported extension {suffix!r} '
                         f'(use one of {", ".join(FOURCC)})')
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(out, cv2.VideoWriter_fourcc(*FOURCC[suffix]), fps, (width, height))
    if not writer.isOpened():
        raise RuntimeError(f'OpenCV cannot write {out} (no {FOURCC[suffix]} encoder)')
    return writer


def write_video_copy(reader, out: str, fps: float,
                     draw: Callable[[int, np.ndarray], None],
                     size: tuple[int, int] | None = None, option: str = '--out') -> int:
    """Write every frame of ``reader`` to ``out`` after ``draw`` has annotated it.

    Args:
        reader (decord.VideoReader): The input video.
        out (str): Output video (see :func:`open_video_writer`).
        fps (float): Its frame rate.
        draw (Callable): ``draw(index, frame)`` draws on the BGR uint8 ``frame`` (in place).
        size (tuple[int, int], optional): ``(width, height)`` the frames are resized to
            (bilinear) before drawing. Defaults to None (the input's size).
        option (str): The option that named ``out``. Defaults to '--out'.

    Returns:
        int: Frames written (the input's frame count).
    """
    import cv2
    from mmengine.utils import ProgressBar
    height, width = reader[0].shape[:2]
    size = size or (width, height)
    writer = open_video_writer(out, fps, size[0], size[1], option=option)
    bar = ProgressBar(len(reader))
    for index in range(len(reader)):
        frame = np.ascontiguousarray(reader[index].asnumpy()[..., ::-1])
        if size != (width, height):
            frame = cv2.resize(frame, size, interpolation=cv2.INTER_LINEAR)
        draw(index, frame)
        writer.write(frame)
        bar.update()
    writer.release()
    print()
    return len(reader)
