"""CLIPVisionTeacher: reference fixtures, frozen state, input resizing, autocast."""
import pytest
import torch
import torch.nn.functional as F
from mmaction.registry import MODELS

from umt_mm.converters import load_clip_visual_state_dict
from umt_mm.models.backbones import CLIPVisionTeacher

TINY = dict(patch_size=16, width=64, layers=3, heads=2, output_dim=32)


def _fixture(shared_data, name):
    path = shared_data / 'reference_fixtures' / f'{name}.pt'
    if not path.is_file():
        pytest.skip(f'{path} not found')
    return torch.load(path, weights_only=True)


def _teacher_from_config(cfg: dict, **kwargs) -> CLIPVisionTeacher:
    t = cfg['teacher']
    assert t['layernorm_eps'] == 1e-5
    return MODELS.build(dict(
        type='CLIPVisionTeacher',
        arch=dict(patch_size=t['patch_size'], width=t['width'], layers=t['layers'],
                  heads=t['heads'], output_dim=t['output_dim']),
        input_resolution=t['input_resolution'], num_return_layers=t['return_layers'], **kwargs))


@pytest.mark.parametrize('name', ['pretrain_b16style', 'pretrain_l14style_teacher196'])
def test_reference_fixture_teacher(shared_data, name):
    fx = _fixture(shared_data, name)
    teacher = _teacher_from_config(fx['config'])
    teacher.load_state_dict(fx['teacher_state_dict'], strict=True)
    features, cls_attn = teacher(fx['input'].float())
    assert features.dtype == cls_attn.dtype == torch.float32
    assert features.shape == fx['teacher_features'].shape
    assert cls_attn.shape == fx['teacher_cls_attn'].shape
    torch.testing.assert_close(features, fx['teacher_features'], atol=1e-4, rtol=0)
    torch.testing.assert_close(cls_attn, fx['teacher_cls_attn'], atol=1e-4, rtol=0)
    assert (cls_attn.sum(-1) < 1).all()


