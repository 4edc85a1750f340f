"""The python examples of docs/apis.md's "Spatio-temporal action detection" and "Export"
sections run as written (in order, one namespace, from a folder laid out like the repository
root: its configs, a tiny motion8 checkpoint and a sample video demo/demo.mp4)."""
import os
import re

import numpy as np
import pytest
from api_helpers import MOTION, ROOT, save_random_checkpoint
from mmengine.config import Config

SECTIONS = ('Spatio-temporal action detection', 'Export')


def section_blocks(text: str, title: str) -> list[str]:
    """The ```python blocks of the ``## title`` section."""
    match = re.search(rf'^## {re.escape(title)}\n(.*?)(?=^## |\Z)', text, re.M | re.S)
    assert match, f'docs/apis.md has no section {title!r}'
    return re.findall(r'^```python\n(.*?)^```', match[1], re.M | re.S)


@pytest.fixture
def example_root(tmp_path, monkeypatch):
    from umt_mm.testing.motion_videos import render_motion_clip, write_video
    for name in ('configs', 'action_detection'):
        (tmp_path / name).symlink_to(ROOT / name)
    (tmp_path / 'checkpoints').mkdir()
    save_random_checkpoint(Config.fromfile(MOTION).model, tmp_path / 'checkpoints/motion8.pth')
    (tmp_path / 'demo').mkdir()
    write_video(tmp_path / 'demo/demo.mp4',
                render_motion_clip(3, np.random.default_rng(0), num_frames=48), fps=24)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.filterwarnings('ignore::UserWarning')
def test_detection_and_export_examples_run(example_root, capsys):
    pytest.importorskip('onnxruntime', reason='the export example needs the deploy extra')
    text = (ROOT / 'docs/apis.md').read_text()
    namespace: dict = {}
    for title in SECTIONS:
        blocks = section_blocks(text, title)
        assert blocks, title
        for block in blocks:
            exec(compile(block, f'docs/apis.md ({title})', 'exec'), namespace)
    printed = capsys.readouterr().out
    assert '0 (1, 4) (1, 81)' in printed
    assert "['demo', '0000', '0.100', '0.100', '0.600', '0.900'," in printed
    assert 'recognizer (8, 64, 64) deploy/motion8.json' in printed
    assert namespace['report'].ok
    assert os.path.isfile('deploy/motion8.onnx')
