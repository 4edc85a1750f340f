"""The distiller under FSDP with the teacher's blocks as their own sharded units.

The teacher finishes its last block on the visible tokens only; that path goes through the
block's ``forward`` so that an FSDP unit gathers the block's sharded weights first. Two gloo
processes, FULL_SHARD: the loss equals the unwrapped model's and a backward runs.
"""
import json

import pytest

WORKER = '''
import json, sys
import torch
import torch.distributed as dist
from mmaction.registry import MODELS
from torch.distributed.fsdp import FullyShardedDataParallel as FSDP, ShardingStrategy
from torch.distributed.fsdp.wrap import ModuleWrapPolicy

import umt_mm  # noqa: F401
from umt_mm.models.backbones.clip_teacher import CLIPResidualBlock

dist.init_process_group('gloo')
torch.manual_seed(0)
model = MODELS.build(dict(
    type='UMTDistiller', align_dims=16, num_return_layers=2,
    encoder=dict(type='UMTVisionTransformer', img_size=32, num_frames=4,
                 arch=dict(embed_dims=32, depth=3, num_heads=2, mlp_ratio=2)),
    teacher=dict(type='CLIPVisionTeacher', input_resolution=32, num_return_layers=2,
                 arch=dict(patch_size=16, width=32, layers=2, heads=2, output_dim=16)),
    mask_generator=dict(type='UMTMaskGenerator', mask_ratio=0.5)))
model.init_weights()
clip = torch.randn(2, 3, 4, 32, 32)
torch.manual_seed(1)
with torch.no_grad():
    expected = float(model(clip, mode='loss')['loss_distill'])
wrapped = FSDP(model, auto_wrap_policy=ModuleWrapPolicy({CLIPResidualBlock}),
               sharding_strategy=ShardingStrategy.FULL_SHARD, use_orig_params=True,
               device_id=torch.device('cpu'))
last = wrapped.module.teacher.transformer.resblocks[-1]
torch.manual_seed(1)
loss = wrapped(clip, mode='loss')['loss_distill']
loss.backward()
grads = sum(1 for p in wrapped.parameters() if p.grad is not None)
if dist.get_rank() == 0:
    json.dump(dict(expected=expected, loss=float(loss), last_unit=type(last).__name__,
                   grads=grads), open(sys.argv[1], 'w'))
'''


def test_visible_teacher_path_under_fsdp_units(tmp_path, torchrun, fsdp_worker):
    out = tmp_path / 'out.json'
    torchrun(fsdp_worker(WORKER), out)
    report = json.loads(out.read_text())
    assert report['last_unit'] == 'FullyShardedDataParallel'  # the block is its own unit
    assert report['loss'] == pytest.approx(report['expected'], abs=1e-6)
    assert report['grads'] > 0
