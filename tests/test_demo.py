"""tools/demo.py: top-5 labels for real videos and a labelled copy with the same frames."""
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / 'configs/quickstart/umt-tiny-p16-res64_scratch_1xb16-u8-16e_motion8-rgb.py'
_spec = importlib.util.spec_from_file_location('umt_demo', ROOT / 'tools/demo.py')
demo = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(demo)


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    """A checkpoint of the quickstart model (random weights) and its 8-class label map."""
    from mmaction.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    init_default_scope('mmaction')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(CONFIG).model)
    model.init_weights()
    out = tmp_path_factory.mktemp('demo')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, out / 'model.pth')
    names = [f'class {i}' for i in range(8)]
    (out / 'labels.txt').write_text('\n'.join(names) + '\n')
    return out / 'model.pth', out / 'labels.txt', names


def _frame_count(path: Path) -> int:
    import decord
    return len(decord.VideoReader(str(path), num_threads=1))


def test_cli_prints_top5_and_writes_a_playable_copy(shared_data, checkpoint, tmp_path):
    ckpt, labels, names = checkpoint
    video = shared_data / 'videos/test.mp4'
    out = tmp_path / 'labelled.mp4'
    result = subprocess.run(
        [sys.executable, 'tools/demo.py', str(video), str(CONFIG), str(ckpt),
         '--label-map', str(labels), '--out', str(out), '--views', '1x3'],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    ranked = re.findall(r'^\s+(\d)\. (class \d): ([0-9.]+)$', result.stdout, re.M)
    assert [int(r[0]) for r in ranked] == [1, 2, 3, 4, 5]
    assert len({r[1] for r in ranked}) == 5 and all(r[1] in names for r in ranked)
    scores = [float(r[2]) for r in ranked]
    assert scores == sorted(scores, reverse=True) and 0 < sum(scores) <= 1.0 + 1e-3
    assert out.stat().st_size > 0
    assert _frame_count(out) == _frame_count(video)


@pytest.mark.parametrize('fmt', ['avi', 'webm'])
def test_other_containers(fmt, shared_data, checkpoint, tmp_path, capsys, monkeypatch):
    ckpt, labels, _ = checkpoint
    video = shared_data / 'videos/test.avi'
    if fmt == 'webm':  # re-encode the avi as VP8 webm (what a browser would upload)
        out = tmp_path / 'input.webm'
        try:
            frames = demo.draw_labels(str(video), str(out), [])
        except RuntimeError as err:
            pytest.skip(f'OpenCV cannot write webm here: {err}')
        assert frames == _frame_count(video)
        video = out
    labelled = tmp_path / f'labelled.{fmt}'
    monkeypatch.setattr(sys, 'argv', ['demo.py', str(video), str(CONFIG), str(ckpt),
                                      '--label-map', str(labels), '--out', str(labelled),
                                      '--device', 'cpu'])
    demo.main()
    printed = capsys.readouterr().out
    assert len(re.findall(r'^\s+\d\. class \d: [0-9.]+$', printed, re.M)) == 5
    assert _frame_count(labelled) == _frame_count(video)


def test_views_change_the_test_pipeline():
    from mmengine.config import Config
    cfg = Config.fromfile(CONFIG)
    pipeline = demo.test_pipeline_cfg(cfg, '4x1')
    sampler = next(s for s in pipeline if s['type'] == 'UMTSampleFrames')
    crop = next(s for s in pipeline if s['type'] == 'UMTMultiCrop')
    assert (sampler['num_clips'], crop['num_crops']) == (4, 1)
    # the config is not modified; MMAction2's ThreeCrop is replaced by n crops
    assert next(s for s in cfg.test_pipeline if s['type'] == 'UMTSampleFrames')['num_clips'] == 2
    cfg.test_pipeline[4] = dict(type='ThreeCrop', crop_size=64)
    assert demo.test_pipeline_cfg(cfg, '2x5')[4] == dict(type='UMTMultiCrop', crop_size=64,
                                                          num_crops=5)
    with pytest.raises(ValueError, match="like '4x3'"):
        demo.test_pipeline_cfg(cfg, '4 views')


def test_label_map_must_match_the_head(checkpoint, shared_data, tmp_path, monkeypatch):
    from umt_mm.datasets import AnnotationError
    ckpt, _, _ = checkpoint
    (tmp_path / 'short.txt').write_text('a\nb\n')
    monkeypatch.setattr(sys, 'argv', ['demo.py', str(shared_data / 'videos/test.mp4'),
                                      str(CONFIG), str(ckpt), '--label-map',
                                      str(tmp_path / 'short.txt')])
    with pytest.raises(AnnotationError, match='short.txt:3: the label map has 2 classes but '
                       'the model head has num_classes=8'):
        demo.main()


def test_true_label_is_printed_drawn_and_marked(checkpoint, shared_data, tmp_path, capsys,
                                                monkeypatch):
    """--true-label NAME: its score and rank are printed and drawn, and marked in the top-5."""
    ckpt, labels, names = checkpoint
    video = shared_data / 'videos/test.mp4'
    drawn = {}
    draw = demo.draw_labels

    def recording_draw(video_in, out, lines):
        drawn['lines'] = list(lines)
        return draw(video_in, out, lines)

    monkeypatch.setattr(demo, 'draw_labels', recording_draw)
    monkeypatch.setattr(sys, 'argv', ['demo.py', str(video), str(CONFIG), str(ckpt),
                                      '--label-map', str(labels), '--true-label', 'class 3',
                                      '--topk', '8', '--out', str(tmp_path / 'out.mp4'),
                                      '--device', 'cpu'])
    demo.main()
    printed = capsys.readouterr().out
    ranked = re.findall(r'^\s+(\d)\. (class \d): ([0-9.]+)( <- true)?$', printed, re.M)
    assert len(ranked) == 8  # every class, so the true one is among them
    rank, score = next((int(r[0]), r[2]) for r in ranked if r[1] == 'class 3')
    assert [r[1] for r in ranked if r[3]] == ['class 3']  # only the true class is marked
    verdict = 'right' if rank == 1 else 'wrong'
    true_line = f'true: class 3 (score {score}, rank {rank}): top-1 {verdict}'
    assert f'[demo] {true_line}\n' in printed
    # drawn: the true-class line above the ranked top labels, on every frame of the copy
    assert drawn['lines'][0] == true_line
    assert drawn['lines'][1:] == [f'{r[0]}. {r[1]}: {r[2]}{r[3]}' for r in ranked]
    assert _frame_count(tmp_path / 'out.mp4') == _frame_count(video)


def test_true_label_as_index_and_errors(checkpoint):
    ckpt, labels, names = checkpoint
    assert demo.resolve_true_label('class 5', names) == 5
    assert demo.resolve_true_label('5', names) == 5
    with pytest.raises(ValueError, match='out of range'):
        demo.resolve_true_label('8', names)
    with pytest.raises(ValueError, match="'running' is neither a class name"):
        demo.resolve_true_label('running', names)
    scores = torch.tensor([0.1, 0.43, 0.36, 0.11])
    lines, true_line = demo.result_lines(scores, ['a', 'cw', 'ccw', 'b'], 2, true_index=2)
    assert lines == ['cw: 0.430', 'ccw: 0.360 <- true']
    assert true_line == 'true: ccw (score 0.360, rank 2): top-1 wrong'
    assert demo.result_lines(scores, ['a', 'cw', 'ccw', 'b'], 1, None) == (['cw: 0.430'], None)
