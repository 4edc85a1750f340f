"""K710 -> K400 / K600 / K700 head channel maps (``run_class_finetuning.py``).

Finetuning on Kinetics-400/600/700 from a Kinetics-710 model initialises each class's
head row from the K710 row of the same class. K400 takes rows 0..399 in order (the K710
label list starts with the 400 K400 classes, spelled with their Kinetics-700 names);
K600 and K700 classes match by exact name, except these Kinetics renamings.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch

#: Target label-map name -> K710 name, per dataset.
RENAMES: dict[str, dict[str, str]] = {
    'k400': {},
    'k600': {
        'passing american football (not in game)': 'passing American football (not in game)',
        'picking fruit': 'picking apples',
        'throwing ball (not baseball or American football)': 'throwing ball',
    },
    'k700': {
        'throwing ball (not baseball or American football)': 'throwing ball',
    },
}
NUM_CLASSES = {'k400': 400, 'k600': 600, 'k700': 700}


def read_label_file(path: str | Path) -> list[str]:
    """Class names in label order (:func:`umt_mm.data.read_label_map`, the one reader).

    Args:
        path (str | Path): Label map file, or a bundled label map's name (``'k710'``...).

    Returns:
        list[str]: The names in file order.
    """
    from ..data import read_label_map
    return read_label_map(path)


def build_channel_map(target_label_file: str | Path, k710_label_file: str | Path,
                      dataset: str) -> list[int]:
    """K710 row index for every class of a K400 / K600 / K700 label map.

    Args:
        target_label_file (str | Path): Label map of the target dataset.
        k710_label_file (str | Path): The 710-class label map.
        dataset (str): ``'k400'``, ``'k600'`` or ``'k700'``.

    Returns:
        list[int]: ``channel_map[i]`` is the K710 row of target class ``i``.
    """
    if dataset not in NUM_CLASSES:
        raise ValueError(f"dataset must be one of {sorted(NUM_CLASSES)}, got {dataset!r}")
    target = read_label_file(target_label_file)
    k710 = read_label_file(k710_label_file)
    if len(k710) != 710:
        raise ValueError(f'{k710_label_file}: expected 710 K710 classes, found {len(k710)}')
    if len(target) != NUM_CLASSES[dataset]:
        raise ValueError(f'{target_label_file}: expected {NUM_CLASSES[dataset]} {dataset} '
                         f'classes, found {len(target)}')
    if dataset == 'k400':
        return list(range(400))
    index = {name: i for i, name in enumerate(k710)}
    renames = RENAMES[dataset]
    channel_map, unmatched = [], []
    for name in target:
        k710_name = renames.get(name, name)
        if k710_name not in index:
            unmatched.append(name)
        else:
            channel_map.append(index[k710_name])
    if unmatched:
        raise ValueError(f'{target_label_file}: {len(unmatched)} {dataset} classes have no '
                         f'K710 counterpart in {k710_label_file}: {unmatched[:10]}')
    return channel_map


def map_head(state_dict: Mapping[str, torch.Tensor], channel_map: Sequence[int],
             head_prefix: str = 'cls_head.fc_cls') -> OrderedDict:
    """Select the K710 head rows of a target dataset's classes.

    Args:
        state_dict (Mapping): umt_mm state dict with a 710-class head.
        channel_map (Sequence[int]): From :func:`build_channel_map`.
        head_prefix (str): Head parameter prefix. Defaults to 'cls_head.fc_cls'.

    Returns:
        OrderedDict: A copy with the head's weight and bias rows selected.
    """
    out = OrderedDict(state_dict)
    index = torch.as_tensor(list(channel_map), dtype=torch.long)
    for suffix in ('weight', 'bias'):
        key = f'{head_prefix}.{suffix}'
        if key not in out:
            raise KeyError(f'{key} not in the checkpoint; cannot map the head')
        if out[key].shape[0] != 710:
            raise ValueError(f'{key} has {out[key].shape[0]} rows; expected a 710-class head')
        out[key] = out[key].index_select(0, index).clone()
    return out
