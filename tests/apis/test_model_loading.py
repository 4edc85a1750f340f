"""Strict loading of umt_mm.apis: converted files load, others fail naming the converter."""
import re

import pytest
import torch

from umt_mm.apis import get_model_info, init_recognizer, list_models, load_config
from umt_mm.converters import convert_official_finetune, to_official_finetune
from umt_mm.converters.checkpoint_layouts import CheckpointMismatchError, detect_layout

TOY = 'configs/quickstart/umt-tiny-p16-res32_scratch_1xb2-u4-2e_toy-rgb.py'
K400_B16 = 'umt-base-p16-res224_k710-ft_16xb16-u8-5e_kinetics400-rgb'
# the K400 B/16 recipe shrunk to a 1-block, 32-wide model on 2 frames of 32 px
TINY_K400 = {'model.backbone.arch': dict(_delete_=True, embed_dims=32, depth=1, num_heads=2,
                                         mlp_ratio=2.0),
             'model.backbone.img_size': 32, 'model.backbone.num_frames': 2,
             'model.cls_head.in_channels': 32}


def _saved(tmp_path, name='tiny.pth', cfg_options=None, config=TOY):
    from mmaction.registry import MODELS
    cfg = load_config(config, cfg_options)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    path = tmp_path / name
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path, model.eval()


def _clip(model):
    backbone = model.backbone
    torch.manual_seed(1)
    return torch.randn(1, 3, backbone.num_frames, backbone.img_size, backbone.img_size)


def test_converted_checkpoint_loads_strictly(repo_root, tmp_path):
    path, ref = _saved(tmp_path)
    model = init_recognizer(repo_root / TOY, path, device='cpu')
    clip = _clip(ref)
    with torch.no_grad():
        torch.testing.assert_close(model.backbone(clip), ref.backbone(clip),
                                   rtol=0, atol=0)
    assert not model.training and model.cfg.filename.endswith('toy-rgb.py')


def test_unconverted_official_checkpoint_fails_with_the_converter_command(repo_root, tmp_path):
    path, ref = _saved(tmp_path)
    official = tmp_path / 'b16_ptk710_ftk710_ftk400_f8_res224.pth'
    torch.save({'model': to_official_finetune(ref.state_dict())}, official)
    with pytest.raises(CheckpointMismatchError) as info:
        init_recognizer(repo_root / TOY, official, device='cpu')
    message = str(info.value)
    assert str(official) in message
    assert 'official UMT finetuning layout' in message
    assert re.search(r'python tools/convert_umt_checkpoint.py \S+b16_ptk710_ftk710_ftk400_f8_'
                     r'res224.pth \S+ --kind finetune --strict --config \S+toy-rgb.py', message)
    assert 'strict=False' in message
    assert info.value.layout.convert_kind == 'finetune'


def test_non_strict_loads_the_matching_tensors_only(repo_root, tmp_path):
    path, ref = _saved(tmp_path)
    state = torch.load(path, weights_only=True)['state_dict']
    head = {k: v for k, v in state.items() if k.startswith('cls_head.')}
    partial = tmp_path / 'backbone_only.pth'
    torch.save({'state_dict': {k: v for k, v in state.items() if k not in head}}, partial)
    with pytest.raises(CheckpointMismatchError, match='missing keys'):
        init_recognizer(repo_root / TOY, partial, device='cpu')
    model = init_recognizer(repo_root / TOY, partial, device='cpu', strict=False)
    torch.testing.assert_close(model.backbone.state_dict()['patch_embed.proj.weight'],
                               ref.backbone.state_dict()['patch_embed.proj.weight'])


def test_checkpoint_of_another_model_names_its_layout(repo_root, tmp_path):
    path, _ = _saved(tmp_path, cfg_options={'model.backbone.arch.depth': 3})
    with pytest.raises(CheckpointMismatchError) as info:
        init_recognizer(repo_root / TOY, path, device='cpu', opt_out='--non-strict')
    message = str(info.value)
    assert 'umt_mm recognizer (Recognizer3D) layout' in message
    assert 'unexpected keys' in message and 'another model' in message
    assert '--non-strict' in message and info.value.command is None


