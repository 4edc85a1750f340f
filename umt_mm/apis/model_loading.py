"""Build a recognizer or an AVA detector and load its checkpoint strictly.

``mmaction.apis.init_recognizer`` and MMEngine's ``load_checkpoint`` load non-strictly:
an official UMT file that was never converted leaves every tensor at its initial value
and the model still predicts, confidently and wrongly. Here loading is strict by default:
any missing, unexpected or mis-shaped tensor raises
:class:`~umt_mm.converters.checkpoint_layouts.CheckpointMismatchError`, whose message
names the file, the layout it is in and the converter command. ``strict=False`` loads
the matching tensors only, with a warning that lists the others.

Example:
    >>> from umt_mm.apis import init_recognizer
    >>> model = init_recognizer(
    ...     'configs/k400/umt-base-p16-res224_k710-ft_16xb16-u8-5e_kinetics400-rgb.py',
    ...     'checkpoints/umt-base-p16_k400.pth', device='cpu')
"""
from __future__ import annotations

import copy
import logging
import os
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path

import torch.nn as nn
from mmengine.config import Config

from .model_zoo import get_model_info, resolve_config


def load_config(config: str | Path | Config, cfg_options: dict | None = None) -> Config:
    """A config from a file, a model name or a ``Config``, with overrides merged in.

    Args:
        config (str | Path | Config): Config file, model name (:func:`list_models`) or
            config (copied, not changed).
        cfg_options (dict, optional): ``key=value`` overrides as ``--cfg-options`` gives
            them. Defaults to None.

    Returns:
        Config: The config; ``cfg.filename`` is the file it came from.
    """
    if isinstance(config, Config):
        cfg = copy.deepcopy(config)
    else:
        cfg = Config.fromfile(str(resolve_config(config)))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def _checkpoint_file(checkpoint: str | Path | None, config: str | Path | Config) -> \
        tuple[str | None, str | None]:
    """``(file or URL, convert kind)``: ``checkpoint``, or a model name's official weights."""
    if checkpoint is not None:
        return str(checkpoint), None
    if isinstance(config, (str, Path)) and not Path(config).is_file():
        info = get_model_info(str(config))
        if info.weights:
            return info.weights, info.convert_kind
    return None, None


def read_state_dict(checkpoint: str) -> OrderedDict:
    """The tensors of ``checkpoint`` (a file or URL), ``module.`` prefixes removed.

    Args:
        checkpoint (str): A path, or a URL MMEngine's ``CheckpointLoader`` reads.

    Returns:
        OrderedDict: Name -> tensor (the ``state_dict`` / ``model`` / ``module`` entry).

    Raises:
        FileNotFoundError: No such file.
        ValueError: The file holds no state dict.
    """
    from mmengine.runner.checkpoint import CheckpointLoader
    if '://' not in checkpoint and not Path(checkpoint).is_file():
        raise FileNotFoundError(f'checkpoint {checkpoint} does not exist')
    obj = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu',
                                           logger=logging.getLogger('umt_mm.silent'))
    for key in ('state_dict', 'model', 'module'):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict) or not obj:
        raise ValueError(f'{checkpoint}: no state dict found (expected a dict of tensors, or '
                         "one under 'state_dict', 'model' or 'module')")
    return OrderedDict((k[len('module.'):] if k.startswith('module.') else k, v)
                       for k, v in obj.items())


def _convert_official(state: OrderedDict, kind: str) -> OrderedDict:
    from ..converters import convert_official_ava, convert_official_finetune
    if kind == 'ava':
        return convert_official_ava(state)
    if kind == 'finetune':
        return convert_official_finetune(state)
    raise ValueError(f'no automatic conversion of a {kind!r} checkpoint for inference')


