"""Every config against the reference's launch scripts: activation checkpointing and the
train loader's last batch.

The tables are typed from OpenGVLab/unmasked_teacher's scripts (``single_modality/exp/**.sh``
and ``single_modality/action_detection/exp/*.sh``, ``--use_checkpoint --checkpoint_num N``),
independently of the configs, so a config that drifts from its script fails here. Every
train loader of the reference (``run_class_finetuning.py``, ``run_umt_pretraining.py``,
``action_detection/run_class_finetuning.py``) is built with ``drop_last=True``.
"""
from pathlib import Path

import pytest
from mmengine.config import Config

ROOT = Path(__file__).resolve().parents[2]
EXP = 'single_modality/exp/'

# reference script -> checkpointed blocks (--use_checkpoint --checkpoint_num N; 0: no flag)
SCRIPT_CHECKPOINTING = {
    f'{EXP}finetuning/k400/b16_ptk710_ftk710_ftk400_f8_res224.sh': 0,
    f'{EXP}finetuning/k400/l16_ptk710_ftk710_ftk400_f8_res224.sh': 12,
    f'{EXP}finetuning/k400/l16_ptk710_ftk710_ftk400_f16_res224.sh': 16,
    f'{EXP}finetuning/k600/b16_ptk710_ftk710_ftk600_f8_res224.sh': 0,
    f'{EXP}finetuning/k600/l16_ptk710_ftk710_ftk600_f8_res224.sh': 12,
    f'{EXP}finetuning/k600/l16_ptk710_ftk710_ftk600_f16_res224.sh': 16,
    f'{EXP}finetuning/k700/b16_ptk710_ftk710_ftk700_f8_res224.sh': 0,
    f'{EXP}finetuning/k700/l16_ptk710_ftk710_ftk700_f8_res224.sh': 12,
    f'{EXP}finetuning/k700/l16_ptk710_ftk710_ftk700_f16_res224.sh': 16,
    f'{EXP}finetuning/k710/b16_ptk710_ftk710_f8_res224.sh': 0,
    f'{EXP}finetuning/k710/l16_ptk710_ftk710_f8_res224.sh': 12,
    f'{EXP}finetuning/mitv1/b16_ptk710_ftk710_ftk400_ftmitv1_f8_res224.sh': 0,
    f'{EXP}finetuning/mitv1/b16_ptk710_ftk710_ftk400_ftmitv1_f8_res384.sh': 8,
    f'{EXP}finetuning/mitv1/l16_ptk710_ftk710_ftk400_ftmitv1_f8_res224.sh': 12,
    f'{EXP}finetuning/mitv1/l16_ptk710_ftk710_ftk400_ftmitv1_f8_res384.sh': 18,
    f'{EXP}finetuning/ssv2/b16_ptk710_ftssv2_f8_res224.sh': 0,
    f'{EXP}finetuning/ssv2/l16_ptk710_ftssv2_f8_res224.sh': 12,
    f'{EXP}pretraining/b16_ptk710_f8_res224.sh': 0,
    f'{EXP}pretraining/l16_ptk710_f8_res224.sh': 0,
    'single_modality/action_detection/exp/b16_ptk710_ftk710_ftava_f8_res224.sh': 0,
    'single_modality/action_detection/exp/l16_ptk710_ftk710_ftava_f8_res224.sh': 0,
}

