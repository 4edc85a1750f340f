r"""Extract per-window video features of a recognizer or a UMT pretraining checkpoint.

Example::

    python tools/extract_features.py CONFIG CHECKPOINT VIDEOS OUT_DIR --window 2 --stride 1
    torchrun --nproc_per_node 4 tools/extract_features.py CONFIG CHECKPOINT list.txt OUT_DIR \
        --video-root data/videos --tokens --format pt

``VIDEOS`` is a folder (scanned recursively for video files) or a list file (``path [label]``
per line, paths joined to ``--video-root``). Each video is cut into windows of ``--window``
seconds every ``--stride`` seconds (default: one window over the whole video); each window
goes through the config's test pipeline (``--views``, default ``1x1``: one clip, one crop),
and through the backbone. The feature of a window is the pooled pre-head vector (the UMT
backbone's ``fc_norm(mean of tokens)`` of a recognizer, the student's mean normed token of a
pretraining checkpoint; 5-D feature maps of other backbones are averaged over T, H, W) or,
with ``--tokens``, the token map ``(D, T', H', W')`` of a UMT backbone; views are averaged.

Outputs under ``OUT_DIR``, per video ``<relative path without suffix>``: ``.npy`` (or ``.pt``)
with the windows stacked, ``(num_windows, D)`` or ``(num_windows, D, T', H', W')``, and a
``.json`` sidecar (window frames and seconds, fps, shape); then ``manifest.json`` (config,
checkpoint and its sha256, options, every video and every failure). A video whose two files
exist is skipped (rerun after a crash to finish); a video that cannot be read is reported,
recorded in the manifest (``failed``) and skipped. Under ``torchrun`` the videos are split
across the processes (gloo on CPU, NCCL on GPUs) and rank 0 writes the manifest.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import traceback
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from inference_cli import add_model_options, load_config  # noqa: E402
from video_windows import WindowedPipeline, add_window_options, default_test_pipeline, plan_windows  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='recognizer or UMT pretraining (UMTDistiller) config')
    parser.add_argument('checkpoint', help='checkpoint of that config')
    parser.add_argument('videos', help='a folder of videos or a list file (path [label])')
    parser.add_argument('out_dir', help='output folder')
    parser.add_argument('--video-root', help='prefix joined to the paths of a list file')
    add_window_options(parser)
    parser.add_argument('--views', default='1x1',
                        help="views per window as CLIPSxCROPS, averaged (default: '1x1')")
    parser.add_argument('--tokens', action='store_true',
                        help='save the token map (D, T\', H\', W\') instead of the pooled vector')
    parser.add_argument('--format', choices=['npy', 'pt'], default='npy',
                        help='file format of the features')
    add_model_options(parser, device_help="'cpu' or 'cuda' (default: cuda when available; "
                      'cuda:LOCAL_RANK under torchrun)')
    return parser.parse_args(argv)


def sha256_of(path: str) -> str:
    """The sha256 hex digest of a file."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def list_videos(source: str, video_root: str | None = None) -> list[tuple[str, str]]:
    """``(key, path)`` of every video; the key is the output name (relative, no suffix,
    unless two videos of a folder differ only in it: ``test.mp4``, ``test.avi``).

    Args:
        source (str): A folder (scanned recursively) or a ``path [label]`` list file.
        video_root (str, optional): Prefix of the list's paths. Defaults to None.
    """
    from umt_mm.datasets import read_video_list
    from umt_mm.datasets.video_folder_dataset import VIDEO_EXTENSIONS
    src = Path(source)
    if src.is_dir():
        paths = sorted(p for p in src.rglob('*')
                       if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS
                       and not p.name.startswith('.'))
        if not paths:
            raise FileNotFoundError(f'no video ({", ".join(VIDEO_EXTENSIONS)}) under {src}')
        stems = [str(p.relative_to(src).with_suffix('')) for p in paths]
        # test.mp4 and test.avi side by side keep their suffix: test.mp4.npy, test.avi.npy
        return [(stem if stems.count(stem) == 1 else str(p.relative_to(src)), str(p))
                for stem, p in zip(stems, paths)]
    if not src.is_file():
        raise FileNotFoundError(f'{source} is neither a folder nor a list file')
    entries = read_video_list(src, multi_class=True, video_prefix=video_root, test_mode=True)
    videos = []
    for entry in entries:
        path = entry['filename']
        rel = os.path.relpath(path, video_root) if video_root else path
        if rel.startswith('..') or os.path.isabs(rel):
            rel = str(Path(*Path(path).parts[1:])) if os.path.isabs(path) else path
        videos.append((str(Path(rel).with_suffix('')), path))
    keys = [k for k, _ in videos]
    if len(set(keys)) != len(keys):
        raise ValueError(f'{source}: two videos map to the same output name (differing '
                         'only in their suffix)')
    return videos


