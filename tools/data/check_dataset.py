"""Count the missing and unreadable videos of a dataset's lists, per split.

Kinetics copies differ between groups (videos taken down, failed downloads, broken
files), so an accuracy is only comparable with the official one together with the number
of listed videos that could not be used. This tool opens every listed video with decord
(as training does), reads its frame count and reports, per split, how many are missing
or unreadable; with ``--decode-check`` it also decodes the last frame of each video
(catches truncated files whose header still opens). Work is spread over processes.
See ``umt_mm/datasets/preparation/check.py``.

The videos come from a config (its train / val / test dataloaders, read by the same
dataset code as training, so list format, ``data_prefix`` and label checks are those of
a run) or from a list file with ``--list`` and ``--prefix`` (``path label`` or the
official ``path,label`` form).

Writes a JSON report (``--out``) and exits with 1 when any listed video is missing or
unreadable, 2 when a list cannot be read, 0 otherwise.

Examples::

    python tools/data/check_dataset.py \\
        configs/k400/umt-base-p16-res224_k710-ft_16xb16-u8-5e_kinetics400-rgb.py
    python tools/data/check_dataset.py --list data/k400/val.csv --prefix data/k400 \\
        --decode-check --workers 16 --out k400_val_check.json
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

SPLITS = ('train', 'val', 'test')
EXIT_OK, EXIT_BAD_VIDEOS, EXIT_ERROR = 0, 1, 2


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', nargs='?', help='config whose dataloaders to check')
    parser.add_argument('--splits', nargs='+', choices=SPLITS, default=list(SPLITS),
                        help='dataloaders of the config to check (default: all three; '
                             'a test list equal to the val list is checked once)')
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help='override config settings, as tools/train.py')
    parser.add_argument('--list', dest='list_file', metavar='FILE',
                        help='a video list to check instead of a config')
    parser.add_argument('--prefix', default='',
                        help='folder joined to the listed paths (data_prefix; the '
                             "reference's --prefix); default: none")
    parser.add_argument('--delimiter', default=' ',
                        help="field separator of --list (the reference's --split); the "
                             "official 'path,label' and 'path label' forms are recognised "
                             "either way (default: ' ')")
    parser.add_argument('--decode-check', action='store_true',
                        help='also decode the last frame of every video (slower)')
    parser.add_argument('--workers', type=int, default=min(8, os.cpu_count() or 1),
                        help='processes (default: min(8, CPUs))')
    parser.add_argument('--out', default='check_dataset_report.json',
                        help='JSON report (default: check_dataset_report.json)')
    parser.add_argument('--show', type=int, default=10,
                        help='bad videos printed per split (default: 10; all are in the '
                             'report)')
    args = parser.parse_args(argv)
    if (args.config is None) == (args.list_file is None):
        parser.error('give either a config or --list FILE')
    if args.workers < 1:
        parser.error('--workers must be at least 1')
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # imported after parsing: importing umt_mm pulls in MMAction2, which takes seconds
    from umt_mm.datasets.preparation.check import (
        check_videos,
        count_bad,
        report_lines,
        split_source_from_list,
        split_sources_from_config,
        summarise_split,
    )
    from umt_mm.engine.progress import ProgressReporter
    try:
        if args.list_file is not None:
            sources = [split_source_from_list(args.list_file, args.prefix, args.delimiter)]
        else:
            sources = split_sources_from_config(args.config, args.splits, args.cfg_options)
    except (OSError, ValueError) as err:  # AnnotationError is a ValueError
        print(f'error: {err}', file=sys.stderr)
        return EXIT_ERROR
    if not sources:
        print('error: the config has none of the dataloaders '
              f'{", ".join(s + "_dataloader" for s in args.splits)}', file=sys.stderr)
        return EXIT_ERROR

    report: dict = dict(config=args.config, list=args.list_file, decode_check=args.decode_check,
                        splits={})
    checked: dict[tuple[str, ...], list[dict]] = {}
    for source in sources:
        name = source['split']
        if 'skipped' in source:
            print(f'{name}: skipped, {source["skipped"]}')
            report['splits'][name] = dict(list=source['list'], prefix=source['prefix'],
                                          skipped=source['skipped'])
            continue
        key = tuple(source['files'])
        if key not in checked:
            print(f'{name}: checking {len(key)} videos of {source["list"] or "the folder"}'
                  + (f' (prefix {source["prefix"]})' if source['prefix'] else '')
                  + (' with a decode check' if args.decode_check else ''), flush=True)
            with ProgressReporter(len(key), what='videos', label=name) as progress:
                checked[key] = check_videos(key, args.decode_check, args.workers, progress)
        else:
            print(f'{name}: same videos as an earlier split, not checked twice')
        report['splits'][name] = summarise_split(source, checked[key])

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + '\n', encoding='utf-8')
    bad = count_bad(report)
    lines = ['', *report_lines(report, args.show), f'report: {out}']
    if bad:
        lines.append(f'{bad} listed videos missing or unreadable (listed above and in the '
                     'report)')
    print('\n'.join(lines))
    return EXIT_BAD_VIDEOS if bad else EXIT_OK


if __name__ == '__main__':
    sys.exit(main())
