"""Package data: the label maps of the datasets of the UMT model zoo, found by name.

Every tool option and API argument that takes a label map takes a name of
:data:`LABEL_MAPS` (or one of its :data:`ALIASES`) or a path::

    >>> from umt_mm.data import read_label_map
    >>> names = read_label_map('k400')            # 400 Kinetics-400 class names
    >>> names = read_label_map('my_classes.txt')  # a file, one name per line

The files are the public class lists of the datasets: Kinetics-400/600/700 and the
Kinetics-710 union in the order of the reference's K710 head, Moments in Time v1 (339),
Something-Something v2 (174, in label order) and the 60 evaluated AVA v2.2 actions
(``id: name`` lines, MMAction2's ``ava_label_map.txt`` format).
"""
from __future__ import annotations

from pathlib import Path

from ..datasets.video_list_validation import AnnotationError

LABEL_MAP_DIR = Path(__file__).resolve().parent / 'label_maps'

#: name -> file in :data:`LABEL_MAP_DIR`
LABEL_MAPS = {
    'k400': 'label_map_k400.txt',
    'k600': 'label_map_k600.txt',
    'k700': 'label_map_k700.txt',
    'k710': 'label_map_k710.txt',
    'mitv1': 'label_map_mitv1.txt',
    'sthv2': 'label_map_sthv2.txt',
    'ava': 'ava_label_map.txt',
}

#: other spellings of the names (MMAction2's dataset names, common abbreviations)
ALIASES = {
    'kinetics400': 'k400', 'kinetics600': 'k600', 'kinetics700': 'k700',
    'kinetics710': 'k710', 'mit': 'mitv1', 'moments': 'mitv1', 'ssv2': 'sthv2',
    'something-something-v2': 'sthv2', 'ava22': 'ava', 'ava2.2': 'ava',
}


class LabelMapError(AnnotationError):
    """A label map that cannot be used: malformed, or not matching the model's classes."""


def label_map_names() -> list[str]:
    """The names that :func:`label_map_path` resolves (aliases left out)."""
    return sorted(LABEL_MAPS)


def label_map_path(source: str | Path) -> Path:
    """The file of a label map given by name (``'k400'``) or path.

    A name of :data:`LABEL_MAPS` or :data:`ALIASES` (case-insensitive) wins over a file of
    the same name in the working folder only when no such file exists.

    Args:
        source (str | Path): A name or a path.

    Returns:
        Path: The label map file.

    Raises:
        FileNotFoundError: Neither a file nor a known name; the message lists the names.
    """
    path = Path(source)
    if path.is_file():
        return path
    key = str(source).strip().lower()
    key = ALIASES.get(key, key)
    if key in LABEL_MAPS:
        return LABEL_MAP_DIR / LABEL_MAPS[key]
    raise FileNotFoundError(
        f'label map {source!s}: no such file, and not one of the bundled label maps '
        f'({", ".join(label_map_names())}; aliases: {", ".join(sorted(ALIASES))})')


def read_label_map(source: str | Path, num_classes: int | None = None) -> list[str]:
    """Class names in label order from a label map with one name per line.

    Args:
        source (str | Path): A bundled label map's name (``'k400'``, ``'sthv2'``...) or a
            file, one class name per line (trailing blank lines ignored).
        num_classes (int, optional): The model head's number of classes, checked against
            the file. Defaults to None (not checked).

    Returns:
        list[str]: The class names; name ``i`` is class ``i``.

    Raises:
        FileNotFoundError: See :func:`label_map_path`.
        LabelMapError: An empty or repeated name (with its line), an ``id: name`` file
            (read those with :func:`read_action_label_map`), or a class count that differs
            from ``num_classes``.
    """
    path = label_map_path(source)
    lines = path.read_text(encoding='utf-8').splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise LabelMapError(f'label map {path} is empty')
    names: list[str] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        name = line.strip()
        if not name:
            raise LabelMapError(f'{path}:{number}: empty class name')
        if name in seen:
            raise LabelMapError(f'{path}:{number}: class {name!r} repeats line {seen[name]}')
        seen[name] = number
        names.append(name)
    if all(_id_line(line) for line in names):
        raise LabelMapError(f"{path}: every line is 'id: name', an action label map (AVA); "
                            'read it with read_action_label_map')
    if num_classes is not None and len(names) != num_classes:
        raise LabelMapError(f'{path}:{len(lines) + 1}: the label map has {len(names)} '
                            f'classes but the model head has num_classes={num_classes}')
    return names


def _id_line(line: str) -> bool:
    head, sep, name = line.partition(':')
    return bool(sep) and head.strip().isdigit() and bool(name.strip())


def read_action_label_map(source: str | Path) -> dict[int, str]:
    """``{action id: name}`` from an AVA-style label map.

    Reads MMAction2's ``id: name`` text files (``ava_label_map.txt``) and the AVA
    ``item { name: "..." id: N }`` pbtxt lists (``ava_action_list_v2.2.pbtxt``).

    Args:
        source (str | Path): ``'ava'`` (the bundled 60 evaluated AVA v2.2 actions) or a file.

    Returns:
        dict[int, str]: Names by action id, in file order.

    Raises:
        FileNotFoundError: See :func:`label_map_path`.
        LabelMapError: A malformed line (with its number), a repeated id, or no entry.
    """
    path = label_map_path(source)
    text = path.read_text(encoding='utf-8')
    names: dict[int, str] = {}
    if 'item' in text and '{' in text:
        import re
        for match in re.finditer(r'item\s*\{(?P<body>[^}]*)\}', text):
            body = match['body']
            name = re.search(r'name:\s*"(?P<v>[^"]*)"', body)
            ident = re.search(r'\bid:\s*(?P<v>\d+)', body)
            line = text.count('\n', 0, match.start()) + 1
            if not (name and ident):
                raise LabelMapError(f'{path}:{line}: an item without name or id')
            if int(ident['v']) in names:
                raise LabelMapError(f'{path}:{line}: action id {ident["v"]} repeats')
            names[int(ident['v'])] = name['v']
    else:
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            if not _id_line(line):
                raise LabelMapError(f"{path}:{number}: expected 'id: name', got {line!r}")
            head, _, name = line.partition(':')
            if int(head) in names:
                raise LabelMapError(f'{path}:{number}: action id {int(head)} repeats')
            names[int(head)] = name.strip()
    if not names:
        raise LabelMapError(f'label map {path} has no entry')
    return names


__all__ = ['ALIASES', 'LABEL_MAPS', 'LABEL_MAP_DIR', 'LabelMapError', 'label_map_names',
           'label_map_path', 'read_action_label_map', 'read_label_map']