def load_checkpoint_strictly(model: nn.Module, checkpoint: str | Path, strict: bool = True,
                             config: str | None = None, opt_out: str = 'strict=False',
                             convert_kind: str | None = None) -> object:
    """Load ``checkpoint`` into ``model``; strict unless told otherwise.

    Args:
        model (nn.Module): The built model.
        checkpoint (str | Path): A umt_mm (MMEngine) checkpoint file or URL.
        strict (bool): Raise unless every tensor of the model is filled with a tensor of the
            same shape and the file has no other. Defaults to True.
        config (str, optional): The model's config, for the message. Defaults to None.
        opt_out (str): How the caller turns strictness off, for the message.
            Defaults to 'strict=False'.
        convert_kind (str, optional): Convert an official file of this kind first
            (``'finetune'`` or ``'ava'``): used for the model zoo's own official weights.
            Defaults to None (the file must be in umt_mm's layout).

    Returns:
        LoadReport: What did not match (empty when strict).

    Raises:
        CheckpointMismatchError: ``strict`` and the file does not fill the model.
        FileNotFoundError: No such file.
    """
    from ..converters.checkpoint_layouts import detect_layout
    checkpoint = str(checkpoint)
    state = read_state_dict(checkpoint)
    if convert_kind is not None and not detect_layout(state).is_umt_mm:
        state = _convert_official(state, convert_kind)
    model_state = model.state_dict()
    state = OrderedDict((k, v) for k, v in state.items()
                        if not (k == 'backbone.pos_embed' and k not in model_state))
    return load_state(model, state, checkpoint, strict, config, opt_out)


def load_state(module: nn.Module, state: Mapping, checkpoint: str, strict: bool = True,
               config: str | None = None, opt_out: str = 'strict=False',
               file_state: Mapping | None = None) -> object:
    """Load ``state`` (read from ``checkpoint``) into ``module``, strictly or reporting.

    Args:
        module (nn.Module): The model or part of it.
        state (Mapping): The tensors meant for ``module``.
        checkpoint (str): The file they came from, for the message.
        strict (bool): Raise unless they fill ``module`` exactly. Defaults to True.
        config (str, optional): The model's config, for the message. Defaults to None.
        opt_out (str): How the caller turns strictness off. Defaults to 'strict=False'.
        file_state (Mapping, optional): All tensors of the file, whose layout the message
            names. Defaults to None (``state``).

    Returns:
        LoadReport: What did not match (empty when strict).

    Raises:
        CheckpointMismatchError: ``strict`` and ``state`` does not fill ``module``.
    """
    from ..converters.checkpoint_layouts import raise_if_mismatched
    from ..engine.checkpoint_report import collect_load_report, load_state_dict_reporting
    if strict:
        report = collect_load_report(module, state)
        raise_if_mismatched(checkpoint, state if file_state is None else file_state, report,
                            config, opt_out)
        return report
    return load_state_dict_reporting(module, state, strict=False)


def _build(cfg: Config, device: str):
    from mmaction.registry import MODELS
    from mmengine.registry import init_default_scope
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    backbone = cfg.model.get('backbone')
    if isinstance(backbone, dict) and backbone.get('pretrained'):
        backbone['pretrained'] = None
    return MODELS.build(cfg.model)


def default_device(device: str | None = None) -> str:
    """``device``, or ``'cuda:0'`` when CUDA is available and ``'cpu'`` otherwise.

    Args:
        device (str, optional): A torch device name. Defaults to None.

    Returns:
        str: The device.
    """
    import torch
    return device or ('cuda:0' if torch.cuda.is_available() else 'cpu')


def _init_model(config, checkpoint, device, strict, cfg_options, opt_out, expect: str):
    cfg = load_config(config, cfg_options)
    if expect == 'recognizer' and 'roi_head' in cfg.model:
        raise ValueError(f'{cfg.filename} is an AVA detector config; use init_ava_detector')
    if expect == 'detector' and 'roi_head' not in cfg.model:
        raise ValueError(f'{cfg.filename} is not an AVA detector config (its model has no '
                         'roi_head); use init_recognizer')
    model = _build(cfg, device)
    source, kind = _checkpoint_file(checkpoint, config)
    if source is not None:
        load_checkpoint_strictly(model, source, strict=strict, config=cfg.filename,
                                 opt_out=opt_out, convert_kind=kind)
    model.cfg = cfg
    model.to(default_device(device))
    model.eval()
    return model


