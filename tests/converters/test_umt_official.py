"""Checkpoint converters: layouts, fp16, round trip, pretrain, MMAction2 port, strict mode."""
import subprocess
import sys

import pytest
import torch

from umt_mm.converters import (
    check_against,
    convert_mmaction_port,
    convert_official_finetune,
    convert_official_pretrain,
    convert_umt_mm,
    drop_head,
    load_state_dict_any,
    to_official_finetune,
)
from umt_mm.models import UMTHead, UMTVisionTransformer

TINY = dict(embed_dims=32, depth=2, num_heads=2, mlp_ratio=2)


def _recognizer_like():
    return torch.nn.ModuleDict(dict(
        backbone=UMTVisionTransformer(arch=TINY, img_size=32, num_frames=2),
        cls_head=UMTHead(num_classes=3, in_channels=32)))


def _official_state():
    model = _recognizer_like()
    return to_official_finetune(model.state_dict()), model


def test_layouts_and_fp16(tmp_path):
    official, _ = _official_state()
    half = {k: v.half() for k, v in official.items()}
    for wrapped in (half, {'model': half}, {'module': half}, {'state_dict': half}):
        path = tmp_path / 'ckpt.pth'
        torch.save(wrapped, path)
        loaded = load_state_dict_any(path)
        assert set(loaded) == set(official)
        assert all(v.dtype == torch.float32 for v in loaded.values())
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        load_state_dict_any(tmp_path / 'missing.pth')
    with pytest.raises(ValueError, match='not a tensor'):
        load_state_dict_any({'a': torch.zeros(1), 'b': 'text'})


def test_round_trip_is_lossless():
    official, model = _official_state()
    assert 'head.weight' in official and 'patch_embed.proj.weight' in official
    ours = convert_official_finetune(official)
    assert set(ours) == set(model.state_dict())
    for key, value in model.state_dict().items():
        assert torch.equal(ours[key], value)
    back = to_official_finetune(ours)
    assert list(back) == list(official)
    assert all(torch.equal(back[k], official[k]) for k in official)


def test_stored_pos_embed_and_prefixes_are_handled():
    official, model = _official_state()
    wrapped = {'module.' + k: v for k, v in official.items()}
    wrapped['module.pos_embed'] = torch.zeros(1, 8, 32)
    converted = convert_official_finetune(wrapped)
    assert check_against(model.state_dict(), converted, strict=True).ok


def test_strict_mode_names_wrong_keys():
    official, model = _official_state()
    official['blocks.0.attn.extra'] = torch.zeros(1)
    del official['fc_norm.weight']
    official['head.weight'] = torch.zeros(5, 32)
    converted = convert_official_finetune(official)
    report = check_against(model.state_dict(), converted)
    assert report.missing == ['backbone.fc_norm.weight']
    assert report.unexpected == ['backbone.blocks.0.attn.extra']
    assert report.mismatched == [('cls_head.fc_cls.weight', (5, 32), (3, 32))]
    with pytest.raises(ValueError) as err:
        check_against(model.state_dict(), converted, strict=True)
    for text in ('backbone.fc_norm.weight', 'backbone.blocks.0.attn.extra',
                 'cls_head.fc_cls.weight: checkpoint [5, 32] vs model [3, 32]'):
        assert text in str(err.value)


def test_pretrain_student_with_and_without_alignment_heads():
    backbone = UMTVisionTransformer(arch=TINY, img_size=32, num_frames=2).state_dict()
    official = {f'encoder.{k}': v for k, v in backbone.items() if not k.startswith('fc_norm')}
    official['encoder.norm.weight'] = torch.ones(32)
    official['encoder.norm.bias'] = torch.zeros(32)
    for k in range(2):
        official[f'clip_decoder.{k}.head.weight'] = torch.rand(16, 32)
        official[f'clip_decoder.{k}.head.bias'] = torch.rand(16)
        official[f'clip_decoder.{k}.norm.weight'] = torch.rand(16)
        official[f'clip_decoder.{k}.norm.bias'] = torch.rand(16)
    finetune = convert_official_pretrain(official)
    assert all(k.startswith('backbone.') for k in finetune)
    report = check_against({f'backbone.{k}': v for k, v in backbone.items()}, finetune)
    assert report.missing == ['backbone.fc_norm.bias', 'backbone.fc_norm.weight']
    assert not report.unexpected and not report.mismatched
    resume = convert_official_pretrain(official, keep_alignment_heads=True)
    assert resume.keys() == official.keys()  # the UMTDistiller layout is the official one
    assert torch.equal(resume['clip_decoder.1.head.weight'], official['clip_decoder.1.head.weight'])
    assert 'encoder.norm.weight' in resume
    module = convert_official_pretrain({f'module.{k}': v for k, v in official.items()}, True)
    assert module.keys() == official.keys()


def test_mmaction_port():
    _, model = _official_state()
    port = dict(model.state_dict())
    port['backbone.pos_embed'] = torch.zeros(1, 8, 32)
    converted = convert_mmaction_port(port)
    assert check_against(model.state_dict(), converted, strict=True).ok
    with pytest.raises(ValueError, match='unexpected key'):
        convert_mmaction_port({'data_preprocessor.mean': torch.zeros(3)})


