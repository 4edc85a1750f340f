"""Mixing with MMAction2: the configs/examples build and train; names do not collide."""
import subprocess
import sys
import textwrap
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
VIDEOMAE = 'configs/examples/videomae-vit-base-p16_umt-backbone_8xb8-16x4x1-20e_kinetics400-rgb.py'
I3D_HEAD = 'configs/examples/umt-base-p16-res224_i3d-head_16xb16-u8-5e_kinetics400-rgb.py'
TINY = dict(embed_dims=32, depth=1, num_heads=2, mlp_ratio=2)


def _one_train_step(cfg, video: Path) -> None:
    """Run the config's own train pipeline on a real video twice and take one optimizer step."""
    from mmaction.registry import MODELS
    from mmengine.dataset import Compose, pseudo_collate
    from mmengine.optim import build_optim_wrapper

    cfg.model.backbone.arch = TINY  # the real geometry (224 px), a tiny width and depth
    cfg.model.cls_head.in_channels = TINY['embed_dims']
    model = MODELS.build(cfg.model)
    model.init_weights()
    pipeline = Compose(cfg.train_dataloader.dataset.pipeline
                       if 'pipeline' in cfg.train_dataloader.dataset
                       else cfg.train_pipeline)
    samples = [pipeline(dict(filename=str(video), label=label, start_index=0, modality='RGB'))
               for label in (3, 7)]
    optim_wrapper_cfg = cfg.optim_wrapper.copy()
    optim_wrapper_cfg['type'] = 'OptimWrapper'  # fp32 here (the recipe's AMP needs CUDA)
    optim_wrapper_cfg.pop('dtype', None)
    optim_wrapper_cfg.pop('loss_scale', None)
    optim_wrapper = build_optim_wrapper(model, optim_wrapper_cfg)
    before = [p.detach().clone() for p in model.backbone.parameters()]
    model.train()
    log_vars = model.train_step(pseudo_collate(samples), optim_wrapper)
    assert torch.isfinite(log_vars['loss'])
    changed = sum(not torch.equal(a, b) for a, b in zip(before, model.backbone.parameters()))
    assert changed > 0, 'the optimizer step did not touch the UMT backbone'


def test_videomae_recipe_with_the_umt_backbone(shared_data):
    from mmengine.config import Config
    cfg = Config.fromfile(ROOT / VIDEOMAE)
    # inherited from MMAction2's own file: head, preprocessor, 5x3-view test pipeline
    assert cfg.model.type == 'Recognizer3D'
    assert cfg.model.backbone.type == 'UMTVisionTransformer'
    assert 'embed_dims' not in cfg.model.backbone and 'norm_cfg' not in cfg.model.backbone
    assert cfg.model.cls_head.type == 'TimeSformerHead'
    assert [s['type'] for s in cfg.test_pipeline][-3] == 'ThreeCrop'
    assert cfg.test_pipeline[1]['num_clips'] == 5
    assert cfg.custom_imports['imports'] == ['umt_mm']
    _one_train_step(cfg, shared_data / 'videos/test.mp4')


def test_umt_backbone_with_mmaction_i3d_head(shared_data):
    from mmaction.registry import MODELS
    from mmengine.config import Config
    cfg = Config.fromfile(ROOT / I3D_HEAD)
    assert cfg.model.cls_head.type == 'I3DHead' and 'init_scale' not in cfg.model.cls_head
    assert cfg.model.backbone.output == 'feature_map'
    # the full-size model: a (B, 768, 8, 14, 14) feature map into MMAction2's head
    full = MODELS.build(cfg.model)
    feats = full.backbone(torch.zeros(1, 3, 8, 224, 224))
    assert feats.shape == (1, 768, 8, 14, 14)
    assert full.cls_head(feats).shape == (1, 400)
    _one_train_step(cfg, shared_data / 'videos/test.mp4')


