"""Sparse-aware video decoding: the frames decord returns, decoding only what they need.

Sparse sampling (8 frames of a 300-frame clip) pays for nearly the whole video with decord:
every sampled frame needs the frames back to its keyframe, and decord decodes all of them
(``get_batch`` of 8 TSN-sparse frames of ``test.mp4`` costs 85 % of decoding all 300). Two
levers keep the frames identical while decoding less:

* **frames nothing references and nothing samples are not decoded**: B-frames that are not
  reference pictures (``nal_ref_idc == 0`` in H.264, every B-frame in MPEG-4 part 2) are
  dropped by FFmpeg's ``skip_frame = NONREF`` unless they are sampled; nothing else depends on
  them, so the sampled frames come out bit-identical. On ``test.mp4`` (H.264, one B-frame
  between P-frames) this skips 47 % of the frames.
* **one forward pass over the sorted, unique indices**: the demuxed packets are kept in
  memory; the decoder starts at the keyframe of the first sampled frame, jumps (without
  re-reading the file) to a later keyframe when the next sampled frame lies beyond it, and
  stops after the last sampled frame. Repeated and unsorted indices (the concatenated clips
  of the multi-clip test pipelines) are decoded once and scattered back; decord's
  ``get_batch`` of such indices seeks back and decodes the video once per clip.

Frame indices follow decord exactly: frame ``i`` is the packet with the ``i``-th smallest
presentation timestamp of the video stream, so ``total_frames`` and the sampled indices are
identical. One exception: an MP4 whose edit list discards leading frames (a stream-copied
cut) has those frames left out of the numbering, since FFmpeg never outputs them (decord
counts them, and its sparse reads of such a file disagree with its own front-to-back
decode, which returns the frames numbered here). RGB conversion is FFmpeg's ``rgb24``
(swscale), as decord's; the tests compare every backend with decord pixel for pixel on the
shared real videos and on generated ones (B-frames, variable frame rate, a short final GOP,
an edit list).

Transforms (drop-in replacements, selectable in configs):

* :class:`PyAVSparseInit` + :class:`PyAVSparseDecode`: PyAV (FFmpeg bundled in its wheel)
  with both levers; replaces ``DecordInit`` + ``DecordDecode``.
* :class:`DecordSparseDecode`: decord with the second lever only (decord exposes no
  ``skip_frame``); replaces ``DecordDecode`` after ``DecordInit``.

Errors name the file (``RuntimeError('<file>: ...')``) as umt_mm's decord fix does
(:mod:`umt_mm.compat.video_errors`), so ``SkipBadVideos`` counts them.
"""
from __future__ import annotations

import os
import os.path as osp
from dataclasses import dataclass, field

import numpy as np
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform

_ERROR_HINT = ('the video is corrupt, truncated or not a video file. Re-encode or remove it '
               'from the list.')


def _named_error(filename: str, action: str, err: BaseException | None = None,
                 detail: str | None = None) -> RuntimeError:
    """A ``RuntimeError('<file>: cannot <action> (...)')`` like umt_mm's decord re-raise."""
    if detail is None:
        lines = str(err).strip().splitlines() if err is not None else []
        detail = f'{type(err).__name__}: {lines[0] if lines else "no message"}'
    return RuntimeError(f'{filename}: cannot {action} ({detail}); {_ERROR_HINT}')


def _require_av():
    try:
        import av
    except ImportError as err:  # pragma: no cover - av is a dependency of umt_mm
        raise ImportError('PyAVSparseInit/PyAVSparseDecode need PyAV: pip install av') from err
    return av


