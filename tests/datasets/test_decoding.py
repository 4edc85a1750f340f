"""Sparse decoders (PyAV, decord sorted-unique) against decord: same indices, same frames."""
import numpy as np
import pytest
from mmaction.registry import TRANSFORMS
from mmengine.dataset import Compose

from umt_mm.datasets.transforms.decoding import decode_sparse, open_sparse_video
from umt_mm.testing.kinetics_like_videos import write_kinetics_like_video

decord = pytest.importorskip('decord')

SHARED_VIDEOS = ('test.mp4', 'test.avi', 'part_0.mp4', 'demo_spatiotemporal_det.mp4')


@pytest.fixture(scope='module')
def generated(tmp_path_factory):
    """Kinetics-like clips: B-frames, a 12-frame GOP and a short final one (40 = 3x12 + 4),
    constant and variable frame rate, H.264 (bundled libx264) and MPEG-4 part 2."""
    folder = tmp_path_factory.mktemp('kinetics_like')
    out = {}
    for codec in ('libx264', 'mpeg4'):
        for vfr in (False, True):
            name = f'{codec}_{"vfr" if vfr else "cfr"}.mp4'
            write_kinetics_like_video(folder / name, num_frames=40, width=64, height=48, gop=12,
                                      bframes=2, variable_frame_rate=vfr, codec=codec, seed=3)
            out[name] = str(folder / name)
    return out


def _decord_sequential(path):
    """decord's frames in its own numbering, decoded front to back (its ground truth)."""
    reader = decord.VideoReader(path, num_threads=1)
    return reader.get_batch(list(range(len(reader)))).asnumpy()


