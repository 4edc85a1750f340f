"""The command-line options every inference tool shares (one definition for all of them)."""
from __future__ import annotations

import argparse

from .precision import add_inference_options

DEVICE_HELP = "'cpu' or 'cuda:0' (default: cuda:0 when available)"


def add_model_options(parser: argparse.ArgumentParser, default_precision: str | None = 'auto',
                      device_help: str = DEVICE_HELP) -> None:
    """Add ``--non-strict``, ``--device``, the precision options and ``--cfg-options``.

    Args:
        parser (argparse.ArgumentParser): The tool's parser.
        default_precision (str, optional): See :func:`add_inference_options`.
            Defaults to 'auto'.
        device_help (str): Help of ``--device``. Defaults to :data:`DEVICE_HELP`.
    """
    from mmengine.config import DictAction
    parser.add_argument('--non-strict', action='store_true',
                        help='load the checkpoint tensors that match the model and keep the '
                        'rest at their initial values (default: fail on any mismatch)')
    parser.add_argument('--device', default=None, help=device_help)
    add_inference_options(parser, default_precision)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value as in tools/test.py')
