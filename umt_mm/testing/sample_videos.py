"""The sample videos of ``demo/``: drawn people for the AVA demo, moving shapes for recognition.

Everything is drawn with OpenCV from closed-form trajectories (no randomness), so the files can
be regenerated anywhere with ``python tools/misc/make_sample_videos.py``; the encoder may give
other bytes, never other frame counts, sizes or boxes.

* ``demo_spatiotemporal_det.mp4``: two articulated figures in a room, 6 s at 25 fps, 320x240:
  the left one walks to the middle and waves, the right one waves, then sits down on a stool.
  ``demo_spatiotemporal_det_proposals.csv`` holds their boxes at every whole second (the key
  frames of ``tools/demo_spatiotemporal.py``) in the csv format of its ``--proposals``.
* ``demo.mp4``: four 2-s segments of the quickstart's motion classes (a disk moving right, a bar
  rotating clockwise, a disk approaching, a square moving up), 8 s at 25 fps, 320x240.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FPS = 25
WIDTH, HEIGHT = 320, 240
PEOPLE_VIDEO = 'demo_spatiotemporal_det.mp4'
PEOPLE_PROPOSALS = 'demo_spatiotemporal_det_proposals.csv'
RECOGNITION_VIDEO = 'demo.mp4'
PEOPLE_SECONDS = 6
RECOGNITION_SEGMENTS = ('moving_right', 'rotating_clockwise', 'approaching', 'moving_up')
SEGMENT_SECONDS = 2


@dataclass(frozen=True)
class SampleVideo:
    """A generated sample video.

    Args:
        path (Path): The video file.
        num_frames (int): Its frames.
        fps (int): Its frame rate.
        width (int): Frame width in pixels.
        height (int): Frame height in pixels.
    """

    path: Path
    num_frames: int
    fps: int
    width: int
    height: int


# ---------------------------------------------------------------------------------------------
# articulated figures

# segment lengths in units of the frame height
_TORSO, _HEAD, _UPPER_ARM, _FOREARM, _THIGH, _SHIN = 0.16, 0.04, 0.085, 0.08, 0.11, 0.11


@dataclass(frozen=True)
class Pose:
    """Joint angles of a figure, in radians from the downward vertical (positive: towards
    the figure's facing direction). Arms: shoulder and elbow; legs: hip and knee (the knee
    angle is relative to the thigh, negative bends the shin backwards)."""

    lean: float = 0.0
    arms: tuple[tuple[float, float], tuple[float, float]] = ((0.0, 0.0), (0.0, 0.0))
    legs: tuple[tuple[float, float], tuple[float, float]] = ((0.0, 0.0), (0.0, 0.0))


def _blend(a: Pose, b: Pose, w: float) -> Pose:
    def mix(x, y):
        return tuple(mix(u, v) for u, v in zip(x, y)) if isinstance(x, tuple) else (
            (1 - w) * x + w * y)
    return Pose(mix(a.lean, b.lean), mix(a.arms, b.arms), mix(a.legs, b.legs))


def _smooth(x: float) -> float:
    x = min(max(x, 0.0), 1.0)
    return x * x * (3 - 2 * x)


def _walk(phase: float) -> Pose:
    swing = 0.45 * math.sin(phase)
    knee = lambda s: -0.6 * max(0.0, -math.sin(s))  # noqa: E731 (the leg that swings back)
    return Pose(lean=0.06, arms=((-0.5 * swing, 0.3), (0.5 * swing, 0.3)),
                legs=((swing, knee(phase)), (-swing, knee(phase + math.pi))))


def _wave(phase: float, arm: int = 0) -> Pose:
    raised = (2.6, 0.35 * math.sin(phase))
    arms = (raised, (0.1, 0.1)) if arm == 0 else ((0.1, 0.1), raised)
    return Pose(arms=arms)


_SIT = Pose(lean=-0.1, arms=((0.5, 0.9), (0.4, 0.9)),
            legs=((math.pi / 2, -math.pi / 2), (math.pi / 2 - 0.1, -math.pi / 2 + 0.1)))
_STAND = Pose(arms=((0.1, 0.1), (-0.1, 0.1)))


def _direction(angle: float, facing: int) -> np.ndarray:
    return np.array([facing * math.sin(angle), math.cos(angle)])


def figure_joints(hip: Sequence[float], pose: Pose, facing: int, height: int) -> dict:
    """Image positions of a figure's joints.

    Args:
        hip (Sequence[float]): ``(x, y)`` of the hip in pixels.
        pose (Pose): Its joint angles.
        facing (int): 1 facing right, -1 facing left.
        height (int): The frame height the segment lengths are relative to.

    Returns:
        dict: ``hip, neck, head`` (head centre) and per side ``shoulder``, ``elbow``, ``hand``,
        ``knee``, ``foot`` as ``(x, y)`` arrays (sides are lists of two).
    """
    hip = np.asarray(hip, dtype=np.float64)
    neck = hip - _TORSO * height * _direction(pose.lean, facing)
    head = neck - 1.25 * _HEAD * height * _direction(pose.lean, facing)
    joints = dict(hip=hip, neck=neck, head=head, elbow=[], hand=[], knee=[], foot=[])
    for shoulder, elbow in pose.arms:
        e = neck + _UPPER_ARM * height * _direction(shoulder, facing)
        joints['elbow'].append(e)
        joints['hand'].append(e + _FOREARM * height * _direction(shoulder + elbow, facing))
    for thigh, knee in pose.legs:
        k = hip + _THIGH * height * _direction(thigh, facing)
        joints['knee'].append(k)
        joints['foot'].append(k + _SHIN * height * _direction(thigh + knee, facing))
    return joints


def _limb_width(height: int) -> int:
    return max(2, round(0.03 * height))


def figure_box(joints: dict, height: int) -> np.ndarray:
    """The pixel box ``(x1, y1, x2, y2)`` holding everything :func:`draw_figure` draws."""
    points = [joints['hip'], joints['neck']] + joints['elbow'] + joints['hand'] + \
        joints['knee'] + joints['foot']
    points = np.array(points)
    pad = round(1.8 * _limb_width(height)) / 2 + 1  # the torso's line is the widest
    head_r = _HEAD * height + 1
    x1 = min(points[:, 0].min() - pad, joints['head'][0] - head_r)
    y1 = min(points[:, 1].min() - pad, joints['head'][1] - head_r)
    x2 = max(points[:, 0].max() + pad, joints['head'][0] + head_r)
    y2 = max(points[:, 1].max() + pad, joints['head'][1] + head_r)
    return np.array([x1, y1, x2, y2])


def draw_figure(frame: np.ndarray, joints: dict, colours: dict, height: int) -> None:
    """Draw a figure (limbs as thick anti-aliased lines, a filled head) on an RGB frame."""
    import cv2
    shift, scale = 4, 16
    width = _limb_width(height)

    def pt(p):
        return int(round(p[0] * scale)), int(round(p[1] * scale))

    def line(a, b, colour, w=width):
        cv2.line(frame, pt(a), pt(b), colour, w, cv2.LINE_AA, shift)

    dark = {k: tuple(int(0.7 * c) for c in v) for k, v in colours.items()}
    # the far side first, darker
    line(joints['hip'], joints['knee'][1], dark['legs'])
    line(joints['knee'][1], joints['foot'][1], dark['legs'])
    line(joints['neck'], joints['elbow'][1], dark['shirt'])
    line(joints['elbow'][1], joints['hand'][1], dark['skin'])
    line(joints['hip'], joints['neck'], colours['shirt'], round(1.8 * width))  # torso
    line(joints['hip'], joints['knee'][0], colours['legs'])
    line(joints['knee'][0], joints['foot'][0], colours['legs'])
    line(joints['neck'], joints['elbow'][0], colours['shirt'])
    line(joints['elbow'][0], joints['hand'][0], colours['skin'])
    cv2.circle(frame, pt(joints['head']), int(_HEAD * height * scale), colours['skin'], -1,
               cv2.LINE_AA, shift)


_ROOM_FLOOR = 0.78  # floor line, in units of the frame height
_STOOL = (0.79, 0.93)  # x from, x to (units of the width)


def _room(width: int, height: int) -> np.ndarray:
    import cv2
    frame = np.empty((height, width, 3), np.uint8)
    floor = round(_ROOM_FLOOR * height)
    frame[:floor] = (196, 206, 214)  # wall
    frame[floor:] = (150, 128, 104)  # floor
    cv2.rectangle(frame, (round(0.08 * width), round(0.12 * height)),
                  (round(0.3 * width), round(0.4 * height)), (120, 160, 200), -1)  # window
    cv2.rectangle(frame, (round(_STOOL[0] * width), round(_seat_y(height))),
                  (round(_STOOL[1] * width), floor + round(0.02 * height)), (92, 64, 44), -1)
    return frame


def _standing_hip_y(height: int) -> float:
    return (_ROOM_FLOOR + 0.03 - _THIGH - _SHIN) * height  # the feet a little below the line


def _sitting_hip_y(height: int) -> float:
    return (_ROOM_FLOOR + 0.03 - _SHIN) * height  # thighs level, shins upright


def _seat_y(height: int) -> float:
    return _sitting_hip_y(height) + 0.015 * height


_PEOPLE_COLOURS = (dict(shirt=(200, 40, 40), legs=(40, 50, 110), skin=(232, 190, 160)),
                   dict(shirt=(40, 140, 60), legs=(70, 60, 50), skin=(170, 120, 90)))


def people_scene_state(t: float, width: int = WIDTH, height: int = HEIGHT) -> list:
    """The two figures at time ``t`` seconds.

    Person 0 walks from the left edge to the middle (0-3 s), turns towards the viewer's right
    and waves (3-6 s); person 1 stands facing left and waves (0-2 s), then sits down on the
    stool (2-3.5 s) and stays seated.

    Returns:
        list: ``(hip, pose, facing)`` per person.
    """
    stand_y = _standing_hip_y(height)
    # person 0
    x0, x1 = 0.1 * width, 0.45 * width
    if t < 3:
        hip = (x0 + (x1 - x0) * t / 3, stand_y - 0.01 * height * abs(math.sin(2 * math.pi * t)))
        pose0 = _walk(2 * math.pi * t)
    else:
        hip = (x1, stand_y)
        pose0 = _blend(_STAND, _wave(2 * math.pi * 1.5 * t), _smooth((t - 3) / 0.5))
    person0 = (hip, pose0, 1)
    # person 1, facing left, in front of the stool and then seated on its left end
    seat_x = _STOOL[0] * width + 0.04 * width
    sit = _smooth((t - 2) / 1.5)
    hip1 = (seat_x, stand_y + sit * (_sitting_hip_y(height) - stand_y))
    wave = _blend(_wave(2 * math.pi * 1.2 * t), _STAND, _smooth((t - 1.6) / 0.4))
    person1 = (hip1, _blend(wave, _SIT, sit), -1)
    return [person0, person1]


def render_people_scene(num_frames: int = PEOPLE_SECONDS * FPS, fps: int = FPS,
                        width: int = WIDTH, height: int = HEIGHT
                        ) -> tuple[np.ndarray, list[np.ndarray]]:
    """Render the two-person scene of ``demo_spatiotemporal_det.mp4``.

    Args:
        num_frames (int): Frames. Defaults to 150 (6 s).
        fps (int): Frame rate the motions are timed on. Defaults to 25.
        width (int): Frame width. Defaults to 320.
        height (int): Frame height. Defaults to 240.

    Returns:
        tuple: ``(T, H, W, 3)`` uint8 RGB frames and, per frame, the persons' pixel boxes
        ``(2, 4)`` (``x1, y1, x2, y2``, clipped to the frame).
    """
    room = _room(width, height)
    frames = np.empty((num_frames, height, width, 3), np.uint8)
    boxes = []
    for index in range(num_frames):
        frame = room.copy()
        frame_boxes = []
        for (hip, pose, facing), colours in zip(people_scene_state(index / fps, width, height),
                                                _PEOPLE_COLOURS):
            joints = figure_joints(hip, pose, facing, height)
            draw_figure(frame, joints, colours, height)
            frame_boxes.append(figure_box(joints, height))
        frames[index] = frame
        boxes.append(np.clip(np.array(frame_boxes), 0, [width, height, width, height]))
    return frames, boxes


def people_proposals(video_id: str = Path(PEOPLE_VIDEO).stem, seconds: int = PEOPLE_SECONDS,
                     fps: int = FPS, width: int = WIDTH, height: int = HEIGHT) -> list[str]:
    """Proposal rows of the people scene at every whole second with a frame.

    Returns:
        list[str]: ``video_id,timestamp,x1,y1,x2,y2,score`` rows (boxes normalised, 3
        decimals, widened outwards; score 1.0), the csv that ``--proposals`` reads.
    """
    rows = []
    for t in range(seconds):
        for hip, pose, facing in people_scene_state(t, width, height):
            x1, y1, x2, y2 = figure_box(figure_joints(hip, pose, facing, height), height)
            box = (math.floor(max(x1, 0) / width * 1000) / 1000,
                   math.floor(max(y1, 0) / height * 1000) / 1000,
                   math.ceil(min(x2, width) / width * 1000) / 1000,
                   math.ceil(min(y2, height) / height * 1000) / 1000)
            rows.append(f'{video_id},{t},' + ','.join(f'{v:.3f}' for v in box) + ',1.0')
    return rows


# ---------------------------------------------------------------------------------------------
# moving shapes

def render_motion_scene(segments: Sequence[str] = RECOGNITION_SEGMENTS,
                        seconds: int = SEGMENT_SECONDS, fps: int = FPS, width: int = WIDTH,
                        height: int = HEIGHT) -> np.ndarray:
    """Render ``demo.mp4``: one segment per motion class, a light object on a dark background.

    Args:
        segments (Sequence[str]): Motion classes of the quickstart (``moving_right``,
            ``moving_left``, ``moving_up``, ``moving_down``, ``rotating_clockwise``,
            ``rotating_counterclockwise``, ``approaching``, ``receding``), in order.
            Defaults to :data:`RECOGNITION_SEGMENTS`.
        seconds (int): Length of a segment. Defaults to 2.
        fps (int): Frame rate. Defaults to 25.
        width (int): Frame width. Defaults to 320.
        height (int): Frame height. Defaults to 240.

    Returns:
        np.ndarray: ``(len(segments) * seconds * fps, H, W, 3)`` uint8 RGB frames.
    """
    import cv2
    per = seconds * fps
    short = min(width, height)
    yy, xx = np.mgrid[0:height, 0:width]
    background = np.stack([30 + 20 * xx / width, 34 + 16 * yy / height,
                           48 + 0 * xx], -1).astype(np.uint8)
    colours = [(250, 200, 60), (90, 220, 250), (240, 110, 200), (160, 250, 120)]
    shift, scale = 4, 16

    def pt(x, y):
        return int(round(x * scale)), int(round(y * scale))

    drawers: dict[str, Callable[[np.ndarray, float, tuple], None]] = {}

    def linear(axis: int, sign: int, square: bool):
        def draw(frame, p, colour):
            r = 0.12 * short
            along = width if axis == 0 else height
            pos = r + 0.1 * along + (0.8 * along - 2 * r) * (p if sign > 0 else 1 - p)
            x, y = (pos, height / 2) if axis == 0 else (width / 2, pos)
            if square:
                cv2.rectangle(frame, pt(x - r, y - r), pt(x + r, y + r), colour, -1,
                              cv2.LINE_AA, shift)
            else:
                cv2.circle(frame, pt(x, y), int(r * scale), colour, -1, cv2.LINE_AA, shift)
        return draw

    def rotation(sign: int):
        def draw(frame, p, colour):
            angle = 0.2 + sign * p * 0.75 * math.pi  # clockwise on screen: y points down
            u = np.array([math.cos(angle), math.sin(angle)])
            n = np.array([-u[1], u[0]])
            c = np.array([width / 2, height / 2])
            corners = [c + a * 0.33 * short * u + b * 0.06 * short * n
                       for a, b in ((1, 1), (1, -1), (-1, -1), (-1, 1))]
            cv2.fillConvexPoly(frame, np.array([pt(*q) for q in corners], np.int32), colour,
                               cv2.LINE_AA, shift)
        return draw

    def scaling(grow: bool):
        def draw(frame, p, colour):
            r0, r1 = 0.07 * short, 0.38 * short
            radius = r0 * (r1 / r0) ** (p if grow else 1 - p)
            cv2.circle(frame, pt(width / 2, height / 2), int(radius * scale), colour, -1,
                       cv2.LINE_AA, shift)
        return draw

    drawers.update(moving_right=linear(0, 1, False), moving_left=linear(0, -1, False),
                   moving_down=linear(1, 1, True), moving_up=linear(1, -1, True),
                   rotating_clockwise=rotation(1), rotating_counterclockwise=rotation(-1),
                   approaching=scaling(True), receding=scaling(False))
    unknown = [s for s in segments if s not in drawers]
    if unknown:
        raise ValueError(f'unknown motion classes {unknown}; known: {sorted(drawers)}')
    frames = np.empty((len(segments) * per, height, width, 3), np.uint8)
    for k, name in enumerate(segments):
        for i in range(per):
            frame = background.copy()
            drawers[name](frame, i / (per - 1), colours[k % len(colours)])
            frames[k * per + i] = frame
    return frames


# ---------------------------------------------------------------------------------------------
# files

def write_mp4(path: str | Path, frames: np.ndarray, fps: float) -> None:
    """Write RGB ``frames`` as an MPEG-4 (OpenCV ``mp4v``) video.

    Args:
        path (str | Path): Output file; its folder is created.
        frames (np.ndarray): ``(T, H, W, 3)`` uint8 RGB.
        fps (float): Frame rate.

    Raises:
        RuntimeError: OpenCV has no ``mp4v`` encoder.
    """
    import cv2
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    height, width = frames.shape[1:3]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'mp4v'), fps, (width, height))
    if not writer.isOpened():
        raise RuntimeError(f'OpenCV cannot write {path} (no mp4v encoder)')
    try:
        for frame in frames:
            writer.write(np.ascontiguousarray(frame[..., ::-1]))
    finally:
        writer.release()


def make_sample_videos(out_dir: str | Path) -> dict[str, SampleVideo]:
    """Write the sample videos and the proposals file of ``demo/`` into ``out_dir``.

    Args:
        out_dir (str | Path): Output folder (created).

    Returns:
        dict: ``{'people': SampleVideo, 'recognition': SampleVideo, 'proposals': Path}``.
    """
    out_dir = Path(out_dir)
    frames, _ = render_people_scene()
    write_mp4(out_dir / PEOPLE_VIDEO, frames, FPS)
    people = SampleVideo(out_dir / PEOPLE_VIDEO, len(frames), FPS, WIDTH, HEIGHT)
    (out_dir / PEOPLE_PROPOSALS).write_text('\n'.join(people_proposals()) + '\n')
    frames = render_motion_scene()
    write_mp4(out_dir / RECOGNITION_VIDEO, frames, FPS)
    recognition = SampleVideo(out_dir / RECOGNITION_VIDEO, len(frames), FPS, WIDTH, HEIGHT)
    return dict(people=people, recognition=recognition, proposals=out_dir / PEOPLE_PROPOSALS)
