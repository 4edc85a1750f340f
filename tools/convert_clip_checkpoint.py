"""Convert a CLIP visual encoder checkpoint to the UMT teacher's own layout.

Reads every format the teacher's ``init_cfg`` reads (OpenAI TorchScript archives such as
``ViT-B-16.pt`` / ``ViT-L-14.pt`` without running their code, OpenAI state dicts with
``visual.*`` keys, the reference's extracted visual dict, Hugging Face ``CLIPModel`` /
``CLIPVisionModelWithProjection`` weights), builds the teacher, loads the converted
weights strictly and writes ``{'state_dict': ..., 'meta': ...}`` for
``init_cfg=dict(type='Pretrained', checkpoint=OUT)``.

Examples::

    # CLIP-B/16 teacher of UMT-B/16 (224 px)
    python tools/convert_clip_checkpoint.py ViT-B-16.pt clip_b16_teacher.pth --arch b16
    # CLIP-L/14 teacher of UMT-L/16 at 196 px (positional table resized 16x16 -> 14x14)
    python tools/convert_clip_checkpoint.py ViT-L-14.pt clip_l14_teacher.pth --arch l14 \\
        --input-resolution 196
    # a Hugging Face folder (model.safetensors or pytorch_model.bin + config.json)
    python tools/convert_clip_checkpoint.py clip-vit-base-patch16/ clip_b16_teacher.pth
"""
import argparse
import sys

from mmengine.runner.checkpoint import save_checkpoint


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('src', help='CLIP checkpoint: file, or Hugging Face folder')
    parser.add_argument('dst', help='output teacher checkpoint')
    parser.add_argument('--arch', choices=['b16', 'l14', 'l14_336'],
                        help='teacher preset to check against (default: the checkpoint\'s own '
                        'architecture)')
    parser.add_argument('--input-resolution', type=int,
                        help='teacher input size (default: 196 for patch 14, as UMT-L/16, '
                        'else 224)')
    parser.add_argument('--trusted', action='store_true',
                        help='allow arbitrary pickled objects in a torch file (only for files '
                        'you trust)')
    return parser.parse_args(argv)


def convert(args: argparse.Namespace) -> None:
    import umt_mm  # noqa: F401  (compat fixes and registration)
    from umt_mm.converters import check_against, infer_clip_arch, load_clip_visual_state_dict
    from umt_mm.models.backbones import CLIPVisionTeacher
    from umt_mm.models.backbones.clip_teacher import ARCH_PRESETS

    state, fmt = load_clip_visual_state_dict(args.src, trusted=args.trusted)
    found = infer_clip_arch(state)
    print(f'[convert_clip] {args.src}: format {fmt}, {len(state)} tensors; CLIP with patch '
          f"{found['patch_size']}, width {found['width']}, {found['layers']} layers, "
          f"output {found['output_dim']}, positional grid {found['grid']}x{found['grid']}")
    if args.arch:
        arch = ARCH_PRESETS[args.arch]
        diff = [f'{k} {found[k]} (--arch {args.arch}: {arch[k]})'
                for k in ('patch_size', 'width', 'layers', 'output_dim') if found[k] != arch[k]]
        grid = arch['resolution'] // arch['patch_size']
        target = (args.input_resolution or (196 if arch['patch_size'] == 14 else 224)
                  ) // arch['patch_size']
        if found['grid'] not in (grid, target):  # target: a file this tool wrote
            diff.append(f"positional grid {found['grid']}x{found['grid']} (--arch {args.arch}: "
                        f'{grid}x{grid})')
        if diff:
            raise ValueError(f'{args.src} is not a CLIP-{args.arch.upper()}: ' + ', '.join(diff))
    else:
        arch = {k: found[k] for k in ('patch_size', 'width', 'layers', 'heads', 'output_dim')}
    resolution = args.input_resolution or (196 if arch['patch_size'] == 14 else 224)
    teacher = CLIPVisionTeacher(arch=arch, input_resolution=resolution,
                                num_return_layers=1)
    state = teacher.adapt_state_dict(state, source=str(args.src), strict=False)
    report = check_against(teacher.state_dict(), state)
    print(f'[convert_clip] strict key report against CLIPVisionTeacher(arch='
          f'{args.arch or arch}, input_resolution={resolution}): {report}')
    if not report.ok:
        raise ValueError(f'{args.src}: the converted weights do not match the teacher')
    teacher.load_state_dict(state, strict=True)
    meta = dict(source=str(args.src), format=fmt, arch=args.arch or arch,
                input_resolution=resolution)
    # MMEngine's writer: through a temporary file and os.replace (umt_mm.compat), so an
    # interrupted conversion never leaves a truncated output
    save_checkpoint(dict(state_dict=dict(state), meta=meta), str(args.dst))
    print(f'[convert_clip] wrote {len(state)} tensors to {args.dst}; use it as '
          f"init_cfg=dict(type='Pretrained', checkpoint='{args.dst}')")


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        convert(args)
    except (ValueError, FileNotFoundError) as err:
        print(f'[convert_clip] error: {err}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
