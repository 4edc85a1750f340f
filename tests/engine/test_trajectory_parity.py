"""Whole short trainings of umt_mm's recipes against the reference's own training loops.

``tools/misc/reference_trajectories.py`` ran the reference (OpenGVLab/unmasked_teacher,
``single_modality/``) unmodified, in its own environment: ``run_class_finetuning.py``'s
optimizer, layer decay, cosine lr / wd schedules and ``engines/engine_for_finetuning.py:
train_one_epoch``, and ``run_umt_pretraining.py`` with ``engines/engine_for_pretraining_umt.py:
train_one_epoch`` (CLIP teacher, attention mask draws, l2 loss), and the AVA detector's
``action_detection/run_class_finetuning.py`` with its ``engine_for_finetuning.py:
train_one_epoch`` (jittered ground-truth RoIs, torchvision's pure-PyTorch ``roi_align``, BCE x
RoIs), 25 optimizer steps each on a reduced B/16 geometry, fp32 on a CPU, from seeded weights
and clips. Its numbers are in
``tests/fixtures/reference_trajectories/*.json``.

Here the same recipes are built from umt_mm's configs (reduced through config keys) and run by
MMEngine's ``Runner`` as ``tools/train.py`` builds it: the layer-decay optimizer constructor,
the ``param_scheduler`` list, ``EffectiveBatchLRHook``, ``CosineWeightDecayHook``, the
model's ``train_step``, the checkpoint loading of ``load_from`` / the teacher's
``init_cfg``. Losses agree to 1e-5 relative, learning rates to 1e-9 relative, the final weights
to 1e-5 absolute.

Differences by design, set or bounded here:

* precision: the recipes train with fp16 AMP (the reference: DeepSpeed fp16 or
  ``torch.cuda.amp``); both sides run fp32 (``OptimWrapper``; the reference's disabled
  ``GradScaler``);
* stochastic parts off on both sides: drop path 0, mixup / cutmix off (the finetuning loss is
  then label-smoothed cross-entropy, 0.1, on both sides);
* the pretraining warmup: MMEngine's ``LinearLR`` starts at ``1e-6 x lr`` where the
  reference's ``cosine_scheduler`` starts at 0: at most ``1e-6 x lr`` apart, during warmup;
* ``ExactResumeHook`` reseeds every RNG from ``(seed, iteration)`` before each step (exact
  resume); the reference draws its masks from one stream seeded once. The comparison leaves
  that hook out and seeds torch's generator as the reference does, right before the first
  step: umt_mm's ``UMTMaskGenerator`` then draws exactly the reference's masks.
"""
from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from mmaction.structures import ActionDataSample
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.hooks import Hook
from mmengine.runner import Runner

from umt_mm.cli_config import prepare_train_cfg
from umt_mm.converters import convert_official_finetune, to_official_finetune

FIXTURES = Path(__file__).resolve().parents[1] / 'fixtures' / 'reference_trajectories'
ROOT = Path(__file__).resolve().parents[2]
K400_CFG = 'configs/k400/umt-base-p16-res224_k710-ft_16xb16-u8-5e_kinetics400-rgb.py'
PRETRAIN_CFG = ('configs/pretrain/'
                'umt-base-p16-res224_clip-b16-distill_32xb64-u8-201e_kinetics710-rgb.py')
LOSS_RTOL = 1e-5
WEIGHT_ATOL = 1e-5


def load_fixture(kind: str) -> dict:
    return json.loads((FIXTURES / f'{kind}.json').read_text())


# --- the seed recipe: the fixture tool's own functions (same torch version) -----------------
def _fixture_tool():
    """``tools/misc/reference_trajectories.py`` as a module (it imports only torch and numpy at
    module level; the reference code loads inside its ``main``)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'umt_reference_trajectories', ROOT / 'tools' / 'misc' / 'reference_trajectories.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_TOOL = _fixture_tool()
seeded_state_dict = _TOOL.seeded_state_dict
seeded_clips = _TOOL.seeded_clips
digest = _TOOL.digest


def shorten_schedule(cfg: Config, geo: dict) -> None:
    """The recipe's warmup + cosine epochs, shortened to the fixture's (warmup, total)."""
    cfg.train_cfg.max_epochs = geo['epochs']
    cfg.param_scheduler = [
        dict(cfg.param_scheduler[0], end=geo['warmup_epochs']),
        dict(cfg.param_scheduler[1], begin=geo['warmup_epochs'], end=geo['epochs'],
             T_max=geo['epochs'] - geo['warmup_epochs'])]


# --- running umt_mm -------------------------------------------------------------------------
class _Record(Hook):
    """Each step's group lrs / weight decays (as used by the step) and loss."""

    priority = 'LOWEST'

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.steps: list[dict] = []

    def before_train(self, runner) -> None:
        torch.manual_seed(self.seed)  # as the reference script, right before the first step

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        groups = runner.optim_wrapper.optimizer.param_groups
        self.steps.append(dict(groups=[(g['lr_scale'], g['lr'], g['weight_decay'])
                                       for g in groups]))

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self.steps[-1]['loss'] = float(outputs['loss'].detach())


