"""The pretraining students start from the reference's init (Xavier-uniform Linears, zero
biases, unit LayerNorms), the finetuning backbone keeps its truncated normal (std 0.02).

Reference: ``PretrainVisionTransformerEncoder.__init__`` ends with
``self.apply(self._init_weights)`` (``nn.init.xavier_uniform_`` on every ``nn.Linear``, bias
0, LayerNorm 1 / 0); ``q_bias`` / ``v_bias`` are created as zeros and the patch-embedding
Conv3d keeps PyTorch's default.
"""
import math

import pytest
import torch
from mmaction.registry import MODELS
from mmengine.config import Config

B16_CFG = 'configs/pretrain/umt-base-p16-res224_clip-b16-distill_32xb64-u8-201e_kinetics710-rgb.py'
L16_CFG = ('configs/pretrain/'
           'umt-large-p16-res224_clip-l14-distill_32xb64-u8-201e_kinetics710-rgb.py')
FT_B16_CFG = 'configs/_base_/models/umt-base-p16.py'
# a small random teacher: the student's init does not depend on it (and the real one would
# need its checkpoint)
TINY_TEACHER = dict(type='CLIPVisionTeacher', input_resolution=224, num_return_layers=6,
                    arch=dict(patch_size=16, width=64, layers=6, heads=2, output_dim=32),
                    init_cfg=None)


def xavier_bound(weight: torch.Tensor) -> float:
    fan_out, fan_in = weight.shape
    return math.sqrt(6.0 / (fan_in + fan_out))


def build_student(repo_root, path: str, depth: int | None = None):
    """The recipe's distiller, initialised as the runner does (``init_weights``)."""
    cfg = Config.fromfile(repo_root / path)
    cfg.model.teacher = TINY_TEACHER
    if depth is not None:  # the recipe's block geometry with fewer blocks
        arch = {'base': dict(embed_dims=768, num_heads=12), 'large': dict(
            embed_dims=1024, num_heads=16)}[cfg.model.encoder.arch]
        cfg.model.encoder.arch = dict(arch, depth=depth, mlp_ratio=4.0)
        cfg.model.num_return_layers = depth
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def check_xavier(model, embed_dims: int, depth: int) -> None:
    encoder = model.encoder
    assert encoder.embed_dims == embed_dims and encoder.depth == depth
    expected = {'attn.qkv': (3 * embed_dims, embed_dims), 'attn.proj': (embed_dims, embed_dims),
                'mlp.fc1': (4 * embed_dims, embed_dims), 'mlp.fc2': (embed_dims, 4 * embed_dims)}
    for i, block in enumerate(encoder.blocks):
        for name, shape in expected.items():
            weight = block.get_submodule(name).weight.detach()
            assert weight.shape == shape
            bound = xavier_bound(weight)
            std = bound / math.sqrt(3)  # of U(-bound, bound)
            assert weight.std().item() == pytest.approx(std, rel=0.01), (i, name)
            assert weight.abs().max().item() <= bound * (1 + 1e-6), (i, name)  # float32
            assert weight.abs().max().item() > 0.99 * bound, (i, name)  # uniform, not normal
            assert abs(weight.mean().item()) < 0.01 * std, (i, name)
            bias = block.get_submodule(name).bias
            assert bias is None if name == 'attn.qkv' else not bias.any(), (i, name)
        assert not block.attn.q_bias.any() and not block.attn.v_bias.any()
        for norm in (block.norm1, block.norm2):
            assert bool((norm.weight == 1).all()) and not norm.bias.any()
    assert bool((encoder.norm.weight == 1).all()) and not encoder.norm.bias.any()
    # the alignment heads too, as the reference's Linear_Decoder
    head = model.clip_decoder[0].head.weight.detach()
    assert head.abs().max().item() <= xavier_bound(head) * (1 + 1e-6)
    assert head.std().item() == pytest.approx(xavier_bound(head) / math.sqrt(3), rel=0.02)
    # the patch embedding keeps PyTorch's Conv3d default: kaiming_uniform(a=sqrt(5)), i.e.
    # U(+-1/sqrt(fan_in)) for the weight and the bias
    conv = encoder.patch_embed.proj
    fan_in = conv.weight[0].numel()
    assert conv.weight.abs().max().item() <= 1 / math.sqrt(fan_in) * (1 + 1e-6)
    assert conv.weight.std().item() == pytest.approx(1 / math.sqrt(3 * fan_in), rel=0.02)
    assert conv.bias.abs().max().item() <= 1 / math.sqrt(fan_in) * (1 + 1e-6)
    assert conv.bias.any()


def test_b16_student_has_the_reference_init(repo_root):
    """The whole B/16 student (12 blocks): qkv std 0.0255 (bound sqrt(6 / (768 + 2304))),
    proj 0.0361, fc1 / fc2 0.0228."""
    model = build_student(repo_root, B16_CFG)
    check_xavier(model, 768, 12)
    qkv = model.encoder.blocks[0].attn.qkv.weight
    assert xavier_bound(qkv) == pytest.approx(math.sqrt(6 / (768 + 2304)))
    assert qkv.std().item() == pytest.approx(0.0255, abs=2e-4)
    assert model.encoder.blocks[0].attn.proj.weight.std().item() == pytest.approx(0.0361,
                                                                                   abs=3e-4)


def test_l16_student_has_the_reference_init(repo_root):
    """The L/16 recipe's blocks (1024 channels, 16 heads, MLP 4096), 2 of the 24 (a full
    L/16 takes over a GB and many seconds to build)."""
    model = build_student(repo_root, L16_CFG, depth=2)
    check_xavier(model, 1024, 2)


def test_student_init_can_be_overridden():
    """An ``init_cfg`` of the encoder config wins over the pretraining default."""
    cfg = dict(type='UMTDistiller', align_dims=16, num_return_layers=1,
               encoder=dict(type='UMTVisionTransformer', img_size=32, num_frames=2,
                            arch=dict(embed_dims=64, depth=1, num_heads=2),
                            init_cfg=dict(type='Constant', layer='Linear', val=0.5, bias=0.)),
               teacher=dict(type='CLIPVisionTeacher', input_resolution=32, num_return_layers=1,
                            arch=dict(patch_size=16, width=32, layers=1, output_dim=16)))
    model = MODELS.build(cfg)
    model.init_weights()
    assert bool((model.encoder.blocks[0].mlp.fc1.weight == 0.5).all())


def test_finetuning_backbone_keeps_trunc_normal(repo_root):
    """The finetuning model (its B/16 backbone config, 2 blocks): truncated normal std 0.02."""
    backbone = Config.fromfile(repo_root / FT_B16_CFG).model.backbone
    assert backbone.type == 'UMTVisionTransformer' and backbone.get('init_cfg') is None
    backbone.arch = dict(embed_dims=768, depth=2, num_heads=12, mlp_ratio=4.0)
    torch.manual_seed(0)
    model = MODELS.build(backbone)
    model.init_weights()
    for block in model.blocks:
        for layer in (block.attn.qkv, block.attn.proj, block.mlp.fc1, block.mlp.fc2):
            assert layer.weight.std().item() == pytest.approx(0.02, rel=0.01)
            # normal, not uniform: 3-sigma values exist (a uniform of std 0.02 stops at 0.035)
            assert layer.weight.abs().max().item() > 0.07
