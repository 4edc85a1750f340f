"""Load a state dict into a model with one report of every key that does not match."""
from __future__ import annotations

import contextvars
import functools
import logging
import os
import re
from dataclasses import dataclass, field

import torch.nn as nn
from mmengine.dist import get_dist_info
from mmengine.logging import print_log
from mmengine.model import BaseTTAModel, is_model_wrapper

#: ``(checkpoint file, config file)`` that ``Runner.load_checkpoint`` is loading, for the
#: strict error's message (layout and converter command)
_LOADING = contextvars.ContextVar('umt_mm_loading_checkpoint', default=None)
#: how a Runner's strict load is turned off
RUNNER_OPT_OUT = ('--non-strict to tools/test.py, or set `load_from_strict = False` in the '
                  'config to turn strict loading off')
_SIZE_MISMATCH = re.compile(r'size mismatch for (?P<key>\S+): copying a param with shape '
                            r'(?P<src>.+?) from checkpoint, the shape in current model is '
                            r'(?P<dst>.+?)\.$', re.S)


@dataclass
class LoadReport:
    """What a checkpoint load could not match.

    Attributes:
        missing (list[str]): In the model, not in the checkpoint (left at their initial values).
        unexpected (list[str]): In the checkpoint, not in the model (ignored).
        mismatched (list[tuple[str, str, str]]): ``(key, checkpoint shape, model shape)``
            (not loaded).
        other (list[str]): Any other error torch reported.
    """
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    mismatched: list[tuple[str, str, str]] = field(default_factory=list)
    other: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every key matched."""
        return not (self.missing or self.unexpected or self.mismatched or self.other)

    def __str__(self) -> str:
        lines = []
        if self.missing:
            lines.append(f'missing keys ({len(self.missing)}, not in the checkpoint): '
                         + ', '.join(self.missing))
        if self.unexpected:
            lines.append(f'unexpected keys ({len(self.unexpected)}, not in the model): '
                         + ', '.join(self.unexpected))
        if self.mismatched:
            lines.append(f'shape-mismatched keys ({len(self.mismatched)}): ' + ', '.join(
                f'{k} (checkpoint {s}, model {d})' for k, s, d in self.mismatched))
        lines.extend(self.other)
        return '\n'.join(lines) if lines else 'all keys match'


def collect_load_report(module: nn.Module, state_dict: dict) -> LoadReport:
    """Load ``state_dict`` into ``module`` non-strictly and return what did not match.

    Loads the way :func:`mmengine.runner.checkpoint.load_state_dict` does (each
    submodule's ``_load_from_state_dict`` and load post-hooks run, so modules that
    rewrite their keys on load are honoured; BN ``num_batches_tracked`` is not reported).

    Args:
        module (nn.Module): The model (wrappers are unwrapped).
        state_dict (dict): The weights.

    Returns:
        LoadReport: The unmatched keys; mismatched tensors are left as they were.
    """
    from torch.nn.modules.module import _IncompatibleKeys
    missing: list[str] = []
    unexpected: list[str] = []
    errors: list[str] = []
    metadata = getattr(state_dict, '_metadata', None)
    state_dict = state_dict.copy()
    if metadata is not None:
        state_dict._metadata = metadata

    def load(mod, local_state, prefix=''):
        if is_model_wrapper(mod) or isinstance(mod, BaseTTAModel):
            mod = mod.module
        local_metadata = {} if metadata is None else metadata.get(prefix[:-1], {})
        mod._load_from_state_dict(local_state, prefix, local_metadata, True, missing,
                                  unexpected, errors)
        for name, child in mod._modules.items():
            if child is not None:
                child_prefix = prefix + name + '.'
                load(child, {k: v for k, v in local_state.items()
                             if k.startswith(child_prefix)}, child_prefix)
        incompatible = _IncompatibleKeys(missing, unexpected)
        for hook in getattr(mod, '_load_state_dict_post_hooks', {}).values():
            hook(mod, incompatible)

    load(module, state_dict)
    report = LoadReport(missing=[k for k in missing if 'num_batches_tracked' not in k],
                        unexpected=list(unexpected))
    for error in errors:
        match = _SIZE_MISMATCH.match(error.strip())
        if match:
            report.mismatched.append((match['key'], match['src'], match['dst']))
        else:
            report.other.append(error.strip())
    return report


def load_state_dict_reporting(module: nn.Module, state_dict: dict, strict: bool = False,
                              logger=None) -> LoadReport:
    """Drop-in for ``mmengine.runner.checkpoint.load_state_dict`` with a full report.

    Args:
        module (nn.Module): The model.
        state_dict (dict): The weights.
        strict (bool): Raise ``RuntimeError`` with the report unless every key and shape
            matches. Defaults to False.
        logger (logging.Logger | str, optional): Where the non-strict warning goes.
            Defaults to None (MMEngine's current logger).

    Returns:
        LoadReport: What did not match.
    """
    report = collect_load_report(module, state_dict)
    if report.ok:
        return report
    rank, _ = get_dist_info()
    if strict:
        loading = _LOADING.get()
        if loading is not None:  # the file is known: name its layout and the converter
            from ..converters.checkpoint_layouts import raise_if_mismatched
            raise_if_mismatched(loading[0], _tensors(state_dict), report, loading[1],
                                RUNNER_OPT_OUT)
        raise RuntimeError('The checkpoint does not match the model (strict loading; set '
                           '`load_from_strict = False` to load the matching keys only):\n'
                           f'{report}')
    if rank == 0:
        kept = len(report.missing) + len(report.mismatched)
        print_log('The checkpoint does not match the model exactly; loading non-strictly: '
                  f'{kept} model tensors keep their initial values and '
                  f'{len(report.unexpected)} checkpoint tensors are ignored '
                  '(set `load_from_strict = True` to fail instead).\n' + str(report),
                  logger=logger or 'current', level=logging.WARNING)
    return report


load_state_dict_reporting._umt_mm_report = True


def _tensors(state_dict: dict) -> dict:
    """The tensors of an official file loaded whole (``{'model': ...}``, ``{'module': ...}``)."""
    for key in ('model', 'module'):
        if isinstance(state_dict.get(key), dict) and len(state_dict) <= 8:
            return state_dict[key]
    return state_dict


def apply_checkpoint_load_report() -> bool:
    """Report every missing, unexpected and mis-shaped key of ``load_from`` / ``--resume``.

    MMEngine 0.10.7's ``load_from`` is always non-strict (``Runner.load_or_resume`` passes
    no ``strict``) and reports shape mismatches in torch's wording among other text.
    :func:`load_state_dict_reporting` replaces ``mmengine.runner.checkpoint.load_state_dict``:
    one report listing the three kinds of key; ``strict`` raises it, non-strict logs it as
    a warning saying which parameters keep their initial values. ``Runner.load_checkpoint``
    takes ``strict`` from the config key ``load_from_strict`` (default False) when the
    caller gives none, and ``load_from_trusted = True`` (default False) lets it read a file
    with arbitrary pickled objects (otherwise refused by the weights-only load). Applied by
    ``import umt_mm``; switch: ``UMT_MM_DISABLE_FIXES=checkpoint_load_report``.

    Returns:
        bool: Whether the patch was installed.
    """
    import mmengine.runner.checkpoint as ckpt_mod
    from mmengine.runner import Runner

    if getattr(ckpt_mod.load_state_dict, '_umt_mm_report', False):
        return True
    ckpt_mod.load_state_dict = load_state_dict_reporting
    original = Runner.load_checkpoint

    @functools.wraps(original)
    def load_checkpoint(self, filename, map_location='cpu', strict=None,
                        revise_keys=[(r'^module.', '')]):  # noqa: B006 (MMEngine's default)
        if strict is None:
            strict = bool(self.cfg.get('load_from_strict', False)) if self.cfg else False
        token = _LOADING.set((str(filename), getattr(self.cfg, 'filename', None)))
        try:
            return _load(self, filename, map_location, strict, revise_keys)
        finally:
            _LOADING.reset(token)

    def _load(self, filename, map_location, strict, revise_keys):
        if not (self.cfg and self.cfg.get('load_from_trusted', False)):
            return original(self, filename, map_location=map_location, strict=strict,
                            revise_keys=revise_keys)
        logging.getLogger(__name__).warning(
            'umt_mm: load_from_trusted: %s is unpickled without the weights-only check; only '
            'for files you trust', filename)
        previous = os.environ.get('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD')
        os.environ['TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'] = '1'  # read by each torch.load
        try:
            return original(self, filename, map_location=map_location, strict=strict,
                            revise_keys=revise_keys)
        finally:
            if previous is None:
                os.environ.pop('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', None)
            else:
                os.environ['TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'] = previous

    Runner.load_checkpoint = load_checkpoint
    return True
