"""Label maps by name in the converter tools; --strict needs --config."""
import json
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from tool_helpers import QUICKSTART, ROOT, save_official_checkpoint


def _run(*args):
    return subprocess.run([sys.executable, *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_strict_without_config_is_a_usage_error(tmp_path):
    result = _run('tools/convert_umt_checkpoint.py', tmp_path / 'a.pth', tmp_path / 'b.pth',
                  '--kind', 'finetune', '--strict')
    assert result.returncode == 2
    assert '--strict needs --config' in result.stderr
    assert not (tmp_path / 'b.pth').exists()


@pytest.mark.slow
def test_k710_head_mapped_with_the_bundled_label_maps(tmp_path):
    """--dataset k600 alone: the bundled k600 and k710 maps give the channel map."""
    from umt_mm.converters import build_channel_map
    from umt_mm.data import label_map_path
    cfg = Config.fromfile(QUICKSTART)
    cfg.model.cls_head.num_classes = 710
    src = save_official_checkpoint(cfg.model, tmp_path / 'k710.pth')
    result = _run('tools/convert_umt_checkpoint.py', src, tmp_path / 'k600.pth', '--kind',
                  'finetune', '--dataset', 'k600')
    assert result.returncode == 0, result.stderr[-2000:]
    head = torch.load(tmp_path / 'k600.pth', weights_only=False)['state_dict']
    weight = head['cls_head.fc_cls.weight']
    official = torch.load(src)['model']['head.weight']
    rows = build_channel_map(label_map_path('k600'), label_map_path('k710'), 'k600')
    assert weight.shape == (600, 32)
    torch.testing.assert_close(weight, official[rows])
    out = tmp_path / 'map.json'
    result = _run('tools/build_k710_channel_map.py', 'k700', 'k700', 'k710', out)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(out.read_text()) == build_channel_map(
        label_map_path('k700'), label_map_path('k710'), 'k700')
