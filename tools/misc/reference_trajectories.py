#!/usr/bin/env python
"""Run the reference UMT training loops, unmodified, and store their step-by-step numbers.

The reference (OpenGVLab/unmasked_teacher, ``single_modality/``) trains a reduced B/16 K400
finetuning recipe (``run_class_finetuning.py``: ``optim_factory.create_optimizer`` with
``LayerDecayValueAssigner``, ``utils.cosine_scheduler`` lr and wd schedules,
``engines/engine_for_finetuning.py:train_one_epoch``) and a reduced B/16 pretraining recipe
(``run_umt_pretraining.py``, ``engines/engine_for_pretraining_umt.py:train_one_epoch`` with its
CLIP teacher, attention mask draws and loss) on CPU in fp32, from seeded initial weights and
seeded clips. The per-step losses, learning rates, weight decays, gradient norms, the masks (as
packed bits) and a digest of the final weights go to small JSON files that
``tests/engine/test_trajectory_parity.py`` replays with umt_mm's own recipe objects. The
``mixup`` mode runs ``datasets/mixup.py:Mixup`` as the finetuning recipe builds it, numpy
seeded per call, and stores lambda, the mode, the box, the mixed inputs and the soft targets
(``tests/models/test_mixup_reference.py``). The ``ava`` mode trains the reduced AVA detector
through ``action_detection/run_class_finetuning.py``'s objects and
``engine_for_finetuning.py:train_one_epoch`` (its RoIAlign is ``torchvision.ops.roi_align``,
whose pure-PyTorch path runs when torchvision's C ops do not load); it also needs ``av`` and
``yacs`` in the environment (imported by the AVA data code).

This script does not import umt_mm and is meant for its own environment (timm 0.4.12 and a
torchvision beside a CPU torch), for example::

    python3.11 -m venv /tmp/refenv
    /tmp/refenv/bin/pip install torch==2.13.0 numpy pillow scipy tensorboardX einops \\
        opencv-python-headless decord av yacs
    /tmp/refenv/bin/pip install --no-deps timm==0.4.12 torchvision==0.28.0
    mkdir -p /tmp/umt_ref
    git -C <checkout of OpenGVLab/unmasked_teacher> archive HEAD single_modality \\
        | tar -x -C /tmp/umt_ref
    /tmp/refenv/bin/python tools/misc/reference_trajectories.py \\
        --reference /tmp/umt_ref/single_modality --commit <sha> \\
        --out tests/fixtures/reference_trajectories

The reference files are never edited. Before they are imported, a few runtime shims adapt them
to a CPU-only torch 2.13 (see :func:`install_shims`).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import subprocess
import sys
import types
from functools import partial
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

SEED_WEIGHTS = 1234  # initial weights: see seeded_state_dict
SEED_DATA = 4321  # clips and labels: see seeded_clips
SEED_TRAIN = 0  # torch's global generator right before the first step (mask draws)
KINDS = ('finetune', 'pretrain', 'mixup', 'ava')
MEAN = (123.675, 116.28, 103.53)  # ImageNet mean / std on 0-255 RGB
STD = (58.395, 57.12, 57.375)

# Reduced B/16 K400 finetuning (exp/finetuning/k400/b16_ptk710_ftk710_ftk400_f8_res224.sh):
# the same optimizer, layer decay, warmup + cosine and label smoothing; drop path 0, mixup and
# cutmix off, one sample per video, a larger lr so that the weights move. min / warmup lr keep
# the script's ratio to lr (1e-6 / 2e-5 = 0.05).
FINETUNE = dict(embed_dim=64, depth=3, num_heads=2, img_size=32, num_frames=2, num_classes=4,
                batch_size=2, videos=10, epochs=5, warmup_epochs=1, lr=0.128)
# Reduced B/16 pretraining (exp/pretraining/b16_ptk710_f8_res224.sh): attention masks at 0.8,
# AdamW (0.9, 0.95), warmup from 0 + cosine to lr / 15 (1e-5 / 1.5e-4), l2 loss on 2 returned
# layers; drop path 0.
PRETRAIN = dict(embed_dim=64, depth=4, num_heads=2, img_size=64, num_frames=2, batch_size=2,
                videos=10, epochs=5, warmup_epochs=1, lr=0.256, return_layers=2,
                decoder_dim=64, output_dim=32, teacher_width=64, teacher_layers=3,
                teacher_heads=2, mask_ratio=0.8)


def install_shims() -> None:
    """Adapt the reference (written for torch 1.x with CUDA) to a CPU-only torch, at runtime.

    * ``torch._six`` (removed in torch 2): ``utils.py`` imports ``inf`` from it.
    * ``numpy.lib.function_base`` (private since numpy 2): a dataset module imports ``disp``
      from it (unused).
    * ``torch.cuda.synchronize``: called after every step; a no-op without CUDA.
    * ``torch.cuda.amp.GradScaler``: without CUDA it is disabled (no scaling, plain
      ``optimizer.step()``) and its ``state_dict()`` is empty, while ``train_one_epoch`` reads
      ``state_dict()["scale"]``; the stand-in reports scale 1.0.
    * torchvision 0.28's wheel on PyPI links against CUDA torch: its C ops do not load beside
      the CPU torch and its import fails registering fake kernels for them; registrations for
      ``torchvision::`` ops that do not exist are skipped (no training code uses them).
    """
    six = types.ModuleType('torch._six')
    six.inf = math.inf
    six.string_classes = (str, bytes)
    sys.modules['torch._six'] = six
    if 'numpy.lib.function_base' not in sys.modules:
        try:
            import numpy.lib.function_base  # noqa: F401
        except ImportError:
            legacy = types.ModuleType('numpy.lib.function_base')
            legacy.disp = print
            sys.modules['numpy.lib.function_base'] = legacy
    if not torch.cuda.is_available():
        torch.cuda.synchronize = lambda *args, **kwargs: None

        class CPUGradScaler(torch.amp.GradScaler):
            def __init__(self, *args, **kwargs):
                super().__init__('cuda', enabled=False)

            def state_dict(self):
                return {'scale': 1.0}

        torch.cuda.amp.GradScaler = CPUGradScaler

    def op_exists(name: str) -> bool:
        try:
            torch._C._dispatch_find_schema_or_throw(name, '')
            return True
        except RuntimeError:
            return False

    def skip_missing_torchvision_ops(register):
        def wrapped(op, *args, **kwargs):
            if isinstance(op, str) and op.startswith('torchvision::') and not op_exists(op):
                return None if (args or kwargs) else (lambda fn: fn)
            return register(op, *args, **kwargs)
        return wrapped

    for name in ('register_fake', 'register_autograd'):
        setattr(torch.library, name, skip_missing_torchvision_ops(getattr(torch.library, name)))


def seeded_state_dict(shapes: dict[str, list[int]], seed: int = SEED_WEIGHTS) -> dict:
    """Initial weights from names and shapes alone (tests/engine/test_trajectory_parity.py).

    Keys in sorted order, key ``i`` drawn from ``torch.Generator().manual_seed(seed + i)``:
    1-D ``*weight`` (norms) ``1 + 0.1 * randn``, other 1-D tensors and ``class_embedding``
    ``0.02 * randn``, the rest ``randn / sqrt(fan_in)`` (fan_in = product of the dims after the
    first, the last dim for ``positional_embedding`` / ``proj``).
    """
    state = {}
    for i, key in enumerate(sorted(shapes)):
        shape = shapes[key]
        gen = torch.Generator().manual_seed(seed + i)
        value = torch.randn(shape, generator=gen)
        if len(shape) == 1 and key.endswith('weight'):
            value = 1 + 0.1 * value
        elif len(shape) == 1 or key == 'class_embedding':
            value = 0.02 * value
        else:
            fan_in = shape[-1] if key in ('positional_embedding', 'proj') else math.prod(shape[1:])
            value = value / math.sqrt(fan_in)
        state[key] = value
    return state


def seeded_clips(videos: int, frames: int, size: int, num_classes: int = 0,
                 seed: int = SEED_DATA) -> tuple[torch.Tensor, torch.Tensor]:
    """``videos`` RGB clips ``(3, T, H, W)`` of integers 0-255 (float32) and labels."""
    gen = torch.Generator().manual_seed(seed)
    clips = torch.randint(0, 256, (videos, 3, frames, size, size), generator=gen).float()
    labels = torch.randint(0, max(num_classes, 1), (videos,), generator=gen)
    return clips, labels


def normalize(clips: torch.Tensor) -> torch.Tensor:
    """``(x - mean) / std`` per channel of ``(N, 3, T, H, W)``, as MMAction2's preprocessor."""
    mean = torch.tensor(MEAN).view(3, 1, 1, 1)
    std = torch.tensor(STD).view(3, 1, 1, 1)
    return (clips - mean) / std