class FeatureExtractor:
    """The backbone and data preprocessor of a recognizer or a UMT pretraining checkpoint.

    Args:
        cfg (mmengine.Config): Recognizer (``cls_head`` models) or ``UMTDistiller`` config.
        checkpoint (str): Its checkpoint.
        device (str): Torch device.
        tokens (bool): Return the token map instead of the pooled vector.
    """

    def __init__(self, cfg, checkpoint: str, device: str, tokens: bool = False) -> None:
        import torch
        from mmaction.registry import MODELS
        from mmengine.registry import init_default_scope
        from mmengine.runner import CheckpointLoader
        init_default_scope(cfg.get('default_scope', 'mmaction'))
        self.tokens = tokens
        if cfg.model.type == 'UMTDistiller':
            encoder = dict(cfg.model.encoder, with_fc_norm=False)
            self.backbone = MODELS.build(encoder)
            self.preprocessor = MODELS.build(
                dict(dict(type='ActionDataPreprocessor'), **cfg.model.data_preprocessor))
            ckpt = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
            state = ckpt.get('state_dict', ckpt)
            own = {k[len('encoder.'):]: v for k, v in state.items() if k.startswith('encoder.')}
            if not own:
                raise ValueError(f'{checkpoint}: no encoder.* weights (not a UMTDistiller '
                                 'checkpoint)')
            missing, unexpected = self.backbone.load_state_dict(own, strict=False)
            if missing or unexpected:
                raise ValueError(f'{checkpoint}: the encoder does not match the config '
                                 f'(missing {missing[:5]}, unexpected {unexpected[:5]})')
            self.pipeline_cfg = None
        else:
            from mmaction.apis import init_recognizer
            model = init_recognizer(cfg, checkpoint, device='cpu')
            self.backbone, self.preprocessor = model.backbone, model.data_preprocessor
        if tokens and getattr(self.backbone, 'output', None) not in ('pooled', 'feature_map'):
            raise ValueError(f'--tokens needs a UMT backbone, got '
                             f'{type(self.backbone).__name__}')
        self.backbone.to(device).eval()
        self.preprocessor.to(device).eval()
        self.torch = torch

    def __call__(self, packed: dict):
        """The feature of one packed window, averaged over its views."""
        torch = self.torch
        from mmengine.dataset import pseudo_collate
        with torch.no_grad():
            inputs = self.preprocessor(pseudo_collate([packed]), False)['inputs']
            inputs = inputs.flatten(0, 1)  # (views, C, T, H, W)
            if self.tokens:
                previous, self.backbone.output = self.backbone.output, 'feature_map'
                try:
                    feats = self.backbone(inputs)
                finally:
                    self.backbone.output = previous
            else:
                feats = self.backbone(inputs)
                if isinstance(feats, (tuple, list)):
                    feats = feats[-1]
                if feats.ndim > 2:
                    feats = feats.flatten(2).mean(-1)
            return feats.float().mean(0).cpu()


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file, then rename it to ``path``."""
    tmp = path.with_name(path.name + '.tmp')
    tmp.write_text(text)
    os.replace(tmp, path)


def write_features_atomic(path: Path, feats, fmt: str) -> None:
    """Save ``feats`` (a tensor) as ``.npy`` or ``.pt`` through a temporary file."""
    import torch
    tmp = path.with_name(path.name + '.tmp')
    if fmt == 'npy':
        with open(tmp, 'wb') as f:  # a file object: np.save would add '.npy' to a name
            np.save(f, feats.numpy())
    else:
        torch.save(feats, tmp)
    os.replace(tmp, path)


def extract_video(extractor: FeatureExtractor, pipeline: WindowedPipeline, path: str,
                  window: float | None, stride: float | None) -> tuple:
    """Features ``(num_windows, ...)`` of a video and its windows."""
    opened = pipeline.open(path)
    total, fps = int(opened['total_frames']), float(opened['avg_fps'])
    windows = plan_windows(total, fps, window, stride)
    feats = [extractor(pipeline.window(opened, w)) for w in windows]
    return extractor.torch.stack(feats), windows, total, fps


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch
    import torch.distributed as dist
    from demo import test_pipeline_cfg

    import umt_mm  # noqa: F401  (registers modules, applies compat fixes)

    world = int(os.environ.get('WORLD_SIZE', '1'))
    rank = 0
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    if world > 1:
        backend = 'nccl' if device.startswith('cuda') else 'gloo'
        dist.init_process_group(backend=backend)
        rank = dist.get_rank()
        if device.startswith('cuda'):
            device = f'cuda:{int(os.environ.get("LOCAL_RANK", 0))}'
            torch.cuda.set_device(device)
    elif device == 'cuda':
        device = 'cuda:0'
    cfg = load_config(args.config, args.cfg_options)
    if not Path(args.checkpoint).is_file():
        raise FileNotFoundError(f'checkpoint {args.checkpoint} does not exist')
    videos = list_videos(args.videos, args.video_root)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sha = sha256_of(args.checkpoint)
    extractor = FeatureExtractor(cfg, args.checkpoint, device, tokens=args.tokens)
    if cfg.model.type == 'UMTDistiller' and 'test_pipeline' not in cfg \
            and 'test_dataloader' not in cfg:
        enc = cfg.model.encoder
        steps = default_test_pipeline(enc.get('num_frames', 8), enc.get('img_size', 224))
        cfg.test_pipeline = steps
    pipeline = WindowedPipeline(test_pipeline_cfg(cfg, args.views))
    suffix = '.' + args.format
    mine = videos[rank::world]
    done = skipped = failed = 0
    for number, (key, path) in enumerate(mine, 1):
        feat_file, side_file = out_dir / (key + suffix), out_dir / (key + '.json')
        error_file = out_dir / (key + '.error.json')
        if feat_file.is_file() and side_file.is_file():
            meta = json.loads(side_file.read_text())
            if meta.get('checkpoint_sha256') != sha or meta.get('tokens') != args.tokens:
                raise RuntimeError(f'{side_file} holds features of another checkpoint or '
                                   'mode; use a new output folder')
            skipped += 1
            print(f'[extract r{rank}] {number}/{len(mine)} {key}: already done, skipped')
            continue
        feat_file.parent.mkdir(parents=True, exist_ok=True)
        try:
            feats, windows, total, fps = extract_video(extractor, pipeline, path,
                                                       args.window, args.stride)
        except Exception as exc:  # a bad video is reported and skipped
            failed += 1
            reason = f'{type(exc).__name__}: {exc}'
            print(f'[extract r{rank}] {number}/{len(mine)} {key}: FAILED ({reason}), skipped',
                  file=sys.stderr)
            write_text_atomic(error_file, json.dumps(dict(
                video=path, error=reason, traceback=traceback.format_exc())) + '\n')
            continue
        write_features_atomic(feat_file, feats, args.format)
        meta = dict(video=path, file=feat_file.name, shape=list(feats.shape), fps=fps,
                    total_frames=total, tokens=args.tokens, checkpoint_sha256=sha,
                    windows=[dict(start_frame=w.start, end_frame=w.stop,
                                  start_sec=round(w.start_sec, 4), end_sec=round(w.stop_sec, 4))
                             for w in windows])
        write_text_atomic(side_file, json.dumps(meta, indent=1) + '\n')
        error_file.unlink(missing_ok=True)
        done += 1
        print(f'[extract r{rank}] {number}/{len(mine)} {key}: {len(windows)} windows, '
              f'{tuple(feats.shape)}')
    print(f'[extract r{rank}] {done} extracted, {skipped} skipped (done before), '
          f'{failed} failed')
    if world > 1:
        dist.barrier()
    if rank == 0:
        manifest = dict(config=str(args.config), checkpoint=str(args.checkpoint),
                        checkpoint_sha256=sha, tokens=args.tokens, format=args.format,
                        views=args.views, window_sec=args.window, stride_sec=args.stride,
                        videos={}, failed={})
        for key, _ in videos:
            side, err = out_dir / (key + '.json'), out_dir / (key + '.error.json')
            if side.is_file() and (out_dir / (key + suffix)).is_file():
                meta = json.loads(side.read_text())
                manifest['videos'][key] = dict(file=key + suffix, **{
                    k: meta[k] for k in ('video', 'shape', 'fps', 'total_frames', 'windows')})
            elif err.is_file():
                manifest['failed'][key] = json.loads(err.read_text())['error']
        write_text_atomic(out_dir / 'manifest.json', json.dumps(manifest, indent=1) + '\n')
        print(f'[extract] {len(manifest["videos"])} videos, {len(manifest["failed"])} failed; '
              f'manifest: {out_dir / "manifest.json"}')
    if world > 1:
        dist.destroy_process_group()
    return failed


if __name__ == '__main__':
    main()
