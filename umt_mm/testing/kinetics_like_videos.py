"""Kinetics-like test videos written with PyAV's bundled encoder (benchmarks and tests).

Kinetics clips are 10 s YouTube cuts, re-encoded by most users to 340x256 (or short side
320) H.264 with B-frames and a GOP of a few seconds. :func:`write_kinetics_like_video`
writes such a file from a moving texture (so that motion compensation, and hence the
decoding cost, is realistic): libx264 when the ``av`` wheel bundles it (else MPEG-4 part 2),
B-frames, a fixed GOP (so the last GOP is short when the length is not a multiple), and
optionally a variable frame rate (jittered timestamps).
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from umt_mm.datasets.preparation.video_preparation import bundled_encoder


def _texture(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """A smooth random RGB texture twice the frame size (to pan over)."""
    h, w = 2 * height, 2 * width
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    out = np.zeros((h, w, 3), np.float32)
    for c in range(3):
        for _ in range(4):
            fy, fx = rng.uniform(0.01, 0.08, size=2)
            phase = rng.uniform(0, 2 * np.pi)
            out[..., c] += np.sin(fy * yy + fx * xx + phase)
    noise = rng.normal(0, 1, (h // 8 + 1, w // 8 + 1, 3)).astype(np.float32)
    out += np.kron(noise, np.ones((8, 8, 1), np.float32))[:h, :w] * 0.5
    out = (out - out.min()) / (out.max() - out.min() + 1e-6) * 255
    return out.astype(np.uint8)


def write_kinetics_like_video(path: str | Path, num_frames: int = 300, fps: int = 30,
                              width: int = 340, height: int = 256, gop: int = 128,
                              bframes: int = 2, variable_frame_rate: bool = False,
                              seed: int = 0, codec: str | None = None,
                              grain: float = 6.0) -> dict:
    """Write a Kinetics-like clip.

    Args:
        path (str | Path): Output ``.mp4`` (or ``.mkv``/``.avi``) file.
        num_frames (int): Frames. Defaults to 300 (10 s at 30 fps).
        fps (int): Nominal frame rate. Defaults to 30.
        width (int): Width. Defaults to 340.
        height (int): Height. Defaults to 256.
        gop (int): Keyframe interval; ``num_frames % gop`` frames form the short last GOP.
            Defaults to 128.
        bframes (int): Consecutive B-frames. Defaults to 2.
        variable_frame_rate (bool): Jitter the frame durations (1/2 to 3/2 of ``1/fps``).
            Defaults to False.
        seed (int): Content and jitter seed. Defaults to 0.
        grain (float): Standard deviation of per-frame sensor-like noise (grey levels),
            which brings the bitrate near real 340x256 Kinetics clips (~1 Mbit/s at the
            default). Defaults to 6.0.
        codec (str, optional): Encoder; None takes :func:`bundled_encoder`. Defaults to None.

    Returns:
        dict: ``path``, ``codec``, ``num_frames``, ``gop``, ``bframes``, ``vfr``.
    """
    import av
    rng = np.random.default_rng(seed)
    codec = codec or bundled_encoder()
    texture = _texture(height, width, rng)
    time_base = Fraction(1, fps * 512)
    ticks = 512
    with av.open(str(path), 'w') as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, 'yuv420p'
        stream.time_base = time_base
        stream.codec_context.time_base = time_base
        stream.codec_context.gop_size = gop
        stream.codec_context.max_b_frames = bframes
        if codec == 'libx264':
            stream.options = {'crf': '23', 'preset': 'veryfast', 'bf': str(bframes),
                              'x264-params': f'keyint={gop}:min-keyint={gop}:scenecut=0'}
        else:
            stream.codec_context.bit_rate = 1_500_000
        pts = 0
        for i in range(num_frames):
            # pan over the texture along a slow Lissajous path, with a moving square
            y = int((np.sin(i / 37.0) * 0.5 + 0.5) * height)
            x = int((np.cos(i / 23.0) * 0.5 + 0.5) * width)
            img = texture[y:y + height, x:x + width].copy()
            sy, sx = (i * 3) % (height - 32), (i * 5) % (width - 32)
            img[sy:sy + 32, sx:sx + 32] = (255 - i % 256, i % 256, 128)
            if grain:
                noise = rng.normal(0, grain, (height // 2, width // 2, 1)).astype(np.float32)
                noise = np.repeat(np.repeat(noise, 2, 0), 2, 1)
                img = np.clip(img + noise, 0, 255).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format='rgb24')
            frame.pts = pts
            frame.time_base = time_base
            pts += int(rng.integers(ticks // 2, ticks * 3 // 2 + 1)) if variable_frame_rate \
                else ticks
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return dict(path=str(path), codec=codec, num_frames=num_frames, gop=gop, bframes=bframes,
                vfr=variable_frame_rate)