def digest(state: dict) -> str:
    """sha256 of the keys and fp32 bytes of a state dict in sorted key order."""
    sha = hashlib.sha256()
    for key in sorted(state):
        sha.update(key.encode())
        sha.update(state[key].detach().float().contiguous().numpy().tobytes())
    return sha.hexdigest()


def summary(state: dict) -> dict:
    """Per tensor: its first 6 values, sum and absolute sum (the final-weight check)."""
    out = {}
    for key in sorted(state):
        flat = state[key].detach().double().flatten()
        out[key] = dict(head=flat[:6].tolist(), sum=float(flat.sum()),
                        abs_sum=float(flat.abs().sum()))
    return out


class StepRecorder:
    """The loops' ``log_writer``: collects what they log per step, plus every group's lr / wd."""

    def __init__(self, optimizer) -> None:
        self.optimizer = optimizer
        self.current: dict = {}
        self.steps: list[dict] = []

    def update(self, head: str = 'scalar', **kwargs) -> None:
        for key, value in kwargs.items():
            if isinstance(value, torch.Tensor):
                value = value.item()
            self.current[key] = value

    def set_step(self, step=None) -> None:
        if step is not None:  # the epoch start the main scripts set; nothing recorded yet
            return
        groups = self.optimizer.param_groups
        self.current['group_lrs'] = [g['lr'] for g in groups]
        self.current['group_wds'] = [g['weight_decay'] for g in groups]
        self.steps.append(self.current)
        self.current = {}


