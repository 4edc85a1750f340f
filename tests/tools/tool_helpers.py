"""Helpers of the tools tests: load a tools/ script as a module, tiny checkpoints."""
import importlib.util
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / 'tools'
QUICKSTART = ROOT / 'configs/quickstart/umt-tiny-p16-res32_scratch_1xb2-u4-2e_toy-rgb.py'
AVA_B16 = ROOT / 'action_detection/configs/umt-base-p16_k710-ft_16xb8-8x8x1-30e_ava22-rgb.py'
TINY_ARCH = dict(embed_dims=32, depth=1, num_heads=2, mlp_ratio=2.0)


def load_tool(name: str):
    """Import ``tools/<name>.py`` (tools/ goes on sys.path, as when run as a script)."""
    if str(TOOLS) not in sys.path:
        sys.path.insert(0, str(TOOLS))
    spec = importlib.util.spec_from_file_location(f'umt_tool_{name}', TOOLS / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def save_random_checkpoint(model_cfg, path: Path, seed: int = 0, scope: str = 'mmaction'):
    """Build ``model_cfg`` with seeded random weights and save it as an MMEngine checkpoint."""
    from mmaction.registry import MODELS
    from mmengine.registry import init_default_scope
    init_default_scope(scope)
    torch.manual_seed(seed)
    model = MODELS.build(model_cfg)
    model.init_weights()
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return model.eval()


def write_tiny_ava_config(path: Path, short_side: int | None = None) -> Path:
    """The B/16 AVA config with a 1-block, 32-wide backbone; with ``short_side`` its test
    clips are resized to that short side instead of 256 (everything else unchanged)."""
    text = (f"_base_ = ['{AVA_B16}']\n"
            'model = dict(backbone=dict(arch=dict(_delete_=True, embed_dims=32, depth=1, '
            'num_heads=2, mlp_ratio=2.0)), roi_head=dict(bbox_head=dict(in_channels=32)))\n')
    if short_side is not None:
        text += ('test_dataloader = dict(dataset=dict(pipeline=[\n'
                 '    dict(type="UMTSampleAVAFrames", clip_len=8, frame_interval=8),\n'
                 '    dict(type="RawFrameDecode"),\n'
                 f'    dict(type="Resize", scale=(-1, {short_side})),\n'
                 '    dict(type="FormatShape", input_format="NCTHW", collapse=True),\n'
                 '    dict(type="PackActionInputs", algorithm_keys=("proposal_scores", ))]))\n')
    path.write_text(text)
    return path


def save_official_checkpoint(model_cfg, path: Path, seed: int = 0) -> Path:
    """A recognizer's random weights saved in the official UMT finetuning layout
    (``patch_embed.*``, ``blocks.*``, ``head.*`` under ``'model'``), as released and never
    converted."""
    from umt_mm.converters import to_official_finetune
    model = save_random_checkpoint(model_cfg, path.with_suffix('.umt_mm.pth'), seed=seed)
    torch.save({'model': to_official_finetune(model.state_dict())}, path)
    return path
