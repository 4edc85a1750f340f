"""AVA at the reference's frame rate: 25-fps frame folders and the sampler's window on them."""
import hashlib
import importlib.util
import json
import math
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from umt_mm.datasets.preparation.ava_frames import (
    FpsFrameSelector,
    extract_ava_frames,
    reference_frame_size,
)

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def video(shared_data) -> Path:
    """A real 10 s, 30-fps, 340x256 video standing for an AVA movie."""
    return shared_data / 'videos/test.mp4'


def decode_all(path: Path):
    """The stream's time base and every frame."""
    import av
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return stream.time_base, list(container.decode(stream))


def test_reference_frame_size_is_alphaction_rule():
    assert reference_frame_size(1920, 1080) == (640, 360)
    assert reference_frame_size(1280, 720) == (640, 360)
    assert reference_frame_size(720, 1280) == (360, 640)
    assert reference_frame_size(854, 480) == (640, 360)  # 640.5 -> even 640
    assert reference_frame_size(1000, 701) == (514, 360)  # 513.55 -> even 514
    assert reference_frame_size(340, 256) == (340, 256)  # small: unchanged
    assert reference_frame_size(639, 360) == (639, 360)  # short side 360: unchanged
    with pytest.raises(ValueError, match='invalid frame size'):
        reference_frame_size(0, 10)


@pytest.mark.parametrize('shift_ms', [0, 21, 30])
def test_frame_choice_equals_ffmpeg_fps_filter(video, shift_ms):
    """FFmpeg's own fps filter (through PyAV's filter graph) picks the same source frames,
    also when the first frame falls after the first 25-fps slot (the output starts late)."""
    import av
    time_base, frames = decode_all(video)
    digests = [hashlib.md5(f.to_ndarray().tobytes()).hexdigest() for f in frames]
    shift = round(Fraction(shift_ms, 1000) / time_base)
    graph = av.filter.Graph()
    src = graph.add_buffer(width=frames[0].width, height=frames[0].height,
                           format=frames[0].format.name, time_base=time_base)
    fps = graph.add('fps', 'fps=25')
    sink = graph.add('buffersink')
    src.link_to(fps)
    fps.link_to(sink)
    graph.configure()
    outputs = []

    def pull():
        while True:
            try:
                outputs.append(graph.pull())
            except (av.BlockingIOError, av.EOFError):
                return

    for frame in frames:
        frame.pts += shift
        graph.push(frame)
        pull()
    graph.push(None)
    pull()
    ffmpeg = [digests.index(hashlib.md5(o.to_ndarray().tobytes()).hexdigest()) for o in outputs]

    selector = FpsFrameSelector(25)
    ours = []
    for i, frame in enumerate(frames):
        ours += list(selector.push(frame.pts * time_base, i))
    ours += list(selector.flush(frames[-1].pts * time_base + Fraction(1, 30)))
    assert [slot for slot, _ in ours] == list(range(len(ours)))
    assert [i for _, i in ours] == ffmpeg
    assert len(ffmpeg) == 250  # 10 s at 25 fps
    assert selector.first_slot == (0 if shift_ms < 20 else 1)