@dataclass
class SparseVideo:
    """An opened video: its demuxed packets and decord's frame numbering.

    Attributes:
        filename (str): The file (for error messages).
        container: The open ``av`` container (closed by :meth:`close`).
        stream: Its first video stream.
        packets (list): The stream's packets in decode (file) order.
        frame_pts (np.ndarray): Presentation timestamps sorted ascending: frame ``i`` has
            ``frame_pts[i]`` (decord's numbering, less the frames an edit list discards).
        packet_frame (np.ndarray): Frame index of each packet (decode order); -1 for a
            packet whose frame an edit list discards.
        keyframe_packets (np.ndarray): Positions in ``packets`` of the keyframe packets.
        avg_fps (float): The stream's average frame rate.
        sequential (bool): Frames are numbered by decoder output order (set when the
            decoded timestamps do not follow the packets', e.g. AVI with packed B-frames).
        stats (dict): What the last :func:`decode_sparse` did (packets sent, frames out of
            the decoder, frames converted, keyframe jumps).
    """
    filename: str
    container: object
    stream: object
    packets: list
    frame_pts: np.ndarray
    packet_frame: np.ndarray
    keyframe_packets: np.ndarray
    avg_fps: float
    sequential: bool = False
    stats: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.frame_pts)

    def close(self) -> None:
        """Close the container and drop the packets."""
        if self.container is not None:
            self.container.close()
            self.container = None
        self.packets = []


def open_sparse_video(filename: str, num_threads: int = 1) -> SparseVideo:
    """Open ``filename`` with PyAV and demux (not decode) its video packets.

    Args:
        filename (str): The video file.
        num_threads (int): FFmpeg decode threads (1 in DataLoader workers, which are the
            parallelism). Defaults to 1.

    Returns:
        SparseVideo: The packets and the frame numbering.

    Raises:
        FileNotFoundError: The file does not exist.
        RuntimeError: It cannot be opened or has no video packets (names the file).
    """
    av = _require_av()
    if '://' not in filename and not osp.isfile(filename):
        raise FileNotFoundError(f'{filename}: no such video file')
    try:
        container = av.open(filename)
    except Exception as err:
        raise _named_error(filename, 'open the video with PyAV', err) from err
    try:
        if not container.streams.video:
            raise _named_error(filename, 'open the video with PyAV', detail='no video stream')
        stream = container.streams.video[0]
        codec = stream.codec_context
        codec.thread_count = max(1, int(num_threads))
        codec.thread_type = 'FRAME' if num_threads > 1 else 'SLICE'
        packets = []
        for packet in container.demux(stream):
            # PyAV ends with an empty flush packet (no data, no timestamps): not a frame
            if packet.size == 0 and packet.pts is None and packet.dts is None:
                continue
            packets.append(packet)
    except RuntimeError:
        container.close()
        raise
    except Exception as err:
        container.close()
        raise _named_error(filename, 'read the video packets with PyAV', err) from err
    if not packets:
        container.close()
        raise _named_error(filename, 'open the video with PyAV', detail='no video packets')
    # decord numbers frames by the sorted presentation timestamps of the packets; a packet
    # without pts (some AVI streams) falls back to its dts, then to its position
    pts = np.array([p.pts if p.pts is not None else (p.dts if p.dts is not None else i)
                    for i, p in enumerate(packets)], dtype=np.int64)
    # packets an MP4 edit list cuts off (flagged discard: a stream-copied cut's lead-in) are
    # decoded as references but FFmpeg never outputs their frames: they get no number
    # (frame -1), so every numbered frame can be decoded (decord counts them, but its
    # front-to-back decode returns the same frames as these)
    shown = np.array([not getattr(p, 'is_discard', False) for p in packets], dtype=bool)
    if not shown.any():
        shown[:] = True
    numbered = np.flatnonzero(shown)
    order = numbered[np.argsort(pts[numbered], kind='stable')]
    packet_frame = np.full(len(packets), -1, dtype=np.int64)
    packet_frame[order] = np.arange(len(order))
    keyframes = np.array([i for i, p in enumerate(packets) if p.is_keyframe], dtype=np.int64)
    if keyframes.size == 0 or keyframes[0] != 0:
        keyframes = np.concatenate([[0], keyframes]).astype(np.int64)
    rate = stream.average_rate or stream.guessed_rate
    # AVI (e.g. MPEG-4 part 2 with packed B-frames) stores timestamps the decoder does not
    # return in display order; decord then numbers frames by output order, and so do we
    sequential = 'avi' in container.format.name.split(',')
    return SparseVideo(filename=filename, container=container, stream=stream, packets=packets,
                       frame_pts=pts[order], packet_frame=packet_frame,
                       keyframe_packets=keyframes, avg_fps=float(rate) if rate else 0.0,
                       sequential=sequential)