def test_l14_openai_layout_through_the_converter(shared_data, tmp_path):
    fx = _fixture(shared_data, 'pretrain_l14style_teacher196')
    openai = fx['teacher_openai_layout_state_dict']
    assert openai['positional_embedding'].shape[0] == 16 * 16 + 1
    path = tmp_path / 'vit_l14_style.pth'
    torch.save({f'visual.{k}': v for k, v in openai.items()}, path)
    state, fmt = load_clip_visual_state_dict(path)
    assert fmt == 'openai-state-dict'
    teacher = _teacher_from_config(
        fx['config'], init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    teacher.init_weights()
    # the reference's clip.load_state_dict: 2-D conv1 inflated, 16x16 table resized to 14x14
    for key, value in fx['teacher_state_dict'].items():
        torch.testing.assert_close(teacher.state_dict()[key], value, atol=1e-6, rtol=0,
                                   msg=key)
    features, cls_attn = teacher(fx['input'].float())
    torch.testing.assert_close(features, fx['teacher_features'], atol=1e-4, rtol=0)
    torch.testing.assert_close(cls_attn, fx['teacher_cls_attn'], atol=1e-4, rtol=0)


def test_input_is_resized_bicubically_to_the_teacher_resolution():
    torch.manual_seed(0)
    teacher = CLIPVisionTeacher(arch=dict(TINY, patch_size=14), input_resolution=56,
                                num_return_layers=1)
    clip = torch.randn(2, 3, 2, 64, 64)
    features, cls_attn = teacher(clip)
    assert features.shape == (1, 2, 2 * 16, 32) and cls_attn.shape == (4, 16)
    resized = F.interpolate(clip.reshape(2, 6, 64, 64), size=(56, 56), mode='bicubic',
                            align_corners=False).reshape(2, 3, 2, 56, 56)
    expected, expected_attn = teacher(resized)
    assert torch.equal(features, expected) and torch.equal(cls_attn, expected_attn)


def test_outputs_per_frame_and_token_order():
    """Frames are encoded independently; tokens come in (t, h, w) order, rows L2-normalised."""
    torch.manual_seed(0)
    teacher = CLIPVisionTeacher(arch=TINY, input_resolution=32, num_return_layers=2)
    clip = torch.randn(2, 3, 3, 32, 32)
    features, cls_attn = teacher(clip)
    assert features.shape == (2, 2, 3 * 4, 32) and cls_attn.shape == (6, 4)
    torch.testing.assert_close(features.norm(dim=-1), torch.ones(2, 2, 12))
    single, single_attn = teacher(clip[1:, :, 2:3])
    torch.testing.assert_close(features[:, 1, 8:12], single[:, 0], atol=1e-6, rtol=0)
    torch.testing.assert_close(cls_attn[5], single_attn[0], atol=1e-6, rtol=0)


def test_teacher_is_frozen_whatever_happens(tmp_path):
    teacher = CLIPVisionTeacher(arch=TINY, input_resolution=32, num_return_layers=2)
    assert not any(p.requires_grad for p in teacher.parameters())
    path = tmp_path / 't.pth'
    torch.save(dict(state_dict=teacher.state_dict()), path)
    loaded = CLIPVisionTeacher(arch=TINY, input_resolution=32, num_return_layers=2,
                               init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    loaded.init_weights()
    assert not any(p.requires_grad for p in loaded.parameters())
    loaded.train()
    assert not loaded.training
    assert not any(m.training for m in loaded.modules())
    wrapper = torch.nn.Sequential(loaded)
    wrapper.train(True)
    assert not loaded.training and wrapper.training
    features, _ = loaded(torch.randn(1, 3, 2, 32, 32, requires_grad=True))
    assert not features.requires_grad and features.grad_fn is None
    for key, value in teacher.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value)


def test_init_cfg_list_and_a_second_init_weights(tmp_path):
    teacher = CLIPVisionTeacher(arch=TINY, input_resolution=32, num_return_layers=1)
    path = tmp_path / 't.pth'
    torch.save(teacher.state_dict(), path)
    loaded = CLIPVisionTeacher(
        arch=TINY, input_resolution=32, num_return_layers=1,
        init_cfg=[dict(type='Constant', layer='Linear', val=0.5, bias=0.0),
                  dict(type='Pretrained', checkpoint=str(path))])
    loaded.init_weights()  # the checkpoint wins over the other entries, as in MMEngine
    for key, value in teacher.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    path.unlink()
    loaded.init_weights()  # already initialised: does not read the file again
    assert not any(p.requires_grad for p in loaded.parameters())


@pytest.mark.parametrize('name', ['pretrain_b16style', 'pretrain_l14style_teacher196'])
def test_reference_fixture_targets_at_visible_tokens(shared_data, name):
    """forward_visible with the fixture's mask gives the reference's gathered targets."""
    fx = _fixture(shared_data, name)
    teacher = _teacher_from_config(fx['config'])
    teacher.load_state_dict(fx['teacher_state_dict'], strict=True)
    mask = fx['mask'].bool()
    seen = []

    def make_mask(cls_attn):
        seen.append(cls_attn)
        return mask

    targets, cls_attn, returned = teacher.forward_visible(fx['input'].float(), make_mask)
    assert len(seen) == 1 and returned is mask
    torch.testing.assert_close(seen[0], fx['teacher_cls_attn'], atol=1e-4, rtol=0)
    assert targets.shape == fx['targets'].shape
    torch.testing.assert_close(targets, fx['targets'], atol=1e-4, rtol=0)


def _per_frame_mask(frames, per_frame, visible, batch=2, same_positions=False):
    rows = []
    for _ in range(batch * (1 if same_positions else frames)):
        row = torch.ones(per_frame, dtype=torch.bool)
        row[torch.randperm(per_frame)[:visible]] = False
        rows.append(row)
    mask = torch.stack(rows)
    if same_positions:  # tube: the same positions in every frame
        return mask.unsqueeze(1).expand(batch, frames, per_frame).reshape(batch, -1)
    return mask.reshape(batch, frames * per_frame)


@pytest.mark.parametrize('kind', ['per_frame', 'tube', 'uneven'])
@pytest.mark.parametrize('autocast', [None, 'bfloat16'])
def test_visible_targets_equal_the_gathered_full_features(kind, autocast):
    torch.manual_seed(0)
    teacher = CLIPVisionTeacher(arch=TINY, input_resolution=64, num_return_layers=2,
                                autocast_dtype=autocast)
    clip = torch.randn(2, 3, 3, 64, 64)  # 3 frames of 4x4 patches
    if kind == 'uneven':  # random masking over the clip: frames keep 2, 5 and 5 tokens
        mask = torch.ones(2, 3, 16, dtype=torch.bool)
        for frame, count in enumerate((2, 5, 5)):
            mask[:, frame, torch.randperm(16)[:count]] = False
        mask = mask.reshape(2, 48)
    else:
        mask = _per_frame_mask(3, 16, 4, same_positions=kind == 'tube')
    features, cls_attn = teacher(clip)
    targets, visible_cls_attn, returned = teacher.forward_visible(clip, lambda a: mask)
    assert returned is mask
    expected = features[:, ~mask].reshape(2, 2, -1, 32)
    assert targets.shape == expected.shape == (2, 2, 12, 32)
    assert targets.dtype == torch.float32
    tol = 1e-5 if autocast is None else 2e-2
    torch.testing.assert_close(targets, expected, atol=tol, rtol=0)
    torch.testing.assert_close(visible_cls_attn, cls_attn, atol=tol, rtol=0)


def test_visible_targets_reject_a_mask_of_another_grid():
    teacher = CLIPVisionTeacher(arch=TINY, input_resolution=64, num_return_layers=2)
    clip = torch.randn(1, 3, 2, 64, 64)
    wrong = torch.zeros(1, 2 * 4, dtype=torch.bool)  # a 2x2 student grid per frame
    with pytest.raises(ValueError, match=r'\(1, 32\).*same grid as the student'):
        teacher.forward_visible(clip, lambda a: wrong)
    with pytest.raises(ValueError, match='must be bool'):
        teacher.forward_visible(clip, lambda a: torch.zeros(1, 32))


def test_bfloat16_autocast_is_close_to_fp32():
    torch.manual_seed(0)
    fp32 = CLIPVisionTeacher(arch=TINY, input_resolution=32, num_return_layers=2)
    bf16 = CLIPVisionTeacher(arch=TINY, input_resolution=32, num_return_layers=2,
                             autocast_dtype='bfloat16')
    bf16.load_state_dict(fp32.state_dict())
    clip = torch.randn(2, 3, 2, 32, 32)
    features, cls_attn = fp32(clip)
    features_bf16, cls_attn_bf16 = bf16(clip)
    assert features_bf16.dtype == cls_attn_bf16.dtype == torch.float32
    cosine = (features * features_bf16).sum(-1)
    assert cosine.min() > 0.99
    torch.testing.assert_close(cls_attn_bf16, cls_attn, atol=2e-2, rtol=5e-2)


def test_bad_configs_and_inputs():
    with pytest.raises(ValueError, match="unknown CLIPVisionTeacher arch 'b32'"):
        CLIPVisionTeacher(arch='b32')
    with pytest.raises(ValueError, match='not a multiple of the patch size 14'):
        CLIPVisionTeacher(arch=dict(TINY, patch_size=14), input_resolution=200,
                          num_return_layers=1)
    with pytest.raises(ValueError, match='num_return_layers'):
        CLIPVisionTeacher(arch=TINY, input_resolution=32, num_return_layers=4)
    with pytest.raises(ValueError, match='autocast_dtype'):
        CLIPVisionTeacher(arch=TINY, input_resolution=32, num_return_layers=1,
                          autocast_dtype='fp8')
    teacher = CLIPVisionTeacher(arch=TINY, input_resolution=32, num_return_layers=1)
    with pytest.raises(ValueError, match=r'\(B, 3, T, H, W\)'):
        teacher(torch.randn(2, 3, 32, 32))


def test_presets_match_the_reference_shapes():
    """CLIP-B/16 of the spec: 86,192,640 elements (built on the meta device).

    The spec's tensor count (128) does not add up with its own key list: 8 top-level
    tensors + 12 per block x 12 blocks = 152 (the fixtures: 8 + 12 x 3 = 44 tensors).
    """
    with torch.device('meta'):
        b16 = CLIPVisionTeacher('b16')
        l14 = CLIPVisionTeacher('l14', input_resolution=196)
    state = b16.state_dict()
    assert len(state) == 8 + 12 * 12
    assert sum(v.numel() for v in state.values()) == 86_192_640
    assert state['conv1.weight'].shape == (768, 3, 1, 16, 16)
    assert state['proj'].shape == (768, 512) and b16.heads == 12
    assert l14.state_dict()['positional_embedding'].shape == (197, 1024)
    assert l14.state_dict()['proj'].shape == (1024, 768) and l14.heads == 16