def test_prepare_gives_25_frames_per_second_and_skips_finished_work(video, tmp_path):
    import cv2
    seconds = []
    report = extract_ava_frames(video, tmp_path, start_sec=2, end_sec=5,
                                on_second=seconds.append)
    frame_dir = tmp_path / 'test'
    assert report.status == 'done' and report.size == (340, 256)  # short side 256 <= 360
    assert report.num_frames == 100 and report.mismatched == {} and sum(seconds) == 4
    names = sorted(p.name for p in frame_dir.glob('img_*.jpg'))
    assert names == [f'img_{i:05d}.jpg' for i in range(1, 101)]
    done = json.loads((frame_dir / 'frames.json').read_text())
    assert done['frames_per_second'] == {str(s): 25 for s in range(2, 6)}
    assert not (frame_dir / '.progress').exists()
    # frame j shows source frame i = the last with round(25 * t_i) <= j, t from second 2:
    # 30 -> 25 fps drops every sixth frame
    _, frames = decode_all(video)
    for j, i in ((0, 60), (2, 62), (3, 64), (5, 66), (37, 104), (99, 179)):
        # slot of source frame k (from second 2): floor(25 * k / 30 + 1/2)
        assert max(k for k in range(120) if math.floor(Fraction(5 * k, 6) + Fraction(1, 2))
                   <= j) + 60 == i
        img = cv2.imread(str(frame_dir / f'img_{j + 1:05d}.jpg'))[..., ::-1].astype(float)
        diffs = [np.abs(frames[k].to_ndarray(format='rgb24') - img).mean()
                 for k in (i - 1, i, i + 1)]
        assert img.shape == (256, 340, 3)
        assert diffs[1] < 2.0 and diffs[1] < min(diffs[0], diffs[2]), (j, diffs)
    # a rerun skips the finished video
    mtimes = {p: p.stat().st_mtime_ns for p in frame_dir.iterdir()}
    again = extract_ava_frames(video, tmp_path, start_sec=2, end_sec=5)
    assert again.status == 'skipped' and again.num_frames == 100
    assert {p: p.stat().st_mtime_ns for p in frame_dir.iterdir()} == mtimes
    with pytest.raises(ValueError, match='other settings'):
        extract_ava_frames(video, tmp_path, start_sec=2, end_sec=5, fps=30)


def test_interrupted_preparation_resumes_at_the_first_unfinished_second(video, tmp_path):
    full = extract_ava_frames(video, tmp_path / 'full', start_sec=1, end_sec=6)
    assert full.num_frames == 150
    part = tmp_path / 'part' / 'test'
    extract_ava_frames(video, tmp_path / 'part', start_sec=1, end_sec=6)
    # as if stopped in second 4: seconds 1-3 recorded, second 4 half written, 5-6 missing
    lines = (part / '.progress').read_text() if (part / '.progress').exists() else None
    assert lines is None  # a finished video keeps no progress file
    settings = json.loads((part / 'frames.json').read_text())['settings']
    (part / 'frames.json').unlink()
    (part / '.progress').write_text(json.dumps(dict(settings=settings)) + '\n1 25\n2 25\n3 25\n')
    for j in range(88, 151):
        (part / f'img_{j:05d}.jpg').unlink()
    kept = {j: (part / f'img_{j:05d}.jpg').stat().st_mtime_ns for j in range(1, 76)}
    report = extract_ava_frames(video, tmp_path / 'part', start_sec=1, end_sec=6)
    assert report.seconds_resumed == 3 and report.seconds_written == 3
    assert report.num_frames == 150 and report.mismatched == {}
    assert {j: (part / f'img_{j:05d}.jpg').stat().st_mtime_ns for j in range(1, 76)} == kept
    for j in range(1, 151):  # the same frames as an uninterrupted run, byte for byte
        name = f'img_{j:05d}.jpg'
        assert (part / name).read_bytes() == (tmp_path / 'full/test' / name).read_bytes(), name


def test_smaller_short_side_scales_to_even_sizes(video, tmp_path):
    report = extract_ava_frames(video, tmp_path, start_sec=0, end_sec=0, short_side=128)
    import cv2
    img = cv2.imread(str(tmp_path / 'test/img_00025.jpg'))
    assert report.size == (170, 128) and img.shape == (128, 170, 3)
    assert report.num_frames == 25 and not (tmp_path / 'test/img_00026.jpg').exists()


