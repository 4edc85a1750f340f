"""``import umt_mm`` registers its modules into MMAction2's and MMDet's registries."""
import subprocess
import sys

import pytest
import torch


def test_mmaction_models_import_and_registry_build():
    code = (
        'import umt_mm, sys\n'
        'import mmaction.models\n'
        'from mmaction.utils import register_all_modules\n'
        'register_all_modules()\n'
        'from mmaction.registry import MODELS\n'
        'm = MODELS.build(dict(type="Recognizer3D", backbone=dict(type="VisionTransformer", '
        'img_size=32, embed_dims=32, depth=1, num_heads=2, num_frames=4), '
        'cls_head=dict(type="TimeSformerHead", num_classes=3, in_channels=32), '
        'data_preprocessor=dict(type="ActionDataPreprocessor", format_shape="NCTHW")))\n'
        'import torch\n'
        'out = m(torch.rand(1, 1, 3, 4, 32, 32), mode="tensor")\n'
        'print(type(m).__name__, tuple(out.shape), tuple(m.cls_head(out).shape))\n')
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == 'Recognizer3D (1, 32) (1, 3)'


def test_ava_parts_registered_in_mmdet_and_roi_align_runs():
    import mmaction.models  # noqa: F401
    from mmdet.registry import MODELS as MMDET_MODELS
    from mmdet.registry import TASK_UTILS

    import umt_mm  # noqa: F401
    for name in ('AVARoIHead', 'BBoxHeadAVA', 'SingleRoIExtractor3D'):
        assert name in MMDET_MODELS.module_dict, f'{name} missing from mmdet MODELS'
    assert 'MaxIoUAssignerAVA' in TASK_UTILS.module_dict
    from mmcv.ops import RoIAlign
    feat = torch.arange(16.0).reshape(1, 1, 4, 4)  # value = 4*y + x at pixel centres
    rois = torch.tensor([[0.0, 0.0, 0.0, 2.0, 2.0]])  # box over pixels (0..1, 0..1)
    out = RoIAlign((1, 1), spatial_scale=1.0, sampling_ratio=2, aligned=True)(feat, rois)
    # the box centre is at (0.5, 0.5) in aligned coordinates -> mean of pixels 0,1,4,5
    assert out.shape == (1, 1, 1, 1)
    assert out.item() == pytest.approx(2.5, abs=1e-5)
