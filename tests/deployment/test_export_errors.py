"""Configs whose model cannot be exported fail with the module that blocks them; checkpoints
that do not fill the model fail with the converter command."""
import pytest
from deploy_helpers import QUICKSTART, ROOT


def _tool():
    import importlib.util
    spec = importlib.util.spec_from_file_location('export_tool',
                                                  ROOT / 'tools/deployment/export.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def test_tool_names_the_head_without_export_path(tmp_path, capsys):
    config = tmp_path / 'i3d_head.py'
    config.write_text(f"_base_ = [{str(QUICKSTART)!r}]\n"
                      "model = dict(cls_head=dict(_delete_=True, type='I3DHead', num_classes=2,"
                      " in_channels=32))\n")
    out = tmp_path / 'x.onnx'
    code = _tool().main([str(config), 'none', '--out', str(out)])
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()
    assert 'model.cls_head (I3DHead) has no export path' in err
    assert str(config) in err and 'UMTHead' in err


@pytest.mark.parametrize('override, blocked', [
    ({'model.backbone.output': 'feature_map'},
     r"model\.backbone \(UMTVisionTransformer\) has output='feature_map'"),
    ({'model.type': 'Recognizer2D'}, r'model \(Recognizer2D\) has no export path'),
])
def test_recognizer_blocking_modules(override, blocked):
    from mmaction.registry import MODELS
    from mmengine.config import Config

    from umt_mm.deployment import ExportError, make_wrapper
    cfg = Config.fromfile(QUICKSTART)
    cfg.merge_from_dict(override)
    with pytest.raises(ExportError, match=blocked):
        make_wrapper(MODELS.build(cfg.model))


def test_detector_blocking_modules(tmp_path):
    from deploy_helpers import tiny_ava_config
    from mmaction.registry import MODELS
    from mmengine.config import Config

    from umt_mm.deployment import ExportError, make_wrapper
    cfg = Config.fromfile(tiny_ava_config(tmp_path))
    cfg.model.roi_head.bbox_roi_extractor.aligned = True
    with pytest.raises(ExportError, match=r'roi_layer \(RoIAlign\) has aligned=True'):
        make_wrapper(MODELS.build(cfg.model))
    cfg = Config.fromfile(tiny_ava_config(tmp_path))
    cfg.model.backbone.output = 'pooled'
    cfg.model.backbone.with_fc_norm = True
    with pytest.raises(ExportError, match=r"model\.backbone \(UMTVisionTransformer\) has "
                                          r"output='pooled'"):
        make_wrapper(MODELS.build(cfg.model))


def test_distiller_has_no_export_path():
    from mmaction.registry import MODELS

    from umt_mm.deployment import ExportError, make_wrapper
    model = MODELS.build(dict(
        type='UMTDistiller', align_dims=32, num_return_layers=1,
        encoder=dict(type='UMTVisionTransformer', img_size=32, num_frames=2,
                     arch=dict(embed_dims=32, depth=1, num_heads=2)),
        teacher=dict(type='CLIPVisionTeacher', input_resolution=32, num_return_layers=1,
                     arch=dict(patch_size=16, width=32, layers=1, heads=2, output_dim=32))))
    with pytest.raises(ExportError, match=r'model \(UMTDistiller\) has no export path'):
        make_wrapper(model)


def test_tool_loads_strictly_and_names_the_converter(tmp_path, capsys):
    import torch
    from mmaction.registry import MODELS
    from mmengine.config import Config

    from umt_mm.converters import to_official_finetune
    model = MODELS.build(Config.fromfile(QUICKSTART).model)
    official = tmp_path / 'b16_ptk710_ftk710_ftk400_f8_res224.pth'
    torch.save({'model': to_official_finetune(model.state_dict())}, official)
    out = tmp_path / 'x.onnx'
    code = _tool().main([str(QUICKSTART), str(official), '--out', str(out)])
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()
    assert 'official UMT finetuning layout' in err
    assert 'tools/convert_umt_checkpoint.py' in err and '--kind finetune' in err
    assert 'pass --non-strict' in err
    assert _tool().main([str(QUICKSTART), str(official), '--out', str(out),
                         '--non-strict']) == 0
    assert out.is_file()
    converted = tmp_path / 'converted.pth'
    torch.save({'state_dict': model.state_dict()}, converted)
    assert _tool().main([str(QUICKSTART), str(converted), '--out', str(out)]) == 0
    assert 'Differences' not in capsys.readouterr().err