def _start_packet(video: SparseVideo, frame_index: int) -> int:
    """Position of the keyframe packet to start decoding ``frame_index`` from: the last
    keyframe (decode order) displayed at or before that frame."""
    keys = video.keyframe_packets
    shown = video.packet_frame[keys]
    candidates = keys[shown <= frame_index]
    return int(candidates[-1]) if candidates.size else 0


def decode_sparse(video: SparseVideo, frame_inds, skip_nonref: bool = True) -> list:
    """Decode the frames ``frame_inds`` (decord's numbering) as RGB ``uint8`` arrays.

    One forward pass over the sorted unique indices: start at the keyframe of the first,
    jump to a later keyframe when the next sampled frame is past it (the decoder is drained
    and flushed; the packets are already in memory), stop after the last. With
    ``skip_nonref`` the decoder drops the non-reference frames that are not sampled.
    Only sampled frames are converted to RGB.

    Args:
        video (SparseVideo): From :func:`open_sparse_video`.
        frame_inds (array-like): Frame indices, any order, repeats allowed.
        skip_nonref (bool): Skip unsampled non-reference frames. Defaults to True.

    Returns:
        list[np.ndarray]: ``(H, W, 3)`` frames in the order of ``frame_inds`` (repeated
        indices get their own copy, so in-place transforms stay independent).

    Raises:
        IndexError: An index is outside ``[0, len(video))`` (names the file).
        RuntimeError: A sampled frame could not be decoded (names the file).
    """
    inds = np.asarray(frame_inds, dtype=np.int64).reshape(-1)
    total = len(video)
    if inds.size == 0:
        return []
    if inds.min() < 0 or inds.max() >= total:
        raise IndexError(f'{video.filename}: frame indices {inds.min()}..{inds.max()} outside '
                         f'the video (0..{total - 1})')
    wanted = np.unique(inds)  # sorted
    decoded = None
    if not video.sequential:
        try:
            decoded = _decode_by_pts(video, wanted, skip_nonref)
        except _OutOfOrder:
            video.sequential = True  # decode again, numbering frames by output order
    if decoded is None or len(decoded) < len(wanted):
        # a sampled frame never came out under its timestamp: number by output order
        decoded = _decode_sequential(video, wanted)
    missing = [int(i) for i in wanted if int(i) not in decoded]
    if missing:
        raise _named_error(video.filename, 'decode the sampled frames with PyAV',
                           detail=f'frames {missing[:8]} of {total} could not be decoded')
    out, used = [], set()
    for i in inds.tolist():
        frame = decoded[i]
        out.append(frame.copy() if i in used else frame)
        used.add(i)
    return out


class _OutOfOrder(Exception):
    """The decoder's frame timestamps do not follow the packets' (e.g. AVI with packed
    B-frames): frames must be numbered by output order instead."""


def _guarded(video: SparseVideo, action: str):
    """Run a decoding loop, re-raising codec errors with the file name."""
    class _Guard:
        def __enter__(self):
            return self

        def __exit__(self, kind, err, tb):
            try:
                video.stream.codec_context.skip_frame = 'DEFAULT'
            except Exception:  # noqa: BLE001 (a closed codec: nothing to reset)
                pass
            if err is None or isinstance(err, (_OutOfOrder, RuntimeError)):
                return False
            raise _named_error(video.filename, action, err) from err
    return _Guard()


