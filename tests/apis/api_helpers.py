"""Helpers of the API tests: the quickstart configs and tiny checkpoints."""
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
#: 2 classes, 4 frames, 32 px; test views 2 clips x 1 crop
TOY = ROOT / 'configs/quickstart/umt-tiny-p16-res32_scratch_1xb2-u4-2e_toy-rgb.py'
#: 8 classes, 8 frames, 64 px; test views 2 clips x 3 crops
MOTION = ROOT / 'configs/quickstart/umt-tiny-p16-res64_scratch_1xb16-u8-16e_motion8-rgb.py'


def save_random_checkpoint(model_cfg, path: Path, seed: int = 0):
    """Build ``model_cfg`` with seeded random weights, save it as an MMEngine checkpoint and
    return the model (eval mode)."""
    from mmaction.registry import MODELS
    from mmengine.registry import init_default_scope
    init_default_scope('mmaction')
    torch.manual_seed(seed)
    model = MODELS.build(model_cfg)
    model.init_weights()
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return model.eval()
