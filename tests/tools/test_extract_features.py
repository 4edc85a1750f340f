"""tools/extract_features.py: backbone features per window, resume, bad videos, torchrun."""
import json
import os
import re

import numpy as np
import pytest
import torch
from mmengine.config import Config
from tool_helpers import (
    QUICKSTART,
    ROOT,
    load_tool,
    save_official_checkpoint,
    save_random_checkpoint,
)

extract = load_tool('extract_features')


@pytest.fixture(scope='module')
def tiny_checkpoint(tmp_path_factory):
    root = tmp_path_factory.mktemp('features')
    save_random_checkpoint(Config.fromfile(QUICKSTART).model, root / 'model.pth', seed=2)
    return root / 'model.pth'


@pytest.fixture
def video_folder(shared_data, tmp_path):
    """Links to two shared clips, one in a sub-folder (links, not copies)."""
    folder = tmp_path / 'videos'
    (folder / 'sub').mkdir(parents=True)
    (folder / 'part_0.mp4').symlink_to(shared_data / 'videos/part_0.mp4')
    (folder / 'sub/part_1.mp4').symlink_to(shared_data / 'videos/part_1.mp4')
    return folder


def backbone_features(checkpoint, video, tokens=False):
    """The recognizer's backbone on the test clip (1 clip, 1 crop) of the whole video."""
    from mmaction.apis import init_recognizer
    from mmengine.dataset import Compose, pseudo_collate

    from umt_mm.apis import inference_pipeline
    cfg = Config.fromfile(QUICKSTART)
    model = init_recognizer(cfg, str(checkpoint), device='cpu')
    packed = Compose(inference_pipeline(cfg, '1x1'))(
        dict(filename=str(video), label=-1, start_index=0, modality='RGB'))
    with torch.no_grad():
        inputs = model.data_preprocessor(pseudo_collate([packed]), False)['inputs'][:, 0]
        if tokens:
            model.backbone.output = 'feature_map'
        return model.backbone(inputs)[0]


def test_features_equal_the_backbone_output(shared_data, tiny_checkpoint, tmp_path):
    video = shared_data / 'videos/test.mp4'
    (tmp_path / 'list.txt').write_text('test.mp4\npart_0.mp4\n')
    for tokens in (False, True):
        out = tmp_path / ('tokens' if tokens else 'pooled')
        argv = [str(QUICKSTART), str(tiny_checkpoint), str(tmp_path / 'list.txt'), str(out),
                '--video-root', str(shared_data / 'videos'), '--device', 'cpu']
        assert extract.main(argv + (['--tokens', '--format', 'pt'] if tokens else [])) == 0
        expected = backbone_features(tiny_checkpoint, video, tokens)
        if tokens:
            feats = torch.load(out / 'test.pt')
            assert feats.shape == (1, 32, 4, 2, 2)  # (windows, D, T', H', W')
        else:
            feats = torch.from_numpy(np.load(out / 'test.npy'))
            assert feats.shape == (1, 32)
        torch.testing.assert_close(feats[0], expected, atol=1e-6, rtol=1e-5)
    manifest = json.loads((tmp_path / 'pooled/manifest.json').read_text())
    from umt_mm.apis import checkpoint_fingerprint
    assert manifest['checkpoint_fingerprint'] == checkpoint_fingerprint(tiny_checkpoint)
    assert manifest['options'] == dict(
        window=None, stride=None, views='1x1', tokens=False, format='npy', precision='fp32',
        backend='eager', checkpoint_fingerprint=checkpoint_fingerprint(tiny_checkpoint), config={})
    assert sorted(manifest['videos']) == ['part_0', 'test'] and manifest['failed'] == {}
    assert manifest['videos']['test']['windows'] == [
        dict(start_frame=0, end_frame=300, start_sec=0.0, end_sec=10.0)]


