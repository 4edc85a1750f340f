"""Convert official UMT / MMAction2-port checkpoints to umt_mm (MMEngine) checkpoints.

Examples::

    # an official K710-finetuned B/16 -> umt_mm, checked against the config's model
    python tools/convert_umt_checkpoint.py b16_ptk710_ftk710_f8_res224.pth out.pth \\
        --kind finetune --config configs/k710/....py --strict
    # K710 head -> K600 head
    python tools/convert_umt_checkpoint.py b16_k710.pth k600_init.pth --kind finetune \\
        --dataset k600  # the bundled k600 and k710 label maps (or --target-labels FILE)
    # a pretrained student for finetuning (alignment heads dropped)
    python tools/convert_umt_checkpoint.py b16_ptk710_f8_res224.pth init.pth --kind pretrain
    # a K710 model finetuned with umt_mm -> K600 initialisation
    python tools/convert_umt_checkpoint.py work_dirs/k710/best_acc_top1_epoch_35.pth \\
        k600_init.pth --kind umt-mm --dataset k600 --target-labels k600 --k710-labels k710
    # a K400 model as the start of a MiT finetune (new 339-class head)
    python tools/convert_umt_checkpoint.py b16_ptk710_ftk710_ftk400_f8_res224.pth \\
        mit_init.pth --kind finetune --drop-head
    # a released AVA detector (80-action head -> the 81-column classifier), checked strictly
    python tools/convert_umt_checkpoint.py b16_ptk710_ftk710_ftava_f8_res224.pth \\
        umt-base-p16_ava22.pth --kind ava --strict \\
        --config action_detection/configs/umt-base-p16_k710-ft_16xb8-8x8x1-30e_ava22-rgb.py
"""
import argparse

from mmengine.runner.checkpoint import save_checkpoint

from umt_mm.converters import (
    build_channel_map,
    check_against,
    convert_mmaction_port,
    convert_official_ava,
    convert_official_finetune,
    convert_official_pretrain,
    convert_umt_mm,
    drop_head,
    load_state_dict_any,
    map_head,
)
from umt_mm.data import label_map_path


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('src', help='official UMT / MMAction2 checkpoint')
    parser.add_argument('dst', help='output umt_mm checkpoint')
    parser.add_argument('--kind', choices=['finetune', 'pretrain', 'mmaction-port', 'umt-mm',
                                           'ava'],
                        required=True,
                        help='layout of the source checkpoint (umt-mm: a checkpoint written by '
                        'umt_mm training, to re-head it; ava: a released AVA detector '
                        '*_ftava_*, for the action_detection configs)')
    parser.add_argument('--keep-alignment-heads', action='store_true',
                        help='pretrain: keep encoder.norm and clip_decoder (resume pretraining)')
    parser.add_argument('--dataset', choices=['k400', 'k600', 'k700'],
                        help='map a 710-class head to this dataset')
    parser.add_argument('--target-labels',
                        help='label map of --dataset: a bundled name (k400, k600, k700) or a '
                        'file, one class per line (default: the bundled map of --dataset)')
    parser.add_argument('--k710-labels', default='k710',
                        help='the K710 label map: a bundled name or a file (default: k710)')
    parser.add_argument('--drop-head', action='store_true',
                        help='remove the classifier so the target config starts a fresh head')
    parser.add_argument('--trusted', action='store_true',
                        help='allow arbitrary pickled objects in src (DeepSpeed files); '
                        'only for files you trust')
    parser.add_argument('--config', help='build this config\'s model and report key differences')
    parser.add_argument('--strict', action='store_true',
                        help='with --config: fail unless every key and shape matches '
                        '(always so with --kind ava)')
    args = parser.parse_args()
    if args.strict and not args.config:
        parser.error('--strict needs --config (the model to check the converted tensors '
                     'against)')
    if args.target_labels and not args.dataset:
        parser.error('--target-labels needs --dataset')
    return args


def main() -> None:
    args = parse_args()
    if args.drop_head and args.dataset:
        raise SystemExit('--drop-head and --dataset exclude each other')
    if args.kind == 'ava' and (args.drop_head or args.dataset):
        raise SystemExit('--kind ava keeps the AVA head; --drop-head and --dataset are for '
                         'classifiers')
    print(f'[convert] 1/3 reading {args.src}', flush=True)
    state = load_state_dict_any(args.src, trusted=args.trusted)
    print(f'[convert] 2/3 converting {len(state)} tensors (--kind {args.kind})', flush=True)
    if args.kind == 'finetune':
        names = {k.split('.', 1)[-1] if k.startswith('module.') else k for k in state}
        head = state.get('head.weight', state.get('module.head.weight'))
        if head is not None and head.shape[0] == 80 and 'norm.weight' in names and not any(
                n.startswith('fc_norm.') for n in names):
            raise SystemExit(f'{args.src}: an AVA detector (token norm, 80-action head); '
                             'convert it with --kind ava')
        converted = convert_official_finetune(state)
    elif args.kind == 'pretrain':
        converted = convert_official_pretrain(state, args.keep_alignment_heads)
    elif args.kind == 'mmaction-port':
        converted = convert_mmaction_port(state)
    elif args.kind == 'ava':
        try:
            converted = convert_official_ava(state)
        except ValueError as err:
            raise SystemExit(f'{args.src}: {err}') from None
    else:
        converted = convert_umt_mm(state)
    meta = dict(source=str(args.src), kind=args.kind)
    if args.dataset:
        channel_map = build_channel_map(label_map_path(args.target_labels or args.dataset),
                                        label_map_path(args.k710_labels), args.dataset)
        converted = map_head(converted, channel_map)
        meta['head_mapped_to'] = args.dataset
    if args.drop_head:
        converted = drop_head(converted)
        meta['head'] = 'dropped'
    if args.config:
        from mmaction.registry import MODELS
        from mmengine.config import Config
        from mmengine.registry import init_default_scope

        import umt_mm  # noqa: F401
        cfg = Config.fromfile(args.config)
        init_default_scope(cfg.get('default_scope', 'mmaction'))
        model = MODELS.build(cfg.model)
        # a released detector must fill the whole AVA model: always strict
        report = check_against(model.state_dict(), converted,
                               strict=args.strict or args.kind == 'ava')
        print(f'[convert] against {args.config}: {report}')
    print(f'[convert] 3/3 writing {args.dst}', flush=True)
    # MMEngine's writer: through a temporary file and os.replace (umt_mm.compat), so an
    # interrupted conversion never leaves a truncated output
    save_checkpoint(dict(state_dict=converted, meta=meta), str(args.dst))
    print(f'[convert] wrote {len(converted)} tensors to {args.dst}')


if __name__ == '__main__':
    main()
