"""The detection case of tools/benchmark.py: same output with sdpa and naive attention."""
import importlib.util
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]


def load_benchmark():
    spec = importlib.util.spec_from_file_location('umt_benchmark', ROOT / 'tools/benchmark.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_detection_forward_is_the_same_with_naive_attention(monkeypatch):
    bench = load_benchmark()
    model, run = bench.build_detection_forward(num_boxes=3, frames=2, height=48, width=80)
    outputs = []
    original = model.roi_head._bbox_forward

    def keep(*args, **kwargs):
        out = original(*args, **kwargs)
        outputs.append(out['cls_score'])
        return out

    monkeypatch.setattr(model.roi_head, '_bbox_forward', keep)
    run()
    with bench.naive_attention(model):
        run()
    assert outputs[0].shape == (3, 81)
    torch.testing.assert_close(outputs[0], outputs[1], rtol=1e-4, atol=1e-6)
