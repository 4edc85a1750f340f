"""tools/demo.py: top-5 labels for real videos and a labelled copy with the same frames."""
import re
import subprocess
import sys
from pathlib import Path

import pytest
from mmengine.config import Config
from tool_helpers import ROOT, load_tool, save_official_checkpoint, save_random_checkpoint

CONFIG = ROOT / 'configs/quickstart/umt-tiny-p16-res64_scratch_1xb16-u8-16e_motion8-rgb.py'
demo = load_tool('demo')


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    """A checkpoint of the quickstart model (random weights) and its 8-class label map."""
    out = tmp_path_factory.mktemp('demo')
    save_random_checkpoint(Config.fromfile(CONFIG).model, out / 'model.pth', seed=0)
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
def test_other_containers(fmt, shared_data, checkpoint, tmp_path, capsys):
    from umt_mm.visualization import write_labelled_copy
    ckpt, labels, _ = checkpoint
    video = shared_data / 'videos/test.avi'
    if fmt == 'webm':  # re-encode the avi as VP8 webm (what a browser would upload)
        out = tmp_path / 'input.webm'
        try:
            frames = write_labelled_copy(video, out, [])
        except RuntimeError as err:
            pytest.skip(f'OpenCV cannot write webm here: {err}')
        assert frames == _frame_count(video)
        video = out
    labelled = tmp_path / f'labelled.{fmt}'
    assert demo.main([str(video), str(CONFIG), str(ckpt), '--label-map', str(labels),
                      '--out', str(labelled), '--device', 'cpu']) == 0
    printed = capsys.readouterr().out
    assert len(re.findall(r'^\s+\d\. class \d: [0-9.]+$', printed, re.M)) == 5
    assert _frame_count(labelled) == _frame_count(video)


def test_label_map_must_match_the_head(checkpoint, shared_data, tmp_path):
    from umt_mm.datasets import AnnotationError
    ckpt, _, _ = checkpoint
    (tmp_path / 'short.txt').write_text('a\nb\n')
    with pytest.raises(AnnotationError, match='short.txt:3: the label map has 2 classes but '
                       'the model head has num_classes=8'):
        demo.main([str(shared_data / 'videos/test.mp4'), str(CONFIG), str(ckpt),
                   '--label-map', str(tmp_path / 'short.txt')])


def test_label_map_by_name(checkpoint, shared_data, tmp_path, capsys):
    """--label-map k400: the bundled Kinetics-400 names (a 400-class head)."""
    from umt_mm.data import read_label_map
    ckpt, _, _ = checkpoint
    video = str(shared_data / 'videos/test.mp4')
    with pytest.raises(Exception, match=r'label_map_k400.txt:401: the label map has 400 '
                       'classes but the model head has num_classes=8'):
        demo.main([video, str(CONFIG), str(ckpt), '--label-map', 'k400'])
    cfg = Config.fromfile(CONFIG)
    cfg.model.cls_head.num_classes = 400
    save_random_checkpoint(cfg.model, tmp_path / 'k400.pth', seed=3)
    assert demo.main([video, str(CONFIG), str(tmp_path / 'k400.pth'), '--label-map', 'k400',
                      '--cfg-options', 'model.cls_head.num_classes=400', '--views', '1x1',
                      '--topk', '3', '--device', 'cpu']) == 0
    ranked = re.findall(r'^\s+\d\. (.+): [0-9.]+$', capsys.readouterr().out, re.M)
    k400 = read_label_map('k400')
    assert len(ranked) == 3 and all(name in k400 for name in ranked)


def test_unconverted_official_checkpoint_names_the_converter(checkpoint, shared_data,
                                                             tmp_path):
    from umt_mm.converters.checkpoint_layouts import CheckpointMismatchError
    official = save_official_checkpoint(Config.fromfile(CONFIG).model, tmp_path / 'b16.pth')
    argv = [str(shared_data / 'videos/test.mp4'), str(CONFIG), str(official), '--views', '1x1',
            '--device', 'cpu']
    with pytest.raises(CheckpointMismatchError) as err:
        demo.main(argv)
    message = str(err.value)
    assert 'official UMT finetuning layout' in message
    assert (f'python tools/convert_umt_checkpoint.py {official} checkpoints/b16_umt_mm.pth '
            f'--kind finetune --strict --config {CONFIG}') in message
    assert '--non-strict' in message
    assert demo.main(argv + ['--non-strict']) == 0  # loads what matches, as asked


def test_true_label_is_printed_drawn_and_marked(checkpoint, shared_data, tmp_path, capsys,
                                                monkeypatch):
    """--true-label NAME: its score and rank are printed and drawn, and marked in the top-5."""
    ckpt, labels, names = checkpoint
    video = shared_data / 'videos/test.mp4'
    drawn = {}
    write = demo.write_labelled_copy

    def recording_write(video_in, out, lines, **kwargs):
        drawn['lines'] = list(lines)
        return write(video_in, out, lines, **kwargs)

    monkeypatch.setattr(demo, 'write_labelled_copy', recording_write)
    assert demo.main([str(video), str(CONFIG), str(ckpt), '--label-map', str(labels),
                      '--true-label', 'class 3', '--topk', '8', '--out',
                      str(tmp_path / 'out.mp4'), '--device', 'cpu']) == 0
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


def test_wrong_true_label_fails_before_the_model_runs(checkpoint, shared_data):
    ckpt, labels, _ = checkpoint
    with pytest.raises(ValueError, match="'running' is neither a class name"):
        demo.main([str(shared_data / 'videos/test.mp4'), str(CONFIG), 'missing.pth',
                   '--label-map', str(labels), '--true-label', 'running'])
