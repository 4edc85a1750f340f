"""Resolving a backbone's ``arch`` argument: a preset name or a dict of its settings."""
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