def test_windows_resume_and_bad_videos(tiny_checkpoint, video_folder, tmp_path, capsys):
    out = tmp_path / 'out'
    argv = [str(QUICKSTART), str(tiny_checkpoint), str(video_folder), str(out),
            '--window', '0.5', '--device', 'cpu']
    (video_folder / 'sub/part_1.mp4').rename(video_folder / 'sub/part_1.later')
    assert extract.main(argv) == 0  # "killed" after the first video
    first = out / 'part_0.npy'
    assert np.load(first).shape == (3, 32)  # 32 frames, 15-frame windows: 0, 15, 17
    meta = json.loads((out / 'part_0.json').read_text())
    assert [(w['start_frame'], w['end_frame']) for w in meta['windows']] == [
        (0, 15), (15, 30), (17, 32)]
    stamps = {p: os.stat(p).st_mtime_ns for p in (first, out / 'part_0.json')}
    (video_folder / 'sub/part_1.later').rename(video_folder / 'sub/part_1.mp4')
    (out / 'sub').mkdir()
    (out / 'sub/part_1.npy.tmp').write_bytes(b'half-written')  # left by the kill
    (video_folder / 'broken.mp4').write_text('not a video')
    capsys.readouterr()
    assert extract.main(argv) == 1  # one bad video: exit status 1
    log = capsys.readouterr()
    assert 'part_0: already done, skipped' in log.out
    assert 'broken: FAILED' in log.err
    assert log.err.rstrip().splitlines()[-1] == '[extract] FAILED 1 of 3 videos: broken'
    assert {p: os.stat(p).st_mtime_ns for p in stamps} == stamps  # not recomputed
    assert np.load(out / 'sub/part_1.npy').shape == (3, 32)
    manifest = json.loads((out / 'manifest.json').read_text())
    assert sorted(manifest['videos']) == ['part_0', 'sub/part_1']
    assert list(manifest['failed']) == ['broken']
    assert not (out / 'part_0.error.json').exists()


def test_two_processes_write_the_same_files_as_one(tiny_checkpoint, video_folder, tmp_path,
                                                   torchrun):
    (video_folder / 'test.mp4').symlink_to(
        os.path.realpath(video_folder / 'part_0.mp4').replace('part_0', 'test'))
    args = [str(QUICKSTART), str(tiny_checkpoint), str(video_folder)]
    opts = ['--window', '1', '--stride', '0.5', '--device', 'cpu']
    assert extract.main([*args, str(tmp_path / 'one'), *opts]) == 0
    run = torchrun(ROOT / 'tools/extract_features.py', *args, tmp_path / 'two', *opts)
    assert '[extract r1]' in run.stdout  # the second process did part of the work
    files = sorted(p.relative_to(tmp_path / 'one') for p in (tmp_path / 'one').rglob('*'))
    assert files == sorted(p.relative_to(tmp_path / 'two') for p in (tmp_path / 'two').rglob('*'))
    assert len([f for f in files if f.suffix == '.npy']) == 3
    for name in files:
        a, b = tmp_path / 'one' / name, tmp_path / 'two' / name
        if name.suffix == '.npy':
            np.testing.assert_allclose(np.load(a), np.load(b), rtol=1e-5, atol=1e-6)
        elif name.suffix == '.json':
            assert json.loads(a.read_text()) == json.loads(b.read_text())


TINY_PRETRAIN = """
default_scope = 'mmaction'
custom_imports = dict(imports=['umt_mm'], allow_failed_imports=False)
model = dict(
    type='UMTDistiller', align_dims=16, num_return_layers=2,
    encoder=dict(type='UMTVisionTransformer', img_size=32, num_frames=4,
                 arch=dict(embed_dims=32, depth=2, num_heads=2, mlp_ratio=2)),
    teacher=dict(type='CLIPVisionTeacher', input_resolution=32, num_return_layers=2,
                 arch=dict(patch_size=16, width=32, layers=2, heads=2, output_dim=16)),
    data_preprocessor=dict(type='ActionDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], format_shape='NCTHW'))
"""