def test_layouts_of_the_known_formats(repo_root, tmp_path):
    _, ref = _saved(tmp_path)
    state = ref.state_dict()
    assert detect_layout(state).name == 'umt_mm_recognizer'
    official = to_official_finetune(state)
    assert detect_layout(official).name == 'official_finetune'
    assert detect_layout({'module.' + k: v for k, v in official.items()}).convert_kind == \
        'finetune'
    pretrain = {'encoder.' + k[len('backbone.'):]: v for k, v in state.items()
                if k.startswith('backbone.')}
    pretrain['clip_decoder.0.head.weight'] = torch.zeros(2, 2)
    assert detect_layout(pretrain).convert_kind == 'pretrain'
    ava = {k: v for k, v in official.items() if not k.startswith(('fc_norm', 'head.'))}
    ava.update({'norm.weight': torch.ones(32), 'head.weight': torch.zeros(80, 32),
                'head.bias': torch.zeros(80)})
    assert detect_layout(ava).convert_kind == 'ava'
    port = dict(state, **{'backbone.pos_embed': torch.zeros(1, 4, 32)})
    assert detect_layout(port).convert_kind == 'mmaction-port'
    assert detect_layout({'visual.conv1.weight': torch.zeros(1)}).convert_kind == 'clip'
    assert detect_layout({'foo.bar': torch.zeros(1)}).name == 'unknown'


def test_model_names_resolve_to_configs_and_label_maps():
    names = list_models()
    assert K400_B16 in names and len(names) == 21
    assert len(list_models('detection')) == 2 and len(list_models('pretraining')) == 2
    info = get_model_info(K400_B16 + '.py')
    assert info.config.is_file() and info.config.name == K400_B16 + '.py'
    assert info.label_map == 'k400' and info.convert_kind == 'finetune'
    assert info.weights.endswith('b16_ptk710_ftk710_ftk400_f8_res224.pth')
    assert dict(info.metrics)['Top 1 Accuracy'] == 87.4
    ava = get_model_info('umt-base-p16_k710-ft_16xb8-8x8x1-30e_ava22-rgb')
    assert (ava.task, ava.convert_kind, ava.label_map) == ('detection', 'ava', 'ava')
    with pytest.raises(KeyError, match='did you mean umt-base-p16-res224_k710-ft_16xb16-u8-5e_'
                                       'kinetics400-rgb'):
        get_model_info('umt-base-p16-res224_k710-ft_16xb16-u8-5e_kinetics401-rgb')


def test_model_name_without_checkpoint_uses_and_converts_the_official_weights(
        tmp_path, monkeypatch):
    """A model name alone loads the metafile's official release, converted in memory."""
    import dataclasses

    from umt_mm.apis import model_loading
    path, ref = _saved(tmp_path, cfg_options=TINY_K400, config=K400_B16)
    official = tmp_path / 'official.pth'
    torch.save({'model': to_official_finetune(ref.state_dict())}, official)
    info = dataclasses.replace(get_model_info(K400_B16), weights=str(official))
    monkeypatch.setattr(model_loading, 'get_model_info', lambda name: info)
    model = init_recognizer(K400_B16, device='cpu', cfg_options=TINY_K400)
    clip = _clip(ref)
    with torch.no_grad():
        torch.testing.assert_close(model.backbone(clip), ref.backbone(clip),
                                   rtol=0, atol=0)
    # the conversion is the converter's own
    converted = convert_official_finetune(to_official_finetune(ref.state_dict()))
    assert set(converted) <= set(model.state_dict())


def test_detector_and_recognizer_configs_are_not_confused(repo_root):
    from umt_mm.apis import init_ava_detector
    with pytest.raises(ValueError, match='not an AVA detector config'):
        init_ava_detector(repo_root / TOY, device='cpu')
    with pytest.raises(ValueError, match='is an AVA detector config; use init_ava_detector'):
        init_recognizer('umt-base-p16_k710-ft_16xb8-8x8x1-30e_ava22-rgb', None, device='cpu')


def test_missing_checkpoint_and_unknown_config(repo_root, tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth does not exist'):
        init_recognizer(repo_root / TOY, tmp_path / 'nope.pth', device='cpu')
    with pytest.raises(FileNotFoundError, match='no such file, and .* is not a umt_mm model'):
        load_config('configs/k400/nope.py')