def _index_sets(total, rng):
    return [np.arange(total), np.sort(rng.choice(total, 8, replace=False)),
            rng.choice(total, 12), np.array([total - 1, 0, total - 1, total // 2]),
            np.array([total - 1])]


def _check_video(path, rng, compare_get_batch=True):
    truth = _decord_sequential(path)
    assert len(open_sparse_video(path)) == len(truth)
    for inds in _index_sets(len(truth), rng):
        for skip in (True, False):
            frames = np.stack(decode_sparse(open_sparse_video(path), inds, skip_nonref=skip))
            assert frames.dtype == np.uint8 and frames.shape == truth[inds].shape
            assert np.array_equal(frames, truth[inds]), (path, inds, skip)
        if compare_get_batch and np.all(np.diff(inds) > 0):
            # (decord's own get_batch of unsorted indices can differ from its sequential
            # decode: on test.avi [163, 0, 163, 82] returns another frame 163)
            batch = decord.VideoReader(path, num_threads=1).get_batch(list(inds)).asnumpy()
            assert np.array_equal(batch, truth[inds])


@pytest.mark.parametrize('name', SHARED_VIDEOS)
def test_pyav_sparse_equals_decord_on_real_videos(name, shared_data):
    # on test.avi decord's own get_batch is not consistent with its sequential decode near
    # the end of the file (frame 163 differs from run to run), so ours is held to the
    # sequential decode only there
    _check_video(str(shared_data / 'videos' / name), np.random.default_rng(0),
                 compare_get_batch=not name.endswith('.avi'))


@pytest.mark.parametrize('name', ['libx264_cfr.mp4', 'libx264_vfr.mp4'])
def test_pyav_sparse_equals_decord_on_generated_h264(name, generated):
    video = open_sparse_video(generated[name])
    keyframes = video.packet_frame[video.keyframe_packets].tolist()
    assert keyframes == [0, 12, 24, 36]  # the short final GOP: 4 frames
    _check_video(generated[name], np.random.default_rng(1))


@pytest.mark.parametrize('name', ['mpeg4_cfr.mp4', 'mpeg4_vfr.mp4'])
def test_pyav_sparse_equals_decord_sequential_on_mpeg4(name, generated):
    # decord's sparse get_batch on MPEG-4 part 2 with B-frames in MP4 returns other frames
    # than its own sequential decode (its keyframe positions are counted in decode order);
    # ours equals the sequential decode
    _check_video(generated[name], np.random.default_rng(2), compare_get_batch=False)


def test_skipping_nonref_frames_decodes_less(shared_data):
    path = str(shared_data / 'videos' / 'test.mp4')
    inds = np.array([18, 55, 92, 130, 167, 204, 241, 279])
    stats = {}
    for skip in (True, False):
        video = open_sparse_video(path)
        decode_sparse(video, inds, skip_nonref=skip)
        stats[skip] = video.stats
    assert stats[True]['frames_converted'] == stats[False]['frames_converted'] == 8
    # test.mp4: 142 of its 300 frames are non-reference B-frames
    assert stats[True]['frames_out'] < 0.6 * stats[False]['frames_out']
    assert stats[True]['jumps'] == 1  # to the keyframe at 235 before frame 241


def _pipeline(init, decode, sampler):
    return Compose([TRANSFORMS.build(init), TRANSFORMS.build(sampler), TRANSFORMS.build(decode)])


@pytest.mark.parametrize('sampler', [
    dict(type='UMTSampleFrames', clip_len=8, style='kinetics', seed=5),
    dict(type='UMTSampleFrames', clip_len=8, style='tsn', seed=5),
    dict(type='UMTSampleFrames', clip_len=8, style='ssv2', num_clips=2, test_mode=True),
    dict(type='UMTSampleFrames', clip_len=4, style='kinetics', num_clips=4, test_mode=True)])
def test_transforms_match_decord_pipeline(sampler, shared_data):
    path = str(shared_data / 'videos' / 'test.mp4')
    reference = _pipeline(dict(type='DecordInit', num_threads=1), dict(type='DecordDecode'),
                          sampler)(dict(filename=path, start_index=0))
    for init, decode in ((dict(type='PyAVSparseInit'), dict(type='PyAVSparseDecode')),
                         (dict(type='DecordInit', num_threads=1),
                          dict(type='DecordSparseDecode'))):
        ours = _pipeline(init, decode, sampler)(dict(filename=path, start_index=0))
        assert ours['total_frames'] == reference['total_frames'] == 300
        assert np.array_equal(ours['frame_inds'], reference['frame_inds'])
        assert np.array_equal(np.stack(ours['imgs']), np.stack(reference['imgs']))
        assert ours['img_shape'] == reference['img_shape'] == (256, 340)
        assert ours['video_reader'] is None


def test_repeated_indices_are_independent_copies(shared_data):
    path = str(shared_data / 'videos' / 'part_0.mp4')
    frames = decode_sparse(open_sparse_video(path), [3, 3, 5])
    assert np.array_equal(frames[0], frames[1]) and frames[0] is not frames[1]
    frames[0][:] = 0
    assert frames[1].any()


def test_ava_boxes_are_scaled_like_decord(shared_data):
    path = str(shared_data / 'videos' / 'demo_spatiotemporal_det.mp4')
    boxes = np.array([[0.1, 0.2, 0.5, 0.6]], dtype=np.float32)
    out = {}
    for init, decode in ((dict(type='DecordInit'), dict(type='DecordDecode')),
                         (dict(type='PyAVSparseInit'), dict(type='PyAVSparseDecode'))):
        results = TRANSFORMS.build(init)(dict(filename=path, gt_bboxes=boxes.copy(),
                                              proposals=boxes.copy()))
        results['frame_inds'] = np.array([10, 20])
        out[init['type']] = TRANSFORMS.build(decode)(results)
    a, b = out['DecordInit'], out['PyAVSparseInit']
    np.testing.assert_allclose(b['gt_bboxes'], [[34, 51.2, 170, 153.6]], rtol=1e-6)
    np.testing.assert_array_equal(a['gt_bboxes'], b['gt_bboxes'])
    np.testing.assert_array_equal(a['proposals'], b['proposals'])


@pytest.mark.parametrize('kind', ['truncated', 'garbage', 'empty', 'missing'])
def test_bad_videos_fail_naming_the_file(kind, tmp_path, generated):
    path = tmp_path / f'bad_{kind}.mp4'
    data = open(generated['libx264_cfr.mp4'], 'rb').read()
    if kind == 'truncated':
        path.write_bytes(data[:len(data) // 3])
    elif kind == 'garbage':
        path.write_bytes(np.random.default_rng(0).bytes(4096))
    elif kind == 'empty':
        path.write_bytes(b'')
    pipeline = _pipeline(dict(type='PyAVSparseInit'), dict(type='PyAVSparseDecode'),
                         dict(type='UMTSampleFrames', clip_len=4, style='kinetics', seed=0))
    error = FileNotFoundError if kind == 'missing' else (RuntimeError, ValueError)
    with pytest.raises(error, match=str(path).replace('.', r'\.')):
        pipeline(dict(filename=str(path), start_index=0))


def test_out_of_range_index_names_the_file(generated):
    path = generated['libx264_cfr.mp4']
    with pytest.raises(IndexError, match='libx264_cfr.mp4.*0..39'):
        decode_sparse(open_sparse_video(path), [0, 40])


def test_sparse_repeat_aug_dataset_with_pyav(tmp_path, shared_data):
    from mmaction.registry import DATASETS
    ann = tmp_path / 'list.txt'
    ann.write_text('test.mp4 3\n')
    dataset = DATASETS.build(dict(
        type='SparseRepeatAugDataset', ann_file=str(ann), num_repeats=2, sample_once=True,
        data_prefix=dict(video=str(shared_data / 'videos')),
        pipeline=[dict(type='PyAVSparseInit'),
                  dict(type='UMTSampleFrames', clip_len=4, style='kinetics', seed=1),
                  dict(type='PyAVSparseDecode'), dict(type='Resize', scale=(40, 32),
                                                      keep_ratio=False),
                  dict(type='FormatShape', input_format='NCTHW'),
                  dict(type='PackActionInputs')]))
    samples = dataset[0]
    assert len(samples) == 2
    assert tuple(samples[0]['inputs'].shape) == (1, 3, 4, 32, 40)
    assert np.array_equal(samples[0]['inputs'].numpy(), samples[1]['inputs'].numpy())
    with pytest.raises(ValueError, match='SparseRepeatAugDataset needs'):
        DATASETS.build(dict(type='SparseRepeatAugDataset', ann_file=str(ann),
                            pipeline=[dict(type='UMTSampleFrames')]))


def _with_discarded_lead(src, dst, frames=2):
    """``src`` remuxed with its first ``frames`` frames before time 0: the MP4 muxer writes
    an edit list, the demuxer flags those packets as discard and decoders drop their frames
    (what a stream-copied cut, ``ffmpeg -ss T -c copy``, produces)."""
    import av
    with av.open(src) as inp:
        packets = [p for p in inp.demux(video=0) if p.dts is not None]
        step = min(b.pts - a.pts for a, b in zip(packets, packets[1:]) if b.pts > a.pts)
        with av.open(dst, 'w') as out:
            stream = out.add_stream_from_template(inp.streams.video[0])
            for packet in packets:
                packet.pts -= frames * step
                packet.dts -= frames * step
                packet.stream = stream
                out.mux(packet)
    return dst


def test_pyav_sparse_leaves_out_frames_an_edit_list_discards(generated, tmp_path):
    """The 2 leading frames an edit list discards are not numbered (FFmpeg never outputs
    them): 38 frames, each the presentation frame of its index, whatever is sampled (before,
    sampling a discarded frame and one of the last two stopped with 'could not be
    decoded'). decord counts 40 frames but decodes the same 38 front to back."""
    import av
    path = _with_discarded_lead(generated['libx264_cfr.mp4'], str(tmp_path / 'cut.mp4'))
    with av.open(path) as container:
        shown = np.stack([f.to_ndarray(format='rgb24') for f in container.decode(video=0)])
    assert len(shown) == 38
    video = open_sparse_video(path)
    assert len(video) == 38
    rng = np.random.default_rng(2)
    for inds in _index_sets(38, rng) + [np.array([0, 37]), np.array([1, 20, 36])]:
        for skip in (True, False):
            frames = np.stack(decode_sparse(open_sparse_video(path), inds, skip_nonref=skip))
            assert np.array_equal(frames, shown[inds]), (inds, skip)
    assert np.array_equal(_decord_sequential(path)[:38], shown)
