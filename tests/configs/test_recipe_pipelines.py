"""The recipes' data pipelines on a real video: shapes, dtypes and views."""
from pathlib import Path

import numpy as np
import pytest
import torch
from mmaction.registry import DATASETS
from mmengine.config import Config
from mmengine.dataset import Compose

ROOT = Path(__file__).resolve().parents[2]

CASES = {  # config: (frames, size, test clips, test crops)
    'k400/umt-base-p16-res224_k710-ft_16xb16-u8-5e_kinetics400-rgb.py': (8, 224, 4, 3),
    'k700/umt-large-p16-res224_k710-ft_16xb8-u16-5e_kinetics700-rgb.py': (16, 224, 4, 1),
    'mitv1/umt-large-p16-res384_k400-ft_16xb8-u8-4e_mit-rgb.py': (8, 384, 6, 3),
    'sthv2/umt-base-p16-res224_k710-pre_16xb16-u8-30e_sthv2-rgb.py': (8, 224, 2, 3),
}


def _sample(video: Path) -> dict:
    return dict(filename=str(video), label=3, start_index=0, modality='RGB')


@pytest.mark.parametrize('name', sorted(CASES))
def test_val_and_test_views_on_a_real_video(name, shared_data):
    frames, size, clips, crops = CASES[name]
    cfg = Config.fromfile(ROOT / 'configs' / name)
    video = shared_data / 'videos' / 'test.mp4'  # 300 frames, 340x256
    val = Compose(cfg.val_dataloader.dataset.pipeline)(_sample(video))
    assert tuple(val['inputs'].shape) == (1, 3, frames, size, size)
    assert val['inputs'].dtype == torch.uint8
    test = Compose(cfg.test_dataloader.dataset.pipeline)(_sample(video))
    assert tuple(test['inputs'].shape) == (clips * crops, 3, frames, size, size)
    assert test['data_samples'].gt_label.item() == 3
    # views are crop-major (crops x clips): with several crops, the first clip of the first
    # crop starts at the left edge of the resized frame and the last crop at its right edge
    if crops == 3:
        wide = Compose(cfg.test_dataloader.dataset.pipeline[:4])(_sample(video))['imgs']
        width = wide[0].shape[1]
        left = test['inputs'][0, :, 0].permute(1, 2, 0).numpy()
        right = test['inputs'][(crops - 1) * clips, :, 0].permute(1, 2, 0).numpy()
        np.testing.assert_array_equal(left, wide[0][:, :size])
        np.testing.assert_array_equal(right, wide[0][:, width - size:])


@pytest.mark.parametrize('name', sorted(CASES))
def test_train_pipeline_with_repeated_augmentation(name, shared_data, tmp_path):
    frames, size = CASES[name][:2]
    cfg = Config.fromfile(ROOT / 'configs' / name)
    ann = tmp_path / 'train.txt'
    ann.write_text('test.mp4 3\n')
    dataset_cfg = cfg.train_dataloader.dataset
    dataset_cfg.ann_file = str(ann)
    dataset_cfg.data_prefix = dict(video=str(shared_data / 'videos'))
    dataset = DATASETS.build(dataset_cfg)
    np.random.seed(0)
    samples = dataset[0]
    repeats = dataset_cfg.num_repeats
    assert isinstance(samples, list) and len(samples) == repeats
    for sample in samples:
        assert tuple(sample['inputs'].shape) == (1, 3, frames, size, size)
        # erasing writes float32 (values normalise to N(0, 1) in the erased box)
        assert sample['inputs'].dtype == torch.float32
        assert sample['data_samples'].gt_label.item() == 3
    if repeats == 2:
        # decoded once (same frames), augmented twice (different crops / ops)
        assert not torch.equal(samples[0]['inputs'], samples[1]['inputs'])
