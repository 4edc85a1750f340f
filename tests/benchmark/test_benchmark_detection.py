"""umt_mm.benchmark.detection: the same detector output with sdpa and naive attention."""
import torch

from umt_mm.benchmark import detection as bench
from umt_mm.benchmark import naive_attention


def test_detection_forward_is_the_same_with_naive_attention(monkeypatch):
    model, run = bench.build_detection_forward(num_boxes=3, frames=2, height=48, width=80)
    outputs = []
    original = model.roi_head._bbox_forward

    def keep(*args, **kwargs):
        out = original(*args, **kwargs)
        outputs.append(out['cls_score'])
        return out

    monkeypatch.setattr(model.roi_head, '_bbox_forward', keep)
    run()
    with naive_attention(model):
        run()
    with naive_attention(model, enabled=False):  # the fused attention again
        run()
    assert outputs[0].shape == (3, 81)
    torch.testing.assert_close(outputs[0], outputs[1], rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(outputs[0], outputs[2], rtol=0, atol=0)


def test_detection_benchmark_returns_the_documented_dict(monkeypatch):
    built = bench.build_detection_forward(num_boxes=2, frames=2, height=48, width=80)
    monkeypatch.setattr(bench, 'build_detection_forward', lambda: built)  # built once
    memory = bench.detection_forward_memory('naive')
    assert set(memory) == {'peak_mib'} and memory['peak_mib'] >= 0
    flags = []
    monkeypatch.setattr(bench, 'child_json', lambda *f: flags.append(f) or {'peak_mib': 2.0})
    res = bench.detection_benchmark(repeats=2)
    assert set(res) == {'cpu_capability', 'threads', 'det_fp32_sdpa_s', 'det_fp32_naive_s',
                        'speedup_det_fp32', 'speedup_det_fp32_rounds', 'det_fp32_sdpa_peak_mib',
                        'det_fp32_naive_peak_mib', 'memory_ratio_det_fp32'}
    assert flags == [('--child-detection', 'sdpa'), ('--child-detection', 'naive')]
    assert len(res['speedup_det_fp32_rounds']) == 2 and res['memory_ratio_det_fp32'] == 1
