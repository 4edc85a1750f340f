"""A tiny end-to-end run of the finetuning recipes on real videos.

K400 / K600 lists -> ``tools/data/build_k710_lists.py`` -> the K710 recipe (shrunk to a tiny
geometry, everything else as configured) trained with ``tools/train.py`` -> its 710-class
head mapped to K600 with ``tools/convert_umt_checkpoint.py`` -> the K600 recipe finetuned
from it -> ``tools/test.py`` with the recipe's 4 clips x 3 crops views.
"""
import json
import pickle
import subprocess
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

K710_CFG = 'configs/k710/umt-base-p16-res224_k710-pre_16xb16-u8-35e_kinetics710-rgb.py'
K600_CFG = 'configs/k600/umt-base-p16-res224_k710-ft_16xb16-u8-5e_kinetics600-rgb.py'
TINY = 32
FRAMES = 4


def _run(args, cwd, timeout=900):
    result = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return result


def shrink_recipe(src: Path, dst: Path, roots: dict, lists: dict, load_from=None) -> Config:
    """The recipe with a tiny model, 32 px, 4 frames, 2 epochs; the rest untouched.

    ``roots`` and ``lists`` give each split's video folder and list file.
    """
    cfg = Config.fromfile(src)
    cfg.model.backbone.update(
        arch=dict(embed_dims=32, depth=2, num_heads=2, mlp_ratio=2), img_size=TINY,
        num_frames=FRAMES)
    cfg.model.cls_head.in_channels = 32
    for split in ('train', 'val', 'test'):
        loader = cfg[f'{split}_dataloader']
        loader.num_workers = 0
        loader.persistent_workers = False
        loader.batch_size = 2 if split != 'test' else 1
        loader.dataset.ann_file = str(lists[split])
        loader.dataset.data_prefix = dict(video=str(roots[split]))
        for t in loader.dataset.pipeline:
            if 'clip_len' in t:
                t['clip_len'] = FRAMES
            for key in ('scale', 'crop_size', 'short_side'):
                if key in t:
                    t[key] = (TINY, TINY) if isinstance(t[key], (tuple, list)) else TINY
    warm, cos = cfg.param_scheduler
    warm.end, cos.begin, cos.end, cos.T_max = 1, 1, 2, 1
    cfg.train_cfg.max_epochs = 2
    cfg.default_hooks.logger.interval = 1
    cfg.randomness = dict(seed=0)
    cfg.load_from = None if load_from is None else str(load_from)
    cfg.dump(dst)
    return cfg


@pytest.fixture()
def kinetics_tree(shared_data, tmp_path):
    """Real videos under Kinetics-style names, K400 and K600 lists sharing some videos."""
    videos = shared_data / 'videos'
    data = tmp_path / 'data'
    k400 = [name.strip() for name in (shared_data / 'label_maps/label_map_k400.txt').open()]
    k600 = [name.strip() for name in (shared_data / 'label_maps/label_map_k600.txt').open()]
    layout = {  # (dataset, split): [(youtube id, source video, class name)]
        ('kinetics400', 'train'): [('aaaaaaaaaaa', 'part_0.mp4', 'abseiling'),
                                   ('bbbbbbbbbbb', 'part_1.mp4', 'picking fruit'),
                                   ('ccccccccccc', 'test.mp4', 'dying hair')],
        ('kinetics400', 'val'): [('ddddddddddd', 'test.avi', 'air drumming')],
        # bbb duplicates K400 train; ddd is a K400 validation video
        ('kinetics600', 'train'): [('bbbbbbbbbbb', 'part_1.mp4', 'picking fruit'),
                                   ('ddddddddddd', 'test.avi', 'air drumming'),
                                   ('eeeeeeeeeee', 'part_0.mp4', 'abseiling')],
        ('kinetics600', 'val'): [('fffffffffff', 'test.mp4', 'picking fruit')],
    }
    lists = {}
    for (ds, split), rows in layout.items():
        names = k400 if ds == 'kinetics400' else k600
        folder = data / ds / f'videos_{split}'
        folder.mkdir(parents=True)
        lines = []
        for yid, source, cls in rows:
            name = f'{yid}_000000_000010{Path(source).suffix}'
            (folder / name).symlink_to(videos / source)
            lines.append(f'{name} {names.index(cls)}')
        lists[ds, split] = data / ds / f'{ds}_{split}_list_videos.txt'
        lists[ds, split].write_text('\n'.join(lines) + '\n')
    return data, lists