def reference_args(module, argv: list[str]):
    """The script's own argument parser (its defaults) on ``argv``."""
    saved, sys.argv = sys.argv, [module.__file__, *argv]
    try:
        args = module.get_args()
    finally:
        sys.argv = saved
    return args[0] if isinstance(args, tuple) else args


def run_finetune(commit: str) -> dict:
    """Reduced K400 finetuning through run_class_finetuning.py's objects and train loop."""
    import optim_factory
    import run_class_finetuning as script
    import utils
    from engines.engine_for_finetuning import train_one_epoch
    from models.modeling_finetune import VisionTransformer
    from timm.loss import LabelSmoothingCrossEntropy
    from timm.models import create_model
    from timm.models.registry import register_model

    geo = FINETUNE
    if 'umt_trajectory_finetune' not in sys.modules['timm.models.registry']._model_entrypoints:
        @register_model
        def umt_trajectory_finetune(pretrained=False, **kwargs):
            # vit_base_patch16_224 of models/modeling_finetune.py at the reduced width/size
            return VisionTransformer(
                img_size=geo['img_size'], patch_size=16, embed_dim=geo['embed_dim'],
                depth=geo['depth'], num_heads=geo['num_heads'], mlp_ratio=4, qkv_bias=True,
                norm_layer=partial(nn.LayerNorm, eps=1e-6), **kwargs)
    lr = geo['lr']
    argv = ['--model', 'umt_trajectory_finetune', '--nb_classes', str(geo['num_classes']),
            '--batch_size', str(geo['batch_size']), '--num_sample', '1',
            '--input_size', str(geo['img_size']), '--num_frames', str(geo['num_frames']),
            '--tubelet_size', '1', '--epochs', str(geo['epochs']),
            '--warmup_epochs', str(geo['warmup_epochs']), '--lr', repr(lr),
            '--min_lr', repr(lr * 0.05), '--warmup_lr', repr(lr * 0.05),
            '--drop_path', '0', '--opt', 'adamw', '--opt_betas', '0.9', '0.999',
            '--weight_decay', '0.05', '--layer_decay', '0.75', '--mixup', '0', '--cutmix', '0']
    args = reference_args(script, argv)
    # model as run_class_finetuning.main creates it
    model = create_model(
        args.model, pretrained=False, num_classes=args.nb_classes,
        all_frames=args.num_frames * args.num_segments, tubelet_size=args.tubelet_size,
        use_learnable_pos_emb=args.use_learnable_pos_emb, fc_drop_rate=args.fc_drop_rate,
        drop_rate=args.drop, drop_path_rate=args.drop_path, attn_drop_rate=args.attn_drop_rate,
        drop_block_rate=None, use_checkpoint=args.use_checkpoint,
        checkpoint_num=args.checkpoint_num, use_mean_pooling=args.use_mean_pooling,
        init_scale=args.init_scale)
    # models/modeling_finetune.py makes its sin-cos table an nn.Parameter whenever the token
    # count differs from 8x14x14 (here); it stays the computed table (forward detaches it)
    shapes = {k: list(v.shape) for k, v in model.state_dict().items() if k != 'pos_embed'}
    state = model.state_dict()
    state.update(seeded_state_dict(shapes))
    model.load_state_dict(state, strict=True)
    initial = digest(seeded_state_dict(shapes))
    clips, labels = seeded_clips(geo['videos'], geo['num_frames'], geo['img_size'],
                                 geo['num_classes'])
    inputs = normalize(clips)
    batches = [(inputs[i:i + args.batch_size], labels[i:i + args.batch_size], None, None)
               for i in range(0, len(inputs), args.batch_size)]
    # the lines of run_class_finetuning.main between the model and the training loop
    total_batch_size = args.batch_size * args.update_freq * utils.get_world_size()
    num_training_steps_per_epoch = len(inputs) // total_batch_size
    args.lr = args.lr * total_batch_size * args.num_sample / 256
    args.min_lr = args.min_lr * total_batch_size * args.num_sample / 256
    args.warmup_lr = args.warmup_lr * total_batch_size * args.num_sample / 256
    num_layers = model.get_num_layers()
    assigner = optim_factory.LayerDecayValueAssigner(
        list(args.layer_decay ** (num_layers + 1 - i) for i in range(num_layers + 2)))
    skip_weight_decay_list = model.no_weight_decay()
    optimizer = optim_factory.create_optimizer(
        args, model, skip_list=skip_weight_decay_list, get_num_layer=assigner.get_layer_id,
        get_layer_scale=assigner.get_scale)
    loss_scaler = script.NativeScaler()
    lr_schedule_values = utils.cosine_scheduler(
        args.lr, args.min_lr, args.epochs, num_training_steps_per_epoch,
        warmup_epochs=args.warmup_epochs, start_warmup_value=args.warmup_lr,
        warmup_steps=args.warmup_steps)
    if args.weight_decay_end is None:
        args.weight_decay_end = args.weight_decay
    wd_schedule_values = utils.cosine_scheduler(
        args.weight_decay, args.weight_decay_end, args.epochs, num_training_steps_per_epoch)
    assert args.smoothing > 0 and not (args.mixup > 0 or args.cutmix > 0)
    criterion = LabelSmoothingCrossEntropy(smoothing=args.smoothing)
    groups = [dict(lr_scale=g['lr_scale'], weight_decay=g['weight_decay'],
                   params=sorted(n for n, p in model.named_parameters()
                                 if any(p is q for q in g['params'])))
              for g in optimizer.param_groups]
    recorder = StepRecorder(optimizer)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    torch.manual_seed(SEED_TRAIN)
    for epoch in range(args.start_epoch, args.epochs):
        recorder.set_step(epoch * num_training_steps_per_epoch * args.update_freq)
        train_one_epoch(
            model, criterion, batches, optimizer, torch.device('cpu'), epoch, loss_scaler,
            args.clip_grad, None, None, log_writer=recorder,
            start_steps=epoch * num_training_steps_per_epoch,
            lr_schedule_values=lr_schedule_values, wd_schedule_values=wd_schedule_values,
            num_training_steps_per_epoch=num_training_steps_per_epoch,
            update_freq=args.update_freq)
    untrained = sorted(n for n, p in model.named_parameters() if torch.equal(p, before[n]))
    final = {k: v for k, v in model.state_dict().items() if k != 'pos_embed'}
    return dict(
        kind='finetune', reference_commit=commit, geometry=geo, argv=argv,
        seeds=dict(weights=SEED_WEIGHTS, data=SEED_DATA, train=SEED_TRAIN),
        actual_lr=dict(lr=args.lr, min_lr=args.min_lr, warmup_lr=args.warmup_lr),
        iters_per_epoch=num_training_steps_per_epoch, clip_grad=args.clip_grad,
        initial_shapes=shapes, initial_sha256=initial, data_sha256=digest(
            dict(clips=clips, labels=labels.float())),
        param_groups=groups, never_trained=untrained, steps=recorder.steps,
        lr_schedule=lr_schedule_values.tolist(), wd_schedule=wd_schedule_values.tolist(),
        final_sha256=digest(final), final=summary(final))


