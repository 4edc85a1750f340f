"""Frame-folder variants of the K400, SSv2 and pretraining recipes: same model and
sampling as the video recipe, frames from extract_frames' folders."""
from pathlib import Path

import numpy as np
import pytest
from mmengine.config import Config

ROOT = Path(__file__).resolve().parents[2]
VARIANTS = {
    'rawframes/umt-base-p16-res224_k710-ft_16xb16-u8-5e_kinetics400-rawframes.py':
        'k400/umt-base-p16-res224_k710-ft_16xb16-u8-5e_kinetics400-rgb.py',
    'rawframes/umt-base-p16-res224_k710-pre_16xb16-u8-30e_sthv2-rawframes.py':
        'sthv2/umt-base-p16-res224_k710-pre_16xb16-u8-30e_sthv2-rgb.py',
    'rawframes/umt-base-p16-res224_clip-b16-distill_32xb64-u8-201e_kinetics710-rawframes.py':
        'pretrain/umt-base-p16-res224_clip-b16-distill_32xb64-u8-201e_kinetics710-rgb.py',
}
DECODERS = ('DecordInit', 'DecordDecode', 'PyAVSparseInit', 'PyAVSparseDecode')


def _loaders(cfg):
    return [k for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')
            if cfg.get(k) is not None]


@pytest.mark.parametrize('name', sorted(VARIANTS))
def test_same_recipe_but_frames(name):
    frames = Config.fromfile(ROOT / 'configs' / name)
    videos = Config.fromfile(ROOT / 'configs' / VARIANTS[name])
    assert frames.model == videos.model and frames.optim_wrapper == videos.optim_wrapper
    assert _loaders(frames) == _loaders(videos)
    for key in _loaders(frames):
        f_loader, v_loader = frames[key], videos[key]
        assert f_loader.batch_size == v_loader.batch_size
        f_pipe, v_pipe = f_loader.dataset.pipeline, v_loader.dataset.pipeline
        assert 'RawFrameDecode' in [t['type'] for t in f_pipe]
        assert not {t['type'] for t in f_pipe} & set(DECODERS)
        # everything but the decoding is the video recipe's, in the same order
        strip = [t for t in v_pipe if t['type'] not in DECODERS]
        assert [t for t in f_pipe if t['type'] != 'RawFrameDecode'] == strip
        assert set(f_loader.dataset.data_prefix) == {'img'}
        assert f_loader.dataset.type in ('RawframeDataset', 'RawframeRepeatAugDataset')
        if v_loader.dataset.type == 'RepeatAugDataset':
            assert f_loader.dataset.type == 'RawframeRepeatAugDataset'
            assert f_loader.dataset.num_repeats == v_loader.dataset.num_repeats == 2
            assert f_loader.dataset.sample_once


def test_k400_frames_dataset_samples_the_video_recipe_frames(tmp_path, shared_data):
    from mmaction.registry import DATASETS

    from umt_mm.datasets.preparation.video_preparation import extract_frames
    info = extract_frames(shared_data / 'videos' / 'part_0.mp4', tmp_path / 'part_0')
    (tmp_path / 'frames.txt').write_text(f'part_0 {info["frames"]} 7\n')
    (tmp_path / 'videos.txt').write_text('part_0.mp4 7\n')
    k400 = 'rawframes/umt-base-p16-res224_k710-ft_16xb16-u8-5e_kinetics400-rawframes.py'
    cfg = Config.fromfile(ROOT / 'configs' / k400)
    video_cfg = Config.fromfile(ROOT / 'configs' / VARIANTS[k400])
    decoded = {}
    for kind, c, ann, prefix in (('frames', cfg, 'frames.txt', dict(img=str(tmp_path))),
                                 ('videos', video_cfg, 'videos.txt',
                                  dict(video=str(shared_data / 'videos')))):
        ds_cfg = c.val_dataloader.dataset
        ds_cfg.update(ann_file=str(tmp_path / ann), data_prefix=prefix)
        ds_cfg.pipeline = ds_cfg.pipeline[:-2]  # up to the crop: compare frames
        sample = DATASETS.build(ds_cfg)[0]
        decoded[kind] = (sample['frame_inds'], np.stack(sample['imgs']).astype(float),
                         sample['label'])
    assert np.array_equal(decoded['frames'][0] - 1, decoded['videos'][0])  # start_index 1
    assert decoded['frames'][2] == decoded['videos'][2] == 7
    assert decoded['frames'][1].shape == decoded['videos'][1].shape == (8, 224, 224, 3)
    assert np.abs(decoded['frames'][1] - decoded['videos'][1]).mean() < 2.5  # JPEG 95
    train = cfg.train_dataloader.dataset
    train.update(ann_file=str(tmp_path / 'frames.txt'), data_prefix=dict(img=str(tmp_path)))
    samples = DATASETS.build(train)[0]
    assert len(samples) == 2  # repeated augmentation: one read, two samples
    assert tuple(samples[0]['inputs'].shape) == (1, 3, 8, 224, 224)