def clip_loader(clips: torch.Tensor, labels: torch.Tensor | None, batch_size: int):
    """The pre-made clips in order, as MMAction2 packs them (``(1, C, T, H, W)`` each)."""
    samples = []
    for i, clip in enumerate(clips):
        sample = ActionDataSample()
        if labels is not None:
            sample.set_gt_label(labels[i:i + 1])
        samples.append(dict(inputs=clip[None], data_samples=sample))
    return torch.utils.data.DataLoader(
        samples, batch_size=batch_size, shuffle=False, collate_fn=pseudo_collate,
        generator=torch.Generator())  # its base seed draw leaves torch's generator alone


def run_recipe(cfg: Config, loader, work_dir: Path, seed: int):
    """``prepare_train_cfg`` + ``Runner`` as ``tools/train.py``, with the pre-made loader."""
    cfg.optim_wrapper = dict(  # fp32: the recipes' AMP wrapper without its precision
        type='OptimWrapper', optimizer=cfg.optim_wrapper.optimizer,
        constructor=cfg.optim_wrapper.constructor, paramwise_cfg=cfg.optim_wrapper.paramwise_cfg)
    for name in ('exact_resume', 'iter_checkpoint'):  # reseeding per step; checkpoints
        cfg.default_hooks.pop(name, None)
    cfg.default_hooks.checkpoint = None
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1000)
    cfg.work_dir = str(work_dir)
    cfg.log_level = 'WARNING'
    cfg.randomness = dict(seed=seed, diff_rank_seed=True)
    prepare_train_cfg(cfg, no_validate=True)
    runner = Runner(
        model=cfg.model, work_dir=cfg.work_dir, train_dataloader=loader,
        train_cfg=cfg.train_cfg, optim_wrapper=cfg.optim_wrapper,
        param_scheduler=cfg.param_scheduler, auto_scale_lr=cfg.get('auto_scale_lr'),
        default_hooks=cfg.default_hooks, custom_hooks=cfg.get('custom_hooks'),
        load_from=cfg.get('load_from'), resume=False, launcher=cfg.launcher,
        env_cfg=cfg.env_cfg, log_processor=cfg.get('log_processor'), log_level=cfg.log_level,
        default_scope=cfg.default_scope, randomness=cfg.randomness,
        experiment_name=work_dir.name, cfg=cfg)
    record = _Record(seed)
    runner.register_hook(record)
    runner.train()
    return runner, record


def check_steps(fx: dict, record: _Record, warmup_offset: float = 0.0) -> None:
    """Per step: the groups' lrs and weight decays, and the loss, against the reference."""
    ref_steps = fx['steps']
    assert len(record.steps) == len(ref_steps) >= 20
    warmup = fx['iters_per_epoch'] * fx['geometry']['warmup_epochs']
    top = fx['actual_lr']['lr']
    for i, (ours, ref) in enumerate(zip(record.steps, ref_steps)):
        lrs = sorted({lr for _, lr, _ in ours['groups']})  # one per lr scale
        ref_lrs = sorted(set(ref['group_lrs']))
        if i < warmup and warmup_offset:
            # MMEngine's warmup starts at warmup_offset x lr, the reference's at 0 (where
            # every layer-decay group's lr is the same 0)
            bound = warmup_offset * top * (1 - i / (warmup - 1)) * 1.0001 + 1e-15
            if ref_lrs != [0.0]:
                assert len(lrs) == len(ref_lrs)
            ref_lrs = ref_lrs * len(lrs) if ref_lrs == [0.0] else ref_lrs
            assert all(abs(a - b) <= bound for a, b in zip(lrs, ref_lrs)), (i, lrs, ref_lrs)
        else:
            assert len(lrs) == len(ref_lrs)
            assert lrs == pytest.approx(ref_lrs, rel=1e-9, abs=1e-15), (i, lrs, ref_lrs)
        assert sorted({wd for *_, wd in ours['groups']}) == pytest.approx(
            sorted(set(ref['group_wds'])), rel=1e-12)
        assert ours['loss'] == pytest.approx(ref['loss'], rel=LOSS_RTOL), (i, ours, ref)