def init_recognizer(config: str | Path | Config, checkpoint: str | Path | None = None,
                    device: str | None = None, strict: bool = True,
                    cfg_options: dict | None = None,
                    opt_out: str = 'strict=False') -> nn.Module:
    """A recognizer in eval mode with its checkpoint loaded strictly.

    ``mmaction.apis.inference_recognizer`` runs the result as it runs its own models.

    Args:
        config (str | Path | Config): Config file, config, or model name
            (:func:`umt_mm.apis.list_models`).
        checkpoint (str | Path, optional): A umt_mm checkpoint (convert official UMT files
            with ``tools/convert_umt_checkpoint.py``). Defaults to None: for a model name,
            its official weights (downloaded and converted in memory); for a config, the
            initial weights.
        device (str, optional): Defaults to None (``cuda:0`` when available, else ``cpu``).
        strict (bool): Fail unless the checkpoint fills the model exactly.
            Defaults to True.
        cfg_options (dict, optional): Config overrides. Defaults to None.
        opt_out (str): How the caller turns ``strict`` off, for the error message.
            Defaults to 'strict=False'.

    Returns:
        nn.Module: The model; ``model.cfg`` is its config.

    Raises:
        CheckpointMismatchError: See :func:`load_checkpoint_strictly`.
    """
    return _init_model(config, checkpoint, device, strict, cfg_options, opt_out, 'recognizer')


def init_ava_detector(config: str | Path | Config, checkpoint: str | Path | None = None,
                      device: str | None = None, strict: bool = True,
                      cfg_options: dict | None = None,
                      opt_out: str = 'strict=False') -> nn.Module:
    """An AVA detector (``FastRCNN`` with the UMT backbone) with its checkpoint loaded strictly.

    Args:
        config (str | Path | Config): Config file, config or model name.
        checkpoint (str | Path, optional): A umt_mm AVA checkpoint (official ``*_ftava_*``
            files: ``tools/convert_umt_checkpoint.py --kind ava``). Defaults to None (a model
            name's official weights, converted in memory; the initial weights otherwise).
        device (str, optional): Defaults to None (``cuda:0`` when available, else ``cpu``).
        strict (bool): Fail unless the checkpoint fills the model exactly.
            Defaults to True.
        cfg_options (dict, optional): Config overrides. Defaults to None.
        opt_out (str): How the caller turns ``strict`` off, for the error message.
            Defaults to 'strict=False'.

    Returns:
        nn.Module: The model in eval mode; ``model.cfg`` is its config.
    """
    return _init_model(config, checkpoint, device, strict, cfg_options, opt_out, 'detector')


def checkpoint_fingerprint(checkpoint: str | Path) -> str:
    """A short identity of a checkpoint file: its size and a hash of its first and last MiB
    (cheap on multi-GB files; a retrained or converted file gives another).

    Args:
        checkpoint (str | Path): The file.

    Returns:
        str: ``'<sha256 prefix>-<size>'``.
    """
    import hashlib
    path = Path(checkpoint)
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with open(path, 'rb') as f:
        digest.update(f.read(1 << 20))
        if size > 2 << 20:
            f.seek(-(1 << 20), os.SEEK_END)
            digest.update(f.read())
    return f'{digest.hexdigest()[:16]}-{size}'


__all__ = ['checkpoint_fingerprint', 'default_device', 'init_ava_detector', 'init_recognizer',
           'load_checkpoint_strictly', 'load_config', 'load_state', 'read_state_dict']