def test_pretraining_checkpoint_gives_the_student_features(shared_data, tmp_path):
    """A UMTDistiller checkpoint (no teacher weights in it): the student's mean normed token
    of the default UMT test view (4 frames, short side 32, centre crop)."""
    from mmengine.dataset import Compose, pseudo_collate
    config = tmp_path / 'tiny_pretrain.py'
    config.write_text(TINY_PRETRAIN)
    model = save_random_checkpoint(Config.fromfile(config).model, tmp_path / 'pre.pth', seed=4)
    assert not any(k.startswith('teacher.') for k in torch.load(tmp_path / 'pre.pth')['state_dict'])
    (tmp_path / 'list.txt').write_text('part_1.mp4\n')
    assert extract.main([str(config), str(tmp_path / 'pre.pth'), str(tmp_path / 'list.txt'),
                         str(tmp_path / 'out'), '--video-root', str(shared_data / 'videos'),
                         '--device', 'cpu']) == 0
    feats = torch.from_numpy(np.load(tmp_path / 'out/part_1.npy'))
    from umt_mm.apis.video_windows import default_test_pipeline
    packed = Compose(default_test_pipeline(4, 32))(dict(
        filename=str(shared_data / 'videos/part_1.mp4'), label=-1, start_index=0,
        modality='RGB'))
    with torch.no_grad():
        inputs = model.data_preprocessor(pseudo_collate([packed]), False)['inputs'][:, 0]
        tokens, _ = model.encoder.embed(inputs)
        tokens, _ = model.encoder._run_blocks(tokens)
        expected = model.encoder.norm(tokens).mean(1)[0]
    assert feats.shape == (1, 32)
    torch.testing.assert_close(feats[0], expected, atol=1e-6, rtol=1e-5)


def test_resume_with_other_options_recomputes(tiny_checkpoint, video_folder, tmp_path,
                                              capsys):
    """Files written with other options (window, format, checkpoint) are recomputed on a
    rerun, with the reason printed; the same options skip them."""
    out = tmp_path / 'out'
    base = [str(QUICKSTART), str(tiny_checkpoint), str(video_folder), str(out), '--device',
            'cpu']
    assert extract.main(base + ['--window', '0.5']) == 0
    assert np.load(out / 'part_0.npy').shape == (3, 32)
    capsys.readouterr()
    assert extract.main(base + ['--window', '1']) == 0
    log = capsys.readouterr().out
    assert ('part_0: recomputing, written with other options (window: 0.5 -> 1.0)' in log)
    assert np.load(out / 'part_0.npy').shape == (2, 32)  # 32 frames, 30-frame windows
    meta = json.loads((out / 'part_0.json').read_text())
    assert meta['options']['window'] == 1.0
    assert [(w['start_frame'], w['end_frame']) for w in meta['windows']] == [(0, 30), (2, 32)]
    # another checkpoint: recomputed too
    other = tmp_path / 'other.pth'
    save_random_checkpoint(Config.fromfile(QUICKSTART).model, other, seed=7)
    capsys.readouterr()
    assert extract.main([str(QUICKSTART), str(other), *base[2:], '--window', '1']) == 0
    log = capsys.readouterr().out
    assert 'part_0: recomputing, written with other options (checkpoint_fingerprint:' in log
    capsys.readouterr()
    assert extract.main([str(QUICKSTART), str(other), *base[2:], '--window', '1']) == 0
    assert 'part_0: already done, skipped' in capsys.readouterr().out
    manifest = json.loads((out / 'manifest.json').read_text())
    assert sorted(manifest['videos']) == ['part_0', 'sub/part_1']


