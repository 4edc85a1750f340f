"""Every process seeds with seed + rank, as the reference's ``run_*.py``.

Two gloo processes build a runner from a config on the recipes' ``default_runtime.py`` (as
``tools/train.py`` does), then draw drop-path and semantic-mask samples: they differ between
the processes, and a second runner (a rerun) draws the same again. ``--no-diff-rank-seed``
gives both processes the same draws.
"""
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / 'configs/quickstart/umt-tiny-p16-res32_scratch_1xb2-u4-2e_toy-rgb.py'

WORKER = '''
import json, random, sys
import numpy as np
import torch
import umt_mm  # noqa: F401
from mmengine.config import Config
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from umt_mm.cli_config import prepare_train_cfg
from umt_mm.models import UMTMaskGenerator

config, work_dir, out, same_seed = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == '1'
cfg = Config.fromfile(config)
cfg.work_dir = work_dir
prepare_train_cfg(cfg, launcher='pytorch', diff_rank_seed=False if same_seed else None)


def draws(run):
    cfg.experiment_name = f'seeds_{run}'
    runner = Runner.from_cfg(cfg.copy())  # seeds torch, numpy, random (Runner.__init__)
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    backbone = model.backbone.train()
    with torch.no_grad():
        # identical weights (DDP broadcast rank 0's) and input: only drop path differs
        feats = backbone(torch.ones(2, 3, 4, 32, 32))
    mask = UMTMaskGenerator(mask_type='attention', mask_ratio=0.5)(
        (4, 2, 2), batch=2, cls_attn=torch.full((8, 4), 0.25))
    return runner.rank, dict(seed=runner.seed, feats=feats.flatten().tolist(),
                             mask=mask.flatten().int().tolist(),
                             numpy=np.random.rand(3).tolist(), python=random.random())


rank, first = draws('first')
_, rerun = draws('rerun')  # a second runner in the same processes seeds and draws again
with open(f'{out}/rank{rank}.json', 'w') as f:
    json.dump(dict(first=first, rerun=rerun), f)
'''

CONFIG = """
_base_ = ['{base}']
model = dict(backbone=dict(drop_path_rate=0.5))
"""


def _launch(torchrun, tmp_path, name, same_seed=False):
    worker = tmp_path / 'worker.py'
    worker.write_text(WORKER)
    config = tmp_path / 'seeds.py'
    config.write_text(CONFIG.format(base=QUICKSTART))
    out = tmp_path / name
    out.mkdir()
    torchrun(worker, config, tmp_path / f'work_{name}', out, '1' if same_seed else '0')
    return [json.loads((out / f'rank{r}.json').read_text()) for r in (0, 1)]


def test_recipes_seed_every_process_with_seed_plus_rank():
    from mmengine.config import Config
    configs = sorted(ROOT.glob('configs/*/*.py'))
    configs += sorted(ROOT.glob('action_detection/configs/*.py'))
    checked = 0
    for path in configs:
        if path.parent.name in ('_base_', 'examples'):
            continue
        cfg = Config.fromfile(path)
        seed = 6666 if 'umt-large-p16_k710-ft_32xb4' in path.name else 0  # the AVA L/16 script
        assert cfg.randomness == dict(seed=seed, diff_rank_seed=True), path
        checked += 1
    assert checked >= 2 + 17 + 2  # pretraining, finetuning, AVA rows


def test_two_processes_draw_differently_and_reproducibly(tmp_path, torchrun):
    ranks = _launch(torchrun, tmp_path, 'first')
    first = [r['first'] for r in ranks]
    assert [r['seed'] for r in first] == [0, 1]  # seed + rank
    for key in ('feats', 'mask', 'numpy', 'python'):
        assert first[0][key] != first[1][key], key
    assert [r['rerun'] for r in ranks] == first  # a rerun draws the same in every process


@pytest.mark.slow
def test_no_diff_rank_seed_gives_every_process_the_same_draws(tmp_path, torchrun):
    same = [r['first'] for r in _launch(torchrun, tmp_path, 'same', same_seed=True)]
    assert [r['seed'] for r in same] == [0, 0]
    assert same[0] == same[1]


def test_train_flags_for_seeds_and_lr_scaling(monkeypatch):
    """tools/train.py: --seed keeps seed + rank; --no-diff-rank-seed / --no-auto-scale-lr turn
    the recipes' defaults off; without the flags the config decides."""
    import importlib.util
    import sys

    from mmengine.config import Config

    from umt_mm.cli_config import prepare_train_cfg
    spec = importlib.util.spec_from_file_location('umt_train_tool', ROOT / 'tools/train.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    recipe = ROOT / 'configs/k400/umt-base-p16-res224_k710-ft_16xb16-u8-5e_kinetics400-rgb.py'

    def prepared(*flags):
        monkeypatch.setattr(sys, 'argv', ['train.py', str(recipe), *flags])
        args = tool.parse_args()
        return prepare_train_cfg(Config.fromfile(recipe), seed=args.seed,
                                 diff_rank_seed=args.diff_rank_seed,
                                 auto_scale_lr=args.auto_scale_lr)

    cfg = prepared()
    assert cfg.randomness == dict(seed=0, diff_rank_seed=True)
    assert cfg.auto_scale_lr == dict(enable=True, base_batch_size=512)
    cfg = prepared('--seed', '7', '--auto-scale-lr', '--diff-rank-seed')
    assert cfg.randomness == dict(seed=7, diff_rank_seed=True)
    assert cfg.auto_scale_lr.enable is True
    cfg = prepared('--no-diff-rank-seed', '--no-auto-scale-lr')
    assert cfg.randomness == dict(seed=0, diff_rank_seed=False)
    assert cfg.auto_scale_lr.enable is False
