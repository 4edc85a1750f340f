"""Convert official UMT and MMAction2-port checkpoints to umt_mm's layout (and back).

umt_mm keeps the official parameter names inside the backbone, so a ``Recognizer3D``
state dict is the official one with ``backbone.`` in front and ``head.*`` renamed
``cls_head.fc_cls.*``. The fixed sin-cos ``pos_embed`` (a Parameter in some official
files, never trained) is dropped: umt_mm rebuilds it from the formula.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch

HEAD_PREFIX = 'cls_head.fc_cls.'
STRIP_PREFIXES = ('module.', 'backbone.', 'encoder.')


def _load_file(path: str | Path, trusted: bool):
    """``torch.load`` weights-only (plus ``argparse.Namespace``), or fully when trusted."""
    import argparse
    import pickle
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            return torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError as err:
        if trusted:
            return torch.load(path, map_location='cpu', weights_only=False)
        reason = str(err).strip().splitlines()[-1] if str(err).strip() else 'unpickling failed'
        raise ValueError(
            f'{path}: the file contains pickled objects besides tensors, which a safe load '
            f'refuses ({reason}). DeepSpeed and training checkpoints often do. If you trust '
            'the file, load it with trusted=True (tools/convert_umt_checkpoint.py --trusted).'
        ) from err


def load_state_dict_any(source: str | Path | Mapping, trusted: bool = False) -> OrderedDict:
    """Read a state dict from any layout the UMT and MMAction2 ecosystems write.

    Accepts a bare state dict, ``{'model': ...}`` (UMT / timm), ``{'module': ...}``
    (DeepSpeed ``mp_rank_00_model_states.pt``) and ``{'state_dict': ...}`` (MMEngine).
    Half-precision floating tensors (DeepSpeed fp16 / bf16) are cast to fp32. Files are
    read with ``weights_only=True`` (``argparse.Namespace``, stored as ``args`` by the UMT
    training scripts, is allowed); anything else needs ``trusted=True``.

    Args:
        source (str | Path | Mapping): A checkpoint path or an already loaded object.
        trusted (bool): Allow arbitrary pickled objects (only for files you trust).
            Defaults to False.

    Returns:
        OrderedDict: Name -> tensor.
    """
    name = str(source) if isinstance(source, (str, Path)) else '<in-memory checkpoint>'
    if isinstance(source, (str, Path)):
        if not Path(source).is_file():
            raise FileNotFoundError(f'checkpoint not found: {source}')
        obj = _load_file(source, trusted)
    else:
        obj = source
    for key in ('state_dict', 'model', 'module'):
        if isinstance(obj, Mapping) and key in obj and isinstance(obj[key], Mapping):
            obj = obj[key]
            break
    if not isinstance(obj, Mapping) or not obj:
        raise ValueError(f'{name}: no state dict found (expected a dict of tensors, or one '
                         "under 'state_dict', 'model' or 'module')")
    out = OrderedDict()
    for key, value in obj.items():
        if not isinstance(value, torch.Tensor):
            raise ValueError(f'{name}: entry {key!r} is a {type(value).__name__}, not a tensor')
        if value.is_floating_point() and value.dtype in (torch.float16, torch.bfloat16):
            value = value.float()
        out[key] = value
    return out


def _strip(key: str, prefixes: tuple[str, ...] = STRIP_PREFIXES) -> str:
    changed = True
    while changed:
        changed = False
        for prefix in prefixes:
            if key.startswith(prefix):
                key = key[len(prefix):]
                changed = True
    return key


def convert_official_finetune(state_dict: Mapping[str, torch.Tensor]) -> OrderedDict:
    """Official finetuned classifier (``vit_*_patch16_*``) -> ``Recognizer3D`` keys.

    Args:
        state_dict (Mapping): Official keys (optionally under ``module.``/``backbone.``).

    Returns:
        OrderedDict: ``backbone.*`` and ``cls_head.fc_cls.*`` keys, without ``pos_embed``.
    """
    out = OrderedDict()
    for key, value in state_dict.items():
        name = _strip(key)
        if name == 'pos_embed':
            continue
        if name.startswith('head.'):
            out[HEAD_PREFIX + name[len('head.'):]] = value
        else:
            out['backbone.' + name] = value
    return out


AVA_HEAD_PREFIX = 'roi_head.bbox_head.fc_cls.'
AVA_NUM_ACTIONS = 80


def convert_official_ava(state_dict: Mapping[str, torch.Tensor]) -> OrderedDict:
    """Official AVA detector (``*_ftava_*``) -> the AVA configs' ``FastRCNN`` keys.

    The reference detector (``action_detection/modeling_finetune.py``) has the
    classifier's backbone keys, the token ``norm`` (no ``fc_norm``) and a
    ``head`` ``Linear(D, 80)`` whose output ``j`` is AVA action id ``j + 1``. The AVA
    configs' ``UMTBBoxHeadAVA`` has 81 outputs in MMAction2's label layout (column ``c``
    is action id ``c``, column 0 unused), so row ``j`` of the head becomes row ``j + 1``
    of ``roi_head.bbox_head.fc_cls`` and row 0 is zero (its score is never evaluated).

    Args:
        state_dict (Mapping): Official keys (optionally under ``module.``/``backbone.``).

    Returns:
        OrderedDict: ``backbone.*`` (with ``backbone.norm.*``) and
        ``roi_head.bbox_head.fc_cls.{weight,bias}`` (81 rows), without ``pos_embed``.

    Raises:
        ValueError: If the file is not an AVA detector: ``fc_norm`` keys (a classifier:
            convert it with ``--kind finetune --drop-head`` to start AVA training), no
            ``norm`` or ``head``, or a head that does not have 80 rows.
    """
    out = OrderedDict()
    head = {}
    for key, value in state_dict.items():
        name = _strip(key)
        if name == 'pos_embed':
            continue
        if name.startswith('fc_norm.'):
            raise ValueError(f'{key!r}: an AVA detector has no fc_norm; this looks like a '
                             'classifier (to start AVA training from it use --kind finetune '
                             '--drop-head)')
        if name.startswith('head.'):
            head[name[len('head.'):]] = value
        else:
            out['backbone.' + name] = value
    if 'backbone.norm.weight' not in out:
        raise ValueError("no 'norm.weight': not an AVA detector of the UMT reference "
                         '(action_detection/modeling_finetune.py)')
    if set(head) != {'weight', 'bias'}:
        raise ValueError(f"expected the AVA head 'head.weight' and 'head.bias', got "
                         f'{sorted("head." + k for k in head) or "none"}')
    weight, bias = head['weight'], head['bias']
    if weight.ndim != 2 or weight.shape[0] != AVA_NUM_ACTIONS or bias.shape != (
            AVA_NUM_ACTIONS, ):
        raise ValueError(f'the AVA head has {AVA_NUM_ACTIONS} rows (actions 1..80); got '
                         f'head.weight {list(weight.shape)}, head.bias {list(bias.shape)}')
    out[AVA_HEAD_PREFIX + 'weight'] = torch.cat([weight.new_zeros(1, weight.shape[1]), weight])
    out[AVA_HEAD_PREFIX + 'bias'] = torch.cat([bias.new_zeros(1), bias])
    return out


def convert_official_pretrain(state_dict: Mapping[str, torch.Tensor],
                              keep_alignment_heads: bool = False) -> OrderedDict:
    """A pretraining student (official, or a ``UMTDistiller`` checkpoint) -> umt_mm keys.

    Args:
        state_dict (Mapping): Official pretraining checkpoint (``encoder.*``,
            ``clip_decoder.*``, optionally under ``module.``), or the ``state_dict`` of a
            umt_mm ``UMTDistiller`` run (the same names).
        keep_alignment_heads (bool): Keep the whole student in the distiller's layout
            (``encoder.*`` with ``encoder.norm``, ``clip_decoder.{k}.*``) to continue
            pretraining with ``UMTDistiller``; otherwise return the finetuning
            initialisation (``backbone.*``; ``encoder.norm`` and the alignment heads are
            dropped, ``fc_norm`` and the head start fresh, as the reference's finetuning
            loader does). Defaults to False.

    Returns:
        OrderedDict: ``backbone.*`` keys, or ``encoder.*`` + ``clip_decoder.*`` when
        ``keep_alignment_heads``.
    """
    out = OrderedDict()
    for key, value in state_dict.items():
        name = key[len('module.'):] if key.startswith('module.') else key
        if name.startswith('clip_decoder.'):
            if keep_alignment_heads:
                out[name] = value
            continue
        if name.startswith('teacher.'):
            continue  # a frozen teacher has no place in a student checkpoint
        name = _strip(name)
        if name == 'pos_embed':
            continue
        if keep_alignment_heads:
            out['encoder.' + name] = value
        elif not name.startswith('norm.'):
            out['backbone.' + name] = value
    return out


def convert_mmaction_port(state_dict: Mapping[str, torch.Tensor]) -> OrderedDict:
    """MMAction2 ``projects/umt`` checkpoints (``UMTViT`` + ``TimeSformerHead``) -> umt_mm.

    The port keeps the official names under ``backbone.`` and the head as
    ``cls_head.fc_cls``; only its ``pos_embed`` is dropped.

    Args:
        state_dict (Mapping): MMAction2 port state dict.

    Returns:
        OrderedDict: umt_mm keys.
    """
    out = OrderedDict()
    for key, value in state_dict.items():
        if key == 'backbone.pos_embed':
            continue
        if not key.startswith(('backbone.', 'cls_head.')):
            raise ValueError(f'unexpected key {key!r} in an MMAction2 UMT checkpoint')
        out[key] = value
    return out


def convert_umt_mm(state_dict: Mapping[str, torch.Tensor]) -> OrderedDict:
    """A umt_mm (MMEngine) training checkpoint -> a umt_mm initialisation.

    Our own checkpoints need no renaming; this checks that the keys are ours (so a file
    of another layout fails here, not silently at ``load_from``) and drops a stored
    ``backbone.pos_embed`` (the table is rebuilt from the config). Used to re-head a
    model finetuned with umt_mm, e.g. a K710 run for a K600 finetune.

    Args:
        state_dict (Mapping): The ``state_dict`` of a umt_mm checkpoint.

    Returns:
        OrderedDict: The same tensors.
    """
    out = OrderedDict()
    for key, value in state_dict.items():
        if key == 'backbone.pos_embed':
            continue
        if not key.startswith(('backbone.', 'cls_head.', 'neck.')):
            raise ValueError(f'unexpected key {key!r} in a umt_mm checkpoint (expected '
                             "'backbone.*', 'cls_head.*' or 'neck.*'; use another --kind)")
        out[key] = value
    return out


def drop_head(state_dict: Mapping[str, torch.Tensor]) -> OrderedDict:
    """Remove the classifier (``cls_head.*``) so a new dataset's head starts fresh.

    Args:
        state_dict (Mapping): umt_mm state dict.

    Returns:
        OrderedDict: The state dict without ``cls_head.*``.

    Raises:
        KeyError: If there is no ``cls_head.*`` key to drop.
    """
    out = OrderedDict((k, v) for k, v in state_dict.items() if not k.startswith('cls_head.'))
    if len(out) == len(state_dict):
        raise KeyError('no cls_head.* keys in the checkpoint; nothing to drop')
    return out


def to_official_finetune(state_dict: Mapping[str, torch.Tensor]) -> OrderedDict:
    """umt_mm ``Recognizer3D`` keys -> official finetune keys (inverse of the above).

    Args:
        state_dict (Mapping): umt_mm state dict.

    Returns:
        OrderedDict: Official keys (``head.*`` for the classifier).
    """
    out = OrderedDict()
    for key, value in state_dict.items():
        if key.startswith(HEAD_PREFIX):
            out['head.' + key[len(HEAD_PREFIX):]] = value
        elif key.startswith('backbone.'):
            out[key[len('backbone.'):]] = value
        else:
            raise ValueError(f'{key!r} has no place in an official UMT classifier')
    return out


@dataclass
class ConversionReport:
    """Differences between a converted state dict and a model's.

    Attributes:
        missing (list[str]): In the model, not in the checkpoint.
        unexpected (list[str]): In the checkpoint, not in the model.
        mismatched (list[tuple[str, tuple, tuple]]): ``(key, checkpoint shape,
            model shape)``.
    """

    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    mismatched: list[tuple[str, tuple, tuple]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.mismatched)

    def __str__(self) -> str:
        if self.ok:
            return 'all keys match'
        lines = []
        if self.missing:
            lines.append(f'missing keys ({len(self.missing)}): ' + ', '.join(self.missing))
        if self.unexpected:
            lines.append(f'unexpected keys ({len(self.unexpected)}): '
                         + ', '.join(self.unexpected))
        for key, ckpt_shape, model_shape in self.mismatched:
            lines.append(f'shape mismatch {key}: checkpoint {list(ckpt_shape)} vs model '
                         f'{list(model_shape)}')
        return '\n'.join(lines)


def check_against(model_state: Mapping[str, torch.Tensor],
                  converted: Mapping[str, torch.Tensor],
                  strict: bool = False) -> ConversionReport:
    """Compare a converted state dict with a model's state dict.

    Args:
        model_state (Mapping): ``model.state_dict()``.
        converted (Mapping): Converted checkpoint.
        strict (bool): Raise ``ValueError`` with the report unless everything matches.
            Defaults to False.

    Returns:
        ConversionReport: The differences.
    """
    report = ConversionReport(
        missing=sorted(set(model_state) - set(converted)),
        unexpected=sorted(set(converted) - set(model_state)),
        mismatched=[(k, tuple(converted[k].shape), tuple(model_state[k].shape))
                    for k in sorted(set(model_state) & set(converted))
                    if tuple(converted[k].shape) != tuple(model_state[k].shape)])
    if strict and not report.ok:
        raise ValueError(f'checkpoint does not match the model:\n{report}')
    return report
