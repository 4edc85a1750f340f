"""The fixes of umt_mm.compat: drn placeholder, AVA registration, weights-only checkpoints,
video errors that name the file."""
import pickle
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


def test_drn_placeholder_explains_itself():
    import mmaction.models  # noqa: F401

    import umt_mm  # noqa: F401
    drn = sys.modules['mmaction.models.localizers.drn.drn']
    if drn.DRN.__module__ == 'umt_mm.compat':
        with pytest.raises(ImportError, match='not included in the mmaction2 1.2.0 wheel'):
            drn.DRN()


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


class _Hostile:
    def __reduce__(self):
        return (print, ('this must never run',))


def test_hostile_checkpoint_is_refused(tmp_path):
    from mmengine.runner.checkpoint import _load_checkpoint

    import umt_mm  # noqa: F401
    path = tmp_path / 'hostile.pth'
    torch.save({'state_dict': {'w': torch.zeros(1)}, 'meta': {'x': _Hostile()}}, path)
    with pytest.raises(pickle.UnpicklingError, match='Weights only load failed'):
        _load_checkpoint(str(path), map_location='cpu')


def test_mmengine_checkpoint_resumes_weights_only(tmp_path):
    """A tiny Runner training run saves, then resumes under torch's weights-only load."""
    import numpy as np
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    import umt_mm  # noqa: F401

    class Tiny(BaseModel):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(2, 1)

        def forward(self, inputs, labels=None, mode='loss'):
            loss = ((self.lin(inputs) - labels) ** 2).mean()
            return dict(loss=loss)

    data = [dict(inputs=torch.tensor([float(i), 1.0]), labels=torch.tensor([2.0 * i]))
            for i in range(8)]

    def make_runner(max_epochs, resume):
        return Runner(
            model=Tiny(), work_dir=str(tmp_path),
            train_dataloader=dict(dataset=data, sampler=dict(type='DefaultSampler', shuffle=False),
                                  batch_size=4, collate_fn=dict(type='default_collate')),
            optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
            train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
            default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1)),
            resume=resume, default_scope='mmengine')

    runner = make_runner(1, False)
    # numpy scalars in the runtime info would pickle through builtins.getattr
    runner.message_hub.update_info('np_scalar', np.float64(1.5), resumed=True)
    runner.train()
    ckpt = tmp_path / 'epoch_1.pth'
    assert ckpt.exists()
    unsafe = {str(g) for g in torch.serialization.get_unsafe_globals_in_checkpoint(str(ckpt))}
    assert 'builtins.getattr' not in unsafe
    assert not any('multiarray.scalar' in g for g in unsafe)
    weight_after_1 = runner.model.lin.weight.detach().clone()

    resumed = make_runner(2, True)
    resumed.train()
    assert resumed.train_loop.epoch == 2
    assert resumed.message_hub.get_info('np_scalar') == 1.5
    assert (tmp_path / 'epoch_2.pth').exists()
    loaded = torch.load(tmp_path / 'epoch_1.pth', map_location='cpu')  # weights_only default
    assert torch.equal(loaded['state_dict']['lin.weight'], weight_after_1)


def test_corrupt_or_missing_video_errors_name_the_file(shared_data, tmp_path):
    from mmaction.registry import DATASETS
    corrupt = tmp_path / 'corrupt.mp4'
    corrupt.write_bytes((shared_data / 'videos' / 'test.mp4').read_bytes()[:5000])
    (tmp_path / 'list.txt').write_text('corrupt.mp4 1\nmissing.mp4 2\n')
    pipeline = [dict(type='DecordInit'), dict(type='UMTSampleFrames', clip_len=4),
                dict(type='DecordDecode'), dict(type='FormatShape', input_format='NCTHW'),
                dict(type='PackActionInputs')]
    for dataset_type in ('VideoDataset', 'RepeatAugDataset'):
        dataset = DATASETS.build(dict(type=dataset_type, ann_file=str(tmp_path / 'list.txt'),
                                      data_prefix=dict(video=str(tmp_path)),
                                      pipeline=pipeline))
        with pytest.raises(RuntimeError, match=r'corrupt\.mp4: cannot open the video'):
            dataset[0]
        with pytest.raises(FileNotFoundError, match=r'missing\.mp4'):
            dataset[1]


def test_empty_video_is_reported_with_its_name():
    from umt_mm.datasets.transforms import UMTSampleFrames
    with pytest.raises(ValueError, match=r'empty\.mp4: the video has 0 frames'):
        UMTSampleFrames(clip_len=4)(dict(total_frames=0, filename='data/empty.mp4'))
