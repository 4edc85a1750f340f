"""A small motion-recognition video set whose classes depend on the order of the frames.

Eight classes in four time-reversed pairs: an object moving left / right, up / down, a bar
rotating clockwise / counter-clockwise and a disk approaching (growing) / receding
(shrinking). Every clip of one class, played backwards, is a valid clip of its partner
class with exactly the same frames, so a model that ignores the frame order (a mean of
per-frame features, a frame-shuffled input) cannot beat 50 % within a pair and its
accuracy is capped at 50 % overall (chance is 12.5 %); a video model that sees the order
can solve it. The videos are real mp4 files (OpenCV ``mp4v``) in MMAction2's
``VideoDataset`` layout, with ``path label`` list files and a label map.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

MOTION_CLASSES = ('moving_left', 'moving_right', 'moving_up', 'moving_down',
                  'rotating_clockwise', 'rotating_counterclockwise', 'approaching', 'receding')
"""Class names in label order (label ``i`` is ``MOTION_CLASSES[i]``)."""

TIME_REVERSED_CLASS = {0: 1, 1: 0, 2: 3, 3: 2, 4: 5, 5: 4, 6: 7, 7: 6}
"""The class a clip becomes when its frames are played backwards."""

# label -> (kind of motion, whether the clip is the backwards rendering of that kind)
_KIND = {0: ('horizontal', True), 1: ('horizontal', False), 2: ('vertical', True),
         3: ('vertical', False), 4: ('rotation', False), 5: ('rotation', True),
         6: ('scale', False), 7: ('scale', True)}
_OBJECT_MIN = 150  # every object channel maximum is >= this; the background stays below
_BACKGROUND_MAX = 70


def render_motion_clip(label: int, rng: np.random.Generator, num_frames: int = 16,
                       height: int = 64, width: int = 80) -> np.ndarray:
    """Render one clip of class ``label`` with random appearance and trajectory.

    The clip is rendered for the "forward" member of its pair (moving right, moving down,
    rotating clockwise, approaching) and reversed in time for the partner class, so the
    two classes share their distribution of single frames exactly.

    Args:
        label (int): Class index into :data:`MOTION_CLASSES`.
        rng (np.random.Generator): Source of the clip's appearance and trajectory.
        num_frames (int): Frames ``T`` (at least 4). Defaults to 16.
        height (int): Frame height in pixels. Defaults to 64.
        width (int): Frame width in pixels. Defaults to 80.

    Returns:
        np.ndarray: ``(T, H, W, 3)`` uint8 RGB frames.
    """
    import cv2
    if label not in _KIND:
        raise ValueError(f'label must be in 0..{len(MOTION_CLASSES) - 1}, got {label}')
    if num_frames < 4:
        raise ValueError(f'num_frames must be at least 4, got {num_frames}')
    kind, backwards = _KIND[label]
    short = min(height, width)
    # a static textured background (low-frequency colour blobs) plus per-frame sensor noise
    coarse = rng.integers(0, 45, size=(4, 5, 3)).astype(np.float32)
    background = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    noise = rng.normal(0, 6, size=(num_frames, height, width, 3))
    frames = np.clip(background[None] + 12 + noise, 0, _BACKGROUND_MAX).astype(np.uint8)
    colour = tuple(int(c) for c in rng.integers(_OBJECT_MIN + 20, 256, size=3))
    progress = np.linspace(0.0, 1.0, num_frames)
    progress = progress ** rng.uniform(0.7, 1.4)  # speed profiles differ between clips
    shift = 4  # sub-pixel precision of the OpenCV drawing calls
    scale = 1 << shift

    def point(x: float, y: float) -> tuple[int, int]:
        return int(round(x * scale)), int(round(y * scale))

    if kind in ('horizontal', 'vertical'):
        radius = rng.uniform(0.09, 0.14) * short
        along, across = (width, height) if kind == 'horizontal' else (height, width)
        start = rng.uniform(radius, 0.35 * along)
        end = rng.uniform(0.65 * along, along - radius)
        side = rng.uniform(radius + 2, across - radius - 2)
        square = bool(rng.integers(0, 2))
        for t, p in enumerate(progress):
            pos = start + p * (end - start)
            x, y = (pos, side) if kind == 'horizontal' else (side, pos)
            if square:
                cv2.rectangle(frames[t], point(x - radius, y - radius),
                              point(x + radius, y + radius), colour, -1, cv2.LINE_AA, shift)
            else:
                cv2.circle(frames[t], point(x, y), int(radius * scale), colour, -1,
                           cv2.LINE_AA, shift)
    elif kind == 'rotation':
        length = rng.uniform(0.55, 0.7) * short
        thick = rng.uniform(0.1, 0.14) * short
        cx = width / 2 + rng.uniform(-0.1, 0.1) * short
        cy = height / 2 + rng.uniform(-0.1, 0.1) * short
        angle0 = rng.uniform(0, math.pi)
        sweep = rng.uniform(0.45, 0.8) * math.pi  # clockwise on screen (y points down)
        for t, p in enumerate(progress):
            angle = angle0 + p * sweep
            u = np.array([math.cos(angle), math.sin(angle)])
            n = np.array([-u[1], u[0]])
            corners = [np.array([cx, cy]) + a * length / 2 * u + b * thick / 2 * n
                       for a, b in ((1, 1), (1, -1), (-1, -1), (-1, 1))]
            poly = np.array([point(*c) for c in corners], dtype=np.int32)
            cv2.fillConvexPoly(frames[t], poly, colour, cv2.LINE_AA, shift)
    else:  # scale: a disk that grows (approaching)
        r0 = rng.uniform(0.06, 0.1) * short
        r1 = rng.uniform(0.3, 0.4) * short
        cx = width / 2 + rng.uniform(-0.15, 0.15) * short
        cy = height / 2 + rng.uniform(-0.1, 0.1) * short
        for t, p in enumerate(progress):
            radius = r0 * (r1 / r0) ** p  # constant relative growth, as under perspective
            cv2.circle(frames[t], point(cx, cy), int(radius * scale), colour, -1,
                       cv2.LINE_AA, shift)
    return frames[::-1].copy() if backwards else frames


def estimate_motion(frames: np.ndarray) -> int:
    """Read the class off a clip with image moments (an oracle that needs the frame order).

    Per frame the bright object is segmented (any channel ``>=`` 110, halfway between the
    background and the object), and its area, centroid and orientation are measured. A
    clearly elongated object is a rotating bar (sign of the unwrapped angle change), a
    large relative change of area is a scale change, otherwise the larger centroid
    displacement gives the direction.

    Args:
        frames (np.ndarray): ``(T, H, W, 3)`` RGB frames in playing order.

    Returns:
        int: The estimated class index.
    """
    mask = frames.max(axis=-1) >= (_OBJECT_MIN + _BACKGROUND_MAX) // 2
    ys, xs = np.mgrid[0:frames.shape[1], 0:frames.shape[2]]
    area, cx, cy, angle, elongation = [], [], [], [], []
    for m in mask:
        a = float(m.sum())
        if a < 4:
            raise ValueError('no object found in a frame')
        x, y = float((xs * m).sum() / a), float((ys * m).sum() / a)
        mu20 = float((((xs - x) ** 2) * m).sum() / a)
        mu02 = float((((ys - y) ** 2) * m).sum() / a)
        mu11 = float((((xs - x) * (ys - y)) * m).sum() / a)
        spread = math.sqrt((mu20 - mu02) ** 2 + 4 * mu11 ** 2)
        lam1, lam2 = (mu20 + mu02 + spread) / 2, (mu20 + mu02 - spread) / 2
        area.append(a)
        cx.append(x)
        cy.append(y)
        angle.append(0.5 * math.atan2(2 * mu11, mu20 - mu02))
        elongation.append(math.sqrt(lam1 / max(lam2, 1e-6)))
    if np.median(elongation) > 2.5:
        steps = np.diff(angle)
        steps = (steps + math.pi / 2) % math.pi - math.pi / 2  # orientation is mod pi
        return 4 if steps.sum() > 0 else 5
    growth = math.log(area[-1] / area[0])
    if abs(growth) > 1.0:
        return 6 if growth > 0 else 7
    dx, dy = cx[-1] - cx[0], cy[-1] - cy[0]
    if abs(dx) >= abs(dy):
        return 1 if dx > 0 else 0
    return 3 if dy > 0 else 2


def write_video(path: str | Path, frames: np.ndarray, fps: int = 8) -> None:
    """Write RGB frames to an mp4 file with OpenCV's ``mp4v`` codec.

    Args:
        path (str | Path): Output ``.mp4`` path.
        frames (np.ndarray): ``(T, H, W, 3)`` uint8 RGB frames.
        fps (int): Frame rate. Defaults to 8.
    """
    import cv2
    path = Path(path)
    height, width = frames.shape[1:3]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'mp4v'), fps, (width, height))
    if not writer.isOpened():
        raise RuntimeError(f'OpenCV cannot write {path} (no mp4v encoder available)')
    for frame in frames:
        writer.write(np.ascontiguousarray(frame[..., ::-1]))  # RGB -> BGR
    writer.release()
    if not path.exists() or path.stat().st_size == 0:
        raise RuntimeError(f'OpenCV wrote no data to {path}')


def _check_read_back(path: Path, frames: np.ndarray) -> None:
    """Decode ``path`` with decord (what training uses) and compare it with ``frames``."""
    import decord
    try:
        reader = decord.VideoReader(str(path), num_threads=1)
        decoded = reader.get_batch(list(range(len(reader)))).asnumpy()
        problem = None if decoded.shape == frames.shape else f'shape {decoded.shape}'
        if problem is None and np.abs(decoded.astype(np.float32) - frames).mean() > 10:
            problem = 'different pixels'
    except Exception as err:  # decord raises its own DECORDError types
        problem = str(err).splitlines()[0]
    if problem:
        raise RuntimeError(
            f'decord does not read back {path} as written ({frames.shape[1]}x'
            f'{frames.shape[2]} px, {len(frames)} frames): {problem}; choose another '
            'frame size, e.g. the default 64x80')


def make_motion_video_dataset(root: str | Path,
                              num_train_per_class: int = 64,
                              num_val_per_class: int = 8,
                              num_test_per_class: int = 8,
                              num_frames: int = 16,
                              height: int = 64,
                              width: int = 80,
                              seed: int = 0,
                              progress: bool = True) -> dict[str, Path]:
    """Write the motion set in MMAction2's ``VideoDataset`` layout (idempotent).

    Files: ``videos/{split}_{class}_{k}.mp4``, ``{split}_list.txt`` (``name label`` lines,
    paths relative to ``videos/``) for the splits train / val / test, ``label_map.txt`` (one
    class name per line, line ``i`` is label ``i``) and ``dataset.json`` with the generation
    settings. A second call with the same settings finds ``dataset.json`` and every video and
    writes nothing.

    Args:
        root (str | Path): Output folder.
        num_train_per_class (int): Training videos per class. Defaults to 64.
        num_val_per_class (int): Validation videos per class. Defaults to 8.
        num_test_per_class (int): Held-out test videos per class. Defaults to 8.
        num_frames (int): Frames per video. Defaults to 16.
        height (int): Frame height (even, at least 32). decord 0.6.0 mis-decodes some
            small ``mp4v`` sizes (48x48), so the first video is read back and checked.
            Defaults to 64.
        width (int): Frame width. Defaults to 80.
        seed (int): Random seed; each split has its own stream. Defaults to 0.
        progress (bool): Report progress on stderr (a bar on a terminal, lines in a log).
            Defaults to True.

    Returns:
        dict[str, Path]: ``root``, ``videos``, ``train_list``, ``val_list``, ``test_list``
        and ``label_map``.
    """
    root = Path(root)
    video_dir = root / 'videos'
    counts = {'train': num_train_per_class, 'val': num_val_per_class,
              'test': num_test_per_class}
    if min(counts.values()) < 1:
        raise ValueError(f'every split needs at least one video per class, got {counts}')
    if height % 2 or width % 2 or min(height, width) < 32:
        raise ValueError(f'height and width must be even and at least 32, got {height}x{width}')
    settings = dict(classes=list(MOTION_CLASSES), counts=counts, num_frames=num_frames,
                    height=height, width=width, seed=seed)
    paths = {'root': root, 'videos': video_dir, 'label_map': root / 'label_map.txt'}
    paths.update({f'{split}_list': root / f'{split}_list.txt' for split in counts})
    lines = {split: [f'{split}_{name}_{k}.mp4 {label}'
                     for label, name in enumerate(MOTION_CLASSES) for k in range(count)]
             for split, count in counts.items()}
    stamp = root / 'dataset.json'
    if stamp.exists() and json.loads(stamp.read_text()) == settings and all(
            (video_dir / line.split()[0]).is_file() for split in lines for line in lines[split]):
        return paths

    video_dir.mkdir(parents=True, exist_ok=True)
    total = sum(len(v) for v in lines.values())
    bar = None
    if progress:
        from umt_mm.engine.progress import ProgressReporter
        print(f'writing {total} motion videos to {video_dir}', flush=True)
        bar = ProgressReporter(total, what='videos')
    for offset, split_lines in enumerate(lines.values()):
        rng = np.random.default_rng([seed, offset])
        for line in split_lines:
            name, label = line.split()
            frames = render_motion_clip(int(label), rng, num_frames, height, width)
            write_video(video_dir / name, frames)
            if offset == 0 and line == split_lines[0]:
                _check_read_back(video_dir / name, frames)
            if bar is not None:
                bar.update()
    if bar is not None:
        bar.finish()
    for split, split_lines in lines.items():
        paths[f'{split}_list'].write_text('\n'.join(split_lines) + '\n')
    paths['label_map'].write_text('\n'.join(MOTION_CLASSES) + '\n')
    stamp.write_text(json.dumps(settings, indent=1) + '\n')
    return paths
