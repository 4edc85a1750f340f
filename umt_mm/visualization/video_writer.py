"""Write annotated copies of videos with OpenCV (the codec follows the file's suffix)."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

#: output video suffix -> OpenCV fourcc
FOURCC = {'.mp4': 'mp4v', '.avi': 'MJPG', '.webm': 'VP80', '.mkv': 'mp4v'}


def open_video_writer(out: str | Path, fps: float, width: int, height: int,
                      option: str = '--out'):
    """An OpenCV writer of ``out`` (its suffix picks the codec, see :data:`FOURCC`).

    Args:
        out (str | Path): Output video; its folder is created.
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
    out = str(out)
    suffix = Path(out).suffix.lower()
    if suffix not in FOURCC:
        raise ValueError(f'{option} {out}: unsupported extension {suffix!r} '
                         f'(use one of {", ".join(FOURCC)})')
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(out, cv2.VideoWriter_fourcc(*FOURCC[suffix]), fps, (width, height))
    if not writer.isOpened():
        raise RuntimeError(f'OpenCV cannot write {out} (no {FOURCC[suffix]} encoder)')
    return writer


def write_video_copy(reader, out: str | Path, fps: float,
                     draw: Callable[[int, np.ndarray], None],
                     size: tuple[int, int] | None = None, option: str = '--out',
                     progress: Callable[[], None] | None = None) -> int:
    """Write every frame of ``reader`` to ``out`` after ``draw`` has annotated it.

    Args:
        reader (decord.VideoReader): The input video (RGB frames).
        out (str | Path): Output video (see :func:`open_video_writer`).
        fps (float): Its frame rate.
        draw (Callable): ``draw(index, frame)`` draws on the BGR uint8 ``frame`` (in place).
        size (tuple[int, int], optional): ``(width, height)`` the frames are resized to
            (bilinear) before drawing. Defaults to None (the input's size).
        option (str): The option that named ``out``. Defaults to '--out'.
        progress (Callable, optional): Called once per written frame. Defaults to None.

    Returns:
        int: Frames written (the input's frame count).
    """
    import cv2
    height, width = reader[0].shape[:2]
    size = size or (width, height)
    writer = open_video_writer(out, fps, size[0], size[1], option=option)
    try:
        for index in range(len(reader)):
            frame = np.ascontiguousarray(reader[index].asnumpy()[..., ::-1])  # RGB -> BGR
            if size != (width, height):
                frame = cv2.resize(frame, size, interpolation=cv2.INTER_LINEAR)
            draw(index, frame)
            writer.write(frame)
            if progress is not None:
                progress()
    finally:
        writer.release()
    return len(reader)
