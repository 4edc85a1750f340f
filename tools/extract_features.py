r"""Extract per-window video features of a recognizer or a UMT pretraining checkpoint.

Example::

    python tools/extract_features.py CONFIG CHECKPOINT VIDEOS OUT_DIR --window 2 --stride 1
    torchrun --nproc_per_node 4 tools/extract_features.py CONFIG CHECKPOINT list.txt OUT_DIR \
        --video-root data/videos --tokens --format pt

CONFIG is a config file or a model name; the checkpoint loads strictly (``--non-strict``: the
matching tensors only). ``VIDEOS`` is a folder (scanned recursively for video files) or a list
file (``path [label]`` per line, paths joined to ``--video-root``). Each video is cut into
windows of ``--window`` seconds every ``--stride`` seconds (default: one window over the
whole video); each window goes through the config's test pipeline (``--views``, default
``1x1``: one clip, one crop), and through the backbone (``umt_mm.apis.extract_features``).
The feature of a window is the pooled pre-head vector (the UMT backbone's
``fc_norm(mean of tokens)`` of a recognizer, the student's mean normed token of a pretraining
checkpoint; 5-D feature maps of other backbones are averaged over T, H, W) or, with
``--tokens``, the token map ``(D, T', H', W')`` of a UMT backbone; views are averaged.

Outputs under ``OUT_DIR``, per video ``<relative path without suffix>``: ``.npy`` (or ``.pt``)
with the windows stacked, ``(num_windows, D)`` or ``(num_windows, D, T', H', W')``, and a
``.json`` sidecar (window frames and seconds, fps, shape, and the options record: window,
stride, views, tokens, format, the checkpoint's fingerprint, --cfg-options); then
``manifest.json`` (config, checkpoint, options, every video and every failure). On a rerun a
video whose files exist with the same options is skipped; one written with other options
(or another checkpoint) is recomputed, with the reason printed. A video that cannot be read
is reported, recorded in the manifest (``failed``) and skipped; the exit status is then 1 and
the last line names the failed videos. Under ``torchrun`` the videos are split across the
processes (gloo on CPU, NCCL on GPUs) and rank 0 writes the manifest.
"""
from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path

from umt_mm.apis import (
    FeatureOptions,
    checkpoint_fingerprint,
    extract_features,
    init_feature_extractor,
)
from umt_mm.apis.cli_options import add_model_options
from umt_mm.apis.features import (
    FEATURE_FORMATS,
    build_manifest,
    list_videos,
    save_failure,
    save_features,
    stale_reason,
    write_json_atomic,
)
from umt_mm.apis.precision import prepare_inference


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='recognizer or UMT pretraining (UMTDistiller) config, '
                        'or a model name')
    parser.add_argument('checkpoint', help='checkpoint of that config (umt_mm layout)')
    parser.add_argument('videos', help='a folder of videos or a list file (path [label])')
    parser.add_argument('out_dir', help='output folder')
    parser.add_argument('--video-root', help='prefix joined to the paths of a list file')
    parser.add_argument('--window', type=float, default=None,
                        help='window length in seconds (default: the whole video)')
    parser.add_argument('--stride', type=float, default=None,
                        help='seconds between window starts (default: --window)')
    parser.add_argument('--views', default='1x1',
                        help="views per window as CLIPSxCROPS, averaged (default: '1x1')")
    parser.add_argument('--tokens', action='store_true',
                        help='save the token map (D, T\', H\', W\') instead of the pooled vector')
    parser.add_argument('--format', choices=FEATURE_FORMATS, default='npy',
                        help='file format of the features')
    add_model_options(parser, device_help="'cpu' or 'cuda' (default: cuda when available; "
                      'cuda:LOCAL_RANK under torchrun)')
    args = parser.parse_args(argv)
    if args.stride is not None and args.window is None:
        parser.error('--stride needs --window')
    if args.video_root is not None and Path(args.videos).is_dir():
        parser.error('--video-root applies to a list file; VIDEOS is a folder')
    return args


