"""Export a UMT pretraining checkpoint (umt_mm's or official) as a finetuning initialisation.

The student's encoder becomes ``backbone.*`` of a ``Recognizer3D``; its final ``norm``, the
alignment heads (``clip_decoder``) and anything of the teacher are dropped; ``fc_norm`` and the
classifier start fresh, exactly as the reference finetuning loader treats a pretrained
checkpoint. The result is what the K710 and SSv2 finetuning configs expect as ``load_from``.

Examples::

    # a umt_mm pretraining run -> the K710 finetune init
    python tools/export_pretrained.py work_dirs/pretrain_b16/epoch_201.pth \\
        checkpoints/umt-base-p16_k710-pre.pth \\
        --config configs/k710/umt-base-p16-res224_k710-pre_16xb16-u8-35e_kinetics710-rgb.py
    # an official pretrained student (bare state dict, 'model' or 'module')
    python tools/export_pretrained.py b16_ptk710_f8_res224.pth checkpoints/umt-base-p16_k710-pre.pth
"""
from __future__ import annotations

import argparse
import sys

from mmengine.runner.checkpoint import save_checkpoint

from umt_mm.converters import check_against, convert_official_pretrain, load_state_dict_any

#: Keys a finetuning model has that a pretraining student does not: they start fresh.
FRESH_PREFIXES = ('backbone.fc_norm.', 'cls_head.')


def export_student(src: str, trusted: bool = False) -> dict:
    """Read a pretraining checkpoint and return the finetuning ``backbone.*`` state dict.

    Args:
        src (str): umt_mm ``UMTDistiller`` checkpoint or official pretraining checkpoint.
        trusted (bool): Allow arbitrary pickled objects. Defaults to False.

    Returns:
        dict: ``backbone.*`` tensors.

    Raises:
        ValueError: If the file holds no pretraining student (no ``encoder.*`` key).
    """
    state = load_state_dict_any(src, trusted=trusted)
    names = [k[len('module.'):] if k.startswith('module.') else k for k in state]
    if not any(n.startswith('encoder.') for n in names):
        shown = ', '.join(names[:5])
        raise ValueError(f'{src}: not a UMT pretraining checkpoint (no encoder.* key; first keys: '
                         f'{shown}). For finetuned classifiers use '
                         'tools/convert_umt_checkpoint.py --kind finetune')
    return convert_official_pretrain(state)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('src', help='pretraining checkpoint (umt_mm or official)')
    parser.add_argument('dst', help='output: MMEngine checkpoint for load_from')
    parser.add_argument('--config', help='finetuning config: build its model and check that '
                        'every backbone key but fc_norm is initialised')
    parser.add_argument('--trusted', action='store_true',
                        help='allow arbitrary pickled objects in src (only files you trust)')
    args = parser.parse_args(argv)
    try:
        student = export_student(args.src, args.trusted)
    except (ValueError, FileNotFoundError) as err:
        print(f'[export] error: {err}', file=sys.stderr)
        return 1
    if args.config:
        from mmaction.registry import MODELS
        from mmengine.config import Config
        from mmengine.registry import init_default_scope

        import umt_mm  # noqa: F401
        cfg = Config.fromfile(args.config)
        init_default_scope(cfg.get('default_scope', 'mmaction'))
        model_state = MODELS.build(cfg.model).state_dict()
        report = check_against(model_state, student)
        missing = [k for k in report.missing if not k.startswith(FRESH_PREFIXES)]
        fresh = [k for k in report.missing if k.startswith(FRESH_PREFIXES)]
        print(f'[export] against {args.config}: fresh (not pretrained): {", ".join(fresh)}')
        if missing or report.unexpected or report.mismatched:
            print(f'[export] error: the checkpoint does not fit the config\'s model:\n{report}',
                  file=sys.stderr)
            return 1
        print('[export] every pretrained backbone key matches')
    # MMEngine's writer: through a temporary file and os.replace (umt_mm.compat), so an
    # interrupted conversion never leaves a truncated output
    save_checkpoint(dict(state_dict=student, meta=dict(source=str(args.src),
                                                  kind='umt-pretrain-export')), args.dst)
    print(f'[export] wrote {len(student)} backbone tensors to {args.dst}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
