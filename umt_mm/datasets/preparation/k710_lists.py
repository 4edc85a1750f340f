"""Kinetics-710 annotation lists from the Kinetics-400 / 600 / 700 lists.

K710 (UniFormerV2 / UMT recipe) is the deduplicated union of the K400, K600 and K700
classes (710 classes). Its lists are built as follows:

* every source label id is mapped to its K710 id with
  :func:`umt_mm.converters.k710_channel_map.build_channel_map` (K400 by position, K600 /
  K700 by name with the Kinetics renamings);
* videos are identified by their YouTube id, parsed from the file name
  ``<youtube_id>_<start:06d>_<end:06d>.mp4`` (or a bare ``<youtube_id>.mp4``), see
  :func:`video_key`;
* val = the union of the val lists, deduplicated (the first occurrence in source order
  wins, ``k400, k600, k700`` by default);
* train = the union of the train lists, deduplicated the same way, without any video
  whose YouTube id is in val.

Both outputs are MMAction2 ``VideoDataset`` annotation files (``<path> <label>``) whose
paths are relative to one common ``data_prefix``: each source's paths are written under
a per-source, per-split prefix (default: the source name, e.g. ``k400/<path>``). With the
usual layout, where each dataset's train and val videos sit in different folders, give
the prefixes of those folders relative to the common root, e.g.
``train_prefix='kinetics400/videos_train'`` and ``val_prefix='kinetics400/videos_val'``.

A video seen twice with different K710 labels keeps its first label; the clash is
recorded as a :class:`LabelConflict` in the report (or raises with ``strict=True``).
"""
from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from umt_mm.converters.k710_channel_map import (
    NUM_CLASSES,
    RENAMES,
    build_channel_map,
    read_label_file,
)

from ..video_list_validation import detect_delimiter, is_header_line, split_list_line

#: Default source order: the first occurrence of a video in this order wins.
SOURCE_ORDER = ('k400', 'k600', 'k700')
TRAIN_LIST_NAME = 'kinetics710_train_list_videos.txt'
VAL_LIST_NAME = 'kinetics710_val_list_videos.txt'

_CLIP_RE = re.compile(r'^(?P<yid>.+)_(?P<start>\d{6})_(?P<end>\d{6})$')
_SOURCE_KEYS = {'train', 'val', 'labels', 'prefix', 'train_prefix', 'val_prefix'}
_REQUIRED_KEYS = ('train', 'val', 'labels')


class K710LabelConflictError(ValueError):
    """Raised with ``strict=True`` when a video appears with different K710 labels.

    Args:
        conflicts (list[LabelConflict]): All conflicts found.
    """

    def __init__(self, conflicts: list[LabelConflict]) -> None:
        self.conflicts = conflicts
        shown = '\n  '.join(str(c) for c in conflicts[:10])
        more = f'\n  ... and {len(conflicts) - 10} more' if len(conflicts) > 10 else ''
        super().__init__(f'{len(conflicts)} label conflict(s): the same YouTube id with '
                         f'different K710 labels:\n  {shown}{more}')


@dataclass(frozen=True)
class ListEntry:
    """One annotation line of a source list.

    Args:
        source (str): Source dataset, e.g. ``'k400'``.
        split (str): ``'train'`` or ``'val'``.
        file (str): The list file.
        line (int): 1-based line number in ``file``.
        path (str): The output path (prefix joined with the listed path).
        label (int): The K710 label id.
        key (str): The YouTube id, see :func:`video_key`.
    """

    source: str
    split: str
    file: str
    line: int
    path: str
    label: int
    key: str

    def where(self) -> str:
        """``'<source> <split> <file>:<line>'``."""
        return f'{self.source} {self.split} {self.file}:{self.line}'


@dataclass(frozen=True)
class LabelConflict:
    """A video listed twice with different K710 labels; the first one was kept.

    Args:
        key (str): The YouTube id.
        kept (ListEntry): The entry that was kept (or, for a train video dropped because
            it is in val, the val entry).
        dropped (ListEntry): The entry that was dropped.
    """

    key: str
    kept: ListEntry
    dropped: ListEntry

    def __str__(self) -> str:
        return (f'{self.key}: kept label {self.kept.label} ({self.kept.where()}), '
                f'dropped label {self.dropped.label} ({self.dropped.where()})')