def setup_device(requested: str | None) -> tuple[str, int, int]:
    """``(device, rank, world size)``; under ``torchrun`` the process group is started."""
    import torch
    import torch.distributed as dist
    world = int(os.environ.get('WORLD_SIZE', '1'))
    rank = 0
    device = requested or ('cuda' if torch.cuda.is_available() else 'cpu')
    if world > 1:
        dist.init_process_group(backend='nccl' if device.startswith('cuda') else 'gloo')
        rank = dist.get_rank()
        if device.startswith('cuda'):
            device = f'cuda:{int(os.environ.get("LOCAL_RANK", 0))}'
            torch.cuda.set_device(device)
    elif device == 'cuda':
        device = 'cuda:0'
    return device, rank, world


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch.distributed as dist
    if not Path(args.checkpoint).is_file():
        raise FileNotFoundError(f'checkpoint {args.checkpoint} does not exist')
    videos = list_videos(args.videos, args.video_root)
    device, rank, world = setup_device(args.device)
    tag = f'[extract r{rank}]'
    extractor = init_feature_extractor(args.config, args.checkpoint, device=device,
                                       strict=not args.non_strict,
                                       cfg_options=args.cfg_options, opt_out='--non-strict')
    choice = prepare_inference(extractor, args.precision, args.backend, args.threads)
    print(f'{tag} {choice.describe()}', flush=True)
    options = FeatureOptions(window=args.window, stride=args.stride, views=args.views,
                             tokens=args.tokens, format=args.format,
                             precision=choice.precision, backend=choice.backend,
                             checkpoint_fingerprint=checkpoint_fingerprint(args.checkpoint),
                             config=dict(args.cfg_options or {}))
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    mine = videos[rank::world]
    done = skipped = 0
    failed: list[str] = []
    for number, (key, path) in enumerate(mine, 1):
        reason = stale_reason(out_dir, key, options)
        if reason is None:
            skipped += 1
            print(f'{tag} {number}/{len(mine)} {key}: already done, skipped', flush=True)
            continue
        if reason.startswith('written with other options'):
            print(f'{tag} {number}/{len(mine)} {key}: recomputing, {reason}', flush=True)
        try:
            result = extract_features(extractor, path, args.window, args.stride,
                                      views=args.views, tokens=args.tokens)
        except Exception as exc:  # a bad video is reported and skipped
            failed.append(key)
            error = f'{type(exc).__name__}: {exc}'
            print(f'{tag} {number}/{len(mine)} {key}: FAILED ({error}), skipped',
                  file=sys.stderr, flush=True)
            save_failure(out_dir, key, path, error, traceback.format_exc())
            continue
        save_features(out_dir, key, result, options)
        done += 1
        print(f'{tag} {number}/{len(mine)} {key}: {len(result.windows)} windows, '
              f'{tuple(result.features.shape)}', flush=True)
    print(f'{tag} {done} extracted, {skipped} skipped (done before), {len(failed)} failed',
          flush=True)
    if world > 1:
        dist.barrier()
    status = 0
    if rank == 0:
        manifest = build_manifest(out_dir, [k for k, _ in videos], options, args.config,
                                  args.checkpoint)
        write_json_atomic(out_dir / 'manifest.json', manifest)
        print(f'[extract] {len(manifest["videos"])} videos, {len(manifest["failed"])} failed; '
              f'manifest: {out_dir / "manifest.json"}')
        if manifest['failed']:
            print(f'[extract] FAILED {len(manifest["failed"])} of {len(videos)} videos: '
                  + ', '.join(manifest['failed']), file=sys.stderr)
            status = 1
    if failed:
        status = 1
    if world > 1:
        dist.destroy_process_group()
    return status


if __name__ == '__main__':
    sys.exit(main())