def test_umt_mm_checkpoints_and_drop_head(tmp_path, repo_root):
    _, model = _official_state()
    ours = dict(model.state_dict())
    ours['backbone.pos_embed'] = torch.zeros(1, 8, 32)  # dropped: rebuilt from the config
    converted = convert_umt_mm(ours)
    assert 'backbone.pos_embed' not in converted
    assert check_against(model.state_dict(), converted, strict=True).ok
    with pytest.raises(ValueError, match="unexpected key 'head.weight'"):
        convert_umt_mm({'head.weight': torch.zeros(3, 32)})
    headless = drop_head(converted)
    assert not any(k.startswith('cls_head.') for k in headless)
    assert len(headless) == len(converted) - 2
    with pytest.raises(KeyError, match='nothing to drop'):
        drop_head(headless)
    # the CLI: an MMEngine checkpoint written by umt_mm training, head dropped
    src = tmp_path / 'epoch_1.pth'
    torch.save(dict(meta=dict(epoch=1), state_dict=model.state_dict()), src)
    dst = tmp_path / 'init.pth'
    result = subprocess.run(
        [sys.executable, 'tools/convert_umt_checkpoint.py', str(src), str(dst), '--kind',
         'umt-mm', '--drop-head'], cwd=repo_root, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    out = torch.load(dst, weights_only=True)
    assert out['meta']['head'] == 'dropped'
    assert set(out['state_dict']) == set(headless)


def test_cli_with_config_and_head_mapping(tmp_path, repo_root, shared_data):
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(
        "custom_imports = dict(imports=['umt_mm'], allow_failed_imports=False)\n"
        "default_scope = 'mmaction'\n"
        "model = dict(type='Recognizer3D', backbone=dict(type='UMTVisionTransformer', arch=dict("
        "embed_dims=32, depth=2, num_heads=2, mlp_ratio=2), img_size=32, num_frames=2),"
        " cls_head=dict(type='UMTHead', num_classes=600, in_channels=32))\n")
    k710 = torch.nn.ModuleDict(dict(
        backbone=UMTVisionTransformer(arch=TINY, img_size=32, num_frames=2),
        cls_head=UMTHead(num_classes=710, in_channels=32)))
    src = tmp_path / 'k710.pth'
    torch.save(to_official_finetune(k710.state_dict()), src)
    labels = shared_data / 'label_maps'
    dst = tmp_path / 'k600.pth'
    result = subprocess.run(
        [sys.executable, 'tools/convert_umt_checkpoint.py', str(src), str(dst), '--kind',
         'finetune', '--dataset', 'k600', '--target-labels', str(labels / 'label_map_k600.txt'),
         '--k710-labels', str(labels / 'label_map_k710.txt'), '--config', str(cfg), '--strict'],
        cwd=repo_root, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert 'all keys match' in result.stdout
    out = torch.load(dst, weights_only=True)
    assert out['state_dict']['cls_head.fc_cls.weight'].shape == (600, 32)
    assert out['meta']['head_mapped_to'] == 'k600'


@pytest.mark.parametrize('name', ['finetune_8x224', 'finetune_16x224', 'finetune_8x64',
                                  'finetune_4x384', 'finetune_16x224_tubelet2'])
def test_reference_fixtures_through_the_converter(shared_data, name):
    """Reference weights -> converter (file path, strict) -> Recognizer3D -> reference logits."""
    from mmaction.registry import MODELS
    path = shared_data / 'reference_fixtures' / f'{name}.pt'
    if not path.exists():
        pytest.skip(f'reference fixture {path} missing')
    fixture = torch.load(path, weights_only=True)
    cfg = fixture['config']
    model = MODELS.build(dict(
        type='Recognizer3D',
        backbone=dict(type='UMTVisionTransformer',
                      arch=dict(embed_dims=cfg['embed_dim'], depth=cfg['depth'],
                                num_heads=cfg['num_heads'], mlp_ratio=cfg['mlp_ratio']),
                      img_size=cfg['img_size'], num_frames=cfg['num_frames'],
                      tubelet_size=cfg['tubelet_size']),
        cls_head=dict(type='UMTHead', num_classes=cfg['num_classes'],
                      in_channels=cfg['embed_dim']))).eval()
    converted = convert_official_finetune(load_state_dict_any({'model': fixture['state_dict']}))
    assert check_against(model.state_dict(), converted, strict=True).ok
    model.load_state_dict(converted, strict=True)
    with torch.no_grad():
        logits = model.cls_head(model.backbone(fixture['input'].float()))
    torch.testing.assert_close(logits, fixture['logits'].float(), atol=1e-4, rtol=0)


class _Opaque:
    """Stands in for the non-tensor objects DeepSpeed pickles into its checkpoints."""


def test_training_checkpoints_safe_and_trusted_loading(tmp_path):
    import argparse
    official, _ = _official_state()
    # the reference pretraining/finetuning scripts save {'model', 'epoch', 'args': Namespace}
    path = tmp_path / 'checkpoint-best.pth'
    torch.save({'model': official, 'epoch': 3, 'args': argparse.Namespace(lr=1e-3)}, path)
    assert set(load_state_dict_any(path)) == set(official)
    ds = tmp_path / 'mp_rank_00_model_states.pt'
    torch.save({'module': official, 'ds_config': _Opaque()}, ds)
    with pytest.raises(ValueError, match=r'mp_rank_00_model_states\.pt.*trusted=True'):
        load_state_dict_any(ds)
    assert set(load_state_dict_any(ds, trusted=True)) == set(official)