# config (relative to the repository) -> the reference script it reproduces
CONFIG_SCRIPT = {
    'configs/k710/umt-base-p16-res224_k710-pre_16xb16-u8-35e_kinetics710-rgb.py':
        f'{EXP}finetuning/k710/b16_ptk710_ftk710_f8_res224.sh',
    'configs/k710/umt-large-p16-res224_k710-pre_16xb16-u8-20e_kinetics710-rgb.py':
        f'{EXP}finetuning/k710/l16_ptk710_ftk710_f8_res224.sh',
    'configs/mitv1/umt-base-p16-res224_k400-ft_16xb32-u8-40e_mit-rgb.py':
        f'{EXP}finetuning/mitv1/b16_ptk710_ftk710_ftk400_ftmitv1_f8_res224.sh',
    'configs/mitv1/umt-base-p16-res384_k400-ft_16xb16-u8-4e_mit-rgb.py':
        f'{EXP}finetuning/mitv1/b16_ptk710_ftk710_ftk400_ftmitv1_f8_res384.sh',
    'configs/mitv1/umt-large-p16-res224_k400-ft_16xb32-u8-20e_mit-rgb.py':
        f'{EXP}finetuning/mitv1/l16_ptk710_ftk710_ftk400_ftmitv1_f8_res224.sh',
    'configs/mitv1/umt-large-p16-res384_k400-ft_16xb8-u8-4e_mit-rgb.py':
        f'{EXP}finetuning/mitv1/l16_ptk710_ftk710_ftk400_ftmitv1_f8_res384.sh',
    'configs/sthv2/umt-base-p16-res224_k710-pre_16xb16-u8-30e_sthv2-rgb.py':
        f'{EXP}finetuning/ssv2/b16_ptk710_ftssv2_f8_res224.sh',
    'configs/sthv2/umt-large-p16-res224_k710-pre_16xb16-u8-14e_sthv2-rgb.py':
        f'{EXP}finetuning/ssv2/l16_ptk710_ftssv2_f8_res224.sh',
    'configs/pretrain/umt-base-p16-res224_clip-b16-distill_32xb64-u8-201e_kinetics710-rgb.py':
        f'{EXP}pretraining/b16_ptk710_f8_res224.sh',
    'configs/pretrain/umt-large-p16-res224_clip-l14-distill_32xb64-u8-201e_kinetics710-rgb.py':
        f'{EXP}pretraining/l16_ptk710_f8_res224.sh',
    # the frame-folder variants and the I3D-head example train the row they derive from
    'configs/rawframes/umt-base-p16-res224_clip-b16-distill_32xb64-u8-201e_kinetics710-rawframes.py':
        f'{EXP}pretraining/b16_ptk710_f8_res224.sh',
    'configs/rawframes/umt-base-p16-res224_k710-ft_16xb16-u8-5e_kinetics400-rawframes.py':
        f'{EXP}finetuning/k400/b16_ptk710_ftk710_ftk400_f8_res224.sh',
    'configs/rawframes/umt-base-p16-res224_k710-pre_16xb16-u8-30e_sthv2-rawframes.py':
        f'{EXP}finetuning/ssv2/b16_ptk710_ftssv2_f8_res224.sh',
    'configs/examples/umt-base-p16-res224_i3d-head_16xb16-u8-5e_kinetics400-rgb.py':
        f'{EXP}finetuning/k400/b16_ptk710_ftk710_ftk400_f8_res224.sh',
    'action_detection/configs/umt-base-p16_k710-ft_16xb8-8x8x1-30e_ava22-rgb.py':
        'single_modality/action_detection/exp/b16_ptk710_ftk710_ftava_f8_res224.sh',
    'action_detection/configs/umt-large-p16_k710-ft_32xb4-8x8x1-25e_ava22-rgb.py':
        'single_modality/action_detection/exp/l16_ptk710_ftk710_ftava_f8_res224.sh',
}
for _ds in ('400', '600', '700'):
    CONFIG_SCRIPT.update({
        f'configs/k{_ds}/umt-base-p16-res224_k710-ft_16xb16-u8-5e_kinetics{_ds}-rgb.py':
            f'{EXP}finetuning/k{_ds}/b16_ptk710_ftk710_ftk{_ds}_f8_res224.sh',
        f'configs/k{_ds}/umt-large-p16-res224_k710-ft_16xb16-u8-5e_kinetics{_ds}-rgb.py':
            f'{EXP}finetuning/k{_ds}/l16_ptk710_ftk710_ftk{_ds}_f8_res224.sh',
        f'configs/k{_ds}/umt-large-p16-res224_k710-ft_16xb8-u16-5e_kinetics{_ds}-rgb.py':
            f'{EXP}finetuning/k{_ds}/l16_ptk710_ftk710_ftk{_ds}_f16_res224.sh',
    })

# configs that reproduce no reference script
NOT_A_ROW = {
    'configs/quickstart/umt-tiny-p16-res32_scratch_1xb2-u4-2e_toy-rgb.py':
        'toy smoke test on generated videos',
    'configs/quickstart/umt-tiny-p16-res64_scratch_1xb16-u8-16e_motion8-rgb.py':
        'tiny model trained from scratch on a generated set',
    'configs/examples/videomae-vit-base-p16_umt-backbone_8xb8-16x4x1-20e_kinetics400-rgb.py':
        "MMAction2's VideoMAE recipe with the UMT backbone",
}


def _all_configs() -> list[str]:
    found = [p for p in (ROOT / 'configs').rglob('*.py') if '_base_' not in p.parts]
    found += list((ROOT / 'action_detection' / 'configs').glob('*.py'))
    return sorted(str(p.relative_to(ROOT)) for p in found)


def _backbone(cfg: Config) -> dict:
    return cfg.model.get('backbone') or cfg.model.encoder


def test_every_config_is_a_reference_row_or_named_as_none():
    configs = set(_all_configs())
    assert configs == set(CONFIG_SCRIPT) | set(NOT_A_ROW)
    assert not set(CONFIG_SCRIPT) & set(NOT_A_ROW)
    assert set(CONFIG_SCRIPT.values()) == set(SCRIPT_CHECKPOINTING)  # every script has a row


@pytest.mark.parametrize('name', sorted(CONFIG_SCRIPT))
def test_activation_checkpointing_equals_the_script(name):
    blocks = SCRIPT_CHECKPOINTING[CONFIG_SCRIPT[name]]
    backbone = _backbone(Config.fromfile(ROOT / name))
    assert bool(backbone.get('use_checkpoint', False)) == (blocks > 0), name
    if blocks:
        assert backbone.checkpoint_num == blocks, name


@pytest.mark.parametrize('name', _all_configs())
def test_train_loader_drops_the_last_incomplete_batch(name):
    """As the reference's train loaders; the quickstart toys keep every sample."""
    cfg = Config.fromfile(ROOT / name)
    if 'train_dataloader' not in cfg:
        pytest.skip(f'{name} has no train_dataloader')
    drop_last = cfg.train_dataloader.get('drop_last', False)
    if name.startswith('configs/quickstart/'):
        assert not drop_last, name
    else:
        assert drop_last is True, name


@pytest.mark.parametrize('name', sorted(CONFIG_SCRIPT))
def test_recipes_checkpoint_every_tenth_of_an_epoch_and_resume_exactly(name):
    hooks = Config.fromfile(ROOT / name).default_hooks
    assert hooks.exact_resume.type == 'ExactResumeHook', name
    assert hooks.iter_checkpoint.type == 'EpochFractionCheckpointHook', name
    assert hooks.iter_checkpoint.fraction <= 0.1 and hooks.iter_checkpoint.max_keep_ckpts == 2
