"""Open a video for inference and read its frame count, frame rate and size."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: frame rate assumed for a video whose container reports none (every tool and API)
FALLBACK_FPS = 30.0


@dataclass(frozen=True)
class VideoInfo:
    """What inference needs to know about a video.

    Attributes:
        path (str): The file.
        num_frames (int): Decodable frames.
        fps (float): Its frame rate, or :data:`FALLBACK_FPS` when it reports none.
        width (int): Frame width in pixels.
        height (int): Frame height in pixels.
        fps_reported (bool): Whether ``fps`` came from the file.
    """

    path: str
    num_frames: int
    fps: float
    width: int
    height: int
    fps_reported: bool = True


def open_video(path: str | Path):
    """A decord reader of ``path`` and its :class:`VideoInfo`.

    Args:
        path (str | Path): The video.

    Returns:
        tuple: ``(decord.VideoReader, VideoInfo)``.

    Raises:
        FileNotFoundError: No such file.
        RuntimeError: The file cannot be decoded (the message names it).
    """
    import decord
    path = str(path)
    if not Path(path).is_file():
        raise FileNotFoundError(f'video {path} does not exist')
    try:
        reader = decord.VideoReader(path, num_threads=1)
        height, width = reader[0].shape[:2]
    except Exception as err:  # decord raises its own DECORDError
        raise RuntimeError(f'video {path} cannot be decoded: {err}') from err
    fps = float(reader.get_avg_fps() or 0.0)
    reported = fps > 0
    return reader, VideoInfo(path=path, num_frames=len(reader),
                             fps=fps if reported else FALLBACK_FPS,
                             width=int(width), height=int(height), fps_reported=reported)