def load_tool():
    path = ROOT / 'tools/data/ava/prepare_ava_frames.py'
    spec = importlib.util.spec_from_file_location('prepare_ava_frames', path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def movie_folder(video: Path, tmp_path: Path) -> Path:
    movies = tmp_path / 'movies'
    movies.mkdir()
    os.symlink(video, movies / 'AbCd-123_x.mp4')
    (movies / 'notes.txt').write_text('not a video')
    return movies


def test_tool_reports_seconds_without_25_frames(video, tmp_path, capsys):
    tool = load_tool()
    out = tmp_path / 'frames'
    args = [str(movie_folder(video, tmp_path)), str(out), '--start-sec', '7', '--end-sec', '11',
            '--workers', '1']
    assert tool.main(args) == 0
    stdout = capsys.readouterr().out
    # the video ends after second 9: seconds 10 and 11 are reported
    assert 'WARNING AbCd-123_x: 2 seconds without 25 frames (second: frames) 10: 0, 11: 0' \
        in stdout
    summary = json.loads((out / 'prepare_report.json').read_text())
    assert summary['done'] == 1 and summary['videos'][0]['num_frames'] == 75
    assert summary['videos'][0]['mismatched'] == {'10': 0, '11': 0}
    assert len(list((out / 'AbCd-123_x').glob('img_*.jpg'))) == 75
    # a rerun skips the movie; --strict fails on the mismatch
    assert tool.main(args + ['--strict']) == 1
    assert '0 movies written, 1 already finished' in capsys.readouterr().out
    listed = tmp_path / 'list.txt'
    listed.write_text('AbCd-123_x.mkv\nmissing_id\n')
    assert tool.main(args + ['--list', str(listed)]) == 1
    assert 'NOT FOUND missing_id' in capsys.readouterr().out


@pytest.mark.slow
def test_tool_runs_as_a_script_with_worker_processes(video, tmp_path):
    movies = movie_folder(video, tmp_path)
    os.symlink(video, movies / 'second.mkv')
    out = tmp_path / 'frames'
    proc = subprocess.run(
        [sys.executable, str(ROOT / 'tools/data/ava/prepare_ava_frames.py'), str(movies),
         str(out), '--start-sec', '2', '--end-sec', '3', '--workers', '2'],
        capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert '2 movies written, 0 already finished, 0 failed' in proc.stdout
    for vid in ('AbCd-123_x', 'second'):
        assert len(list((out / vid).glob('img_*.jpg'))) == 50


def alphaction_clip(second_frames, timestamp: int, span: int = 300, num: int = 8,
                    rate: int = 8) -> list:
    """The reference's clip around ``timestamp`` from per-second frame lists.

    AlphAction's ``_decode_video_data``: the clips ``second_frames(t), second_frames(t+1),
    ...`` on the right and ``t-1, t-2, ...`` on the left until each side has ``span // 2``
    frames, trimmed to the same length, then ``TemporalCrop(num, rate, sparse=True)``.
    """
    right, sec = [], timestamp
    while len(right) < span // 2:
        right, sec = right + second_frames(sec), sec + 1
    left, sec = [], timestamp - 1
    while len(left) < span - span // 2:
        left, sec = second_frames(sec) + left, sec - 1
    n = min(len(left), len(right))
    frames = left[-n:] + right[:n]
    start = (len(frames) - num * rate) // 2 + (rate - 1) // 2
    idx = np.clip(np.arange(start, start + num * rate, rate), 0, len(frames) - 1)
    return [frames[i] for i in idx]


def reference_clip_frames(timestamp: int, start_sec: int = 895, fps: int = 25,
                          span: int = 300, num: int = 8, rate: int = 8) -> list[int]:
    """The reference's frames as indices into the 25-fps stream from ``start_sec``
    (:func:`alphaction_clip` on one-second clips of ``fps`` frames)."""
    return alphaction_clip(lambda sec: [(sec - start_sec) * fps + i for i in range(fps)],
                           timestamp, span, num, rate)


@pytest.mark.parametrize('timestamp', [902, 1000, 1798])
def test_sampler_at_25_fps_takes_the_reference_frames(timestamp):
    from umt_mm.datasets.ava import UMTSampleAVAFrames
    sampler = UMTSampleAVAFrames(8, 8)
    out = sampler(dict(timestamp=timestamp, timestamp_start=895, fps=25,
                       shot_info=(0, (1805 - 895) * 25), start_index=1))
    expected = reference_clip_frames(timestamp)
    key = 25 * (timestamp - 895)
    assert expected == [key + d for d in range(-29, 28, 8)]
    np.testing.assert_array_equal(out['frame_inds'], np.array(expected) + 1)  # img_00001 = 0
    # the window: -1.16 s ... +1.08 s around the key frame (30 fps: -0.97 s ... +0.9 s)
    assert ((expected[0] - key) / 25, (expected[-1] - key) / 25) == (-1.16, 1.08)


def test_config_samples_prepared_frames_around_the_key_frame(video, tmp_path):
    """The B/16 config's dataset settings on frames written by the preparation tool."""
    from mmengine.config import Config
    from mmengine.dataset import Compose

    import umt_mm  # noqa: F401
    cfg = Config.fromfile(ROOT / 'action_detection/configs/'
                          'umt-base-p16_k710-ft_16xb8-8x8x1-30e_ava22-rgb.py')
    ds = cfg.val_dataloader.dataset
    assert (ds.fps, ds.timestamp_start, ds.timestamp_end) == (25, 895, 1805)
    assert ds.data_prefix.img == 'data/ava/rawframes_25fps' and ds.start_index == 1
    # test.mp4 as seconds 895-903 of a movie (its second 0 is "second 895")
    extract_ava_frames(video, tmp_path, start_sec=0, end_sec=8)
    pipeline = Compose([cfg.clip_sampling, dict(type='RawFrameDecode')])
    results = pipeline(dict(frame_dir=str(tmp_path / 'test'), timestamp=897,
                            timestamp_start=ds.timestamp_start, fps=ds.fps,
                            shot_info=(0, 9 * 25), start_index=ds.start_index,
                            filename_tmpl='img_{:05}.jpg', modality='RGB'))
    assert results['frame_inds'].tolist() == [50 + d + 1 for d in range(-29, 28, 8)]
    assert len(results['imgs']) == 8 and results['imgs'][0].shape == (256, 340, 3)


def write_second_clips(video: Path, folder: Path, short_second: int | None = None,
                       first_second: int = 0) -> None:
    """AlphAction-style clips <second>.mp4 (25 fps, H.264) of a real video; one is short."""
    import av
    time_base, frames = decode_all(video)
    selector = FpsFrameSelector(25)
    stream_frames = []
    for frame in frames:
        stream_frames += [f for _, f in selector.push(frame.pts * time_base, frame)]
    stream_frames += [f for _, f in selector.flush(frames[-1].pts * time_base + Fraction(1, 30))]
    folder.mkdir(parents=True)
    for second in range(len(stream_frames) // 25):
        chunk = stream_frames[25 * second:25 * second + 25]
        if second == short_second:
            chunk = chunk[:-1]
        with av.open(str(folder / f'{first_second + second}.mp4'), 'w') as out:
            stream = out.add_stream('libx264', rate=25)
            stream.width, stream.height, stream.pix_fmt = 340, 256, 'yuv420p'
            for i, frame in enumerate(chunk):
                frame = frame.reformat(format='yuv420p')
                frame.pts, frame.time_base = i, Fraction(1, 25)
                for packet in stream.encode(frame):
                    out.mux(packet)
            for packet in stream.encode():
                out.mux(packet)


def test_clip_decode_reads_alphaction_second_clips_as_the_reference(video, tmp_path):
    """The reference's _decode_video_data + TemporalCrop(8, 8, sparse) on per-second clips,
    also when a clip has 24 frames (the concatenation, not the 25-fps grid, decides)."""
    import av
    from mmengine.dataset import Compose
    clips = tmp_path / 'clips' / 'vid'
    write_second_clips(video, clips, short_second=2)

    def decode(second):
        with av.open(str(clips / f'{second}.mp4')) as container:
            return [f.to_rgb().to_ndarray() for f in container.decode(video=0)]

    assert len(decode(2)) == 24 and len(decode(3)) == 25
    timestamp = 4
    # dense span 64: the same -29 ... +27 as the sparse 300
    expected = alphaction_clip(decode, timestamp, span=64)

    pipeline = Compose([dict(type='UMTSampleAVAFrames', clip_len=8, frame_interval=8),
                        dict(type='UMTAVAClipDecode')])
    out = pipeline(dict(frame_dir=str(clips), timestamp=timestamp, timestamp_start=0, fps=25,
                        shot_info=(0, 250), start_index=0))
    assert len(out['imgs']) == 8 and out['img_shape'] == (256, 340)
    for got, want in zip(out['imgs'], expected):
        np.testing.assert_array_equal(got, want)
    # offset -29 lies in clip 2 (24 frames): its frame 20, not the grid's frame 21
    np.testing.assert_array_equal(out['imgs'][0], decode(2)[24 + 25 - 29])
    with pytest.raises(FileNotFoundError, match=r'clips/vid/10\.mp4'):
        pipeline(dict(frame_dir=str(clips), timestamp=9, timestamp_start=0, fps=25,
                      shot_info=(0, 300), start_index=0))


def test_dataset_with_the_clip_pipeline_reads_the_reference_clips(video, shared_data, tmp_path):
    """UMTAVADataset + the configs' val_pipeline_clips on clips named by movie second."""
    from mmaction.registry import DATASETS
    from mmengine.config import Config
    cfg = Config.fromfile(ROOT / 'action_detection/configs/'
                          'umt-base-p16_k710-ft_16xb8-8x8x1-30e_ava22-rgb.py')
    write_second_clips(video, tmp_path / 'clips/0f39OWEqJ24', first_second=895)
    ava = shared_data / 'ava_sample'
    ds = DATASETS.build(dict(
        type='UMTAVADataset', ann_file=str(ava / 'ava_sample.csv'),
        label_file=str(ava / 'action_list.txt'), pipeline=cfg.val_pipeline_clips,
        data_prefix=dict(img=str(tmp_path / 'clips')), use_frames=True, start_index=0,
        fps=25, timestamp_start=895, timestamp_end=1805))
    idx = next(i for i in range(len(ds))
               if ds.get_data_info(i)['img_key'] == '0f39OWEqJ24,0903')
    packed = ds[idx]
    assert tuple(packed['inputs'].shape) == (3, 8, 256, 340)
    assert packed['data_samples'].gt_instances.bboxes.shape == (1, 4)


def test_prepared_clips_hold_25_frames_and_decode_to_the_same_frames(video, tmp_path):
    """--clips: AlphAction's <second>.mp4 files; through UMTAVAClipDecode they give the
    frames of the JPEG folders (same choice; the codecs differ)."""
    import av
    import cv2
    from mmengine.dataset import Compose
    clips = extract_ava_frames(video, tmp_path / 'clips', start_sec=0, end_sec=5,
                               output='clips', short_side=128)
    frames = extract_ava_frames(video, tmp_path / 'frames', start_sec=0, end_sec=5,
                                short_side=128)
    assert clips.num_frames == 150 and clips.mismatched == {} and clips.size == (170, 128)
    names = sorted(p.name for p in (tmp_path / 'clips/test').iterdir())
    assert names == ['0.mp4', '1.mp4', '2.mp4', '3.mp4', '4.mp4', '5.mp4', 'frames.json']
    for second in range(6):
        with av.open(str(tmp_path / f'clips/test/{second}.mp4')) as container:
            decoded = [f.to_ndarray(format='rgb24') for f in container.decode(video=0)]
        assert len(decoded) == 25 and decoded[0].shape == (128, 170, 3)
    again = extract_ava_frames(video, tmp_path / 'clips', start_sec=0, end_sec=5,
                               output='clips', short_side=128)
    assert again.status == 'skipped'
    pipeline = Compose([dict(type='UMTSampleAVAFrames'), dict(type='UMTAVAClipDecode')])
    out = pipeline(dict(frame_dir=str(tmp_path / 'clips/test'), timestamp=3,
                        timestamp_start=0, fps=25, shot_info=(0, 150), start_index=0))
    for img, j in zip(out['imgs'], range(75 - 29, 75 + 28, 8)):
        diffs = [np.abs(img.astype(float) - cv2.imread(
            str(tmp_path / f'frames/test/img_{k + 1:05d}.jpg'))[..., ::-1]).mean()
            for k in (j - 1, j, j + 1)]
        # H.264 (crf 23) at 170x128 vs JPEG: a few grey levels, but nearest to frame j
        assert diffs[1] < 6.0 and diffs[1] < min(diffs[0], diffs[2]), (j, diffs)
    assert frames.num_frames == 150
