"""A tiny end-to-end UMT pretraining run on a folder of real videos.

The B/16 pretraining recipe, shrunk to a tiny geometry (everything else as configured), is
trained with ``tools/train.py`` on a plain folder of videos (no list file) until its loss
decreases, continued with ``--resume``, exported with ``tools/export_pretrained.py`` and
loaded by a tiny K710 finetune with every backbone key initialised.
"""
import json
import re
from pathlib import Path

import torch
from mmaction.registry import MODELS
from mmengine.config import Config
from test_finetune_e2e import FRAMES, K710_CFG, TINY, _run, shrink_recipe

PRETRAIN_CFG = ('configs/pretrain/'
                'umt-base-p16-res224_clip-b16-distill_32xb64-u8-201e_kinetics710-rgb.py')


def shrink_pretrain_recipe(src: Path, dst: Path, videos: Path, teacher: Path) -> Config:
    """The pretraining recipe with a tiny student and teacher, 32 px, 4 frames, 4 epochs."""
    cfg = Config.fromfile(src)
    cfg.model.encoder.update(arch=dict(embed_dims=32, depth=2, num_heads=2, mlp_ratio=2),
                             img_size=TINY, num_frames=FRAMES)
    cfg.model.teacher.update(
        arch=dict(patch_size=16, width=32, layers=2, heads=2, output_dim=16),
        input_resolution=TINY, num_return_layers=2,
        init_cfg=dict(type='Pretrained', checkpoint=str(teacher)))
    cfg.model.update(align_dims=16, num_return_layers=2)
    cfg.model.mask_generator.mask_ratio = 0.5  # 2 of the 4 patches of a frame visible
    loader = cfg.train_dataloader
    loader.update(batch_size=2, num_workers=0, persistent_workers=False)
    loader.dataset.update(ann_file='', data_prefix=dict(video=str(videos)))
    for t in loader.dataset.pipeline:
        if 'clip_len' in t:
            t['clip_len'] = FRAMES
        if t['type'] == 'MultiScaleCrop':
            t['input_size'] = TINY
        if t['type'] in ('Resize', 'UMTPILResize'):
            t['scale'] = (TINY, TINY)
    cfg.optim_wrapper.optimizer.lr = 5e-3
    cfg.auto_scale_lr.enable = False  # 5e-3 as written (not scaled to the batch of 2)
    warm, cos = cfg.param_scheduler
    warm.end, cos.begin, cos.end, cos.T_max = 1, 1, 4, 3
    cfg.train_cfg.max_epochs = 4
    cfg.default_hooks.logger.interval = 1
    cfg.randomness = dict(seed=0)
    cfg.dump(dst)
    return cfg


def _losses(work_dir: Path) -> list:
    rows = [json.loads(line) for f in sorted(work_dir.glob('*/vis_data/scalars.json'))
            for line in f.read_text().splitlines()]
    return [(r['iter'], r['loss_distill'], r['cos_dist_block1']) for r in rows
            if 'loss_distill' in r]


