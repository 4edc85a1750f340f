"""docs/apis.md: every ```python block runs, in order, in one namespace.

The setup makes the files the examples name, in a temporary working folder: ``configs``
(a link to the repository's), ``checkpoints/motion8.pth`` (the quickstart motion model with
random weights), ``checkpoints/b16_ptk710_ftk710_ftk400_f8_res224.pth`` (that model in the
official UMT layout, never converted) and ``demo`` (the repository's sample videos, or a
generated motion clip as ``demo/demo.mp4``); ``configs`` and ``action_detection`` are links.
"""
import re

import numpy as np
import pytest
import torch
from api_helpers import MOTION, ROOT, save_random_checkpoint
from mmengine.config import Config

DOC = ROOT / 'docs/apis.md'


def python_blocks(text: str) -> list[str]:
    """The ```python blocks of a markdown text, in order."""
    return re.findall(r'^```python\n(.*?)^```', text, re.M | re.S)


@pytest.fixture
def docs_folder(tmp_path, monkeypatch):
    from umt_mm.converters import to_official_finetune
    from umt_mm.testing.motion_videos import render_motion_clip, write_video
    for folder in ('configs', 'action_detection'):
        (tmp_path / folder).symlink_to(ROOT / folder)
    (tmp_path / 'checkpoints').mkdir()
    model = save_random_checkpoint(Config.fromfile(MOTION).model,
                                   tmp_path / 'checkpoints/motion8.pth', seed=0)
    torch.save({'model': to_official_finetune(model.state_dict())},
               tmp_path / 'checkpoints/b16_ptk710_ftk710_ftk400_f8_res224.pth')
    if (ROOT / 'demo/demo.mp4').is_file():
        (tmp_path / 'demo').symlink_to(ROOT / 'demo')
    else:
        (tmp_path / 'demo').mkdir()
        frames = render_motion_clip(2, np.random.default_rng(0), num_frames=48)
        write_video(tmp_path / 'demo/demo.mp4', frames, fps=16)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_every_python_block_runs(docs_folder, capsys):
    blocks = python_blocks(DOC.read_text(encoding='utf-8'))
    assert len(blocks) >= 6
    namespace: dict = {'__name__': '__docs__'}
    for number, block in enumerate(blocks, 1):
        try:
            exec(compile(block, f'{DOC}:block{number}', 'exec'), namespace)
        except Exception as err:
            raise AssertionError(f'docs/apis.md python block {number} failed: '
                                 f'{type(err).__name__}: {err}\n{block}') from err
    printed = capsys.readouterr().out
    assert 'Recognizer3D 8' in printed
    assert 'official UMT finetuning layout' in printed
    assert '--kind finetune' in printed
    assert '[(0, 30), (20, 50), (40, 70), (60, 90), (70, 100)]' in printed
    assert 'written with other options (window: 1.0 -> 2.0' in printed
    assert 'precision int8 (as asked), backend openvino' in printed
    assert (docs_folder / 'features/demo.npy').is_file()


def test_blocks_are_found():
    assert python_blocks('a\n```python\nx = 1\n```\n```bash\nls\n```\n') == ['x = 1\n']