def run_pretrain(commit: str) -> dict:
    """Reduced B/16 pretraining through run_umt_pretraining.py's objects and train loop."""
    import run_umt_pretraining as script
    import utils
    from engines.engine_for_pretraining_umt import train_one_epoch
    from models.clip import VisionTransformer as CLIPVisionTransformer
    from models.modeling_pretrain_umt import PretrainVisionTransformer
    from optim_factory import create_optimizer
    from timm.models.registry import register_model

    geo = PRETRAIN
    if 'umt_trajectory_pretrain' not in sys.modules['timm.models.registry']._model_entrypoints:
        @register_model
        def umt_trajectory_pretrain(pretrained=False, **kwargs):
            # pretrain_umt_base_patch16_224 of models/modeling_pretrain_umt.py, reduced
            return PretrainVisionTransformer(
                img_size=geo['img_size'], patch_size=16, encoder_embed_dim=geo['embed_dim'],
                encoder_depth=geo['depth'], encoder_num_heads=geo['num_heads'],
                encoder_num_classes=0, mlp_ratio=4, qkv_bias=True,
                norm_layer=partial(nn.LayerNorm, eps=1e-6), **kwargs)

    def clip_trajectory(clip_norm_type='l2', input_resolution=224, kernel_size=1,
                        return_attn=False, clip_return_layer=1, clip_return_interval=1):
        # clip_b16 of models/clip.py at the reduced width, without the OpenAI weights
        return CLIPVisionTransformer(
            input_resolution=input_resolution, patch_size=16, width=geo['teacher_width'],
            layers=geo['teacher_layers'], heads=geo['teacher_heads'],
            output_dim=geo['output_dim'], clip_norm_type=clip_norm_type,
            kernel_size=kernel_size, return_attn=return_attn,
            clip_return_layer=clip_return_layer, clip_return_interval=clip_return_interval)

    lr = geo['lr']
    argv = ['--model', 'umt_trajectory_pretrain', '--num_sample', '1', '--mask_type', 'attention',
            '--mask_ratio', str(geo['mask_ratio']), '--clip_loss_ratio', '1',
            '--clip_loss_type', 'l2', '--clip_decoder_embed_dim', str(geo['decoder_dim']),
            '--clip_output_dim', str(geo['output_dim']), '--clip_norm_type', 'l2',
            '--clip_return_attn', 'True', '--clip_return_layer', str(geo['return_layers']),
            '--clip_return_interval', '1', '--clip_student_return_interval', '1',
            '--tubelet_size', '1', '--lr', repr(lr), '--min_lr', repr(lr / 15),
            '--drop_path', '0', '--batch_size', str(geo['batch_size']),
            '--num_frames', str(geo['num_frames']),
            '--input_size', str(geo['img_size']), '--clip_input_resolution', str(geo['img_size']),
            '--opt', 'adamw', '--opt_betas', '0.9', '0.95',
            '--warmup_epochs', str(geo['warmup_epochs']), '--epochs', str(geo['epochs'])]
    args = reference_args(script, argv)
    model = script.get_model(args)
    teacher_model = clip_trajectory(
        clip_norm_type=args.clip_norm_type, input_resolution=args.clip_input_resolution,
        return_attn=args.clip_return_attn, clip_return_layer=args.clip_return_layer,
        clip_return_interval=args.clip_return_interval)
    shapes = {k: list(v.shape) for k, v in model.state_dict().items()}
    teacher_shapes = {k: list(v.shape) for k, v in teacher_model.state_dict().items()}
    model.load_state_dict(seeded_state_dict(shapes), strict=True)
    teacher_model.load_state_dict(seeded_state_dict(teacher_shapes, SEED_WEIGHTS + 10000),
                                  strict=True)
    clips, _ = seeded_clips(geo['videos'], geo['num_frames'], geo['img_size'])
    inputs = normalize(clips)
    # attention masks are drawn by the loop; the dataset's mask is unused
    batches = [(inputs[i:i + args.batch_size], torch.zeros(1))
               for i in range(0, len(inputs), args.batch_size)]
    # the lines of run_umt_pretraining.main between the models and the training loop
    total_batch_size = args.batch_size * utils.get_world_size()
    num_training_steps_per_epoch = len(inputs) // total_batch_size
    args.lr = args.lr * total_batch_size * args.num_sample / 256
    args.min_lr = args.min_lr * total_batch_size * args.num_sample / 256
    args.warmup_lr = args.warmup_lr * total_batch_size * args.num_sample / 256
    optimizer = create_optimizer(args, model)
    loss_scaler = script.NativeScaler()
    lr_schedule_values = utils.cosine_scheduler(
        args.lr, args.min_lr, args.epochs, num_training_steps_per_epoch,
        warmup_epochs=args.warmup_epochs, warmup_steps=args.warmup_steps)
    if args.weight_decay_end is None:
        args.weight_decay_end = args.weight_decay
    wd_schedule_values = utils.cosine_scheduler(
        args.weight_decay, args.weight_decay_end, args.epochs, num_training_steps_per_epoch)
    masks = []  # the loop's draws, as the student receives them
    model.register_forward_pre_hook(lambda module, inputs: masks.append(inputs[1].clone()))
    groups = [dict(lr_scale=g['lr_scale'], weight_decay=g['weight_decay'],
                   params=sorted(n for n, p in model.named_parameters()
                                 if any(p is q for q in g['params'])))
              for g in optimizer.param_groups]
    recorder = StepRecorder(optimizer)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    torch.manual_seed(SEED_TRAIN)
    for epoch in range(args.start_epoch, args.epochs):
        recorder.set_step(epoch * num_training_steps_per_epoch)
        train_one_epoch(
            model, batches, optimizer, torch.device('cpu'), epoch, loss_scaler,
            args.clip_grad, log_writer=recorder, start_steps=epoch * num_training_steps_per_epoch,
            lr_schedule_values=lr_schedule_values, wd_schedule_values=wd_schedule_values,
            teacher_model=teacher_model, clip_input_resolution=args.clip_input_resolution,
            clip_loss_type=args.clip_loss_type, clip_loss_ratio=args.clip_loss_ratio,
            mask_type=args.mask_type, mask_ratio=args.mask_ratio)
    untrained = sorted(n for n, p in model.named_parameters() if torch.equal(p, before[n]))
    bits = torch.stack(masks).flatten().numpy().astype(np.uint8)
    return dict(
        kind='pretrain', reference_commit=commit, geometry=geo, argv=argv,
        seeds=dict(weights=SEED_WEIGHTS, teacher_weights=SEED_WEIGHTS + 10000, data=SEED_DATA,
                   train=SEED_TRAIN),
        actual_lr=dict(lr=args.lr, min_lr=args.min_lr, warmup_lr=args.warmup_lr),
        iters_per_epoch=num_training_steps_per_epoch, clip_grad=args.clip_grad,
        initial_shapes=shapes, teacher_shapes=teacher_shapes,
        initial_sha256=digest(seeded_state_dict(shapes)),
        teacher_sha256=digest(teacher_model.state_dict()),
        data_sha256=digest(dict(clips=clips)), param_groups=groups, never_trained=untrained,
        steps=recorder.steps,
        masks=dict(shape=list(torch.stack(masks).shape),
                   packed_bits_hex=np.packbits(bits).tobytes().hex()),
        lr_schedule=lr_schedule_values.tolist(), wd_schedule=wd_schedule_values.tolist(),
        final_sha256=digest(model.state_dict()), final=summary(model.state_dict()))


