"""Recognise the layout of a checkpoint and say how to convert it.

A model loaded strictly from a file of another layout (an official UMT release that was
never converted, an OpenAI CLIP, a checkpoint of another architecture) fails with
:class:`CheckpointMismatchError`, whose message names the file, the layout found and the
command that converts it (:func:`mismatch_message`).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

CONVERT_UMT = 'python tools/convert_umt_checkpoint.py'
CONVERT_CLIP = 'python tools/convert_clip_checkpoint.py'


@dataclass(frozen=True)
class CheckpointLayout:
    """What a checkpoint's keys say it is.

    Attributes:
        name (str): Short identifier (``'umt_mm_recognizer'``, ``'official_finetune'``...).
        description (str): For messages, e.g. ``'official UMT finetuning layout'``.
        convert_kind (str | None): ``--kind`` of ``tools/convert_umt_checkpoint.py`` that
            converts it (``'clip'`` for ``tools/convert_clip_checkpoint.py``), None when
            the file is already in umt_mm's layout or unknown.
    """

    name: str
    description: str
    convert_kind: str | None = None

    @property
    def is_umt_mm(self) -> bool:
        """Whether the keys are umt_mm's own (no conversion can help a mismatch)."""
        return self.name.startswith('umt_mm')


def _strip_module(keys: Iterable[str]) -> list[str]:
    return [k[len('module.'):] if k.startswith('module.') else k for k in keys]


def detect_layout(state_dict: Mapping) -> CheckpointLayout:
    """The layout of a state dict, from its key names and the head's shape.

    Args:
        state_dict (Mapping): Name -> tensor (the ``state_dict`` / ``model`` / ``module``
            entry of a checkpoint, see :func:`umt_mm.converters.load_state_dict_any`).

    Returns:
        CheckpointLayout: One of the known layouts, or ``'unknown'``.
    """
    keys = _strip_module(state_dict)
    top = {k.split('.', 1)[0] for k in keys}
    if 'backbone' in top and 'roi_head' in top:
        return CheckpointLayout('umt_mm_ava_detector', 'umt_mm AVA detector (FastRCNN) layout')
    if 'backbone' in top and 'cls_head' in top:
        if 'backbone.pos_embed' in keys and 'backbone.fc_norm.weight' in keys:
            return CheckpointLayout('mmaction_port', 'MMAction2 projects/umt port layout',
                                    'mmaction-port')
        return CheckpointLayout('umt_mm_recognizer', 'umt_mm recognizer (Recognizer3D) layout')
    if 'encoder' in top and ('clip_decoder' in top or 'encoder.patch_embed.proj.weight' in keys):
        return CheckpointLayout('official_pretrain',
                                'official UMT pretraining layout (encoder.*, clip_decoder.*)',
                                'pretrain')
    if 'visual' in top or 'conv1.weight' in keys or 'transformer' in top:
        return CheckpointLayout('openai_clip', 'OpenAI CLIP layout', 'clip')
    if 'vision_model' in top or any(k.startswith('vision_model.') for k in keys):
        return CheckpointLayout('hf_clip', 'Hugging Face CLIP layout', 'clip')
    if 'patch_embed' in top and 'blocks' in top:
        head = state_dict.get('head.weight', state_dict.get('module.head.weight'))
        if 'fc_norm' not in top and 'norm' in top and head is not None and head.shape[0] == 80:
            return CheckpointLayout('official_ava', 'official UMT AVA detector layout '
                                    '(token norm, 80-action head)', 'ava')
        if 'head' in top:
            return CheckpointLayout('official_finetune', 'official UMT finetuning layout '
                                    '(patch_embed.*, blocks.*, head.*)', 'finetune')
        return CheckpointLayout('official_backbone', 'official UMT backbone without a head',
                                'finetune')
    if 'backbone' in top:
        return CheckpointLayout('umt_mm_backbone', 'umt_mm backbone without a head')
    return CheckpointLayout('unknown', 'unknown layout (keys such as '
                            + ', '.join(sorted(keys)[:3]) + ')')


