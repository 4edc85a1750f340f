"""Tiny exportable models and a fresh-process runner shared by the deployment tests."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / 'configs/quickstart/umt-tiny-p16-res32_scratch_1xb2-u4-2e_toy-rgb.py'
AVA_B16 = ROOT / 'action_detection/configs/umt-base-p16_k710-ft_16xb8-8x8x1-30e_ava22-rgb.py'
TINY_AVA_CONFIG = f"""
_base_ = [{str(AVA_B16)!r}]
model = dict(
    backbone=dict(arch=dict(_delete_=True, embed_dims=32, depth=1, num_heads=2, mlp_ratio=2.0)),
    roi_head=dict(bbox_head=dict(in_channels=32)))
test_transforms = [
    dict(type='Resize', scale=(-1, 64)),
    dict(type='FormatShape', input_format='NCTHW', collapse=True),
    dict(type='PackActionInputs', algorithm_keys=('proposal_scores', ))
]
test_dataloader = dict(dataset=dict(pipeline=[
    dict(type='UMTSampleAVAFrames', clip_len=8, frame_interval=8),
    dict(type='RawFrameDecode')] + test_transforms))
"""


def spread_weights(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Give the classifiers O(1) weights: the recipes' x0.001 init makes every logit ~1e-3,
    under which a 1e-4 parity check would prove little."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, module in model.named_modules():
            if name.endswith('fc_cls'):
                module.weight.copy_(torch.randn(module.weight.shape, generator=gen) * 0.5)
                module.bias.copy_(torch.randn(module.bias.shape, generator=gen) * 0.5)
    return model


def tiny_recognizer():
    """The quickstart's tiny UMT recognizer (32 px, 4 frames, 2 test clips)."""
    from umt_mm.deployment import build_model
    cfg, model = build_model(QUICKSTART)
    return cfg, spread_weights(model)


def tiny_ava_config(tmp_path: Path) -> Path:
    path = tmp_path / 'tiny_ava.py'
    path.write_text(TINY_AVA_CONFIG)
    return path


def tiny_ava_detector(tmp_path: Path):
    """The B/16 AVA recipe with a 1-block, 32-channel backbone (test frames 64 px high)."""
    from umt_mm.deployment import build_model
    cfg, model = build_model(tiny_ava_config(tmp_path))
    return cfg, spread_weights(model)


FRESH_RUNNER = textwrap.dedent("""
    import json, sys
    import numpy as np
    spec = json.load(open(sys.argv[1]))
    inputs = [np.load(p) for p in spec['inputs']]
    if spec['format'] == 'onnx':
        import onnxruntime as ort
        session = ort.InferenceSession(spec['model'], providers=['CPUExecutionProvider'])
        names = [i.name for i in session.get_inputs()]
        outputs = session.run(None, dict(zip(names, inputs)))
    else:
        import torch
        module = torch.jit.load(spec['model'])
        with torch.no_grad():
            outputs = module(*[torch.from_numpy(x) for x in inputs])
        outputs = [o.numpy() for o in (outputs if isinstance(outputs, tuple) else (outputs,))]
    loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('umt_mm', 'mmaction', 'mmcv',
                                                                   'mmdet', 'mmengine'))
    for i, out in enumerate(outputs):
        np.save(spec['out'] + f'_{i}.npy', out)
    print(json.dumps(dict(loaded=loaded, outputs=len(outputs))))
""")


def run_in_fresh_process(model_file: Path, fmt: str, inputs, work: Path) -> tuple[list, list]:
    """Run an exported file in a new Python process that imports neither umt_mm nor the
    OpenMMLab packages (only numpy and onnxruntime / torch).

    Returns:
        tuple: The outputs and the OpenMMLab / umt_mm modules the process had loaded.
    """
    work.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, tensor in enumerate(inputs):
        paths.append(str(work / f'in_{i}.npy'))
        np.save(paths[-1], tensor.numpy())
    spec = work / 'spec.json'
    spec.write_text(json.dumps(dict(model=str(model_file), format=fmt, inputs=paths,
                                    out=str(work / 'out'))))
    script = work / 'run.py'
    script.write_text(FRESH_RUNNER)
    # cwd outside the repository: `import umt_mm` could not even succeed by accident
    result = subprocess.run([sys.executable, str(script), str(spec)], cwd=work,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    outputs = [np.load(work / f'out_{i}.npy') for i in range(report['outputs'])]
    return outputs, report['loaded']