def check_groups(fx: dict, optimizer) -> None:
    """The same parameters per (lr scale, weight decay on / off).

    (umt_mm's constructor keeps one group per layer also at layer decay 1.0, pretraining.)

    The reference's finetuning model makes its interpolated sin-cos table an ``nn.Parameter``
    (``models/modeling_finetune.py: get_sinusoid_encoding_table``) that its forward detaches:
    in the optimizer, never trained. umt_mm keeps the table a buffer, outside the optimizer.
    """
    assert fx['never_trained'] == (['pos_embed'] if fx['kind'] == 'finetune' else [])
    ours, ref = Counter(), Counter()
    for g in optimizer.param_groups:
        ours[round(g['lr_scale'], 12), g['weight_decay'] > 0] += len(g['params'])
    for g in fx['param_groups']:
        ref[round(g['lr_scale'], 12), g['weight_decay'] > 0] += len(
            set(g['params']) - set(fx['never_trained']))
    assert ours == ref


def check_final(fx: dict, state: dict) -> None:
    """First values (1e-5 absolute), sums and absolute sums of every final tensor."""
    assert sorted(state) == sorted(fx['final'])
    for key, ref in fx['final'].items():
        flat = state[key].detach().double().flatten()
        assert flat[:6].tolist() == pytest.approx(ref['head'], abs=WEIGHT_ATOL), key
        tol = WEIGHT_ATOL * flat.numel()
        assert float(flat.sum()) == pytest.approx(ref['sum'], abs=tol), key
        assert float(flat.abs().sum()) == pytest.approx(ref['abs_sum'], abs=tol), key


# --- finetuning -------------------------------------------------------------------------------
def test_finetune_trajectory_matches_reference(tmp_path):
    """K400 B/16 finetuning recipe (layer decay 0.75, warmup + cosine, label smoothing 0.1)."""
    fx = load_fixture('finetune')
    geo, seeds = fx['geometry'], fx['seeds']
    official = seeded_state_dict(fx['initial_shapes'], seeds['weights'])
    assert digest(official) == fx['initial_sha256']
    clips, labels = seeded_clips(geo['videos'], geo['num_frames'], geo['img_size'],
                                 geo['num_classes'], seeds['data'])
    assert digest(dict(clips=clips, labels=labels.float())) == fx['data_sha256']
    checkpoint = tmp_path / 'init.pth'
    torch.save(dict(state_dict=convert_official_finetune(official)), checkpoint)

    cfg = Config.fromfile(ROOT / K400_CFG)
    cfg.model.backbone.update(
        arch=dict(embed_dims=geo['embed_dim'], depth=geo['depth'], num_heads=geo['num_heads'],
                  mlp_ratio=4), img_size=geo['img_size'], num_frames=geo['num_frames'],
        drop_path_rate=0.0)
    cfg.model.cls_head.update(num_classes=geo['num_classes'], in_channels=geo['embed_dim'])
    cfg.model.data_preprocessor.blending = None  # mixup / cutmix off
    # the recipe's lr is written for auto_scale_lr.base_batch_size (512): x 2 / 512 here
    cfg.optim_wrapper.optimizer.lr = fx['actual_lr']['lr'] * 512 / geo['batch_size']
    cfg.train_cfg.max_epochs = geo['epochs']
    cfg.load_from = str(checkpoint)
    loader = clip_loader(clips, labels, geo['batch_size'])
    runner, record = run_recipe(cfg, loader, tmp_path / 'finetune', seeds['train'])

    check_groups(fx, runner.optim_wrapper.optimizer)
    check_steps(fx, record)
    model = runner.model
    check_final(fx, to_official_finetune(model.state_dict()))


