"""tools/test.py's --precision / test_precision: the hook that applies it after loading."""
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config

from umt_mm.apis import load_config
from umt_mm.cli_config import prepare_test_cfg
from umt_mm.engine.hooks import InferencePrecisionHook

TOY = 'configs/quickstart/umt-tiny-p16-res32_scratch_1xb2-u4-2e_toy-rgb.py'


def _hooks(cfg: Config) -> list:
    return [h for h in cfg.get('custom_hooks') or [] if h['type'] == 'InferencePrecisionHook']


def test_fp32_adds_no_hook_and_other_precisions_do():
    assert _hooks(prepare_test_cfg(load_config(TOY), checkpoint='x.pth')) == []
    cfg = prepare_test_cfg(load_config(TOY), checkpoint='x.pth', precision='int8', threads=1)
    assert _hooks(cfg) == [dict(type='InferencePrecisionHook', precision='int8',
                                backend='eager', threads=1)]
    cfg = load_config(TOY, {'test_precision': 'bf16'})
    assert _hooks(prepare_test_cfg(cfg, checkpoint='x.pth'))[0]['precision'] == 'bf16'
    cfg = load_config(TOY, {'test_precision': 'bf16'})  # the flag wins over the key
    assert _hooks(prepare_test_cfg(cfg, checkpoint='x.pth', precision='fp32')) == []


def test_hook_applies_once_after_loading():
    from mmaction.registry import HOOKS, MODELS
    cfg = load_config(TOY)
    model = MODELS.build(cfg.model).eval()
    hook = HOOKS.build(dict(type='InferencePrecisionHook', precision='int8'))
    runner = SimpleNamespace(model=model)
    hook.before_test(runner)
    hook.before_test(runner)  # a second test loop does not quantize again
    assert hook.choice.precision == 'int8'
    assert type(model.backbone.blocks[0].mlp.fc1).__module__.startswith('torch.ao.nn.quantized')
    with torch.no_grad():
        out = model.backbone(torch.randn(1, 3, 4, 32, 32))
    assert out.shape == (1, 32) and out.dtype == torch.float32


def test_bad_values_fail_when_the_hook_is_built():
    with pytest.raises(ValueError, match="test_precision 'fp16': choose one of"):
        InferencePrecisionHook('fp16')
    with pytest.raises(ValueError, match="test_backend 'jit': choose one of eager, compile"):
        InferencePrecisionHook('bf16', 'jit')