def test_unconverted_official_checkpoint_names_the_converter(video_folder, tmp_path):
    from umt_mm.converters.checkpoint_layouts import CheckpointMismatchError
    official = save_official_checkpoint(Config.fromfile(QUICKSTART).model,
                                        tmp_path / 'official.pth')
    with pytest.raises(CheckpointMismatchError,
                       match=r'(?s)official UMT finetuning layout.*python '
                       r'tools/convert_umt_checkpoint.py .*official.pth .* --kind finetune '
                       r'--strict.*pass --non-strict'):
        extract.main([str(QUICKSTART), str(official), str(video_folder),
                      str(tmp_path / 'out'), '--device', 'cpu'])
    assert not list((tmp_path / 'out').glob('*.npy'))


def test_options_that_need_another_fail_at_parse_time(video_folder, capsys):
    with pytest.raises(SystemExit) as exit_info:
        extract.parse_args(['c.py', 'k.pth', str(video_folder), 'out', '--stride', '1'])
    assert exit_info.value.code == 2
    assert '--stride needs --window' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        extract.parse_args(['c.py', 'k.pth', str(video_folder), 'out', '--video-root', 'x'])
    assert '--video-root applies to a list file' in capsys.readouterr().err


def _fp32_features(checkpoint, video_folder, out, capsys):
    """The tool's base arguments (one-second windows into ``out``) and part_0's fp32
    features, written by a first run (its output read off)."""
    base = [str(QUICKSTART), str(checkpoint), str(video_folder), str(out), '--device',
            'cpu', '--window', '1']
    assert extract.main(base + ['--precision', 'fp32']) == 0
    fp32 = np.load(out / 'part_0.npy')
    capsys.readouterr()
    return base, fp32


def _assert_int8_recorded_and_close(out, fp32, backend: str) -> None:
    meta = json.loads((out / 'part_0.json').read_text())
    assert (meta['options']['precision'], meta['options']['backend']) == ('int8', backend)
    int8 = np.load(out / 'part_0.npy')
    assert int8.shape == fp32.shape
    cosine = (fp32 * int8).sum() / np.linalg.norm(fp32) / np.linalg.norm(int8)
    assert cosine > 0.99


def test_precision_is_recorded_and_a_change_recomputes(tiny_checkpoint, video_folder,
                                                        tmp_path, capsys):
    """int8 features are recorded as such, close to fp32; switching back recomputes."""
    out = tmp_path / 'out'
    base, fp32 = _fp32_features(tiny_checkpoint, video_folder, out, capsys)
    threads = torch.get_num_threads()
    try:
        assert extract.main(base + ['--precision', 'int8', '--threads', '1']) == 0
    finally:
        torch.set_num_threads(threads)
    log = capsys.readouterr().out
    # int8 checked its output against fp32 (on the gate clip) before the first video
    assert re.search(r'\[extract r0\] precision int8 \(as asked; (\d+) of \1 weight layers in '
                     r'int8, output cosine to fp32 (0\.99\d+|1\.00000)\), backend eager, 1 thread',
                     log)
    assert "part_0: recomputing, written with other options (precision: 'fp32' -> 'int8')" in log
    _assert_int8_recorded_and_close(out, fp32, 'eager')
    with pytest.raises(SystemExit):
        extract.parse_args(base + ['--precision', 'fp16'])


def test_openvino_int8_features_calibrate_on_the_first_clips(tiny_checkpoint, video_folder,
                                                             tmp_path, capsys):
    """The OpenVINO backend through the tool: int8 calibrated on the first windows it sees,
    recorded as such, close to fp32."""
    pytest.importorskip('openvino', reason='the openvino extra is not installed')
    out = tmp_path / 'out'
    base, fp32 = _fp32_features(tiny_checkpoint, video_folder, out, capsys)
    assert extract.main(base + ['--precision', 'int8', '--backend', 'openvino']) == 0
    assert 'precision int8 (as asked), backend openvino' in capsys.readouterr().out
    _assert_int8_recorded_and_close(out, fp32, 'openvino')
