"""tools/data/reencode_videos.py and extract_frames.py round-trip real videos."""
import subprocess

import numpy as np
import pytest

from umt_mm.datasets.preparation.video_preparation import target_size
from umt_mm.datasets.transforms.decoding import decode_sparse, open_sparse_video

decord = pytest.importorskip('decord')


def _decord_frames(path):
    reader = decord.VideoReader(str(path), num_threads=1)
    return reader.get_batch(list(range(len(reader)))).asnumpy()


def test_target_size_keeps_small_videos_and_even_sizes():
    assert target_size(340, 256, 320) == (340, 256)  # never enlarged
    assert target_size(1280, 720, 320) == (568, 320)
    assert target_size(720, 1280, 320) == (320, 568)
    assert target_size(341, 257, None) == (340, 256)


def test_reencode_round_trip_and_resume(tmp_path, shared_data, repo_root, python):
    src = tmp_path / 'src'
    src.mkdir()
    (src / 'a').mkdir()
    (src / 'a' / 'test.mp4').symlink_to(shared_data / 'videos' / 'test.mp4')
    (src / 'part_0.mp4').symlink_to(shared_data / 'videos' / 'part_0.mp4')
    out = tmp_path / 'out'
    cmd = [python, 'tools/data/reencode_videos.py', str(src), str(out), '--short-side', '128',
           '--gop', '8', '--workers', '2']
    first = subprocess.run(cmd, cwd=repo_root, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr[-2000:]
    assert 're-encoded: 2 done, 0 already done' in first.stdout
    assert '2/2 videos' in first.stderr  # the progress line
    for rel, frames in (('a/test.mp4', 300), ('part_0.mp4', 32)):
        original = _decord_frames(shared_data / 'videos' / rel.split('/')[-1])
        again = _decord_frames(out / rel)
        assert len(again) == len(original) == frames
        assert again.shape[1:] == (128, 170, 3)
        video = open_sparse_video(str(out / rel))
        keys = video.packet_frame[video.keyframe_packets].tolist()
        assert keys == list(range(0, frames, 8))
        # the same frames, resized (content check: close to the resized original)
        import cv2
        for i in (0, frames // 2, frames - 1):
            small = cv2.resize(original[i], (170, 128), interpolation=cv2.INTER_AREA)
            assert np.abs(small.astype(float) - again[i]).mean() < 6, i
        # our decoder reads the re-encoded file exactly as decord does
        inds = np.array([1, frames // 3, frames - 2])
        assert np.array_equal(np.stack(decode_sparse(video, inds)), again[inds])
    mtime = (out / 'a' / 'test.mp4').stat().st_mtime_ns
    second = subprocess.run(cmd, cwd=repo_root, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0 and 're-encoded: 0 done, 2 already done' in second.stdout
    assert (out / 'a' / 'test.mp4').stat().st_mtime_ns == mtime
    assert not list(out.rglob('*.tmp*'))


def test_extract_frames_round_trip_list_and_resume(tmp_path, shared_data, repo_root, python):
    videos = shared_data / 'videos'
    ann = tmp_path / 'list.txt'
    ann.write_text('part_0.mp4 3\npart_1.mp4 5\nmissing.mp4 1\n')
    out = tmp_path / 'frames'
    cmd = [python, 'tools/data/extract_frames.py', str(ann), str(out), '--root', str(videos),
           '--workers', '1', '--list-out', str(tmp_path / 'rawframes.txt')]
    first = subprocess.run(cmd, cwd=repo_root, capture_output=True, text=True, timeout=300)
    assert first.returncode == 1  # the missing video is reported, the others are done
    assert 'extracted: 2 done, 0 already done (skipped), 1 failed' in first.stdout
    assert 'missing.mp4' in first.stderr
    files = sorted((out / 'part_0').iterdir())
    assert [f.name for f in files[:2]] == ['img_00001.jpg', 'img_00002.jpg'] and len(files) == 32
    assert (tmp_path / 'rawframes.txt').read_text() == 'part_0 32 3\npart_1 32 5\n'
    import cv2
    original = _decord_frames(videos / 'part_0.mp4')
    for i in (0, 31):
        img = cv2.imread(str(out / 'part_0' / f'img_{i + 1:05d}.jpg'))[..., ::-1]
        assert img.shape == (256, 340, 3)
        assert np.abs(img.astype(float) - original[i]).mean() < 2.0  # JPEG quality 95
    mtime = files[0].stat().st_mtime_ns
    second = subprocess.run(cmd, cwd=repo_root, capture_output=True, text=True, timeout=300)
    assert 'extracted: 0 done, 2 already done (skipped), 1 failed' in second.stdout
    assert files[0].stat().st_mtime_ns == mtime
    assert (tmp_path / 'rawframes.txt').read_text() == 'part_0 32 3\npart_1 32 5\n'


@pytest.mark.parametrize('tool', ['extract_frames.py', 'reencode_videos.py'])
def test_two_videos_with_one_output_are_refused(tool, tmp_path, shared_data, repo_root, python):
    """``test.mp4`` and ``test.avi`` would share ``test/`` (or ``test.mp4``): the run stops
    before any work and names both, instead of one video silently getting the other's frames."""
    ann = tmp_path / 'list.txt'
    ann.write_text('part_0.mp4 0\ntest.mp4 1\ntest.avi 2\n')
    out = tmp_path / 'out'
    result = subprocess.run(
        [python, f'tools/data/{tool}', str(ann), str(out), '--root',
         str(shared_data / 'videos'), '--workers', '1'],
        cwd=repo_root, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert 'test.mp4 and test.avi -> test' in result.stderr
    assert str(ann) in result.stderr
    assert not out.exists() or not any(out.iterdir())