def _decode_by_pts(video: SparseVideo, wanted: np.ndarray, skip_nonref: bool) -> dict:
    """Decode ``wanted`` (sorted unique frame indices) identifying frames by timestamp."""
    wanted_pts = {int(video.frame_pts[i]): int(i) for i in wanted}
    known_pts = set(video.frame_pts.tolist())
    packet_is_wanted = np.isin(video.packet_frame, wanted)
    starts = {int(i): _start_packet(video, int(i)) for i in wanted}
    codec = video.stream.codec_context
    decoded: dict[int, np.ndarray] = {}
    stats = video.stats = dict(mode='pts', packets_sent=0, frames_out=0, frames_converted=0,
                               jumps=0)
    last = [None]

    def collect(frames) -> None:
        for frame in frames:
            pts = frame.pts
            if pts is None or pts not in known_pts or (last[0] is not None and pts <= last[0]):
                raise _OutOfOrder
            last[0] = pts
            stats['frames_out'] += 1
            index = wanted_pts.get(pts)
            if index is not None:
                decoded[index] = frame.to_ndarray(format='rgb24')
                stats['frames_converted'] += 1

    def first_pending():
        return next((int(i) for i in wanted if int(i) not in decoded), None)

    with _guarded(video, 'decode the sampled frames with PyAV'):
        codec.flush_buffers()
        position = starts[int(wanted[0])]
        while position < len(video.packets):
            todo = first_pending()
            if todo is None:
                break
            if starts[todo] > position:
                # every earlier sampled frame is out: drain, reset and jump to the keyframe
                # of the next one (its packets are in memory; nothing is re-read)
                collect(codec.decode(None))
                codec.flush_buffers()
                last[0] = None
                if first_pending() != todo:
                    continue
                position = starts[todo]
                stats['jumps'] += 1
            packet = video.packets[position]
            if skip_nonref:
                codec.skip_frame = 'DEFAULT' if packet_is_wanted[position] else 'NONREF'
            stats['packets_sent'] += 1
            collect(codec.decode(packet))
            position += 1
        if first_pending() is not None:
            codec.skip_frame = 'DEFAULT'
            collect(codec.decode(None))  # drain the reorder buffer
    return decoded


def _decode_sequential(video: SparseVideo, wanted: np.ndarray) -> dict:
    """Decode from the first packet, frame ``i`` being the ``i``-th frame the decoder
    outputs (what decord returns when timestamps are unreliable)."""
    codec = video.stream.codec_context
    wanted_set = set(int(i) for i in wanted)
    last_wanted = int(wanted[-1])
    decoded: dict[int, np.ndarray] = {}
    stats = video.stats = dict(mode='sequential', packets_sent=0, frames_out=0,
                               frames_converted=0, jumps=0)

    def collect(frames) -> None:
        for frame in frames:
            index = stats['frames_out']
            stats['frames_out'] += 1
            if index in wanted_set:
                decoded[index] = frame.to_ndarray(format='rgb24')
                stats['frames_converted'] += 1

    with _guarded(video, 'decode the sampled frames with PyAV'):
        codec.skip_frame = 'DEFAULT'
        codec.flush_buffers()
        for packet in video.packets:
            if stats['frames_out'] > last_wanted:
                break
            stats['packets_sent'] += 1
            collect(codec.decode(packet))
        if stats['frames_out'] <= last_wanted:
            collect(codec.decode(None))
    return decoded


def _scale_boxes(results: dict, height: int, width: int) -> None:
    """Scale normalised AVA boxes to pixels as MMAction2's decode transforms do."""
    if 'gt_bboxes' in results:
        scale = np.array([width, height, width, height])
        results['gt_bboxes'] = (results['gt_bboxes'] * scale).astype(np.float32)
        if results.get('proposals') is not None:
            results['proposals'] = (results['proposals'] * scale).astype(np.float32)


def _frame_inds(results: dict) -> np.ndarray:
    inds = results['frame_inds']
    if inds.ndim != 1:
        inds = np.squeeze(inds)
        results['frame_inds'] = inds
    return inds


def _finish(results: dict, imgs: list) -> dict:
    results['imgs'] = imgs
    results['original_shape'] = imgs[0].shape[:2]
    results['img_shape'] = imgs[0].shape[:2]
    _scale_boxes(results, *imgs[0].shape[:2])
    return results