# --- pretraining ------------------------------------------------------------------------------
def test_pretrain_trajectory_matches_reference(tmp_path):
    """B/16 distillation recipe: the teacher, attention masks drawn as the reference, l2 loss."""
    fx = load_fixture('pretrain')
    geo, seeds = fx['geometry'], fx['seeds']
    student = seeded_state_dict(fx['initial_shapes'], seeds['weights'])
    teacher = seeded_state_dict(fx['teacher_shapes'], seeds['teacher_weights'])
    assert digest(student) == fx['initial_sha256']
    assert digest(teacher) == fx['teacher_sha256']
    clips, _ = seeded_clips(geo['videos'], geo['num_frames'], geo['img_size'], 0, seeds['data'])
    assert digest(dict(clips=clips)) == fx['data_sha256']
    torch.save(dict(state_dict=student), tmp_path / 'student.pth')
    torch.save(teacher, tmp_path / 'teacher.pth')

    cfg = Config.fromfile(ROOT / PRETRAIN_CFG)
    cfg.model.encoder.update(
        arch=dict(embed_dims=geo['embed_dim'], depth=geo['depth'], num_heads=geo['num_heads'],
                  mlp_ratio=4), img_size=geo['img_size'], num_frames=geo['num_frames'],
        drop_path_rate=0.0)
    cfg.model.teacher.update(
        arch=dict(patch_size=16, width=geo['teacher_width'], layers=geo['teacher_layers'],
                  heads=geo['teacher_heads'], output_dim=geo['output_dim']),
        input_resolution=geo['img_size'], num_return_layers=geo['return_layers'],
        init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'teacher.pth')))
    cfg.model.update(align_dims=geo['output_dim'], num_return_layers=geo['return_layers'])
    cfg.model.mask_generator.mask_ratio = geo['mask_ratio']
    cfg.optim_wrapper.optimizer.lr = fx['actual_lr']['lr'] * 2048 / geo['batch_size']
    shorten_schedule(cfg, geo)  # the recipe's 40 + 161 epochs, at 1 + 4
    cfg.load_from = str(tmp_path / 'student.pth')
    loader = clip_loader(clips, None, geo['batch_size'])

    masks = []
    from umt_mm.models.distillers.semantic_mask import UMTMaskGenerator
    draw = UMTMaskGenerator.forward

    def recording_draw(self, *args, **kwargs):
        mask = draw(self, *args, **kwargs)
        masks.append(mask.clone())
        return mask

    UMTMaskGenerator.forward = recording_draw
    try:
        runner, record = run_recipe(cfg, loader, tmp_path / 'pretrain', seeds['train'])
    finally:
        UMTMaskGenerator.forward = draw

    shape = fx['masks']['shape']
    bits = np.unpackbits(np.frombuffer(bytes.fromhex(fx['masks']['packed_bits_hex']),
                                       dtype=np.uint8))[:math.prod(shape)]
    ref_masks = torch.from_numpy(bits.astype(bool)).view(shape)
    ours = torch.stack(masks)
    assert ours.shape == ref_masks.shape
    differ = [i for i in range(len(ours)) if not torch.equal(ours[i], ref_masks[i])]
    assert not differ, f'mask draws differ at steps {differ}'
    check_groups(fx, runner.optim_wrapper.optimizer)
    start_factor = cfg.param_scheduler[0]['start_factor']
    check_steps(fx, record, warmup_offset=start_factor)
    check_final(fx, runner.model.state_dict())


def test_pretraining_student_adds_the_flat_position_table():
    """The reference's pretraining student (``models/modeling_pretrain_umt.py``) adds the 1-D
    sin-cos table of its own T'*H'*W' tokens; the finetuning model interpolates the 8x14x14
    one. Equal at 8 frames x 224 px only, so the reduced geometry above tells them apart."""
    from mmaction.registry import MODELS

    from umt_mm.models.layers import sincos_table_1d, umt_position_table
    model = MODELS.build(dict(
        type='UMTDistiller', align_dims=16, num_return_layers=1,
        encoder=dict(type='UMTVisionTransformer', img_size=64, num_frames=2,
                     arch=dict(embed_dims=32, depth=2, num_heads=2, mlp_ratio=2)),
        teacher=dict(type='CLIPVisionTeacher', input_resolution=64, num_return_layers=1,
                     arch=dict(patch_size=16, width=32, layers=1, heads=2, output_dim=16))))
    assert torch.equal(model.encoder.pos_embed, sincos_table_1d(2 * 4 * 4, 32))
    assert not torch.allclose(model.encoder.pos_embed, umt_position_table(32, 2, (4, 4)))
    assert torch.equal(sincos_table_1d(8 * 14 * 14, 32), umt_position_table(32, 8, (14, 14)))


# --- AVA detection ----------------------------------------------------------------------------
AVA_CFG = 'action_detection/configs/umt-base-p16_k710-ft_16xb8-8x8x1-30e_ava22-rgb.py'


