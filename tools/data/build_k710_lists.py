"""Build the Kinetics-710 train / val lists from the Kinetics-400/600/700 lists.

K710 = the K400, K600 and K700 videos with their labels mapped to the 710-class label
map, deduplicated by YouTube id (the first source in --order wins), and every video of
any val list removed from train. The source lists may be MMAction2's ``<path> <label>``
or the official ``<path>,<label>`` csv form (a header line is skipped). Writes
kinetics710_{train,val}_list_videos.txt (``<path> <k710 label>``; the comma form when a path
contains a space) to --out-dir, with each source's paths written under its prefix so that
both lists work with one common ``data_prefix``.

Example (videos under data/kinetics{400,600,700}/videos_{train,val}, used with
``data_prefix=dict(video='data')``)::

    python tools/data/build_k710_lists.py --k710-labels k710 \\
        --k400-train k400_train.txt --k400-val k400_val.txt \\
        --k400-labels k400 \\
        --k400-train-prefix kinetics400/videos_train \\
        --k400-val-prefix kinetics400/videos_val \\
        --k600-... --k700-... --out-dir data/kinetics710
"""
import argparse
import sys

SOURCES = ('k400', 'k600', 'k700')


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--k710-labels', default='k710',
                        help='the 710-class label map: a file, one class per line, or a '
                             'bundled label map name (default: k710)')
    parser.add_argument('--out-dir', default='.', help='output folder (default: .)')
    parser.add_argument('--order', nargs='+', choices=SOURCES, default=list(SOURCES),
                        help='source order; the first occurrence of a video wins '
                             '(default: k400 k600 k700)')
    parser.add_argument('--strict', action='store_true',
                        help='fail (and write nothing) if a video appears with different '
                             'K710 labels, instead of keeping the first and warning')
    for name in SOURCES:
        group = parser.add_argument_group(
            name, f'{name} inputs; give train, val and labels together, or none of them')
        group.add_argument(f'--{name}-train', metavar='FILE', help=f'{name} train list')
        group.add_argument(f'--{name}-val', metavar='FILE', help=f'{name} val list')
        group.add_argument(f'--{name}-labels', metavar='FILE|NAME',
                           help=f'{name} label map (a file, or the bundled map: {name})')
        group.add_argument(f'--{name}-prefix', metavar='DIR',
                           help=f'prefix of the {name} paths of both splits, relative to '
                                f'the common data_prefix (default: {name}; "" keeps the '
                                'paths as listed)')
        group.add_argument(f'--{name}-train-prefix', metavar='DIR',
                           help=f'prefix of the {name} train paths (default: --{name}-prefix)')
        group.add_argument(f'--{name}-val-prefix', metavar='DIR',
                           help=f'prefix of the {name} val paths (default: --{name}-prefix)')
    args = parser.parse_args(argv)

    args.sources = {}
    for name in SOURCES:
        opts = {key: getattr(args, f'{name}_{key}')
                for key in ('train', 'val', 'labels', 'prefix', 'train_prefix', 'val_prefix')}
        if all(v is None for v in opts.values()):
            continue
        missing = [f'--{name}-{key}' for key in ('train', 'val', 'labels') if opts[key] is None]
        if missing:
            parser.error(f'{name} needs {", ".join(missing)} as well')
        args.sources[name] = {k: v for k, v in opts.items() if v is not None}
    if not args.sources:
        parser.error('give at least one source: --k400-*, --k600-* and/or --k700-*')
    dropped = [name for name in args.sources if name not in args.order]
    if dropped:
        parser.error(f'--order must include every given source (missing {dropped})')
    args.order = [name for name in dict.fromkeys(args.order) if name in args.sources]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Imported after parsing: importing umt_mm pulls in MMAction2, which takes seconds.
    from umt_mm.datasets.preparation.k710_lists import K710LabelConflictError, build_k710_lists

    print(f'reading the {", ".join(args.order)} lists and writing K710 lists to {args.out_dir}',
          flush=True)
    try:
        from umt_mm.data import label_map_path
        for spec in args.sources.values():
            spec['labels'] = label_map_path(spec['labels'])
        report = build_k710_lists(args.sources, label_map_path(args.k710_labels), args.out_dir,
                                  order=args.order, strict=args.strict)
    except K710LabelConflictError as err:
        print(f'error (--strict): {err}', file=sys.stderr)
        return 1
    except (ValueError, OSError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    print(report.summary())
    if report.conflicts:
        print(f'WARNING: {len(report.conflicts)} label conflict(s): videos listed with '
              'different K710 labels kept their first label (see above; --strict makes '
              'this an error)', file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