def test_mmaction_projects_umt_imports_beside_umt_mm(tmp_path):
    """MMAction2's projects/umt registers `UMTViT` into mmaction's MODELS; ours is
    `UMTVisionTransformer`. A stand-in for projects/umt/models (the same registration as
    projects/umt/models/vit.py, which the mmaction2 wheel does not ship) imports beside
    umt_mm in one process and both backbones build from their configs."""
    models = tmp_path / 'models'
    models.mkdir()
    (models / '__init__.py').write_text('from .vit import UMTViT\n\n__all__ = ["UMTViT"]\n')
    (models / 'vit.py').write_text(textwrap.dedent('''
        import torch.nn as nn
        from mmaction.registry import MODELS


        @MODELS.register_module()
        class UMTViT(nn.Module):
            """Stand-in with projects/umt's constructor signature and output."""

            def __init__(self, img_size=224, patch_size=16, in_chans=3, embed_dim=768,
                         depth=12, num_heads=12, mlp_ratio=4., qkv_bias=False,
                         all_frames=16, tubelet_size=1, **kwargs):
                super().__init__()
                self.patch_embed = nn.Conv3d(in_chans, embed_dim,
                                             (tubelet_size, patch_size, patch_size),
                                             (tubelet_size, patch_size, patch_size))
                self.fc_norm = nn.LayerNorm(embed_dim, eps=1e-6)

            def forward(self, x):
                return self.fc_norm(self.patch_embed(x).flatten(2).mean(-1))
    '''))
    script = textwrap.dedent('''
        import torch
        from mmengine.registry import init_default_scope
        from mmaction.registry import MODELS
        init_default_scope('mmaction')
        theirs = MODELS.build(dict(type='UMTViT', embed_dim=32, all_frames=4))
        ours = MODELS.build(dict(type='UMTVisionTransformer', img_size=32, num_frames=4,
                                 arch=dict(embed_dims=32, depth=1, num_heads=2)))
        x = torch.rand(2, 3, 4, 32, 32)
        assert theirs(x).shape == ours(x).shape == (2, 32)
        assert type(theirs).__module__ == 'models.vit'
        assert type(ours).__module__.startswith('umt_mm.')
        print('both built')
    ''')
    for imports in ('import models\nimport umt_mm\n', 'import umt_mm\nimport models\n'):
        result = subprocess.run([sys.executable, '-c', imports + script], cwd=tmp_path,
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0 and 'both built' in result.stdout, result.stderr[-3000:]


def test_umt_mm_names_do_not_shadow_mmaction_mmdet_or_mmengine():
    """Every name umt_mm registers is new: no MMAction2 / MMDet / MMEngine / MMCV module of
    that name exists, and none is registered under it in another registry of the stack."""
    import importlib

    import mmaction.registry as mmaction_registry
    import mmdet.registry as mmdet_registry
    import mmengine.registry as mmengine_registry
    from mmaction.utils import register_all_modules
    from mmdet.utils import register_all_modules as register_mmdet
    from mmengine.registry import Registry

    import umt_mm  # noqa: F401
    register_all_modules(init_default_scope=False)
    register_mmdet(init_default_scope=False)
    upstream = [importlib.import_module(name) for name in (
        'mmaction.models', 'mmaction.datasets', 'mmaction.datasets.transforms',
        'mmaction.engine', 'mmaction.engine.hooks', 'mmaction.engine.optimizers',
        'mmaction.evaluation', 'mmaction.visualization', 'mmdet.models', 'mmdet.datasets',
        'mmdet.engine', 'mmengine.optim', 'mmengine.hooks', 'mmengine.model',
        'mmengine.dataset', 'mmengine.runner', 'mmcv.transforms', 'mmcv.cnn')]
    registries = {}
    for module in (mmaction_registry, mmdet_registry, mmengine_registry):
        for attr in dir(module):
            if isinstance(getattr(module, attr), Registry):
                registries[(module.__name__, attr)] = getattr(module, attr)
    ours = 0
    for (module_name, attr), registry in registries.items():
        for name, obj in registry.module_dict.items():
            if not getattr(obj, '__module__', '').startswith('umt_mm'):
                continue
            ours += 1
            for namespace in upstream:
                assert not hasattr(namespace, name), \
                    f'{name} ({module_name}.{attr}) shadows {namespace.__name__}.{name}'
            for (_, other_attr), other in registries.items():
                if other is registry or other_attr != attr:
                    continue
                clash = other.module_dict.get(name)
                assert clash is None or clash is obj, \
                    f'{name} is registered by umt_mm and by {clash.__module__}'
    assert ours >= 10  # backbone, head, transforms, constructor, blending, ...
    assert 'UMTViT' not in mmaction_registry.MODELS.module_dict, \
        'umt_mm registers UMTViT, the name of MMAction2 projects/umt'
