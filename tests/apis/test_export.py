"""umt_mm.apis.export: export_model / verify_export over umt_mm.deployment, strict loading."""
import json
import re

import pytest
import torch
from api_helpers import TOY, save_random_checkpoint
from mmengine.config import Config

from umt_mm.apis import ExportResult, VerifyReport, export_model, verify_export
from umt_mm.apis.export import sample_video
from umt_mm.converters import to_official_finetune
from umt_mm.converters.checkpoint_layouts import CheckpointMismatchError

pytest.importorskip('onnxruntime', reason='the deploy extra (onnx, onnxruntime) is not installed')


@pytest.fixture(scope='module')
def toy_checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp('export') / 'toy.pth'
    model = save_random_checkpoint(Config.fromfile(TOY).model, path, seed=2)
    return path, model


def test_export_and_verify_a_recognizer(toy_checkpoint, tmp_path):
    path, _ = toy_checkpoint
    labels = tmp_path / 'labels.txt'
    labels.write_text('left\nright\n')
    exported = export_model(TOY, path, format='onnx', out=tmp_path / 'toy.onnx', views=2,
                            label_map=labels)
    assert isinstance(exported, ExportResult)
    assert exported.kind == 'recognizer' and exported.shape == (4, 32, 32)
    assert exported.path.is_file() and exported.sidecar == tmp_path / 'toy.json'
    info = json.loads(exported.sidecar.read_text())
    assert info == json.loads(json.dumps(exported.info))
    assert info['labels']['names'] == ['left', 'right'] and info['checkpoint'] == str(path)
    assert info['inputs'][0]['shape'] == ['batch', 2, 3, 4, 32, 32]
    report = verify_export(exported)  # random clips and a real clip (demo/ or generated)
    assert isinstance(report, VerifyReport) and report.ok and report.note is None
    names = [c.name for c in report.checks]
    assert names[:2] == ['random clip', 'random clips, batch 2']
    assert names[2].startswith('real clip ') and report.video
    assert report.checks[1].shapes == [(2, 2, 3, 4, 32, 32)]
    assert set(report.checks[0].differences) == {'scores', 'logits'}
    assert report.worst <= 1e-4
    missing = verify_export(exported, video=tmp_path / 'none.mp4')
    assert missing.note == f'no real clip: {tmp_path / "none.mp4"} does not exist'
    assert len(missing.checks) == 2


def test_export_loads_strictly(toy_checkpoint, tmp_path):
    path, model = toy_checkpoint
    official = tmp_path / 'b16_ptk710_ftk710_ftk400_f8_res224.pth'
    torch.save({'model': to_official_finetune(model.state_dict())}, official)
    with pytest.raises(CheckpointMismatchError) as info:
        export_model(TOY, official, out=tmp_path / 'x.onnx', opt_out='--non-strict')
    assert re.search(r'tools/convert_umt_checkpoint.py \S+ftk400_f8_res224.pth \S+ --kind '
                     r'finetune', str(info.value))
    assert 'pass --non-strict' in str(info.value)
    assert not (tmp_path / 'x.onnx').exists()
    exported = export_model(TOY, official, out=tmp_path / 'x.onnx', strict=False)
    assert exported.path.is_file()


def test_generated_sample_video(tmp_path, monkeypatch):
    import umt_mm.apis.export as export_api
    from umt_mm.apis import open_video
    monkeypatch.setattr(export_api, '__file__', str(tmp_path / 'pkg' / 'apis' / 'export.py'))
    video = sample_video('recognizer', folder=tmp_path)
    assert video == tmp_path / export_api.GENERATED_CLIP
    _, info = open_video(video)
    assert (info.num_frames, info.width, info.height, info.fps) == (64, 80, 64, 30.0)
    (tmp_path / 'demo').mkdir()
    for name in ('a.mp4', 'b_spatiotemporal.mp4'):
        (tmp_path / 'demo' / name).write_bytes(b'')
    assert sample_video('recognizer').name == 'a.mp4'
    assert sample_video('ava_detector').name == 'b_spatiotemporal.mp4'
