"""Count the missing and unreadable videos of a dataset's lists (``tools/data/check_dataset.py``).

Kinetics copies differ between groups (videos taken down, failed downloads, broken files),
so an accuracy is only comparable with the official one together with the number of listed
videos that could not be used. :func:`check_videos` opens every video with decord (as
training does) and reads its frame count, optionally decoding its last frame (which
catches truncated files whose header still opens); :func:`summarise_split` counts the
results of one split and :func:`report_lines` prints the table of all splits.

The videos come from a config's dataloaders (:func:`split_sources_from_config`: the
datasets are built by MMAction2's registry, so list format, ``data_prefix`` and label checks
are those of a run) or from one list file (:func:`split_source_from_list`).
"""
from __future__ import annotations

import multiprocessing as mp
import os.path as osp
from collections.abc import Sequence
from pathlib import Path

from .video_jobs import Progress

#: The dataloaders of a config that can be checked.
SPLITS = ('train', 'val', 'test')


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


def _indexed_check(item: tuple[int, tuple[str, bool]]) -> tuple[int, dict]:
    index, task = item
    return index, check_video(task)


def check_videos(files: Sequence[str], decode: bool = False, workers: int = 1,
                 progress: Progress | None = None) -> list[dict]:
    """Check ``files`` over ``workers`` processes.

    Args:
        files (Sequence[str]): The videos.
        decode (bool): Decode the last frame of each. Defaults to False.
        workers (int): Processes (forked; 1: in this process). Defaults to 1.
        progress (Progress, optional): Told of every checked video, with the number of
            bad ones as its note (e.g. :class:`umt_mm.engine.progress.ProgressReporter`).
            Defaults to None.

    Returns:
        list[dict]: :func:`check_video` results in the order of ``files``.
    """
    if workers < 1:
        raise ValueError(f'workers must be at least 1, got {workers}')
    tasks = [(f, decode) for f in files]
    results: list[dict | None] = [None] * len(tasks)
    total = len(tasks)
    if workers == 1 or total <= 1:
        iterator = ((i, check_video(t)) for i, t in enumerate(tasks))
        pool = None
    else:
        # fork: the children need nothing but check_video; decord is imported in them
        pool = mp.get_context('fork').Pool(min(workers, total))
        chunk = max(1, min(64, total // (workers * 8)))
        iterator = pool.imap_unordered(_indexed_check, enumerate(tasks), chunksize=chunk)
    bad = 0
    try:
        for index, result in iterator:
            results[index] = result
            bad += result['status'] != 'ok'
            if progress is not None:
                progress.update(1, note=f'{bad} bad')
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    return results  # type: ignore[return-value]


def split_sources_from_config(config: str, splits: Sequence[str] = SPLITS,
                              cfg_options: Sequence[str] = ()) -> list[dict]:
    """The list, prefix and videos of each dataloader of a config.

    The datasets are built (lazily) by MMAction2's registry, so the videos are exactly
    those a run reads: umt_mm's list parsing (official list forms, ``file:line`` errors,
    labels checked against the model head) and ``data_prefix`` joining.

    Args:
        config (str): The config file.
        splits (Sequence[str]): Dataloaders to read (``train``, ``val``, ``test``).
            Defaults to all three.
        cfg_options (Sequence[str]): ``KEY=VALUE`` overrides. Defaults to none.

    Returns:
        list[dict]: Per split ``split``, ``list``, ``prefix``, ``files`` (or ``skipped``
        with the reason).

    Raises:
        OSError, ValueError: A list cannot be read (the message names the split).
    """
    import argparse

    from mmengine.config import Config, DictAction
    from mmengine.registry import init_default_scope

    from umt_mm.cli_config import fill_dataset_num_classes, innermost_dataset

    cfg = Config.fromfile(config)
    if cfg_options:
        action = DictAction(option_strings=['--cfg-options'], dest='cfg_options')
        namespace = argparse.Namespace()
        action(None, namespace, list(cfg_options))
        cfg.merge_from_dict(namespace.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    fill_dataset_num_classes(cfg)
    from mmaction.registry import DATASETS

    sources = []
    for split in splits:
        loader = cfg.get(f'{split}_dataloader')
        if not isinstance(loader, dict):
            continue
        dataset_cfg = innermost_dataset(loader.get('dataset'))
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


def split_source_from_list(list_file: str | Path, prefix: str = '',
                           delimiter: str = ' ') -> dict:
    """The videos of one list file (labels optional), joined to ``prefix``.

    Args:
        list_file (str | Path): The list.
        prefix (str): Folder joined to the listed paths. Defaults to '' (none).
        delimiter (str): Field separator (the official ``path,label`` and ``path label``
            forms are recognised either way). Defaults to ' '.

    Returns:
        dict: ``split`` (the list's file name), ``list``, ``prefix`` and ``files``.
    """
    from ..video_list_validation import read_video_list
    entries = read_video_list(list_file, delimiter=delimiter, video_prefix=prefix or None,
                              test_mode=True)
    return dict(split=Path(list_file).name, list=str(list_file), prefix=prefix,
                files=[e['filename'] for e in entries])


def summarise_split(source: dict, results: Sequence[dict]) -> dict:
    """The report entry of one split.

    Args:
        source (dict): ``split``, ``list``, ``prefix``.
        results (Sequence[dict]): :func:`check_video` results.

    Returns:
        dict: ``list``, ``prefix``, the counts ``total`` / ``ok`` / ``missing`` /
        ``unreadable``, ``bad_fraction``, the frame counts' ``min`` / ``median`` / ``max``
        and the bad videos (``missing_files``, ``unreadable_files`` with reasons).
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


def count_bad(report: dict) -> int:
    """The missing and unreadable videos of all checked splits of a report.

    Args:
        report (dict): ``splits``: name -> :func:`summarise_split` entry (or ``skipped``).

    Returns:
        int: The number of bad videos (a video listed by two splits counts twice).
    """
    return sum(entry['missing'] + entry['unreadable']
               for entry in report['splits'].values() if 'skipped' not in entry)


def report_lines(report: dict, show: int = 10) -> list[str]:
    """The table of a report: per split the counts and up to ``show`` bad videos.

    Args:
        report (dict): ``splits``: name -> :func:`summarise_split` entry (or ``skipped``).
        show (int): Bad videos listed per split. Defaults to 10.

    Returns:
        list[str]: The lines.
    """
    head = f'{"split":<8} {"videos":>9} {"ok":>9} {"missing":>9} {"unreadable":>10} {"bad %":>7}'
    lines = [head, '-' * len(head)]
    for name, entry in report['splits'].items():
        if 'skipped' in entry:
            lines.append(f'{name:<8} skipped')
            continue
        lines.append(f'{name:<8} {entry["total"]:>9} {entry["ok"]:>9} {entry["missing"]:>9} '
                     f'{entry["unreadable"]:>10} {100.0 * entry["bad_fraction"]:>7.2f}')
        shown = ([f'  missing     {f}' for f in entry['missing_files']]
                 + [f'  unreadable  {u["file"]}: {u["reason"]}'
                    for u in entry['unreadable_files']])
        lines += shown[:show]
        if len(shown) > show:
            lines.append(f'  ... and {len(shown) - show} more (see the report)')
    return lines
