"""Prepared data for fast loading: re-encoded videos and frame folders.

* :func:`reencode_video`: short side ``short_side`` (never enlarged), a keyframe every
  ``gop`` frames (sparse sampling then decodes at most ``gop`` frames back to a keyframe
  per sampled frame instead of the rest of a long GOP), B-frames (unsampled ones are
  skipped by :class:`~umt_mm.datasets.transforms.PyAVSparseDecode`). Every frame is kept,
  in decord's numbering, so the sampled indices stay the same.
* :func:`extract_frames`: a frame folder ``img_00001.jpg`` ... (MMAction2's
  ``RawframeDataset`` layout, ``start_index=1``): frame ``i`` of decord's numbering is
  ``img_{i+1:05d}.jpg``.

Both write through a temporary name and rename at the end, so an interrupted run leaves no
half-written result and a rerun skips what is done (``tools/data/reencode_videos.py``,
``tools/data/extract_frames.py``).
"""
from __future__ import annotations

import os
import shutil
from fractions import Fraction
from pathlib import Path

import numpy as np

#: Video containers picked up when a folder is given instead of a list (pretraining folders,
#: the data preparation tools, feature extraction).
VIDEO_EXTENSIONS = ('.mp4', '.avi', '.webm', '.mkv', '.mov', '.m4v', '.flv', '.mpg', '.mpeg')


def bundled_encoder() -> str:
    """``'libx264'`` when the installed PyAV bundles it, else ``'mpeg4'``."""
    import av
    return 'libx264' if 'libx264' in av.codecs_available else 'mpeg4'


def target_size(width: int, height: int, short_side: int | None) -> tuple[int, int]:
    """Width and height with the short side ``short_side`` (even sizes; never enlarged).

    Args:
        width (int): Source width.
        height (int): Source height.
        short_side (int, optional): Target short side; None keeps the size.

    Returns:
        tuple[int, int]: ``(width, height)``.
    """
    if short_side is None or min(width, height) <= short_side:
        w, h = width, height
    elif width < height:
        w, h = short_side, round(height * short_side / width)
    else:
        w, h = round(width * short_side / height), short_side
    return w - w % 2, h - h % 2


def _frames_in_order(path: str):
    """Yield the decoded frames of ``path`` in decoder output order (decord's numbering)."""
    import av
    with av.open(path) as container:
        if not container.streams.video:
            raise RuntimeError(f'{path}: no video stream')
        stream = container.streams.video[0]
        stream.thread_type = 'AUTO'
        yield stream
        yield from container.decode(stream)


