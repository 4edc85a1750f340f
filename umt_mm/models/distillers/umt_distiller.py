"""The UMT pretraining algorithm: a masked video student aligned to a frozen CLIP teacher."""
from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from mmaction.registry import MODELS
from mmengine.model import BaseModel

from ..backbones.arch_presets import return_indices
from ..layers import sincos_table_1d

TEACHER = 'teacher'
LOSS_TYPES = ('l2', 'mse', 'smooth_l1')

#: The reference's pretraining init (``PretrainVisionTransformerEncoder._init_weights``,
#: applied with ``self.apply``): every Linear Xavier-uniform with zero bias, LayerNorms 1 / 0;
#: the patch-embedding Conv3d keeps PyTorch's default, ``q_bias`` / ``v_bias`` stay zero.
PRETRAIN_STUDENT_INIT = [
    dict(type='Xavier', layer='Linear', distribution='uniform', bias=0.0),
    dict(type='Constant', layer='LayerNorm', val=1.0, bias=0.0)]


@MODELS.register_module()
class UMTDistiller(BaseModel):
    """Unmasked Teacher pretraining (``engines/engine_for_pretraining_umt.py``).

    One step: the frozen teacher sees the whole clip and returns its last ``K`` blocks'
    L2-normalised patch features and the CLS attention of its last block; the mask
    generator keeps a few tokens per frame, drawn by that attention; the student
    (``encoder``) runs on the visible tokens only and returns its last ``K`` blocks
    through its final ``norm``; the 1-D sin-cos table (``clip_pos_embed``) at the visible
    positions is added and per-block alignment heads (``clip_decoder``) map them to the
    teacher's space. The loss (``loss_type='l2'``, the recipes) is ``mean(2 - 2 cos)`` over
    blocks, clips and visible tokens, times ``loss_ratio``; each block's mean ``2 - 2 cos``
    is logged as ``cos_dist_block{i}`` whatever the loss type.

    The student is initialised as the reference's pretraining model (every Linear
    Xavier-uniform with zero bias, LayerNorms 1 / 0, the patch-embedding Conv3d left at
    PyTorch's default; :data:`PRETRAIN_STUDENT_INIT`) unless its config has an
    ``init_cfg``; the finetuning backbone keeps its truncated normal (std 0.02).

    State-dict keys are the official pretraining ones (``encoder.*``, ``encoder.norm.*``,
    ``clip_decoder.{k}.head/norm.*``), so an official UMT pretraining checkpoint converted
    with ``tools/convert_umt_checkpoint.py --kind pretrain --keep-alignment-heads`` continues
    here with ``load_from``, and ``tools/export_pretrained.py`` turns our checkpoints into
    finetuning initialisations. The teacher is never saved: it is rebuilt from its own
    file (its ``init_cfg``), it has no trainable parameter (so it is absent from the
    optimizer) and it stays in eval mode.

    Args:
        encoder (dict): The student, a ``UMTVisionTransformer`` config; it is built with
            ``with_fc_norm=False`` (the reference student's final ``norm``) and, without
            an ``init_cfg`` of its own, with :data:`PRETRAIN_STUDENT_INIT`.
        teacher (dict): The teacher, e.g. ``CLIPVisionTeacher``; called as
            ``teacher(x, make_mask=make_mask) -> (targets (K, B, N_vis, C), cls_attn,
            mask)`` when it has a ``forward_visible`` method, else as
            ``teacher(x) -> (features (K, B, N, C), cls_attn (B*T, H*W))``.
        align_dims (int): Teacher output channels ``C`` (512 for CLIP-B/16, 768 for
            CLIP-L/14).
        num_return_layers (int): ``K``, the student blocks aligned
            (``--clip_return_layer``). Defaults to 6.
        student_return_interval (float): Step between the aligned student blocks: blocks
            ``depth - int(i * interval) - 1`` for ``i < K``
            (``--clip_student_return_interval``). Defaults to 1 (the last ``K`` blocks).
        loss_type (str): ``'l2'``: ``mean(2 - 2 * sum(out * target))``; ``'mse'``:
            ``nn.MSELoss()``; ``'smooth_l1'``: ``nn.SmoothL1Loss()`` (beta 1); both means
            over every element of ``(K, B, N_vis, C)`` (``--clip_loss_type``).
            Defaults to 'l2'.
        loss_ratio (float): Weight of the distillation loss (``--clip_loss_ratio``).
            Defaults to 1.
        mask_generator (dict): A ``UMTMaskGenerator`` config. Defaults to
            ``dict(type='UMTMaskGenerator', mask_type='attention', mask_ratio=0.8)``.
        data_preprocessor (dict | nn.Module, optional): Defaults to
            ``ActionDataPreprocessor`` with the ImageNet mean and std on 0-255 RGB and
            ``NCTHW``.
        init_cfg (dict, optional): Defaults to None.

    Examples:
        >>> cfg = dict(
        ...     type='UMTDistiller', align_dims=32, num_return_layers=2,
        ...     encoder=dict(type='UMTVisionTransformer', img_size=32, num_frames=4,
        ...                  arch=dict(embed_dims=64, depth=3, num_heads=2)),
        ...     teacher=dict(type='CLIPVisionTeacher', input_resolution=32,
        ...                  num_return_layers=2,
        ...                  arch=dict(patch_size=16, width=64, layers=2, heads=2,
        ...                            output_dim=32)))
        >>> model = MODELS.build(cfg)
        >>> losses = model(torch.rand(2, 1, 3, 4, 32, 32), mode='loss')
        >>> sorted(losses)
        ['cos_dist_block1', 'cos_dist_block2', 'loss_distill']
    """

    def __init__(self,
                 encoder: dict,
                 teacher: dict,
                 align_dims: int,
                 num_return_layers: int = 6,
                 student_return_interval: float = 1.0,
                 loss_type: str = 'l2',
                 loss_ratio: float = 1.0,
                 mask_generator: dict | None = None,
                 data_preprocessor: dict | None = None,
                 init_cfg: dict | None = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(
                type='ActionDataPreprocessor', mean=[123.675, 116.28, 103.53],
                std=[58.395, 57.12, 57.375], format_shape='NCTHW')
        if isinstance(data_preprocessor, dict):
            # built from MMAction2's registry whatever the default scope is
            data_preprocessor = MODELS.build(
                dict(dict(type='ActionDataPreprocessor'), **data_preprocessor))
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        encoder = dict(encoder)
        if encoder.get('with_fc_norm', False):
            raise ValueError('the UMT student has no fc_norm (it ends with `norm`); '
                             'drop with_fc_norm from the encoder config')
        encoder['with_fc_norm'] = False
        # the reference's pretraining student (models/modeling_pretrain_umt.py) adds the plain
        # 1-D sin-cos table of its T'*H'*W' tokens, not the finetuning model's table
        # interpolated from 8x14x14 (the two are equal at 8 frames x 224 / 16 only)
        encoder.setdefault('position_table', 'flat')
        if encoder.get('init_cfg') is None:
            encoder['init_cfg'] = [dict(c) for c in PRETRAIN_STUDENT_INIT]
        if loss_type not in LOSS_TYPES:
            raise ValueError(f'loss_type must be one of {LOSS_TYPES}, got {loss_type!r}')
        self.loss_type = loss_type
        self.loss_ratio = float(loss_ratio)
        self.encoder = MODELS.build(encoder)
        self.teacher = MODELS.build(teacher)
        self.mask_generator = MODELS.build(
            mask_generator or dict(type='UMTMaskGenerator', mask_type='attention',
                                   mask_ratio=0.8))
        self.return_layers = return_indices(self.encoder.depth, num_return_layers,
                                            student_return_interval, 'UMTDistiller student')
        self.clip_decoder = MODELS.build(dict(
            type='UMTAlignmentHeads', in_dims=self.encoder.embed_dims, out_dims=align_dims,
            num_layers=num_return_layers))
        self.align_dims = align_dims
        num_tokens = self.encoder.grid[0] * self.encoder.grid[1] * self.encoder.grid[2]
        self.register_buffer('clip_pos_embed',
                             sincos_table_1d(num_tokens, self.encoder.embed_dims),
                             persistent=False)
        self._clip_pos_cache: dict[tuple, torch.Tensor] = {}
        self._register_state_dict_hook(_drop_teacher_keys)
        self._register_load_state_dict_pre_hook(self._keep_own_teacher)

    # ------------------------------------------------------------------ checkpoints
    def _keep_own_teacher(self, state_dict: dict, prefix: str, *args) -> None:
        """Load hook: the teacher always keeps the weights of its own file.

        Checkpoints of this model hold no teacher keys (see :func:`_drop_teacher_keys`);
        any ``teacher.*`` entry in ``state_dict`` is replaced by the current teacher
        tensors so that loading neither reports them missing nor changes the teacher.
        """
        for key, value in self.teacher.state_dict(keep_vars=True).items():
            state_dict[f'{prefix}{TEACHER}.{key}'] = value.detach()

    # ------------------------------------------------------------------ forward
    def forward(self, inputs: torch.Tensor, data_samples: list | None = None,
                mode: str = 'tensor'):
        """Args:
            inputs (torch.Tensor): Normalised clips ``(B, C, T, H, W)`` or
                ``(B, V, C, T, H, W)`` (views are flattened into the batch).
            data_samples (list, optional): Unused (pretraining needs no labels).
                Defaults to None.
            mode (str): ``'loss'`` returns the loss dict; ``'tensor'`` returns
                ``(student_aligned, targets, mask)``. Defaults to 'tensor'.

        Returns:
            dict | tuple: See ``mode``.
        """
        if mode == 'loss':
            return self.loss(inputs)
        if mode == 'tensor':
            return self.distill(inputs)
        raise RuntimeError(f"UMTDistiller supports mode 'loss' and 'tensor', not {mode!r}: "
                           'pretraining has no predictions; export the student with '
                           'tools/export_pretrained.py and finetune it')

    def distill(self, inputs: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Teacher, mask and student of one step.

        Args:
            inputs (torch.Tensor): ``(B, C, T, H, W)`` or ``(B, V, C, T, H, W)``.

        Returns:
            tuple: ``student_aligned (K, B, N_vis, C)``, ``targets (K, B, N_vis, C)``
            (teacher features at the visible tokens) and the mask ``(B, N)``
            (True = masked).
        """
        if inputs.ndim == 6:
            inputs = inputs.flatten(0, 1)
        grid = (inputs.shape[2] // self.encoder.tubelet_size,
                inputs.shape[3] // self.encoder.patch_size,
                inputs.shape[4] // self.encoder.patch_size)
        with torch.no_grad():
            if hasattr(self.teacher, 'forward_visible'):
                targets, mask = self.teacher_targets(inputs, grid)
            else:
                targets, mask = self.teacher_targets_full(inputs, grid)
        return self.student(inputs, mask)[1], targets, mask

    def _check_targets(self, shape: tuple, batch: int, tokens: int) -> None:
        expected = (len(self.return_layers), batch, tokens, self.align_dims)
        if tuple(shape) != expected:
            raise ValueError(
                f'teacher features of shape {tuple(shape)} do not match the student: '
                f'expected {expected} (returned blocks, clips, tokens, align_dims). '
                "Check the teacher's num_return_layers / output dims and that its "
                'input_resolution / patch size give the same grid as the student')

    def teacher_targets(self, inputs: torch.Tensor, grid: tuple[int, int, int]
                        ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mask and teacher targets, computed at the visible tokens only.

        The teacher's ``forward_visible`` draws the mask from its last block's CLS
        attention in the middle of that block and finishes the block (and ``ln_post``,
        ``proj``) on the visible tokens only; the result equals
        :meth:`teacher_targets_full`, the reference's order of work.

        Args:
            inputs (torch.Tensor): ``(B, C, T, H, W)``.
            grid (tuple[int, int, int]): The student's token grid.

        Returns:
            tuple: ``targets (K, B, N_vis, C)`` and the mask ``(B, N)`` (True = masked).
        """
        batch = inputs.shape[0]

        def make_mask(cls_attn: torch.Tensor) -> torch.Tensor:
            return self.mask_generator(grid, batch, cls_attn=cls_attn, device=inputs.device)

        # the call (not .forward_visible), so that a wrapped teacher gathers its weights
        targets, _, mask = self.teacher(inputs, make_mask=make_mask)
        self._check_targets(targets.shape, batch, int((~mask[0]).sum()))
        return targets, mask

    def teacher_targets_full(self, inputs: torch.Tensor, grid: tuple[int, int, int]
                             ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mask and teacher targets as the reference computes them: the teacher's
        features at every token (``teacher(x) -> (features, cls_attn)``), then the ones
        at the visible tokens. Used for teachers without ``forward_visible``.

        Args:
            inputs (torch.Tensor): ``(B, C, T, H, W)``.
            grid (tuple[int, int, int]): The student's token grid.

        Returns:
            tuple: ``targets (K, B, N_vis, C)`` and the mask ``(B, N)`` (True = masked).
        """
        batch = inputs.shape[0]
        features, cls_attn = self.teacher(inputs)
        mask = self.mask_generator(grid, batch, cls_attn=cls_attn, device=inputs.device)
        self._check_targets(features.shape, batch, grid[0] * grid[1] * grid[2])
        num_layers = len(self.return_layers)
        targets = features[:, ~mask].reshape(num_layers, batch, -1, self.align_dims)
        return targets, mask

    def student(self, inputs: torch.Tensor, mask: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """The student on the visible tokens.

        Args:
            inputs (torch.Tensor): ``(B, C, T, H, W)``.
            mask (torch.Tensor): Bool ``(B, N)``, True = masked.

        Returns:
            tuple: The returned blocks after the final norm ``(K, B, N_vis, D)`` and the
            aligned outputs ``(K, B, N_vis, C)``.
        """
        batch = inputs.shape[0]
        returned = self.encoder.forward_masked(inputs, mask, self.return_layers)
        normed = self.encoder.norm(returned)
        pos = self.clip_pos_embed
        if pos.shape[1] != mask.shape[1]:  # another input size: built once per length
            key = (mask.shape[1], pos.device)
            if key not in self._clip_pos_cache:
                self._clip_pos_cache[key] = sincos_table_1d(mask.shape[1],
                                                            pos.shape[-1]).to(pos.device)
            pos = self._clip_pos_cache[key]
        pos = pos.expand(batch, -1, -1)[~mask].reshape(batch, -1, pos.shape[-1])
        aligned = self.clip_decoder(normed + pos.type_as(normed).unsqueeze(0))
        return normed, aligned

    @staticmethod
    def cosine_distance(aligned: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """``2 - 2 cos`` per token: ``(K, B, N_vis)`` from unit vectors ``(K, B, N_vis, C)``."""
        return 2 - 2 * (aligned.float() * targets.float()).sum(dim=-1)

    def distill_loss(self, aligned: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """The reference's ``loss_clip`` of ``loss_type`` (before ``loss_ratio``).

        Args:
            aligned (torch.Tensor): Student outputs ``(K, B, N_vis, C)``.
            targets (torch.Tensor): Teacher targets ``(K, B, N_vis, C)``.

        Returns:
            torch.Tensor: A scalar, float32.
        """
        if self.loss_type == 'l2':
            return self.cosine_distance(aligned, targets).mean()
        if self.loss_type == 'mse':
            return F.mse_loss(aligned.float(), targets.float())
        return F.smooth_l1_loss(aligned.float(), targets.float(), beta=1.0)

    def loss(self, inputs: torch.Tensor, data_samples: list | None = None
             ) -> dict[str, torch.Tensor]:
        """The distillation loss and its per-block parts.

        Args:
            inputs (torch.Tensor): Normalised clips.
            data_samples (list, optional): Unused. Defaults to None.

        Returns:
            dict: ``loss_distill`` (``loss_ratio`` times the ``loss_type`` loss over
            blocks, clips and visible tokens) and ``cos_dist_block{i}`` (detached, for the
            log) for each aligned block ``i``.
        """
        aligned, targets, _ = self.distill(inputs)
        distance = self.cosine_distance(aligned, targets)
        loss = distance.mean() if self.loss_type == 'l2' else self.distill_loss(aligned, targets)
        losses = OrderedDict(loss_distill=self.loss_ratio * loss)
        for block, per_block in zip(self.return_layers, distance.detach().mean(dim=(1, 2))):
            losses[f'cos_dist_block{block}'] = per_block
        return losses


def _drop_teacher_keys(module: UMTDistiller, state_dict: dict, prefix: str,
                       local_metadata: dict) -> None:
    """State-dict hook: leave the frozen teacher out of every saved checkpoint."""
    for key in [k for k in state_dict if k.startswith(f'{prefix}{TEACHER}.')]:
        del state_dict[key]