def converter_command(checkpoint: str, layout: CheckpointLayout,
                      config: str | None = None) -> str | None:
    """The command that converts ``checkpoint`` for ``config``, or None if none applies.

    Args:
        checkpoint (str): The file.
        layout (CheckpointLayout): Its layout (:func:`detect_layout`).
        config (str, optional): The config it is meant for. Defaults to None.

    Returns:
        str | None: A shell command.
    """
    if layout.convert_kind is None:
        return None
    stem = checkpoint.rsplit('/', 1)[-1].rsplit('.', 1)[0]
    out = f'checkpoints/{stem}_umt_mm.pth'
    if layout.convert_kind == 'clip':
        return f'{CONVERT_CLIP} {checkpoint} {out} --arch b16  # teacher checkpoints only'
    cfg = f' --config {config}' if config else ' --config CONFIG'
    return f'{CONVERT_UMT} {checkpoint} {out} --kind {layout.convert_kind} --strict{cfg}'


class CheckpointMismatchError(RuntimeError):
    """A checkpoint that does not fill the model (strict loading).

    Attributes:
        checkpoint (str): The file.
        layout (CheckpointLayout): What it was recognised as.
        command (str | None): The converter command, when one applies.
    """

    def __init__(self, message: str, checkpoint: str, layout: CheckpointLayout,
                 command: str | None) -> None:
        super().__init__(message)
        self.checkpoint = checkpoint
        self.layout = layout
        self.command = command


def mismatch_message(checkpoint: str, layout: CheckpointLayout, report: object,
                     config: str | None = None, opt_out: str = 'strict=False') -> str:
    """One message for a checkpoint that does not match the model.

    Args:
        checkpoint (str): The file.
        layout (CheckpointLayout): Its layout.
        report (object): The key differences (printed, e.g. a ``LoadReport``).
        config (str, optional): The model's config. Defaults to None.
        opt_out (str): How the caller turns strict loading off. Defaults to
            'strict=False'.

    Returns:
        str: The message.
    """
    target = f' of {config}' if config else ''
    lines = [f'{checkpoint} does not match the model{target}: the file is in the '
             f'{layout.description}.']
    command = converter_command(checkpoint, layout, config)
    if command:
        lines.append(f'Convert it first:\n    {command}')
    elif layout.is_umt_mm:
        lines.append('It is a umt_mm checkpoint of another model: check that the config '
                     'matches the checkpoint (architecture, number of classes).')
    text = str(report)
    if len(text) > 2000:
        text = text[:2000] + ' ...'
    lines.append(f'Differences: {text}')
    lines.append(f'To load the matching tensors only and keep the rest at their initial '
                 f'values, pass {opt_out}.')
    return '\n'.join(lines)


def raise_if_mismatched(checkpoint: str, state_dict: Mapping, report: object,
                        config: str | None = None, opt_out: str = 'strict=False') -> None:
    """Raise :class:`CheckpointMismatchError` when ``report`` shows a mismatch.

    Args:
        checkpoint (str): The file.
        state_dict (Mapping): Its tensors (for the layout).
        report (object): Has ``ok``; printed in the message.
        config (str, optional): The model's config. Defaults to None.
        opt_out (str): How the caller turns strict loading off. Defaults to
            'strict=False'.

    Raises:
        CheckpointMismatchError: Unless ``report.ok``.
    """
    if getattr(report, 'ok', True):
        return
    layout = detect_layout(state_dict)
    raise CheckpointMismatchError(
        mismatch_message(checkpoint, layout, report, config, opt_out), checkpoint, layout,
        converter_command(checkpoint, layout, config))


__all__ = ['CheckpointLayout', 'CheckpointMismatchError', 'converter_command',
           'detect_layout', 'mismatch_message', 'raise_if_mismatched']
