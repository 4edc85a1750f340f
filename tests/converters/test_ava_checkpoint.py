"""Released AVA detectors (``*_ftava_*``) -> the AVA configs' model (``--kind ava``)."""
import argparse
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config

from umt_mm.converters import convert_official_ava

ROOT = Path(__file__).resolve().parents[2]
B16 = ROOT / 'action_detection/configs/umt-base-p16_k710-ft_16xb8-8x8x1-30e_ava22-rgb.py'
DIM, DEPTH, MLP = 32, 1, 64


def reference_ava_state(seed: int = 0) -> dict:
    """The reference detector's keys (action_detection/modeling_finetune.py), tiny sizes."""
    gen = torch.Generator().manual_seed(seed)

    def rand(*shape, scale=0.2, base=0.0):
        return base + scale * torch.randn(*shape, generator=gen)

    state = {'patch_embed.proj.weight': rand(DIM, 3, 1, 16, 16, scale=0.05),
             'patch_embed.proj.bias': rand(DIM)}
    for i in range(DEPTH):
        p = f'blocks.{i}.'
        state.update({
            p + 'norm1.weight': rand(DIM, base=1.0), p + 'norm1.bias': rand(DIM),
            p + 'attn.q_bias': rand(DIM), p + 'attn.v_bias': rand(DIM),
            p + 'attn.qkv.weight': rand(3 * DIM, DIM), p + 'attn.proj.weight': rand(DIM, DIM),
            p + 'attn.proj.bias': rand(DIM),
            p + 'norm2.weight': rand(DIM, base=1.0), p + 'norm2.bias': rand(DIM),
            p + 'mlp.fc1.weight': rand(MLP, DIM), p + 'mlp.fc1.bias': rand(MLP),
            p + 'mlp.fc2.weight': rand(DIM, MLP), p + 'mlp.fc2.bias': rand(DIM)})
    state.update({'norm.weight': rand(DIM, base=1.0), 'norm.bias': rand(DIM),
                  'head.weight': rand(80, DIM, scale=0.5), 'head.bias': rand(80, scale=0.5)})
    return state


def tiny_child_config(tmp_path: Path) -> Path:
    child = tmp_path / 'tiny_ava.py'
    arch = dict(embed_dims=DIM, depth=DEPTH, num_heads=2, mlp_ratio=MLP / DIM)
    child.write_text(f"_base_ = ['{B16}']\n"
                     f"model = dict(backbone=dict(arch=dict(_delete_=True, **{arch!r})), "
                     f"roi_head=dict(bbox_head=dict(in_channels={DIM})))\n")
    return child


