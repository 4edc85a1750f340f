"""Count the missing and unreadable videos of a dataset's lists, per split.

Kinetics copies differ between groups (videos taken down, failed downloads, broken
files), so an accuracy is only comparable with the official one together with the number
of listed videos that could not be used. This tool opens every listed video with decord
(as training does), reads its frame count and reports, per split, how many are missing
or unreadable; with ``--decode-check`` it also decodes the last frame of each video
(catches truncated files whose header still opens). Work is spread over processes.

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
import importlib.util
import json
import multiprocessing as mp
import os
import os.path as osp
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
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


# ------------------------------------------------------------------------------ videos
def check_video(task: tuple[str, bool]) -> dict:
    """Open one video with decord and read its frame count (and last frame).

    Args:
        task (tuple[str, bool]): The file and whether to decode its last frame.

    Returns:
        dict: ``file``, ``status`` (``'ok'``, ``'missing'`` or ``'unreadable'``),
        ``frames`` (the frame count, or None) and ``reason`` (for bad videos).
    """
    path, decode = task
    result = dict(file=path, status='ok', frames=None, reason='')
    if not osp.exists(path):
        return dict(result, status='missing', reason='no such file')
    if not osp.isfile(path):
        return dict(result, status='unreadable', reason='not a file')
    if osp.getsize(path) == 0:
        return dict(result, status='unreadable', reason='empty file')
    try:
        import decord
        reader = decord.VideoReader(path, num_threads=1)
        frames = len(reader)
        result['frames'] = frames
        if frames <= 0:
            return dict(result, status='unreadable', reason='no frames')
        if decode:
            frame = reader[frames - 1].asnumpy()
            if frame.ndim != 3 or frame.size == 0:
                return dict(result, status='unreadable',
                            reason=f'last frame decoded with shape {frame.shape}')
    except Exception as err:  # decord raises its own error types
        message = str(err).strip().splitlines()
        reason = message[0] if message else ''
        return dict(result, status='unreadable', reason=f'{type(err).__name__}: {reason}'[:300])
    return result


def check_videos(files: list[str], decode: bool, workers: int, label: str = '',
                 stream=None) -> list[dict]:
    """Check ``files`` over ``workers`` processes, printing progress to ``stream``.

    Args:
        files (list[str]): The videos.
        decode (bool): Decode the last frame of each.
        workers (int): Processes (1: in this process).
        label (str): Name shown in the progress lines. Defaults to ''.
        stream: Progress stream. Defaults to None (``sys.stderr``).

    Returns:
        list[dict]: :func:`check_video` results in the order of ``files``.
    """
    stream = sys.stderr if stream is None else stream
    tasks = [(f, decode) for f in files]
    results: list[dict | None] = [None] * len(tasks)
    total, start, last = len(tasks), time.monotonic(), 0.0
    bad = 0
    tty = hasattr(stream, 'isatty') and stream.isatty()

    def report(done: int, final: bool = False) -> None:
        nonlocal last
        now = time.monotonic()
        if not final and now - last < (0.5 if tty else 10.0):
            return
        last = now
        rate = done / max(now - start, 1e-9)
        line = (f'{label}: {done}/{total} videos ({100.0 * done / max(total, 1):.1f} %), '
                f'{bad} bad, {rate:.0f} videos/s')
        stream.write(('\r' + line + ('\n' if final else '')) if tty else line + '\n')
        stream.flush()

    if workers == 1 or total <= 1:
        iterator = ((i, check_video(t)) for i, t in enumerate(tasks))
        pool = None
    else:
        # fork: the children need nothing but check_video; decord is imported in them
        pool = mp.get_context('fork').Pool(min(workers, total))
        chunk = max(1, min(64, total // (workers * 8)))
        iterator = pool.imap_unordered(_indexed_check, enumerate(tasks), chunksize=chunk)
    try:
        for done, (index, result) in enumerate(iterator, start=1):
            results[index] = result
            bad += result['status'] != 'ok'
            report(done)
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    report(total, final=True)
    return results  # type: ignore[return-value]


def _indexed_check(item: tuple[int, tuple[str, bool]]) -> tuple[int, dict]:
    index, task = item
    return index, check_video(task)


# ------------------------------------------------------------------------------ lists
def split_sources_from_config(config: str, splits: list[str],
                              cfg_options: list[str]) -> list[dict]:
    """The list, prefix and videos of each dataloader of a config.

    The datasets are built (lazily) by MMAction2's registry, so the videos are
    exactly those a run reads: umt_mm's list parsing (official list forms, ``file:line``
    errors, labels checked against the model head) and ``data_prefix`` joining.

    Args:
        config (str): The config file.
        splits (list[str]): Dataloaders to read (``train``, ``val``, ``test``).
        cfg_options (list[str]): ``KEY=VALUE`` overrides.

    Returns:
        list[dict]: Per split ``split``, ``list``, ``prefix``, ``files`` (or ``skipped``
        with the reason).
    """
    from mmengine.config import Config, DictAction
    from mmengine.registry import init_default_scope

    import umt_mm  # noqa: F401  (registers umt_mm's datasets and the strict list parser)
    from umt_mm.cli_config import _innermost_dataset, fill_dataset_num_classes

    cfg = Config.fromfile(config)
    if cfg_options:
        action = DictAction(option_strings=['--cfg-options'], dest='cfg_options')
        namespace = argparse.Namespace()
        action(None, namespace, cfg_options)
        cfg.merge_from_dict(namespace.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    fill_dataset_num_classes(cfg)
    from mmaction.registry import DATASETS

    sources = []
    for split in splits:
        loader = cfg.get(f'{split}_dataloader')
        if not isinstance(loader, dict):
            continue
        dataset_cfg = _innermost_dataset(loader.get('dataset'))
        if not isinstance(dataset_cfg, dict):
            continue
        dataset_cfg = dict(dataset_cfg, lazy_init=True)  # the pipeline is built, never run
        prefix = (dataset_cfg.get('data_prefix') or {}).get('video', '')
        entry = dict(split=split, list=str(dataset_cfg.get('ann_file', '')), prefix=prefix)
        try:
            dataset = DATASETS.build(dataset_cfg)
            data_list = dataset.load_data_list()
        except (OSError, ValueError) as err:  # AnnotationError is a ValueError
            raise type(err)(f'{split}_dataloader: {err}') from err
        files = [d.get('filename') for d in data_list]
        if not files or any(f is None for f in files):
            entry['skipped'] = (f'{type(dataset).__name__} lists no video files '
                                '(frame folders or another annotation type)')
            entry['files'] = []
        else:
            entry['files'] = [str(f) for f in files]
        sources.append(entry)
    return sources


def split_source_from_list(list_file: str, prefix: str, delimiter: str) -> dict:
    """The videos of one list file (labels optional), joined to ``prefix``.

    Args:
        list_file (str): The list.
        prefix (str): Folder joined to the listed paths ('' for none).
        delimiter (str): Field separator.

    Returns:
        dict: ``split`` (the list's file name), ``list``, ``prefix`` and ``files``.
    """
    from umt_mm.datasets.video_list_validation import read_video_list
    entries = read_video_list(list_file, delimiter=delimiter, video_prefix=prefix or None,
                              test_mode=True)
    return dict(split=Path(list_file).name, list=str(list_file), prefix=prefix,
                files=[e['filename'] for e in entries])


# ------------------------------------------------------------------------------ report
def summarise(source: dict, results: list[dict]) -> dict:
    """The report entry of one split.

    Args:
        source (dict): ``split``, ``list``, ``prefix``.
        results (list[dict]): :func:`check_video` results.

    Returns:
        dict: Counts and the bad videos.
    """
    missing = [r['file'] for r in results if r['status'] == 'missing']
    unreadable = [dict(file=r['file'], reason=r['reason'])
                  for r in results if r['status'] == 'unreadable']
    frames = sorted(r['frames'] for r in results if r['status'] == 'ok')
    total = len(results)
    bad = len(missing) + len(unreadable)
    return dict(
        list=source['list'], prefix=source['prefix'], total=total, ok=total - bad,
        missing=len(missing), unreadable=len(unreadable),
        bad_fraction=round(bad / total, 6) if total else 0.0,
        frames=dict(min=frames[0], median=frames[len(frames) // 2], max=frames[-1])
        if frames else None,
        missing_files=missing, unreadable_files=unreadable)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if importlib.util.find_spec('umt_mm') is None:
        sys.path.insert(0, str(ROOT))
    from umt_mm.datasets.video_list_validation import AnnotationError
    try:
        if args.list_file is not None:
            sources = [split_source_from_list(args.list_file, args.prefix, args.delimiter)]
        else:
            sources = split_sources_from_config(args.config, args.splits, args.cfg_options)
    except (AnnotationError, OSError, ValueError) as err:
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
            checked[key] = check_videos(list(key), args.decode_check, args.workers, name)
        else:
            print(f'{name}: same videos as an earlier split, not checked twice')
        report['splits'][name] = summarise(source, checked[key])

    head = f'{"split":<8} {"videos":>9} {"ok":>9} {"missing":>9} {"unreadable":>10} {"bad %":>7}'
    lines = ['', head, '-' * len(head)]
    any_bad = False
    for name, entry in report['splits'].items():
        if 'skipped' in entry:
            lines.append(f'{name:<8} skipped')
            continue
        bad = entry['missing'] + entry['unreadable']
        any_bad |= bad > 0
        lines.append(f'{name:<8} {entry["total"]:>9} {entry["ok"]:>9} {entry["missing"]:>9} '
                     f'{entry["unreadable"]:>10} {100.0 * entry["bad_fraction"]:>7.2f}')
        shown = ([f'  missing     {f}' for f in entry['missing_files']]
                 + [f'  unreadable  {u["file"]}: {u["reason"]}'
                    for u in entry['unreadable_files']])
        lines += shown[:args.show]
        if len(shown) > args.show:
            lines.append(f'  ... and {len(shown) - args.show} more (see the report)')
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + '\n', encoding='utf-8')
    lines.append(f'report: {out}')
    print('\n'.join(lines))
    return EXIT_BAD_VIDEOS if any_bad else EXIT_OK


if __name__ == '__main__':
    sys.exit(main())
