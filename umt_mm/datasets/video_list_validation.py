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

#: Label fields of a header line (``path,label`` and the like), skipped when on line 1.
HEADER_LABELS = frozenset({'label', 'labels', 'class', 'class_id', 'classid', 'target',
                           'category', 'category_id'})


class AnnotationError(ValueError):
    """A malformed annotation file; the message names the file and the line."""


def split_list_line(line: str, delimiter: str = ' ') -> list[str]:
    """Split one list line into fields as MMAction2 does (``' '`` skips empty fields).

    Args:
        line (str): The line.
        delimiter (str): Field separator. Defaults to ' '.

    Returns:
        list[str]: The fields (surrounding whitespace of the line and, for a non-space
        delimiter, of every field removed).
    """
    if delimiter == ' ':
        return [f for f in line.strip().split(' ') if f != '']
    return [f.strip() for f in line.strip().split(delimiter)]


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def detect_delimiter(lines: Sequence[str], delimiter: str = ' ') -> str:
    """The delimiter a video list is written with: ``delimiter`` or the other official one.

    The official lists of the UniFormerV2 / UMT releases come in two forms: ``path,label``
    (Kinetics-400/600/700/710, the reference's ``--split ','``) and ``path label`` (SSv2,
    MiT, MMAction2). When the first data line (a header line is passed over) does not read
    as ``<path><delimiter><integer label(s)>`` but does with the other form (``','`` for
    ``' '`` and vice versa; e.g. ``air drumming/x.mp4,1``), the whole file is read with
    the other form. Any other delimiter is returned as it is.

    Args:
        lines (Sequence[str]): The lines of the file.
        delimiter (str): The configured delimiter. Defaults to ' '.

    Returns:
        str: The delimiter to read the file with.
    """
    other = {' ': ',', ',': ' '}.get(delimiter)
    if other is None:
        return delimiter
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if number == 1 and is_header_line(line, delimiter):
            continue
        if _labelled(line, delimiter) or not _labelled(line, other):
            return delimiter
        return other
    return delimiter


def _labelled(line: str, delimiter: str) -> bool:
    """Whether ``line`` reads as ``<path><delimiter><int>[<delimiter><int>...]``."""
    fields = split_list_line(line, delimiter)
    return len(fields) >= 2 and all(_is_int(f) for f in fields[1:])


def is_header_line(line: str, delimiter: str) -> bool:
    """Whether a first line is a header: its last field is a word of ``HEADER_LABELS``.

    Args:
        line (str): The line.
        delimiter (str): The list's delimiter (``','`` and ``' '`` are tried as well).

    Returns:
        bool: True for lines such as ``path,label`` or ``video label``.
    """
    for sep in dict.fromkeys((delimiter, ',', ' ')):
        fields = split_list_line(line, sep)
        if len(fields) >= 2 and fields[-1].lower() in HEADER_LABELS:
            return True
    return False


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
    Blank lines are skipped, and so is a header line (line 1 whose label field is a word
    such as ``label``, see ``HEADER_LABELS``).

    The official lists as distributed are read with either delimiter: with ``' '`` (the
    default) or ``','``, a file written in the other of the two forms (``path,label`` as
    in the Kinetics lists of the UniFormerV2 / UMT releases, ``path label`` as in their
    SSv2 / MiT lists and MMAction2's) is recognised from its first line and read in that
    form (:func:`detect_delimiter`); a line in another form then fails with its
    ``file:line``. Paths are joined to ``video_prefix`` with ``os.path.join``, as the
    reference joins its ``--prefix``: an absolute path in the list is kept.

    Args:
        ann_file (str | Path): The list file.
        delimiter (str): Field separator (the reference's ``--split``). Defaults to ' '.
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
    if lines and lines[0].startswith('\ufeff'):  # a byte-order mark (csv saved by Excel)
        lines[0] = lines[0][1:]
    delimiter = detect_delimiter(lines, delimiter)
    shown = 'space' if delimiter == ' ' else repr(delimiter)
    entries: list[tuple[int, str, list[str]]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip() or (number == 1 and is_header_line(line, delimiter)):
            continue
        fields = split_list_line(line, delimiter)
        entries.append((number, fields[0], fields[1:]))
    unlabelled = [number for number, _, labels in entries if not labels]
    inference_list = test_mode and len(unlabelled) == len(entries)
    if unlabelled and not inference_list:
        number = unlabelled[0]
        raise AnnotationError(
            f'{ann_file}:{number}: no label in line {lines[number - 1]!r} (expected '
            f'"<video>{delimiter}<label>", {shown}-separated); {len(unlabelled)} of '
            f'{len(entries)} lines lack one')
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
                    f'single-label list ({shown}-separated; set multi_class=True for '
                    'multi-label lists, use RawframeDataset for "<frame_dir> <num_frames> '
                    '<label>" lists, or check the delimiter / spaces in the file name)')
            try:
                labels = [int(f) for f in fields]
            except ValueError:
                raise AnnotationError(f'{where}: label {fields!r} is not an integer '
                                      f'({shown}-separated line {lines[number - 1]!r})'
                                      ) from None
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

    The one reader is :func:`umt_mm.data.read_label_map`; ``path`` may also name a
    bundled label map (``'k400'``, ``'sthv2'``...).

    Args:
        path (str | Path): The label map, or a bundled label map's name.
        num_classes (int, optional): The head's number of classes. Defaults to None.

    Returns:
        list[str]: The class names, in label order.
    """
    from ..data import read_label_map as read
    return read(path, num_classes)


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