# Mixup / CutMix of the K400 finetuning recipe (run_class_finetuning.py's defaults: --mixup 0.8
# --cutmix 1.0 --mixup_prob 1.0 --mixup_switch_prob 0.5 --mixup_mode batch --smoothing 0.1)
# on a reduced batch of normalised clips; one call per numpy seed.
MIXUP = dict(batch_size=4, num_frames=2, img_size=32, num_classes=5, labels=[0, 1, 2, 4],
             mixup_alpha=0.8,
             cutmix_alpha=1.0, prob=1.0, switch_prob=0.5, label_smoothing=0.1,
             seeds=list(range(12)))


def run_mixup(commit: str) -> dict:
    """``datasets/mixup.py:Mixup`` in batch mode, its draws pinned by seeding numpy per call.

    Per seed: ``lam`` as the target uses it (corrected to the pasted area for CutMix), whether
    CutMix was chosen, the box, the sha256 and sums of the mixed inputs and the soft targets;
    and what a batch of one does. ``_params_per_batch``, ``_mix_batch`` and
    ``cutmix_bbox_and_lam`` are wrapped to record their results, not changed.
    """
    import datasets.mixup as reference

    geo = MIXUP
    clips, _ = seeded_clips(geo['batch_size'], geo['num_frames'], geo['img_size'])
    labels = torch.tensor(geo['labels'])  # every pair (i, B - 1 - i) of different classes
    inputs = normalize(clips)
    mixup_fn = reference.Mixup(
        mixup_alpha=geo['mixup_alpha'], cutmix_alpha=geo['cutmix_alpha'], cutmix_minmax=None,
        prob=geo['prob'], switch_prob=geo['switch_prob'], mode='batch',
        label_smoothing=geo['label_smoothing'], num_classes=geo['num_classes'])
    drawn: dict = {}
    params_per_batch = mixup_fn._params_per_batch
    box_and_lam = reference.cutmix_bbox_and_lam

    def recording_params():
        lam, use_cutmix = params_per_batch()
        drawn.update(drawn_lam=float(lam), use_cutmix=bool(use_cutmix))
        return lam, use_cutmix

    def recording_box(*args, **kwargs):
        (yl, yh, xl, xh), lam = box_and_lam(*args, **kwargs)
        drawn.update(box=[int(yl), int(yh), int(xl), int(xh)])
        return (yl, yh, xl, xh), lam

    def recording_mix(x):
        lam = mix_batch(x)
        drawn.update(lam=float(lam))  # as the targets use it (corrected for CutMix)
        return lam

    mix_batch = mixup_fn._mix_batch
    mixup_fn._mix_batch = recording_mix
    mixup_fn._params_per_batch = recording_params
    reference.cutmix_bbox_and_lam = recording_box
    cases = []
    try:
        for seed in geo['seeds']:
            drawn.clear()
            np.random.seed(seed)
            torch.manual_seed(seed)
            x, target = mixup_fn(inputs.clone(), labels.clone())
            mixed = x.contiguous()
            cases.append(dict(
                seed=seed, drawn_lam=drawn['drawn_lam'], use_cutmix=drawn['use_cutmix'],
                lam=drawn['lam'], box=drawn.get('box'),
                inputs_sha256=hashlib.sha256(mixed.numpy().tobytes()).hexdigest(),
                inputs_sum=float(mixed.double().sum()),
                inputs_abs_sum=float(mixed.double().abs().sum()),
                inputs_head=mixed.flatten()[:8].tolist(),
                targets=target.tolist(), target_dtype=str(target.dtype)))
        try:
            mixup_fn(inputs[:1].clone(), labels[:1].clone())
            single = 'mixed'
        except AssertionError as exc:
            single = f'AssertionError: {exc}'
    finally:
        reference.cutmix_bbox_and_lam = box_and_lam
    return dict(
        kind='mixup', reference_commit=commit, geometry=geo,
        seeds=dict(data=SEED_DATA), inputs_sha256=hashlib.sha256(
            inputs.contiguous().numpy().tobytes()).hexdigest(),
        cases=cases, batch_of_one=single)