def ava_loader(fx: dict, clips: torch.Tensor, batch_size: int):
    """The clips ``(C, T, H, W)`` with their boxes and multi-hot labels, as PackActionInputs."""
    from mmengine.structures import InstanceData
    geo = fx['geometry']
    samples = []
    for clip, boxes, actions in zip(clips, fx['boxes'], fx['actions']):
        boxes = torch.tensor(boxes)
        labels = torch.zeros(len(boxes), geo['num_actions'] + 1)  # column 0: background
        for row, ids in enumerate(actions):
            labels[row, [i + 1 for i in ids]] = 1.0
        sample = ActionDataSample()
        sample.set_metainfo(dict(img_shape=(geo['height'], geo['width'])))
        sample.gt_instances = InstanceData(bboxes=boxes, labels=labels)
        sample.proposals = InstanceData(bboxes=boxes.clone())
        samples.append(dict(inputs=clip, data_samples=sample))
    return torch.utils.data.DataLoader(
        samples, batch_size=batch_size, shuffle=False, collate_fn=pseudo_collate,
        generator=torch.Generator())


def test_ava_trajectory_matches_reference(tmp_path):
    """AVA detector recipe (layer decay 0.75, warmup + cosine, BCE x RoIs on jittered boxes).

    The reference is ``action_detection/run_class_finetuning.py`` with
    ``engine_for_finetuning.py:train_one_epoch``: the RoIs (AlphAction's ``random_aug`` of the
    ground-truth boxes, drawn from torch's generator), the position table interpolated to the
    64 x 96 clips, RoIAlign (torchvision's, not aligned) and the loss, per step.
    """
    from umt_mm.converters import convert_official_ava

    fx = load_fixture('ava')
    geo, seeds = fx['geometry'], fx['seeds']
    official = seeded_state_dict(fx['initial_shapes'], seeds['weights'])
    assert digest(official) == fx['initial_sha256']
    gen = torch.Generator().manual_seed(seeds['data'])
    clips = torch.randint(0, 256, (geo['videos'], 3, geo['num_frames'], geo['height'],
                                   geo['width']), generator=gen).float()
    assert digest(dict(clips=clips)) == fx['data_sha256']
    torch.save(dict(state_dict=convert_official_ava(official)), tmp_path / 'init.pth')

    cfg = Config.fromfile(ROOT / AVA_CFG)
    assert list(cfg.model.data_preprocessor.mean) == fx['mean']
    assert list(cfg.model.data_preprocessor.std) == fx['std']
    cfg.model.backbone.update(
        arch=dict(embed_dims=geo['embed_dim'], depth=geo['depth'], num_heads=geo['num_heads'],
                  mlp_ratio=4), img_size=geo['img_size'], num_frames=geo['num_frames'],
        drop_path_rate=0.0)
    cfg.model.roi_head.bbox_head.in_channels = geo['embed_dim']
    # the recipe's lr is written for auto_scale_lr.base_batch_size (128)
    cfg.optim_wrapper.optimizer.lr = fx['actual_lr']['lr'] * 128 / geo['batch_size']
    shorten_schedule(cfg, geo)  # the recipe's 5 + 25 epochs, at 1 + 4
    cfg.load_from = str(tmp_path / 'init.pth')
    loader = ava_loader(fx, clips, geo['batch_size'])

    rois = []
    from umt_mm.models.roi_heads.roi_head import UMTAVARoIHead
    forward = UMTAVARoIHead._bbox_forward

    def recording_forward(self, x, step_rois, *args, **kwargs):
        rois.append(step_rois.detach().clone())
        return forward(self, x, step_rois, *args, **kwargs)

    UMTAVARoIHead._bbox_forward = recording_forward
    try:
        runner, record = run_recipe(cfg, loader, tmp_path / 'ava', seeds['train'])
    finally:
        UMTAVARoIHead._bbox_forward = forward

    assert len(rois) == len(fx['rois'])
    for i, (ours, ref) in enumerate(zip(rois, fx['rois'])):
        assert torch.allclose(ours, torch.tensor(ref), rtol=0, atol=1e-4), (
            f'jittered boxes differ at step {i}: {ours.tolist()} vs {ref}')
    check_groups(fx, runner.optim_wrapper.optimizer)
    check_steps(fx, record, warmup_offset=cfg.param_scheduler[0]['start_factor'])
    state = {}
    for key, value in runner.model.state_dict().items():
        if key.startswith('backbone.') and key != 'backbone.pos_embed':
            state[key[len('backbone.'):]] = value
        elif key.startswith('roi_head.bbox_head.fc_cls.'):
            state['head.' + key.rsplit('.', 1)[1]] = value[1:]  # row 0: background, unused
    check_final(fx, state)