def run_convert_tool(monkeypatch, *args: str) -> None:
    spec = importlib.util.spec_from_file_location(
        'convert_umt_checkpoint', ROOT / 'tools/convert_umt_checkpoint.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    monkeypatch.setattr(sys, 'argv', ['convert_umt_checkpoint.py', *map(str, args)])
    tool.main()


def hand_reference_scores(tokens, grid, ref, boxes, image_size, person_scores):
    """The reference head with plain ops: norm, mean over T, RoIAlign, max pool, linear."""
    from mmcv.ops import roi_align
    t, h, w = grid
    x = F.layer_norm(tokens, (DIM, ), ref['norm.weight'], ref['norm.bias'], eps=1e-6)
    x = x.reshape(1, t, h, w, DIM).permute(0, 4, 1, 2, 3).mean(dim=2)  # (1, C, h, w)
    # AlphAction's BoxList.extend((0.1, 0.05)) of the test boxes, clipped to the frame
    width, height = image_size
    x1, y1, x2, y2 = boxes.unbind(-1)
    pad_w, pad_h = 0.1 * (x2 - x1 + 1) / 2, 0.05 * (y2 - y1 + 1) / 2
    ext = torch.stack([(x1 - pad_w).clamp(0, width - 1), (y1 - pad_h).clamp(0, height - 1),
                       (x2 + pad_w).clamp(0, width - 1), (y2 + pad_h).clamp(0, height - 1)], -1)
    rois = torch.cat([torch.zeros(len(ext), 1), ext], 1)
    pooled = roi_align(x, rois, (7, 7), 1 / 16, 0, 'avg', False)  # (n, C, 7, 7)
    vec = F.max_pool2d(pooled, 7).flatten(1)
    logits = vec @ ref['head.weight'].t() + ref['head.bias']
    return logits.sigmoid() * person_scores[:, None]


def test_released_ava_file_converts_loads_strictly_and_scores_as_the_reference(
        tmp_path, monkeypatch, capsys):
    from mmaction.structures import ActionDataSample
    from mmdet.registry import MODELS
    from mmengine.runner import load_checkpoint
    from mmengine.structures import InstanceData

    ref = reference_ava_state()
    src, dst = tmp_path / 'b16_ptk710_ftk710_ftava_f8_res224.pth', tmp_path / 'ava.pth'
    # as the reference's save_model writes it
    torch.save(dict(model=ref, epoch=29, args=argparse.Namespace(nb_classes=80)), src)
    child = tiny_child_config(tmp_path)
    run_convert_tool(monkeypatch, src, dst, '--kind', 'ava', '--config', child)
    out = capsys.readouterr().out
    assert 'all keys match' in out

    det = MODELS.build(Config.fromfile(child).model)
    det.init_weights()
    load_checkpoint(det, str(dst), map_location='cpu', strict=True)
    det.eval()
    fc = det.roi_head.bbox_head.fc_cls
    assert fc.weight.shape == (81, DIM)
    torch.testing.assert_close(fc.weight[1:], ref['head.weight'])
    torch.testing.assert_close(fc.bias[1:], ref['head.bias'])
    assert not fc.weight[0].any() and fc.bias[0] == 0  # MMAction2's unused column 0
    torch.testing.assert_close(det.backbone.norm.weight, ref['norm.weight'])

    torch.manual_seed(0)
    inputs = torch.randn(1, 3, 8, 64, 96)
    boxes = torch.tensor([[8.0, 4.0, 60.0, 50.0], [30.0, 10.0, 93.0, 62.0]])
    person = torch.tensor([1.0, 0.85])
    sample = ActionDataSample()
    sample.set_metainfo(dict(img_shape=(64, 96)))
    sample.proposals = InstanceData(bboxes=boxes.clone())
    sample.proposal_scores = person.numpy()
    with torch.no_grad():
        result = det.predict(inputs, [sample])[0].pred_instances
        tokens, grid = det.backbone.embed(inputs)
        tokens, _ = det.backbone._run_blocks(tokens)
    expected = hand_reference_scores(tokens, grid, ref, boxes, (96, 64), person)
    assert result.scores.shape == (2, 81)
    torch.testing.assert_close(result.scores[:, 1:], expected, rtol=1e-5, atol=1e-6)
    # the scores are not trivial: they differ between actions and boxes
    assert expected.std() > 0.05


def test_ava_conversion_rejects_other_layouts_naming_the_problem(tmp_path, monkeypatch):
    ref = reference_ava_state()
    converted = convert_official_ava({'module.' + k: v for k, v in ref.items()})
    assert converted['roi_head.bbox_head.fc_cls.weight'].shape == (81, DIM)
    assert 'backbone.norm.bias' in converted and 'backbone.pos_embed' not in converted
    classifier = {k: v for k, v in ref.items() if not k.startswith(('norm.', 'head.'))}
    classifier.update({'fc_norm.weight': torch.ones(DIM), 'fc_norm.bias': torch.zeros(DIM),
                       'head.weight': torch.zeros(710, DIM), 'head.bias': torch.zeros(710)})
    with pytest.raises(ValueError, match='fc_norm.*--kind finetune --drop-head'):
        convert_official_ava(classifier)
    with pytest.raises(ValueError, match='80 rows.*\\[81, 32\\]'):
        convert_official_ava(dict(ref, **{'head.weight': torch.zeros(81, DIM),
                                          'head.bias': torch.zeros(81)}))
    with pytest.raises(ValueError, match="'head.weight' and 'head.bias'"):
        convert_official_ava({k: v for k, v in ref.items() if not k.startswith('head.')})
    # --kind finetune used to put the head into cls_head.fc_cls, which the detector lacks
    src = tmp_path / 'ftava.pth'
    torch.save(dict(model=ref), src)
    with pytest.raises(SystemExit, match='--kind ava'):
        run_convert_tool(monkeypatch, src, tmp_path / 'out.pth', '--kind', 'finetune')
    assert not (tmp_path / 'out.pth').exists()
    np.testing.assert_array_equal(  # the input is left untouched
        torch.load(src)['model']['head.weight'].numpy(), ref['head.weight'].numpy())
