"""FSDP starts every process from rank 0's weights although each process seeds seed + rank.

The recipes seed each process differently (the reference's ``seed + rank``), so each process
draws other initial weights. DDP broadcasts rank 0's when it wraps the model; MMEngine's
``MMFullyShardedDataParallel`` is built without ``sync_module_states``, which umt_mm turns on
by default (``umt_mm.engine.fsdp_sync_module_states``). Two gloo processes, as MMEngine's
FSDPStrategy builds the wrapper (``device_id=int(LOCAL_RANK)``), NO_SHARD so that every
process holds the whole model: after wrapping, both hold rank 0's initial weights.
"""
import json

WORKER = '''
import json, os, sys
import torch
import torch.distributed as dist
from mmengine.registry import MODEL_WRAPPERS
from torch.distributed.fsdp import ShardingStrategy

import umt_mm  # noqa: F401  (compat fixes)
from umt_mm.models.backbones import UMTVisionTransformer

dist.init_process_group('gloo')
rank = dist.get_rank()
torch.manual_seed(rank)  # seed + rank, as every recipe
model = UMTVisionTransformer(img_size=32, num_frames=2,
                             arch=dict(embed_dims=32, depth=1, num_heads=2, mlp_ratio=2))
model.init_weights()
before = [p.detach().clone() for p in model.parameters()]
wrapped = MODEL_WRAPPERS.build(dict(type='MMFullyShardedDataParallel', module=model,
                                    device_id=int(os.environ['LOCAL_RANK']),
                                    sharding_strategy=ShardingStrategy.NO_SHARD,
                                    use_orig_params=True))
after = [p.detach().clone() for p in wrapped.module.parameters()]
gathered = [None, None]
dist.all_gather_object(gathered, [a.sum().item() for a in after])
own_changed = any(not torch.equal(a, b) for a, b in zip(after, before))
if rank == 0:
    json.dump(dict(sums=gathered, rank0_kept=not own_changed), open(sys.argv[1], 'w'))
else:
    json.dump(dict(rank1_changed=own_changed), open(sys.argv[1] + '.r1', 'w'))
'''


def test_fsdp_processes_start_from_rank0_weights(tmp_path, torchrun, fsdp_worker):
    out = tmp_path / 'out.json'
    torchrun(fsdp_worker(WORKER), out, timeout=300)
    rank0 = json.loads(out.read_text())
    rank1 = json.loads((tmp_path / 'out.json.r1').read_text())
    assert rank0['rank0_kept'], 'rank 0 must keep its own initial weights'
    assert rank1['rank1_changed'], 'rank 1 must receive rank 0s weights'
    assert rank0['sums'][0] == rank0['sums'][1]