def test_pretrain_resume_export_finetune(repo_root, shared_data, tmp_path, python):
    videos = tmp_path / 'my_videos'
    (videos / 'nested').mkdir(parents=True)
    for name in ('test.mp4', 'part_0.mp4', 'part_1.mp4'):
        (videos / name).symlink_to(shared_data / 'videos' / name)
    (videos / 'nested' / 'clip.avi').symlink_to(shared_data / 'videos' / 'test.avi')
    (videos / 'notes.txt').write_text('not a video')

    # a random tiny CLIP teacher, saved in its own layout
    teacher = MODELS.build(dict(type='CLIPVisionTeacher', input_resolution=TINY,
                                num_return_layers=2,
                                arch=dict(patch_size=16, width=32, layers=2, heads=2,
                                          output_dim=16)))
    teacher.init_weights()
    teacher_file = tmp_path / 'tiny_clip.pth'
    torch.save({'state_dict': teacher.state_dict()}, teacher_file)

    cfg_file = tmp_path / 'pretrain_tiny.py'
    shrink_pretrain_recipe(repo_root / PRETRAIN_CFG, cfg_file, videos, teacher_file)
    work = tmp_path / 'work_pretrain'
    out = _run([python, 'tools/train.py', cfg_file, '--work-dir', work], repo_root)
    losses = _losses(work)
    assert [it for it, *_ in losses] == list(range(1, 9))  # 4 videos, batch 2, 4 epochs
    first, last = sum(v for _, v, _ in losses[:2]) / 2, sum(v for _, v, _ in losses[-2:]) / 2
    assert last < 0.8 * first, losses  # the student learns to align with the teacher
    ckpt = torch.load(work / 'epoch_4.pth', map_location='cpu', weights_only=False)
    assert not any(k.startswith('teacher.') for k in ckpt['state_dict'])
    assert 'clip_decoder.1.head.weight' in ckpt['state_dict']

    # --resume continues from epoch 4 (optimizer, scheduler and iteration restored)
    out = _run([python, 'tools/train.py', cfg_file, '--work-dir', work, '--resume',
                '--cfg-options', 'train_cfg.max_epochs=5'], repo_root)
    log = out.stdout + out.stderr
    assert 'resumed epoch: 4, iter: 8' in log
    assert 'missing keys' not in log  # the teacher is rebuilt from its own file
    assert [it for it, *_ in _losses(work)][-2:] == [9, 10]
    assert (work / 'epoch_5.pth').exists()

    # export the student as the K710 finetune init and finetune from it
    lists = tmp_path / 'k710_list.txt'
    lists.write_text('test.mp4 0\npart_0.mp4 1\npart_1.mp4 2\nnested/clip.avi 3\n')
    ft_cfg = tmp_path / 'k710_tiny.py'
    init = tmp_path / 'k710_init.pth'
    shrink_recipe(repo_root / K710_CFG, ft_cfg, dict.fromkeys(('train', 'val', 'test'), videos),
                  dict.fromkeys(('train', 'val', 'test'), lists), load_from=init)
    out = _run([python, 'tools/export_pretrained.py', work / 'epoch_5.pth', init,
                '--config', ft_cfg], repo_root)
    assert 'every pretrained backbone key matches' in out.stdout
    exported = torch.load(init, map_location='cpu')['state_dict']
    assert all(k.startswith('backbone.') for k in exported)
    pretrained = torch.load(work / 'epoch_5.pth', map_location='cpu',
                            weights_only=False)['state_dict']
    assert torch.equal(exported['backbone.blocks.1.mlp.fc2.weight'],
                       pretrained['encoder.blocks.1.mlp.fc2.weight'])
    out = _run([python, 'tools/train.py', ft_cfg, '--work-dir', tmp_path / 'work_ft',
                '--cfg-options', 'train_cfg.max_epochs=1'], repo_root)
    log = out.stdout + out.stderr
    assert f'Load checkpoint from {init}' in log
    missing = re.search(r'missing keys[^:\n]*: (.*)', log).group(1)
    assert set(missing.split(', ')) == {'backbone.fc_norm.weight', 'backbone.fc_norm.bias',
                                        'cls_head.fc_cls.weight', 'cls_head.fc_cls.bias'}
    assert 'unexpected key' not in log


def test_export_refuses_a_classifier_checkpoint(repo_root, tmp_path, python):
    clf = tmp_path / 'classifier.pth'
    torch.save({'backbone.blocks.0.norm1.weight': torch.ones(4),
                'cls_head.fc_cls.weight': torch.ones(2, 4)}, clf)
    import subprocess
    result = subprocess.run([python, 'tools/export_pretrained.py', str(clf),
                             str(tmp_path / 'o.pth')], cwd=repo_root, capture_output=True,
                            text=True)
    assert result.returncode == 1
    assert 'not a UMT pretraining checkpoint' in result.stderr and str(clf) in result.stderr
    assert not (tmp_path / 'o.pth').exists()