@dataclass
class SplitCounts:
    """Line counts of one source list.

    Args:
        read (int): Annotation lines read. Defaults to 0.
        kept (int): Lines written to the K710 list. Defaults to 0.
        duplicates (int): Lines dropped because their video was already listed (in the
            same split, by this or an earlier source). Defaults to 0.
        in_val (int): Train lines dropped because their video is in the K710 val list
            (always 0 for val). Defaults to 0.
    """

    read: int = 0
    kept: int = 0
    duplicates: int = 0
    in_val: int = 0


@dataclass
class SourceCounts:
    """Counts of one source dataset.

    Args:
        name (str): Source name, e.g. ``'k400'``.
        train (SplitCounts): Counts of its train list.
        val (SplitCounts): Counts of its val list.
    """

    name: str
    train: SplitCounts = field(default_factory=SplitCounts)
    val: SplitCounts = field(default_factory=SplitCounts)


@dataclass
class K710ListReport:
    """What :func:`build_k710_lists` read, kept and dropped.

    Args:
        sources (dict[str, SourceCounts]): Per-source counts, in source order.
        conflicts (list[LabelConflict]): Videos seen with different K710 labels.
        train_file (Path | None): The written train list. Defaults to None.
        val_file (Path | None): The written val list. Defaults to None.
        train_classes (int): Distinct K710 labels in the train list. Defaults to 0.
        val_classes (int): Distinct K710 labels in the val list. Defaults to 0.
    """

    sources: dict[str, SourceCounts]
    conflicts: list[LabelConflict] = field(default_factory=list)
    train_file: Path | None = None
    val_file: Path | None = None
    train_classes: int = 0
    val_classes: int = 0

    def total(self, split: str) -> SplitCounts:
        """Counts of one split summed over the sources.

        Args:
            split (str): ``'train'`` or ``'val'``.

        Returns:
            SplitCounts: The sums.
        """
        out = SplitCounts()
        for src in self.sources.values():
            counts: SplitCounts = getattr(src, split)
            out.read += counts.read
            out.kept += counts.kept
            out.duplicates += counts.duplicates
            out.in_val += counts.in_val
        return out

    @property
    def num_train(self) -> int:
        """Lines of the K710 train list."""
        return self.total('train').kept

    @property
    def num_val(self) -> int:
        """Lines of the K710 val list."""
        return self.total('val').kept

    def summary(self) -> str:
        """A human-readable table of the counts, totals and conflicts."""
        head = f'{"source":<8} {"split":<5} {"read":>9} {"kept":>9} {"dups":>9} {"in val":>9}'
        rows = [head, '-' * len(head)]

        def row(name: str, split: str, c: SplitCounts) -> str:
            in_val = str(c.in_val) if split == 'train' else '-'
            return (f'{name:<8} {split:<5} {c.read:>9} {c.kept:>9} {c.duplicates:>9} '
                    f'{in_val:>9}')

        for src in self.sources.values():
            rows.append(row(src.name, 'train', src.train))
            rows.append(row(src.name, 'val', src.val))
        rows.append('-' * len(head))
        rows.append(row('total', 'train', self.total('train')))
        rows.append(row('total', 'val', self.total('val')))
        rows.append(f'K710 train: {self.num_train} videos, {self.train_classes} classes'
                    + (f' -> {self.train_file}' if self.train_file else ''))
        rows.append(f'K710 val:   {self.num_val} videos, {self.val_classes} classes'
                    + (f' -> {self.val_file}' if self.val_file else ''))
        rows.append(f'label conflicts: {len(self.conflicts)}')
        rows.extend(f'  {c}' for c in self.conflicts[:10])
        if len(self.conflicts) > 10:
            rows.append(f'  ... and {len(self.conflicts) - 10} more')
        return '\n'.join(rows)


def video_key(path: str) -> str:
    """The YouTube id of a Kinetics video file, used to find the same video across lists.

    Args:
        path (str): ``[dirs/]<youtube_id>_<start:06d>_<end:06d>.<ext>``; any other file
            name gives its whole stem (e.g. a bare ``<youtube_id>.mp4``).

    Returns:
        str: The YouTube id (or the stem).
    """
    stem = posixpath.splitext(posixpath.basename(path.replace('\\', '/')))[0]
    match = _CLIP_RE.match(stem)
    return match.group('yid') if match else stem