# Reduced B/16 AVA detection (action_detection/exp/b16_ptk710_ftk710_ftava_f8_res224.sh): 8
# frames, tubelet 1, AdamW (0.9, 0.999), wd 0.05, layer decay 0.75, warmup from 0 + cosine to
# min_lr (the script's 1e-6 / 2.5e-4 = 0.004 of lr), BCE x RoIs on jittered ground-truth boxes;
# drop path 0, fp32 (--close_amp). The 224 px model on 64 x 96 clips: the position table is
# interpolated per forward as for the 256 px test frames.
AVA = dict(embed_dim=64, depth=3, num_heads=2, img_size=224, num_frames=8, height=64,
           width=96, num_actions=80, used_actions=6, boxes_per_clip=2, batch_size=2,
           videos=10, epochs=5, warmup_epochs=1, lr=0.64)
AVA_MEAN = (122.7717, 115.9465, 102.9801)  # alphaction/config/defaults.py, RGB
AVA_STD = (57.375, 57.375, 57.375)


def seeded_boxes(videos: int, per_clip: int, width: int, height: int, used_actions: int,
                 seed: int = SEED_DATA + 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Integer pixel boxes ``(videos, per_clip, 4)`` and 1-2 action indices (0-based) per box."""
    gen = torch.Generator().manual_seed(seed)
    x1 = torch.randint(0, width // 2, (videos, per_clip), generator=gen)
    y1 = torch.randint(0, height // 2, (videos, per_clip), generator=gen)
    w = torch.randint(16, width // 2, (videos, per_clip), generator=gen)
    h = torch.randint(16, height // 2, (videos, per_clip), generator=gen)
    boxes = torch.stack((x1, y1, x1 + w, y1 + h), -1).float()
    actions = torch.randint(0, used_actions, (videos, per_clip, 2), generator=gen)
    return boxes, actions


def run_ava(commit: str) -> dict:
    """Reduced AVA detection through action_detection/run_class_finetuning.py and its loop."""
    import optim_factory
    import run_class_finetuning as script
    import utils
    from alphaction.structures.bounding_box import BoxList
    from engine_for_finetuning import train_one_epoch
    from modeling_finetune import VisionTransformer
    from timm.models import create_model
    from timm.models.registry import register_model

    geo = AVA
    if 'umt_trajectory_ava' not in sys.modules['timm.models.registry']._model_entrypoints:
        @register_model
        def umt_trajectory_ava(pretrained=False, **kwargs):
            # vit_base_patch16_224 of action_detection/modeling_finetune.py, reduced width
            return VisionTransformer(
                img_size=geo['img_size'], patch_size=16, embed_dim=geo['embed_dim'],
                depth=geo['depth'], num_heads=geo['num_heads'], mlp_ratio=4, qkv_bias=True,
                norm_layer=partial(nn.LayerNorm, eps=1e-6), **kwargs)
    lr = geo['lr']
    argv = ['--model', 'umt_trajectory_ava', '--nb_classes', str(geo['num_actions']),
            '--batch_size', str(geo['batch_size']), '--input_size', str(geo['img_size']),
            '--num_frames', str(geo['num_frames']), '--sampling_rate', '8', '--sparse',
            '--tubelet_size', '1', '--opt', 'adamw', '--lr', repr(lr),
            '--min_lr', repr(lr * 0.004), '--layer_decay', '0.75', '--opt_betas', '0.9', '0.999',
            '--weight_decay', '0.05', '--epochs', str(geo['epochs']),
            '--warmup_epochs', str(geo['warmup_epochs']), '--data_set', 'ava',
            '--drop_path', '0', '--close_amp']
    args = reference_args(script, argv)
    model = create_model(  # as run_class_finetuning.main
        args.model, pretrained=False, num_classes=args.nb_classes,
        all_frames=args.num_frames * args.num_segments, tubelet_size=args.tubelet_size,
        drop_rate=args.drop, drop_path_rate=args.drop_path, attn_drop_rate=args.attn_drop_rate,
        drop_block_rate=None, use_checkpoint=args.use_checkpoint,
        use_mean_pooling=args.use_mean_pooling, init_scale=args.init_scale)
    shapes = {k: list(v.shape) for k, v in model.state_dict().items()}
    model.load_state_dict(seeded_state_dict(shapes), strict=True)
    gen = torch.Generator().manual_seed(SEED_DATA)
    clips = torch.randint(0, 256, (geo['videos'], 3, geo['num_frames'], geo['height'],
                                   geo['width']), generator=gen).float()
    boxes, actions = seeded_boxes(geo['videos'], geo['boxes_per_clip'], geo['width'],
                                  geo['height'], geo['used_actions'])
    mean = torch.tensor(AVA_MEAN).view(3, 1, 1, 1)
    std = torch.tensor(AVA_STD).view(3, 1, 1, 1)
    inputs = (clips - mean) / std

    def boxlist(i: int):
        box = BoxList(boxes[i].clone(), (geo['width'], geo['height']), mode='xyxy')
        labels = torch.zeros(len(boxes[i]), geo['num_actions'])
        labels.scatter_(1, actions[i], 1.0)
        box.add_field('labels', labels)
        return box

    batches = [(inputs[i:i + args.batch_size],
                [boxlist(j) for j in range(i, i + args.batch_size)], None)
               for i in range(0, len(inputs), args.batch_size)]
    # the lines of run_class_finetuning.main between the model and the training loop
    total_batch_size = args.batch_size * args.update_freq * utils.get_world_size()
    num_training_steps_per_epoch = len(inputs) // total_batch_size
    args.lr = args.lr * total_batch_size / 256
    args.min_lr = args.min_lr * total_batch_size / 256
    args.warmup_lr = args.warmup_lr * total_batch_size / 256
    num_layers = model.get_num_layers()
    assigner = optim_factory.LayerDecayValueAssigner(
        list(args.layer_decay ** (num_layers + 1 - i) for i in range(num_layers + 2)))
    skip_weight_decay_list = model.no_weight_decay()
    optimizer = optim_factory.create_optimizer(
        args, model, skip_list=skip_weight_decay_list, get_num_layer=assigner.get_layer_id,
        get_layer_scale=assigner.get_scale)
    loss_scaler = script.NativeScaler()
    lr_schedule_values = utils.cosine_scheduler(
        args.lr, args.min_lr, args.epochs, num_training_steps_per_epoch,
        warmup_epochs=args.warmup_epochs, warmup_steps=args.warmup_steps)
    if args.weight_decay_end is None:
        args.weight_decay_end = args.weight_decay
    wd_schedule_values = utils.cosine_scheduler(
        args.weight_decay, args.weight_decay_end, args.epochs, num_training_steps_per_epoch)
    rois = []  # the jittered boxes as the RoIAlign receives them (batch index, x1, y1, x2, y2)
    model.pooler.pooler.register_forward_pre_hook(
        lambda module, inputs: rois.append(inputs[1].clone()))
    groups = [dict(lr_scale=g['lr_scale'], weight_decay=g['weight_decay'],
                   params=sorted(n for n, p in model.named_parameters()
                                 if any(p is q for q in g['params'])))
              for g in optimizer.param_groups]
    recorder = StepRecorder(optimizer)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    torch.manual_seed(SEED_TRAIN)
    for epoch in range(args.start_epoch, args.epochs):
        recorder.set_step(epoch * num_training_steps_per_epoch * args.update_freq)
        train_one_epoch(
            model, batches, optimizer, torch.device('cpu'), epoch, loss_scaler, args.clip_grad,
            None, None, log_writer=recorder, start_steps=epoch * num_training_steps_per_epoch,
            lr_schedule_values=lr_schedule_values, wd_schedule_values=wd_schedule_values,
            num_training_steps_per_epoch=num_training_steps_per_epoch,
            update_freq=args.update_freq, fp16=not args.close_amp)
    untrained = sorted(n for n, p in model.named_parameters() if torch.equal(p, before[n]))
    final = model.state_dict()
    return dict(
        kind='ava', reference_commit=commit, geometry=geo, argv=argv,
        seeds=dict(weights=SEED_WEIGHTS, data=SEED_DATA, boxes=SEED_DATA + 1, train=SEED_TRAIN),
        mean=AVA_MEAN, std=AVA_STD,
        actual_lr=dict(lr=args.lr, min_lr=args.min_lr, warmup_lr=args.warmup_lr),
        iters_per_epoch=num_training_steps_per_epoch, clip_grad=args.clip_grad,
        initial_shapes=shapes, initial_sha256=digest(seeded_state_dict(shapes)),
        data_sha256=digest(dict(clips=clips)), boxes=boxes.tolist(), actions=actions.tolist(),
        param_groups=groups, never_trained=untrained, steps=recorder.steps,
        rois=[r.tolist() for r in rois],
        lr_schedule=lr_schedule_values.tolist(), wd_schedule=wd_schedule_values.tolist(),
        final_sha256=digest(final), final=summary(final))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--reference', required=True, type=Path,
                        help='the reference checkout\'s single_modality folder')
    parser.add_argument('--commit', default='unknown', help='the reference commit, recorded')
    parser.add_argument('--out', type=Path, default=Path('tests/fixtures/reference_trajectories'))
    parser.add_argument('--only', choices=KINDS, default=None)
    args = parser.parse_args()
    reference = args.reference.resolve()
    if not (reference / 'engines' / 'engine_for_pretraining_umt.py').is_file():
        parser.error(f'{reference} is not the reference\'s single_modality folder '
                     '(engines/engine_for_pretraining_umt.py is missing)')
    if args.only is None:  # one process per kind: the AVA code has its own utils, optim_factory
        codes = [subprocess.call([sys.executable, __file__, *sys.argv[1:], '--only', kind])
                 for kind in KINDS]
        sys.exit(max(codes))
    # the reference imports its modules as top-level names (utils, models, engines); the AVA
    # detector's live in action_detection/
    source = reference / 'action_detection' if args.only == 'ava' else reference
    if os.environ.get('PYTHONPATH') != str(source):
        env = dict(os.environ, PYTHONPATH=str(source))
        sys.exit(subprocess.call([sys.executable, __file__, *sys.argv[1:]], env=env))
    install_shims()
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    command = ('python tools/misc/reference_trajectories.py --reference <single_modality> '
               f'--commit {args.commit}')
    runs = dict(finetune=run_finetune, pretrain=run_pretrain, mixup=run_mixup, ava=run_ava)
    record = runs[args.only](args.commit)
    record['command'] = command
    record['torch'] = torch.__version__
    path = args.out / f'{args.only}.json'
    path.write_text(json.dumps(record, indent=None, separators=(',', ':')) + '\n')
    if 'steps' in record:
        print(f'{path}: {len(record["steps"])} steps, final loss {record["steps"][-1]["loss"]}')
    else:
        print(f'{path}: {len(record["cases"])} cases')


if __name__ == '__main__':
    main()