def test_tiny_k710_then_k600_finetune_with_mapped_head(repo_root, shared_data, kinetics_tree,
                                                       tmp_path, python):
    data, lists = kinetics_tree
    labels = shared_data / 'label_maps'
    k710_dir = data / 'kinetics710'
    args = [python, 'tools/data/build_k710_lists.py', '--k710-labels',
            labels / 'label_map_k710.txt', '--out-dir', k710_dir]
    for short, ds in (('k400', 'kinetics400'), ('k600', 'kinetics600')):
        args += [f'--{short}-train', lists[ds, 'train'], f'--{short}-val', lists[ds, 'val'],
                 f'--{short}-labels', labels / f'label_map_{short}.txt',
                 f'--{short}-train-prefix', f'{ds}/videos_train',
                 f'--{short}-val-prefix', f'{ds}/videos_val']
    _run(args, repo_root)
    k710_names = [name.strip() for name in (labels / 'label_map_k710.txt').open()]
    train_lines = (k710_dir / 'kinetics710_train_list_videos.txt').read_text().split('\n')
    train = dict(line.split() for line in train_lines if line)
    # union of the train lists, the duplicate kept once, the validation video removed
    assert train == {
        'kinetics400/videos_train/aaaaaaaaaaa_000000_000010.mp4':
            str(k710_names.index('abseiling')),
        'kinetics400/videos_train/bbbbbbbbbbb_000000_000010.mp4':
            str(k710_names.index('picking apples')),
        'kinetics400/videos_train/ccccccccccc_000000_000010.mp4':
            str(k710_names.index('dyeing hair')),
        'kinetics600/videos_train/eeeeeeeeeee_000000_000010.mp4':
            str(k710_names.index('abseiling')),
    }

    # stage 1: the K710 recipe, tiny
    k710_lists = dict(train=k710_dir / 'kinetics710_train_list_videos.txt',
                      val=k710_dir / 'kinetics710_val_list_videos.txt',
                      test=k710_dir / 'kinetics710_val_list_videos.txt')
    cfg1 = tmp_path / 'k710_tiny.py'
    shrink_recipe(repo_root / K710_CFG, cfg1, dict.fromkeys(k710_lists, data), k710_lists)
    work1 = tmp_path / 'work_k710'
    out = _run([python, 'tools/train.py', cfg1, '--work-dir', work1], repo_root)
    assert 'CPUAmpOptimWrapper' in out.stdout + out.stderr  # the recipe's AMP, on a CPU
    ckpt1 = work1 / 'epoch_2.pth'
    assert ckpt1.exists()

    # the 710-class head mapped to K600's classes
    init = tmp_path / 'k600_init.pth'
    _run([python, 'tools/convert_umt_checkpoint.py', ckpt1, init, '--kind', 'umt-mm',
          '--dataset', 'k600', '--target-labels', labels / 'label_map_k600.txt',
          '--k710-labels', labels / 'label_map_k710.txt'], repo_root)
    src = torch.load(ckpt1, map_location='cpu')['state_dict']
    mapped = torch.load(init, map_location='cpu')['state_dict']
    k600_names = [name.strip() for name in (labels / 'label_map_k600.txt').open()]
    for k600_id, k710_name in ((0, 'abseiling'), (k600_names.index('picking fruit'),
                                                  'picking apples')):
        row = k710_names.index(k710_name)
        assert torch.equal(mapped['cls_head.fc_cls.weight'][k600_id],
                           src['cls_head.fc_cls.weight'][row])
        assert torch.equal(mapped['cls_head.fc_cls.bias'][k600_id],
                           src['cls_head.fc_cls.bias'][row])
    assert mapped['cls_head.fc_cls.weight'].shape[0] == 600

    # stage 2: the K600 recipe initialised from it
    k600_lists = dict(train=lists['kinetics600', 'train'], val=lists['kinetics600', 'val'],
                      test=lists['kinetics600', 'val'])
    cfg2 = tmp_path / 'k600_tiny.py'
    # the K600 lists are relative to the K600 video folders
    k600_roots = dict(train=data / 'kinetics600/videos_train',
                      val=data / 'kinetics600/videos_val', test=data / 'kinetics600/videos_val')
    shrink_recipe(repo_root / K600_CFG, cfg2, k600_roots, k600_lists, load_from=init)
    work2 = tmp_path / 'work_k600'
    out = _run([python, 'tools/train.py', cfg2, '--work-dir', work2], repo_root)
    log = out.stdout + out.stderr
    assert f'Load checkpoint from {init}' in log
    assert 'do not match exactly' not in log  # every key and shape of the init matched
    ckpt2 = work2 / 'epoch_2.pth'
    assert ckpt2.exists()

    # multi-view test: 4 clips x 3 crops, softmax per view averaged
    dump = tmp_path / 'preds.pkl'
    test_dir = tmp_path / 'test_k600'
    _run([python, 'tools/test.py', cfg2, ckpt2, '--work-dir', test_dir, '--dump', dump],
         repo_root)
    metrics = [json.loads(line) for f in test_dir.glob('*/*.json')
               for line in f.read_text().splitlines()]
    final = metrics[-1]
    for key in ('acc/top1', 'acc/top5', 'acc/mean1'):
        assert 0.0 <= final[key] <= 1.0
    with open(dump, 'rb') as f:
        preds = pickle.load(f)
    assert len(preds) == 1
    score = torch.as_tensor(preds[0]['pred_score'])
    assert score.shape == (600,)
    assert float(score.sum()) == pytest.approx(1.0, abs=1e-4)  # mean of probabilities
    top5 = score.topk(5).indices.tolist()
    assert final['acc/top5'] == float(k600_names.index('picking fruit') in top5)