def _k710_ids(dataset: str, label_file: Path, k710_labels: Path) -> list[int | None]:
    """K710 id of every class of a source label map; None for classes with no match.

    :func:`build_channel_map` refuses a label map with unmatched classes as a whole; here
    the matched classes are kept so that a list line using an unmatched one can be named.
    """
    try:
        return list(build_channel_map(label_file, k710_labels, dataset))
    except ValueError:
        if dataset == 'k400':  # matched by position: nothing to salvage
            raise
        names, k710 = read_label_file(label_file), read_label_file(k710_labels)
        if len(names) != NUM_CLASSES[dataset] or len(k710) != 710:
            raise
        index = {name: i for i, name in enumerate(k710)}
        ids = [index.get(RENAMES[dataset].get(name, name)) for name in names]
        if None not in ids:
            raise
        return ids


def _read_list(list_file: Path, source: str, split: str, prefix: str,
               class_names: list[str], k710_ids: list[int | None], label_file: Path,
               k710_labels: Path) -> list[ListEntry]:
    """Parse one ``<path> <label>`` or ``<path>,<label>`` list into entries with K710 labels.

    The form is recognised from the first data line (:func:`detect_delimiter`); a header
    line (``path,label``) is skipped.
    """
    if not list_file.is_file():
        raise FileNotFoundError(f'{source} {split} list not found: {list_file}')
    entries = []
    with open(list_file, encoding='utf-8-sig') as f:  # -sig: a byte-order mark is dropped
        lines = f.read().splitlines()
    delimiter = detect_delimiter(lines, ' ')
    form = '"<path> <label>"' if delimiter == ' ' else f'"<path>{delimiter}<label>"'
    for lineno, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or (lineno == 1 and is_header_line(line, delimiter)):
            continue
        fields = line.split() if delimiter == ' ' else split_list_line(line, delimiter)
        if len(fields) != 2:
            raise ValueError(f'{list_file}:{lineno}: expected {form}, got '
                             f'{len(fields)} field(s): {line!r}')
        path, label_str = fields
        try:
            label = int(label_str)
        except ValueError:
            raise ValueError(f'{list_file}:{lineno}: label {label_str!r} is not an '
                             f'integer: {line!r}') from None
        if not 0 <= label < len(class_names):
            raise ValueError(f'{list_file}:{lineno}: label {label} out of range for '
                             f'{label_file} ({len(class_names)} classes): {line!r}')
        k710_label = k710_ids[label]
        if k710_label is None:
            raise ValueError(f'{list_file}:{lineno}: {source} class '
                             f'{class_names[label]!r} (label {label} of {label_file}) '
                             f'has no K710 counterpart in {k710_labels}')
        entries.append(ListEntry(source, split, str(list_file), lineno,
                                 posixpath.join(prefix, path) if prefix else path,
                                 k710_label, video_key(path)))
    return entries


def _check_sources(sources: Mapping[str, Mapping], order: Sequence[str] | None) -> list[str]:
    if not sources:
        raise ValueError('no source datasets given; need at least one of '
                         f'{list(SOURCE_ORDER)}')
    for name, spec in sources.items():
        if name not in NUM_CLASSES:
            raise ValueError(f'unknown source {name!r}; expected one of {list(SOURCE_ORDER)}')
        unknown = set(spec) - _SOURCE_KEYS
        if unknown:
            raise ValueError(f'{name}: unknown keys {sorted(unknown)}; expected '
                             f'{sorted(_SOURCE_KEYS)}')
        missing = [k for k in _REQUIRED_KEYS if spec.get(k) is None]
        if missing:
            raise ValueError(f'{name}: missing {missing} (each source needs its train list, '
                             'val list and label map)')
    if order is None:
        return [name for name in SOURCE_ORDER if name in sources]
    order = list(order)
    if sorted(order) != sorted(sources):
        raise ValueError(f'order {order} must list each given source once: {sorted(sources)}')
    return order