@TRANSFORMS.register_module()
class PyAVSparseInit(BaseTransform):
    """Open a video with PyAV and index its frames as decord does (replaces ``DecordInit``).

    Demuxes the video stream's packets (no decoding) and numbers the frames by sorted
    presentation timestamp, so ``total_frames`` equals decord's ``len(VideoReader)`` (less
    the frames an MP4 edit list discards, see the module docstring).

    Required keys: ``filename``. Added keys: ``video_reader`` (a :class:`SparseVideo`),
    ``total_frames``, ``avg_fps``.

    Args:
        num_threads (int): FFmpeg decode threads; keep 1 in DataLoader workers (the
            workers are the parallelism). Defaults to 1.

    Examples:
        >>> pipeline = [dict(type='PyAVSparseInit'),
        ...             dict(type='UMTSampleFrames', clip_len=8, style='kinetics'),
        ...             dict(type='PyAVSparseDecode')]
    """

    def __init__(self, num_threads: int = 1) -> None:
        if num_threads < 1:
            raise ValueError(f'num_threads must be >= 1, got {num_threads}')
        self.num_threads = num_threads

    def transform(self, results: dict) -> dict:
        """Open ``results['filename']``.

        Args:
            results (dict): Needs ``filename``.

        Returns:
            dict: With ``video_reader``, ``total_frames``, ``avg_fps``.
        """
        filename = results['filename']
        if osp.splitext(filename)[0] == filename:  # as DecordInit: a bare id means .mp4
            filename = filename + '.mp4'
        video = open_sparse_video(os.fspath(filename), self.num_threads)
        results['video_reader'] = video
        results['total_frames'] = len(video)
        results['avg_fps'] = video.avg_fps
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(num_threads={self.num_threads})'


@TRANSFORMS.register_module()
class PyAVSparseDecode(BaseTransform):
    """Decode the sampled frames in one forward pass, skipping what they do not need
    (replaces ``DecordDecode``; frames equal decord's).

    Required keys: ``video_reader`` (from :class:`PyAVSparseInit`), ``frame_inds``. Added
    keys: ``imgs``, ``original_shape``, ``img_shape`` (and AVA boxes scaled to pixels, as
    ``DecordDecode`` does).

    Args:
        skip_nonref (bool): Do not decode unsampled non-reference frames (FFmpeg's
            ``skip_frame=NONREF``). Defaults to True.
    """

    def __init__(self, skip_nonref: bool = True) -> None:
        self.skip_nonref = skip_nonref

    def transform(self, results: dict) -> dict:
        """Decode ``results['frame_inds']``.

        Args:
            results (dict): Needs ``video_reader`` and ``frame_inds``.

        Returns:
            dict: With ``imgs`` (a list of ``(H, W, 3)`` RGB ``uint8`` frames).
        """
        video = results['video_reader']
        if not isinstance(video, SparseVideo):
            raise TypeError(f"{results.get('filename', '<unknown file>')}: PyAVSparseDecode "
                            f'needs PyAVSparseInit before it, got a {type(video).__name__}')
        try:
            imgs = decode_sparse(video, _frame_inds(results), self.skip_nonref)
        finally:
            video.close()
            results['video_reader'] = None
        return _finish(results, imgs)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(skip_nonref={self.skip_nonref})'


@TRANSFORMS.register_module()
class DecordSparseDecode(BaseTransform):
    """``DecordDecode`` over the sorted unique indices (one forward pass), scattered back.

    decord's ``get_batch`` already skips (without converting) the frames between sorted
    indices; given unsorted indices (the concatenated clips of a multi-clip test pipeline)
    it seeks back to a keyframe for every clip. This transform asks for each frame once, in
    order. Frames and indices are decord's own.

    Required keys: ``video_reader`` (from ``DecordInit``), ``frame_inds``. Added keys:
    ``imgs``, ``original_shape``, ``img_shape`` (and AVA boxes in pixels).
    """

    def transform(self, results: dict) -> dict:
        """Decode ``results['frame_inds']``.

        Args:
            results (dict): Needs ``video_reader`` and ``frame_inds``.

        Returns:
            dict: With ``imgs``.
        """
        reader = results['video_reader']
        inds = _frame_inds(results)
        filename = results.get('filename', '<unknown file>')
        unique, inverse = np.unique(inds, return_inverse=True)
        if unique.size and (unique[0] < 0 or unique[-1] >= len(reader)):
            raise IndexError(f'{filename}: frame indices {unique[0]}..{unique[-1]} outside '
                             f'the video (0..{len(reader) - 1})')
        try:
            batch = reader.get_batch(unique.tolist()).asnumpy()
        except Exception as err:
            raise _named_error(filename, 'decode the sampled frames with decord', err) from err
        finally:
            results['video_reader'] = None
        seen = np.zeros(len(unique), dtype=bool)
        imgs = []
        for k in inverse.reshape(-1).tolist():
            imgs.append(batch[k].copy() if seen[k] else batch[k])
            seen[k] = True
        return _finish(results, imgs)