def reencode_video(src: str | Path, dst: str | Path, short_side: int | None = 320,
                   gop: int = 16, bframes: int = 2, crf: int = 23, preset: str = 'veryfast',
                   codec: str | None = None) -> dict:
    """Re-encode ``src`` to ``dst`` for sparse sampling (see the module docstring).

    Args:
        src (str | Path): Source video.
        dst (str | Path): Output file (``.mp4``); written as ``dst + '.tmp'`` then renamed.
        short_side (int, optional): Target short side (None: keep). Defaults to 320.
        gop (int): Keyframe interval in frames. Defaults to 16.
        bframes (int): Consecutive B-frames. Defaults to 2.
        crf (int): x264 constant rate factor (ignored by mpeg4). Defaults to 23.
        preset (str): x264 preset. Defaults to 'veryfast'.
        codec (str, optional): Encoder; None: libx264 if bundled, else mpeg4.
            Defaults to None.

    Returns:
        dict: ``frames``, ``width``, ``height``, ``src_bytes``, ``dst_bytes``, ``codec``.

    Raises:
        RuntimeError: The source cannot be decoded (names the file).
    """
    import av
    src, dst = str(src), str(dst)
    codec = codec or bundled_encoder()
    tmp = dst + '.tmp.mp4'
    frames = 0
    try:
        reader = _frames_in_order(src)
        in_stream = next(reader)
        width, height = target_size(in_stream.codec_context.width,
                                    in_stream.codec_context.height, short_side)
        rate = Fraction(in_stream.average_rate or in_stream.guessed_rate or 30)
        time_base = Fraction(rate.denominator, rate.numerator)
        with av.open(tmp, 'w', format='mp4') as out:
            stream = out.add_stream(codec, rate=rate)
            stream.width, stream.height, stream.pix_fmt = width, height, 'yuv420p'
            stream.time_base = stream.codec_context.time_base = time_base
            stream.codec_context.gop_size = gop
            stream.codec_context.max_b_frames = bframes
            if codec == 'libx264':
                stream.options = {'crf': str(crf), 'preset': preset, 'bf': str(bframes),
                                  'x264-params': f'keyint={gop}:min-keyint={gop}:scenecut=0'}
            else:
                stream.codec_context.bit_rate = 2_000_000
            for frame in reader:
                # a new timeline 0, 1, 2, ... at the stream rate keeps every frame and its
                # position (decord numbers frames in decoder output order)
                image = frame.reformat(width=width, height=height, format='yuv420p',
                                       interpolation='AREA')
                image.pts = frames
                # the source's frame types would force its keyframes into the new GOPs
                image.pict_type = av.video.frame.PictureType.NONE
                image.time_base = time_base
                for packet in stream.encode(image):
                    out.mux(packet)
                frames += 1
            for packet in stream.encode(None):
                out.mux(packet)
        if frames == 0:
            raise RuntimeError('no frames decoded')
        os.replace(tmp, dst)
    except Exception as err:
        if os.path.exists(tmp):
            os.remove(tmp)
        if isinstance(err, RuntimeError) and str(err).startswith(src):
            raise
        raise RuntimeError(f'{src}: cannot re-encode ({type(err).__name__}: {err})') from err
    return dict(frames=frames, width=width, height=height, src_bytes=os.path.getsize(src),
                dst_bytes=os.path.getsize(dst), codec=codec)


def extract_frames(src: str | Path, out_dir: str | Path, short_side: int | None = None,
                   quality: int = 95, filename_tmpl: str = 'img_{:05d}.jpg') -> dict:
    """Write every frame of ``src`` as an image in ``out_dir`` (a RawframeDataset folder).

    Args:
        src (str | Path): Source video.
        out_dir (str | Path): Frame folder; written as ``out_dir + '.tmp'`` then renamed.
        short_side (int, optional): Resize to this short side (None: keep).
            Defaults to None.
        quality (int): JPEG quality. Defaults to 95.
        filename_tmpl (str): Name of frame ``i`` (1-based). Defaults to 'img_{:05d}.jpg'.

    Returns:
        dict: ``frames``, ``width``, ``height``, ``src_bytes``, ``dst_bytes``.

    Raises:
        RuntimeError: The source cannot be decoded (names the file).
    """
    import cv2
    src, out_dir = str(src), Path(out_dir)
    tmp = Path(str(out_dir) + '.tmp')
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    frames, size = 0, 0
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
    try:
        reader = _frames_in_order(src)
        in_stream = next(reader)
        width, height = target_size(in_stream.codec_context.width,
                                    in_stream.codec_context.height, short_side)
        for frame in reader:
            if (frame.width, frame.height) != (width, height):
                frame = frame.reformat(width=width, height=height, interpolation='AREA')
            rgb = frame.to_ndarray(format='rgb24')
            name = tmp / filename_tmpl.format(frames + 1)
            if not cv2.imwrite(str(name), np.ascontiguousarray(rgb[..., ::-1]), params):
                raise RuntimeError(f'cannot write {name}')
            size += name.stat().st_size
            frames += 1
        if frames == 0:
            raise RuntimeError('no frames decoded')
    except Exception as err:
        shutil.rmtree(tmp, ignore_errors=True)
        raise RuntimeError(f'{src}: cannot extract frames ({type(err).__name__}: {err})') \
            from err
    if out_dir.exists():
        shutil.rmtree(out_dir)
    os.replace(tmp, out_dir)
    return dict(frames=frames, width=width, height=height, src_bytes=os.path.getsize(src),
                dst_bytes=size)
