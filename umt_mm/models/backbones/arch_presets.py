"""Resolving a backbone's ``arch`` argument (a preset name or a dict of its settings) and the
blocks a UMT student or teacher returns."""
from __future__ import annotations

from collections.abc import Iterable, Mapping


def resolve_arch(owner: str, arch: str | Mapping, presets: Mapping[str, Mapping],
                 required: Iterable[str]) -> Mapping:
    """The settings of ``arch``: the named preset, or the dict itself once checked.

    Args:
        owner (str): The backbone's name, for the error messages.
        arch (str | Mapping): A key of ``presets`` or a dict of settings.
        presets (Mapping[str, Mapping]): The named architectures.
        required (Iterable[str]): Keys a dict must have.

    Returns:
        Mapping: The settings.

    Raises:
        ValueError: For an unknown preset name or a dict that lacks a required key.
    """
    if isinstance(arch, str):
        if arch not in presets:
            raise ValueError(f'unknown {owner} arch {arch!r}; choose from {sorted(presets)} '
                             'or pass a dict')
        return presets[arch]
    missing = set(required) - set(arch)
    if missing:
        raise ValueError(f'{owner} arch dict lacks {sorted(missing)}')
    return arch


def return_indices(depth: int, num_layers: int, interval: float, owner: str) -> list[int]:
    """The blocks a UMT model returns, as the reference picks them, ascending.

    ``depth - int(i * interval) - 1`` for ``i < num_layers`` (``return_index`` of the
    reference's student and teacher; ``interval`` may be fractional). The last block is
    always among them.

    Args:
        depth (int): Blocks of the model.
        num_layers (int): ``K``, blocks returned (``--clip_return_layer``).
        interval (float): Step between them (``--clip_return_interval`` /
            ``--clip_student_return_interval``).
        owner (str): Named in the errors.

    Returns:
        list[int]: ``K`` distinct block indices in ascending order.

    Raises:
        ValueError: If two of them coincide (an interval under 1 would make the reference
            return fewer blocks than it has alignment heads) or one falls before block 0.

    Examples:
        >>> return_indices(12, 6, 1, 'student')
        [6, 7, 8, 9, 10, 11]
        >>> return_indices(12, 4, 2, 'student')
        [5, 7, 9, 11]
        >>> return_indices(24, 3, 1.5, 'teacher')
        [20, 22, 23]
    """
    if not 1 <= num_layers <= depth:
        raise ValueError(f'{owner}: the number of returned blocks must be in [1, {depth}], '
                         f'got {num_layers}')
    if interval <= 0:
        raise ValueError(f'{owner}: the return interval must be positive, got {interval}')
    picked = [depth - int(i * interval) - 1 for i in range(num_layers)]
    if len(set(picked)) != num_layers or min(picked) < 0:
        raise ValueError(
            f'{owner}: {num_layers} blocks at interval {interval} of {depth} give the block '
            f'indices {picked}; they must be distinct and >= 0 (one per alignment head)')
    return sorted(picked)