def _merge(entries: list[ListEntry], counts: dict[str, SplitCounts],
           conflicts: list[LabelConflict],
           val: dict[str, ListEntry] | None = None) -> list[ListEntry]:
    """Keep the first entry of every key (and, with ``val``, none whose key is in val)."""
    seen: dict[str, ListEntry] = {}
    for entry in entries:
        c = counts[entry.source]
        c.read += 1
        first = val.get(entry.key) if val is not None else None
        if first is not None:
            c.in_val += 1
        else:
            first = seen.get(entry.key)
            if first is not None:
                c.duplicates += 1
            else:
                seen[entry.key] = entry
                c.kept += 1
                continue
        if first.label != entry.label:
            conflicts.append(LabelConflict(entry.key, first, entry))
    return list(seen.values())


def build_k710_lists(sources: Mapping[str, Mapping[str, str | Path]],
                     k710_labels: str | Path,
                     out_dir: str | Path,
                     order: Sequence[str] | None = None,
                     strict: bool = False,
                     train_name: str = TRAIN_LIST_NAME,
                     val_name: str = VAL_LIST_NAME) -> K710ListReport:
    """Merge Kinetics-400/600/700 annotation lists into the Kinetics-710 lists.

    Args:
        sources (Mapping[str, Mapping]): Source name (``'k400'``, ``'k600'`` or
            ``'k700'``; any non-empty subset) -> a mapping with ``'train'`` and ``'val'``
            (MMAction2 ``VideoDataset`` lists, ``<path> <label>`` per line, the label
            indexing the source label map), ``'labels'`` (that label map, one class per
            line) and optionally ``'prefix'`` (prepended to the listed paths of both
            splits; defaults to the source name), ``'train_prefix'`` and ``'val_prefix'``
            (per split; default to ``'prefix'``). An empty prefix keeps the paths as
            listed. Prefixes are relative to the ``data_prefix`` the K710 lists are used
            with.
        k710_labels (str | Path): The 710-class label map.
        out_dir (str | Path): Folder for the two lists (created if needed).
        order (Sequence[str] | None): Source order that decides which occurrence of a
            video wins; must list each given source once. Defaults to None
            (``k400, k600, k700``).
        strict (bool): Raise :class:`K710LabelConflictError` (and write nothing) when a
            video appears with different K710 labels. Defaults to False (keep the first
            label and record the conflict in the report).
        train_name (str): File name of the train list. Defaults to
            'kinetics710_train_list_videos.txt'.
        val_name (str): File name of the val list. Defaults to
            'kinetics710_val_list_videos.txt'.

    Returns:
        K710ListReport: Per-source counts, label conflicts and totals.

    Raises:
        ValueError: Malformed list lines (wrong field count, non-integer or out-of-range
            label; the message names the file and line), source labels with no K710
            class, bad label maps or arguments.
        FileNotFoundError: A missing list or label map.
        K710LabelConflictError: Label conflicts with ``strict=True``.
    """
    names = _check_sources(sources, order)
    k710_labels = Path(k710_labels)
    entries: dict[str, list[ListEntry]] = {'train': [], 'val': []}
    for name in names:
        spec = sources[name]
        label_file = Path(spec['labels'])
        class_names = read_label_file(label_file)
        k710_ids = _k710_ids(name, label_file, k710_labels)
        prefix = str(spec.get('prefix', name))
        for split in ('val', 'train'):
            split_prefix = str(spec.get(f'{split}_prefix', prefix))
            entries[split] += _read_list(Path(spec[split]), name, split, split_prefix,
                                         class_names, k710_ids, label_file, k710_labels)

    report = K710ListReport({name: SourceCounts(name) for name in names})
    val = _merge(entries['val'], {n: s.val for n, s in report.sources.items()},
                 report.conflicts)
    train = _merge(entries['train'], {n: s.train for n, s in report.sources.items()},
                   report.conflicts, val={e.key: e for e in val})
    if strict and report.conflicts:
        raise K710LabelConflictError(report.conflicts)

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report.train_file, report.val_file = out_dir / train_name, out_dir / val_name
    for file, kept in ((report.train_file, train), (report.val_file, val)):
        # a path with a space is written in the comma form (read back by every umt_mm list
        # reader); otherwise MMAction2's "path label"
        sep = ',' if any(' ' in e.path for e in kept) else ' '
        file.write_text(''.join(f'{e.path}{sep}{e.label}\n' for e in kept), encoding='utf-8')
    report.train_classes = len({e.label for e in train})
    report.val_classes = len({e.label for e in val})
    return report
