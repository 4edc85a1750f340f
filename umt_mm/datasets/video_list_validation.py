"""Strict reading of MMAction2 video lists: bad lines are rejected naming the file and line.

MMAction2's :class:`~mmaction.datasets.VideoDataset` reads a list line without a label as
label ``-1`` and never checks labels against the number of classes, so a bad list line
only shows up iterations later as ``RuntimeError: Class values must be non-negative.``
inside ``F.one_hot``, naming neither the file nor the line. :func:`read_video_list` is
the same parser with every line checked; :mod:`umt_mm.compat` makes ``VideoDataset``
(and its subclasses such as ``RepeatAugDataset``) use it.
"""
from __future__ import annotations

import os.path as osp
from pathlib import Path
from typing import Sequence


class AnnotationError(ValueError):
    """A malformed annotation file; the message names the file and the line."""


def read_video_list(ann_file: str | Path,
                    delimiter: str = ' ',
                    multi_class: bool = False,
                    num_classes: int | None = None,
                    video_prefix: str | None = None,
                    test_mode: bool = False) -> list[dict]:
    """Parse a ``path label`` video list exactly as ``VideoDataset`` does, checking each line.

    Rejected (:class:`AnnotationError` naming ``file:line``): a line whose label is
    missing (unless no line of a test-mode list has one, i.e. an unlabelled inference
    list, which gets MMAction2's placeholder label ``-1``), a label that is not an
    integer, more than one label on a single-label line, a label outside
    ``[0, num_classes)`` (negative labels always), the same video twice in one list.
    Blank lines are skipped.

    Args:
        ann_file (str | Path): The list file.
        delimiter (str): Field separator. Defaults to ' '.
        multi_class (bool): Lines carry one or more labels. Defaults to False.
        num_classes (int, optional): Labels must be below it. Defaults to None (only
            negative labels are rejected).
        video_prefix (str, optional): Joined in front of every path. Defaults to None.
        test_mode (bool): Allow a list without any labels. Defaults to False.

    Returns:
        list[dict]: ``dict(filename=..., label=...)`` per line, as ``VideoDataset`` builds.
    """
    from mmengine.fileio import get_text
    ann_file = str(ann_file)
    if '://' not in ann_file and not osp.isfile(ann_file):
        raise FileNotFoundError(f'annotation file {ann_file} does not exist')
    lines = get_text(ann_file, encoding='utf-8').splitlines()
    entries: list[tuple[int, str, list[str]]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        fields = line.strip().split(delimiter)
        fields = [f for f in fields if f != ''] if delimiter == ' ' else fields
        entries.append((number, fields[0], fields[1:]))
    unlabelled = [number for number, _, labels in entries if not labels]
    inference_list = test_mode and len(unlabelled) == len(entries)
    if unlabelled and not inference_list:
        number = unlabelled[0]
        raise AnnotationError(
            f'{ann_file}:{number}: no label in line {lines[number - 1]!r} (expected '
            f'"<video>{delimiter}<label>"); {len(unlabelled)} of {len(entries)} lines lack one')
    if num_classes is not None and num_classes <= 0:
        raise AnnotationError(f'{ann_file}: num_classes must be positive, got {num_classes}')
    seen: dict[str, int] = {}
    data_list = []
    for number, name, fields in entries:
        where = f'{ann_file}:{number}'
        if name in seen:
            raise AnnotationError(f'{where}: video {name!r} is listed twice (first on line '
                                  f'{seen[name]}); remove the duplicate')
        seen[name] = number
        if inference_list:
            label: int | list[int] = -1
        else:
            if not multi_class and len(fields) > 1:
                raise AnnotationError(
                    f'{where}: {len(fields)} labels in line {lines[number - 1]!r} of a '
                    'single-label list (set multi_class=True for multi-label lists, or '
                    'check the delimiter / spaces in the file name)')
            try:
                labels = [int(f) for f in fields]
            except ValueError:
                raise AnnotationError(f'{where}: label {fields!r} is not an integer') from None
            for value in labels:
                if value < 0 or (num_classes is not None and value >= num_classes):
                    bound = f'[0, {num_classes})' if num_classes is not None else '>= 0'
                    raise AnnotationError(f'{where}: label {value} of {name!r} is outside '
                                          f'the class range {bound}')
            label = labels if multi_class else labels[0]
        filename = osp.join(video_prefix, name) if video_prefix is not None else name
        data_list.append(dict(filename=filename, label=label))
    return data_list


def read_label_map(path: str | Path, num_classes: int | None = None) -> list[str]:
    """Read a label map (one class name per line) and check it against ``num_classes``.

    Args:
        path (str | Path): The label map.
        num_classes (int, optional): The head's number of classes. Defaults to None.

    Returns:
        list[str]: The class names, in label order.
    """
    path = str(path)
    if not osp.isfile(path):
        raise FileNotFoundError(f'label map {path} does not exist')
    with open(path, encoding='utf-8') as f:
        lines = f.read().splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    names: list[str] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        name = line.strip()
        if not name:
            raise AnnotationError(f'{path}:{number}: empty class name')
        if name in seen:
            raise AnnotationError(f'{path}:{number}: class {name!r} repeats line {seen[name]}')
        seen[name] = number
        names.append(name)
    if num_classes is not None and len(names) != num_classes:
        raise AnnotationError(f'{path}:{len(lines) + 1}: the label map has {len(names)} '
                              f'classes but the model head has num_classes={num_classes}')
    return names


def check_class_names(classes: Sequence[str] | str, num_classes: int | None,
                      source: str = 'metainfo.classes') -> list[str]:
    """Check class names given inline or as a label-map path.

    Args:
        classes (Sequence[str] | str): Names, or the path of a label map.
        num_classes (int, optional): The head's number of classes. Defaults to None.
        source (str): Where the names come from, for the error. Defaults to
            'metainfo.classes'.

    Returns:
        list[str]: The class names.
    """
    if isinstance(classes, (str, Path)):
        return read_label_map(classes, num_classes)
    names = list(classes)
    if num_classes is not None and len(names) != num_classes:
        raise AnnotationError(f'{source}: {len(names)} class names but the model head has '
                              f'num_classes={num_classes}')
    return names
