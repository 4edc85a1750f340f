"""The frozen CLIP visual encoder that teaches the UMT student (spec §2)."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmaction.registry import MODELS
from mmengine.logging import MMLogger
from mmengine.model import BaseModule, PretrainedInit, initialize
from torch import Tensor

from ...converters.clip_checkpoint import (
    infer_clip_arch,
    load_clip_visual_state_dict,
    read_hf_clip_config,
    resize_clip_positional_embedding,
)
from .arch_presets import resolve_arch, return_indices

#: The reference's teachers (``models/clip.py``): ``clip_b16``, ``clip_l14`` and
#: ``clip_l14_336``. ``resolution`` is the side the OpenAI weights were trained at: the
#: default ``input_resolution`` and the grid a checkpoint's positional table must have
#: (B/16: 14x14 + CLS = 197 rows, L/14: 16x16 + CLS = 257, L/14@336px: 24x24 + CLS = 577).
ARCH_PRESETS = {
    'b16': dict(patch_size=16, width=768, layers=12, heads=12, output_dim=512, resolution=224),
    'l14': dict(patch_size=14, width=1024, layers=24, heads=16, output_dim=768,
                resolution=224),
    'l14_336': dict(patch_size=14, width=1024, layers=24, heads=16, output_dim=768,
                    resolution=336),
}
_AUTOCAST_DTYPES = {'bfloat16': torch.bfloat16, 'float16': torch.float16}


class CLIPLayerNorm(nn.LayerNorm):
    """LayerNorm computed in fp32 and cast back to the input dtype (CLIP's subclass)."""

    def forward(self, x: Tensor) -> Tensor:
        out = F.layer_norm(x.float(), self.normalized_shape, self.weight.float(),
                           self.bias.float(), self.eps)
        return out.to(x.dtype)


class CLIPAttention(nn.Module):
    """Multi-head self-attention with ``nn.MultiheadAttention``'s parameter names.

    ``in_proj_weight`` / ``in_proj_bias`` hold q, k and v stacked, ``out_proj`` is the
    output Linear. Attention runs through
    :func:`torch.nn.functional.scaled_dot_product_attention`; with ``return_cls_attn``
    the head-averaged softmax row of the CLS query over all keys is computed as well,
    explicitly and for that one row only.

    Args:
        width (int): Channels.
        heads (int): Heads.
    """

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        if width % heads:
            raise ValueError(f'width {width} is not divisible by heads {heads}')
        self.heads = heads
        self.head_dims = width // heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * width, width))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * width))
        self.out_proj = nn.Linear(width, width)

    def forward(self, x: Tensor, return_cls_attn: bool = False
                ) -> tuple[Tensor, Tensor | None]:
        """Args:
            x (Tensor): Tokens ``(N, L, W)``, CLS first.
            return_cls_attn (bool): Also return the CLS row of the attention.
                Defaults to False.

        Returns:
            tuple: ``(N, L, W)`` output and, when asked, ``(N, L)`` fp32 head-averaged
            attention of the CLS query (else None).
        """
        batch, length, width = x.shape
        qkv = F.linear(x, self.in_proj_weight, self.in_proj_bias)
        q, k, v = qkv.reshape(batch, length, 3, self.heads, self.head_dims).permute(
            2, 0, 3, 1, 4).unbind(0)
        cls_attn = self.cls_attention(q[:, :, :1], k) if return_cls_attn else None
        out = self.attend(q, k, v)
        out = out.transpose(1, 2).reshape(batch, length, width)
        return self.out_proj(out), cls_attn

    @staticmethod
    def attend(q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        """Softmax attention ``(N, heads, L, d)`` through the fused kernel."""
        return F.scaled_dot_product_attention(q, k, v)

    def cls_attention(self, q_cls: Tensor, k: Tensor) -> Tensor:
        """Head-averaged fp32 softmax row of the CLS query ``(N, heads, 1, d)`` over the
        keys ``(N, heads, L, d)``: ``(N, L)``, computed explicitly for that row only."""
        logits = (q_cls * self.head_dims ** -0.5) @ k.transpose(-2, -1)
        return logits.float().softmax(dim=-1).mean(dim=1)[:, 0]

    def cls_keys_values(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Keys, values and the CLS attention row, without the other queries.

        Args:
            x (Tensor): Normalised tokens ``(N, L, W)``, CLS first.

        Returns:
            tuple: ``k`` and ``v`` ``(N, heads, L, d)`` and the ``(N, L)`` fp32
            head-averaged softmax attention of the CLS query over all keys (the same
            numbers as :meth:`forward` with ``return_cls_attn``).
        """
        batch, length, width = x.shape
        q = F.linear(x[:, 0], self.in_proj_weight[:width], self.in_proj_bias[:width])
        kv = F.linear(x, self.in_proj_weight[width:], self.in_proj_bias[width:])
        k, v = kv.reshape(batch, length, 2, self.heads, self.head_dims).permute(
            2, 0, 3, 1, 4).unbind(0)
        q = q.reshape(batch, 1, self.heads, self.head_dims).transpose(1, 2)
        return k, v, self.cls_attention(q, k)

    def attend_queries(self, x: Tensor, k: Tensor, v: Tensor) -> Tensor:
        """Attention output for some queries over given keys and values.

        Args:
            x (Tensor): Normalised query tokens ``(N, n, W)``.
            k (Tensor): Keys ``(N, heads, L, d)`` (from :meth:`cls_keys_values`).
            v (Tensor): Values ``(N, heads, L, d)``.

        Returns:
            Tensor: ``(N, n, W)`` after ``out_proj``: the rows of :meth:`forward`'s output
            at those queries.
        """
        batch, length, width = x.shape
        q = F.linear(x, self.in_proj_weight[:width], self.in_proj_bias[:width])
        q = q.reshape(batch, length, self.heads, self.head_dims).transpose(1, 2)
        out = self.attend(q, k, v).transpose(1, 2).reshape(batch, length, width)
        return self.out_proj(out)


class CLIPMLP(nn.Module):
    """``c_fc`` -> QuickGELU ``x * sigmoid(1.702 x)`` -> ``c_proj``.

    Args:
        width (int): Channels.
        hidden (int): Hidden channels (``4 * width`` in CLIP).
    """

    def __init__(self, width: int, hidden: int) -> None:
        super().__init__()
        self.c_fc = nn.Linear(width, hidden)
        self.c_proj = nn.Linear(hidden, width)

    def forward(self, x: Tensor) -> Tensor:
        x = self.c_fc(x)
        if x.requires_grad:
            return self.c_proj(x * torch.sigmoid(1.702 * x))
        # the frozen teacher: the same numbers with one hidden-size buffer instead of three
        return self.c_proj(x.mul_((x * 1.702).sigmoid_()))


class CLIPResidualBlock(nn.Module):
    """CLIP's ``ResidualAttentionBlock``: pre-norm attention and MLP (LayerNorm eps 1e-5).

    Args:
        width (int): Channels.
        heads (int): Heads.
    """

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.attn = CLIPAttention(width, heads)
        self.ln_1 = CLIPLayerNorm(width, eps=1e-5)
        self.mlp = CLIPMLP(width, 4 * width)
        self.ln_2 = CLIPLayerNorm(width, eps=1e-5)

    def forward(self, x: Tensor, return_cls_attn: bool = False,
                select_visible: Callable[[Tensor], Tensor] | None = None
                ) -> tuple[Tensor, Tensor | None]:
        """Args:
            x (Tensor): Tokens ``(N, L, W)``, CLS first.
            return_cls_attn (bool): Also return the CLS row of the attention.
                Defaults to False.
            select_visible (Callable[[Tensor], Tensor], optional): Compute only the
                outputs of some tokens: called with the ``(N, L)`` fp32 CLS attention row,
                it returns a bool ``(N, L - 1)`` of the patch tokens to keep (True =
                keep). Defaults to None (every token).

        Returns:
            tuple: ``(N, L, W)`` tokens (or, with ``select_visible``, the kept patch
            tokens ``(M, W)`` in row-major order) and the ``(N, L)`` CLS attention (None
            unless asked for or ``select_visible`` is given).
        """
        if select_visible is not None:
            return self._forward_selected(x, select_visible)
        out, cls_attn = self.attn(self.ln_1(x), return_cls_attn)
        x = x + out
        x = x + self.mlp(self.ln_2(x))
        return x, cls_attn

    def _forward_selected(self, x: Tensor, select_visible: Callable[[Tensor], Tensor]
                          ) -> tuple[Tensor, Tensor]:
        """The block for the kept tokens only: keys and values of every token, the CLS
        query (whose attention chooses the tokens), then the queries, ``out_proj`` and
        MLP of the kept tokens."""
        normed = self.ln_1(x)
        k, v, cls_attn = self.attn.cls_keys_values(normed)
        visible = select_visible(cls_attn)
        counts = visible.sum(dim=1)
        if bool((counts == counts[0]).all()):  # the same count per frame (attention/tube)
            rows, num, width = x.shape[0], int(counts[0]), x.shape[2]
            out = x[:, 1:][visible].reshape(rows, num, width)
            out = out + self.attn.attend_queries(
                normed[:, 1:][visible].reshape(rows, num, width), k, v)
            return (out + self.mlp(self.ln_2(out))).flatten(0, 1), cls_attn
        # frames keep different numbers of tokens (random masks): every query
        out = x + self.attn.attend_queries(normed, k, v)
        return (out + self.mlp(self.ln_2(out)))[:, 1:][visible], cls_attn


class CLIPTransformer(nn.Module):
    """The stack of residual blocks (``transformer.resblocks.{i}``)."""

    def __init__(self, width: int, layers: int, heads: int) -> None:
        super().__init__()
        self.resblocks = nn.ModuleList([CLIPResidualBlock(width, heads) for _ in range(layers)])


@MODELS.register_module()
class CLIPVisionTeacher(BaseModule):
    """Frozen CLIP visual encoder, the teacher of UMT pretraining.

    Frames are encoded independently (a CLS token per frame), exactly as the reference's
    ``models/clip.py``: ``conv1`` (``[W, 3, 1, p, p]``, no bias) -> prepend
    ``class_embedding`` -> ``+ positional_embedding`` -> ``ln_pre`` -> residual blocks
    (QuickGELU, LayerNorm eps 1e-5 in fp32). The returned blocks' (``return_layers``: the
    last ``num_return_layers``, or every ``return_interval``-th from the last) patch tokens
    go through the shared ``ln_post``, ``@ proj`` and L2 normalisation; the
    last block also gives the head-averaged attention of its CLS query over the patches
    (the semantic mask's weights). Parameter names are the reference's, so its extracted
    files load as they are; OpenAI, Hugging Face and TorchScript files load through
    :func:`umt_mm.converters.load_clip_visual_state_dict` (format detected from the file).

    The teacher has no trainable state: every parameter has ``requires_grad=False``,
    ``train()`` always leaves it in eval mode and the forward runs under ``no_grad``.

    Args:
        arch (str | dict): ``'b16'`` (patch 16, width 768, 12 layers, 12 heads, out 512;
            OpenAI ViT-B/16), ``'l14'`` (patch 14, width 1024, 24 layers, 16 heads, out 768;
            OpenAI ViT-L/14), ``'l14_336'`` (the same network, OpenAI ViT-L/14@336px: the
            reference's ``clip_l14_336``, 577 positions) or a dict with ``patch_size``,
            ``width``, ``layers``, ``output_dim`` and optionally ``heads`` (default
            ``width // 64``). A preset checks that a checkpoint's positional table is the
            one of its weights (14x14, 16x16 or 24x24 patches) or one already resized to
            ``input_resolution`` (as ``tools/convert_clip_checkpoint.py`` writes it).
            Defaults to 'b16'.
        input_resolution (int, optional): Side the clip is encoded at (196 for L/14 in UMT);
            clips of another size are bicubically resized to it (``F.interpolate`` on
            ``[B, C*T, H, W]``, ``align_corners=False``) and the checkpoint's positional
            table is resized to its grid. Defaults to None: the preset's resolution (224,
            336 for ``'l14_336'``; 224 for a dict).
        num_return_layers (int): ``K``, the number of blocks returned (ascending block
            order; ``--clip_return_layer``). Defaults to 6.
        return_interval (float): Step between the returned blocks: blocks
            ``layers - int(i * return_interval) - 1`` for ``i < K``
            (``--clip_return_interval``). Defaults to 1 (the last ``K`` blocks).
        autocast_dtype (str, optional): ``'bfloat16'`` or ``'float16'`` runs the forward
            under autocast of the input's device type; None runs fp32. Outputs are fp32
            either way. Defaults to None.
        init_cfg (dict, optional): ``dict(type='Pretrained', checkpoint=PATH)`` loads any
            supported CLIP checkpoint (format detected from the file, positional table
            resized to the input resolution). Without it the weights are CLIP's random
            initialisation. Defaults to None.

    Examples:
        >>> import torch
        >>> from mmaction.registry import MODELS
        >>> import umt_mm  # noqa
        >>> teacher = MODELS.build(dict(
        ...     type='CLIPVisionTeacher', input_resolution=64, num_return_layers=2,
        ...     arch=dict(patch_size=16, width=64, layers=3, output_dim=32)))
        >>> features, cls_attn = teacher(torch.rand(2, 3, 4, 64, 64))
        >>> features.shape, cls_attn.shape
        (torch.Size([2, 2, 64, 32]), torch.Size([8, 16]))
    """

    def __init__(self,
                 arch: str | dict = 'b16',
                 input_resolution: int | None = None,
                 num_return_layers: int = 6,
                 return_interval: float = 1.0,
                 autocast_dtype: str | None = None,
                 init_cfg: dict | None = None) -> None:
        super().__init__(init_cfg=init_cfg)
        arch_name = arch if isinstance(arch, str) else None
        arch = resolve_arch('CLIPVisionTeacher', arch, ARCH_PRESETS,
                            ('patch_size', 'width', 'layers', 'output_dim'))
        self.patch_size = int(arch['patch_size'])
        self.width = int(arch['width'])
        self.layers = int(arch['layers'])
        self.heads = int(arch.get('heads') or max(self.width // 64, 1))
        self.output_dim = int(arch['output_dim'])
        self.arch_name = arch_name
        self.weights_resolution = (int(ARCH_PRESETS[arch_name]['resolution'])
                                   if arch_name else None)
        if input_resolution is None:
            input_resolution = self.weights_resolution or 224
        if input_resolution % self.patch_size:
            raise ValueError(f'input_resolution {input_resolution} is not a multiple of the '
                             f'patch size {self.patch_size}')
        if not 1 <= num_return_layers <= self.layers:
            raise ValueError(f'num_return_layers must be in [1, {self.layers}], '
                             f'got {num_return_layers}')
        if autocast_dtype is not None and autocast_dtype not in _AUTOCAST_DTYPES:
            raise ValueError(f'autocast_dtype must be None or one of '
                             f'{sorted(_AUTOCAST_DTYPES)}, got {autocast_dtype!r}')
        self.input_resolution = int(input_resolution)
        self.grid = self.input_resolution // self.patch_size
        self.num_return_layers = int(num_return_layers)
        self.return_interval = float(return_interval)
        self.return_layers = return_indices(self.layers, self.num_return_layers,
                                            self.return_interval, 'CLIPVisionTeacher')
        self.autocast_dtype = autocast_dtype

        width = self.width
        scale = width ** -0.5
        self.conv1 = nn.Conv3d(3, width, kernel_size=(1, self.patch_size, self.patch_size),
                               stride=(1, self.patch_size, self.patch_size), bias=False)
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(scale * torch.randn(self.grid ** 2 + 1, width))
        self.ln_pre = CLIPLayerNorm(width, eps=1e-5)
        self.transformer = CLIPTransformer(width, self.layers, self.heads)
        self.ln_post = CLIPLayerNorm(width, eps=1e-5)
        self.proj = nn.Parameter(scale * torch.randn(width, self.output_dim))
        self._init_random()
        self._freeze()
        super().train(False)

    # ------------------------------------------------------------------ frozen state
    def _init_random(self) -> None:
        """CLIP's ``initialize_parameters`` for the visual tower (used without a checkpoint)."""
        attn_std = self.width ** -0.5
        proj_std = attn_std * (2 * self.layers) ** -0.5
        fc_std = (2 * self.width) ** -0.5
        for block in self.transformer.resblocks:
            nn.init.normal_(block.attn.in_proj_weight, std=attn_std)
            nn.init.normal_(block.attn.out_proj.weight, std=proj_std)
            nn.init.zeros_(block.attn.out_proj.bias)
            nn.init.normal_(block.mlp.c_fc.weight, std=fc_std)
            nn.init.normal_(block.mlp.c_proj.weight, std=proj_std)

    def _freeze(self) -> None:
        for param in self.parameters():
            param.requires_grad_(False)

    def train(self, mode: bool = True) -> CLIPVisionTeacher:
        """The teacher stays in eval mode whatever ``mode`` is."""
        return super().train(False)

    def init_weights(self) -> None:
        """Load ``init_cfg``'s checkpoint (any supported format); keep everything frozen.

        A ``Pretrained`` entry is read by :meth:`load_checkpoint` (not by MMEngine's
        ``PretrainedInit``, which knows none of the CLIP formats); other entries of a list
        are applied first, as MMEngine does.
        """
        if self._is_init:
            self._freeze()
            return
        cfgs = self.init_cfg if isinstance(self.init_cfg, list) else (
            [self.init_cfg] if self.init_cfg else [])
        pretrained = [c for c in cfgs if c.get('type') in ('Pretrained', PretrainedInit)]
        others = [c for c in cfgs if c not in pretrained]
        if len(pretrained) > 1:
            raise ValueError('CLIPVisionTeacher init_cfg has more than one Pretrained entry')
        if others:
            initialize(self, others)
        if pretrained:
            if 'checkpoint' not in pretrained[0]:
                raise ValueError("CLIPVisionTeacher init_cfg type='Pretrained' needs "
                                 "'checkpoint'")
            self.load_checkpoint(pretrained[0]['checkpoint'])
        self._is_init = True
        self._freeze()
        super().train(False)

    def load_checkpoint(self, path: str | Path, trusted: bool = False) -> str:
        """Load CLIP visual weights from any supported file, strictly.

        The positional table is resized bicubically (CLS kept) when the checkpoint's grid
        differs from ``input_resolution // patch_size`` (OpenAI L/14 at 196: 16x16 -> 14x14).

        Args:
            path (str | Path): The checkpoint (see
                :func:`umt_mm.converters.load_clip_visual_state_dict`).
            trusted (bool): Allow arbitrary pickled objects in torch files. Defaults to False.

        Returns:
            str: The detected format.

        Raises:
            ValueError: If the checkpoint's architecture is not this teacher's, or keys are
                missing / unexpected / mis-shaped.
        """
        state, fmt = load_clip_visual_state_dict(path, trusted=trusted)
        state = self.adapt_state_dict(state, source=str(path))
        if fmt.startswith('huggingface'):
            hf_cfg = read_hf_clip_config(path)
            if hf_cfg is not None and hf_cfg['heads'] != self.heads:
                raise ValueError(f"{path}: {hf_cfg['file']} has {hf_cfg['heads']} attention "
                                 f'heads, the teacher {self.heads}; set heads in the arch dict')
        self.load_state_dict(state, strict=True)
        self._freeze()
        MMLogger.get_current_instance().info(
            f'CLIPVisionTeacher: loaded {path} ({fmt}), {len(state)} tensors')
        return fmt

    def adapt_state_dict(self, state: dict, source: str = '<state dict>',
                         strict: bool = True) -> dict:
        """Check a teacher-layout state dict against this teacher and resize its table.

        Args:
            state (dict): From :func:`umt_mm.converters.load_clip_visual_state_dict`.
            source (str): Where it came from, for errors. Defaults to '<state dict>'.
            strict (bool): Also raise on missing / unexpected / mis-shaped keys (else
                only on an architecture mismatch). Defaults to True.

        Returns:
            dict: The state dict with the positional table at this teacher's grid.

        Raises:
            ValueError: On an architecture mismatch or any missing / unexpected /
                mis-shaped key.
        """
        arch = infer_clip_arch(state)
        ours = dict(patch_size=self.patch_size, width=self.width, layers=self.layers,
                    output_dim=self.output_dim)
        diff = {k: (arch[k], v) for k, v in ours.items() if arch[k] != v}
        if diff:
            found = ', '.join(f'{k} {a}' for k, (a, _) in diff.items())
            wanted = ', '.join(f'{k} {b}' for k, (_, b) in diff.items())
            raise ValueError(f'{source}: the checkpoint is a CLIP with {found}, but the '
                             f'teacher is configured with {wanted} (arch of the checkpoint: '
                             f'{arch})')
        if self.weights_resolution is not None:
            grid = self.weights_resolution // self.patch_size
            # the preset's own table, or one already resized to this teacher's grid (what
            # tools/convert_clip_checkpoint.py --input-resolution writes, e.g. L/14 at 196:
            # 14x14 + CLS)
            if arch['grid'] not in (grid, self.grid):
                others = [n for n, p in ARCH_PRESETS.items() if n != self.arch_name and
                          p['patch_size'] == self.patch_size and p['width'] == self.width and
                          p['resolution'] // self.patch_size == arch['grid']]
                hint = (f"arch='{others[0]}'" if others else
                        'an arch dict (no check of the table)')
                raise ValueError(
                    f"{source}: the checkpoint's positional table has {arch['grid'] ** 2 + 1} "
                    f"rows ({arch['grid']}x{arch['grid']} patches + CLS), but arch="
                    f"'{self.arch_name}' is the CLIP trained at {self.weights_resolution} px "
                    f'({grid}x{grid} + CLS = {grid * grid + 1} rows; a table converted for '
                    f'input_resolution={self.input_resolution} has {self.grid}x{self.grid} + '
                    f'CLS = {self.grid ** 2 + 1}): another checkpoint? Use {hint}')
        state = dict(state)
        state['positional_embedding'] = resize_clip_positional_embedding(
            state['positional_embedding'], self.grid)
        if not strict:
            return state
        own = self.state_dict()
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        mismatched = [f'{k}: checkpoint {list(state[k].shape)} vs teacher {list(own[k].shape)}'
                      for k in sorted(set(own) & set(state)) if state[k].shape != own[k].shape]
        if missing or unexpected or mismatched:
            raise ValueError(f'{source}: does not match the teacher: missing {missing}, '
                             f'unexpected {unexpected}, mis-shaped {mismatched}')
        return state

    # ------------------------------------------------------------------ forward
    def _resize_input(self, x: Tensor) -> Tensor:
        batch, channels, frames, height, width = x.shape
        if height == width == self.input_resolution:
            return x
        x = F.interpolate(x.reshape(batch, channels * frames, height, width),
                          size=(self.input_resolution, self.input_resolution),
                          mode='bicubic', align_corners=False)
        return x.reshape(batch, channels, frames, self.input_resolution, self.input_resolution)

    def _project(self, tokens: Tensor, batch: int) -> Tensor:
        """Patch tokens ``(B*T, HW, W)`` (or the visible ones, ``(B*N, W)``) -> ``(B, N, C)``
        through ``ln_post``, ``proj`` and L2 normalisation."""
        x = self.ln_post(tokens) @ self.proj.to(tokens.dtype)
        x = x.float().reshape(batch, -1, self.output_dim)
        return x / x.norm(dim=-1, keepdim=True)

    def _embed(self, x: Tensor) -> tuple[Tensor, int, int]:
        """Clip ``(B, 3, T, H, W)`` -> tokens ``(B*T, 1 + HW, W)`` after ``ln_pre``."""
        x = self._resize_input(x)
        batch, _, frames = x.shape[:3]
        frames_2d = x.transpose(1, 2).flatten(0, 1)  # (B*T, 3, H, W), frame-major per sample
        tokens = F.conv2d(frames_2d, self.conv1.weight[:, :, 0].to(frames_2d.dtype),
                          stride=self.patch_size)
        tokens = tokens.flatten(2).transpose(1, 2)  # (B*T, HW, W), (h, w) order
        cls = self.class_embedding.to(tokens.dtype).expand(tokens.shape[0], 1, -1)
        x = torch.cat((cls, tokens), dim=1) + self.positional_embedding.to(tokens.dtype)
        return self.ln_pre(x), batch, frames

    def _forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        x, batch, _ = self._embed(x)
        returned = set(self.return_layers)
        features, cls_attn = [], None
        for index, block in enumerate(self.transformer.resblocks):
            last = index == self.layers - 1
            x, attn = block(x, return_cls_attn=last)
            if last:
                cls_attn = attn
            if index in returned:
                features.append(self._project(x[:, 1:], batch))
        return torch.stack(features), cls_attn[:, 1:].float()

    def _forward_visible(self, x: Tensor, make_mask: Callable[[Tensor], Tensor]
                         ) -> tuple[Tensor, Tensor, Tensor]:
        x, batch, frames = self._embed(x)
        returned = set(self.return_layers)  # always holds the last block
        hidden = []
        for index, block in enumerate(self.transformer.resblocks[:-1]):
            x, _ = block(x)
            if index in returned:
                hidden.append(x[:, 1:])
        per_frame = self.num_patches
        drawn = {}

        def select_visible(cls_attn: Tensor) -> Tensor:
            cls_attn = cls_attn[:, 1:].float()
            mask = make_mask(cls_attn)
            if mask.dtype != torch.bool or tuple(mask.shape) != (batch, frames * per_frame):
                raise ValueError(
                    f'the mask must be bool (B, T*H*W) = {(batch, frames * per_frame)} for '
                    f"the teacher's grid ({frames} frames x {self.grid}x{self.grid} patches), "
                    f"got {mask.dtype} {tuple(mask.shape)}: the teacher's input_resolution / "
                    'patch size must give the same grid as the student')
            drawn.update(cls_attn=cls_attn, mask=mask,
                         visible=~mask.reshape(batch * frames, per_frame))
            return drawn['visible']

        # through the block's forward (not its parts), so that wrappers such as FSDP units
        # gather its parameters
        last, _ = self.transformer.resblocks[-1](x, select_visible=select_visible)
        selected = [tokens[drawn['visible']] for tokens in hidden] + [last]
        targets = torch.stack([self._project(tokens, batch) for tokens in selected])
        return targets, drawn['cls_attn'], drawn['mask']

    @torch.no_grad()
    def forward(self, x: Tensor, make_mask: Callable[[Tensor], Tensor] | None = None
                ) -> tuple[Tensor, ...]:
        """Teacher targets and CLS attention of a clip.

        Args:
            x (Tensor): ``(B, 3, T, H, W)``, ImageNet-normalised (the student's input).
            make_mask (Callable[[Tensor], Tensor], optional): Draw the mask in the middle
                of the last block and compute the targets at the visible tokens only;
                see :meth:`forward_visible`. Defaults to None (every token).

        Returns:
            tuple: Without ``make_mask``: ``features`` ``(K, B, T*h*w, output_dim)`` fp32,
            each returned block's patch tokens through ``ln_post``, ``proj`` and L2
            normalisation, token order (t, h, w); and ``cls_attn`` ``(B*T, h*w)`` fp32,
            the head-averaged softmax attention of the last block's CLS query over all
            ``1 + h*w`` keys, patch columns only (rows sum to < 1). With ``make_mask``:
            ``(targets, cls_attn, mask)`` as :meth:`forward_visible` returns them.
        """
        if x.dim() != 5 or x.shape[1] != 3:
            raise ValueError(f'CLIPVisionTeacher expects (B, 3, T, H, W), got {tuple(x.shape)}')
        if make_mask is None:
            run = self._forward
        else:
            def run(clip: Tensor) -> tuple[Tensor, ...]:
                return self._forward_visible(clip, make_mask)
        if self.autocast_dtype is None:
            return run(x)
        with torch.autocast(device_type=x.device.type,
                            dtype=_AUTOCAST_DTYPES[self.autocast_dtype]):
            return run(x)

    def forward_visible(self, x: Tensor, make_mask: Callable[[Tensor], Tensor]
                        ) -> tuple[Tensor, Tensor, Tensor]:
        """Teacher targets at the visible tokens only, the mask drawn mid-forward.

        Equal to ``features[:, ~mask]`` of :meth:`forward` (the reference computes every
        token and then gathers), without computing what the loss never reads: the last
        block's outputs at masked tokens and ``ln_post``/``proj`` of masked tokens. The
        blocks before the last one run on every token (the CLS attention that draws the
        mask depends on all of them); the last block computes keys and values of every
        token, the CLS query (the mask's weights), then the queries, ``out_proj`` and
        MLP of the visible tokens only. With 40 of 196 tokens visible per frame this
        saves about 2/3 of the last block and 4/5 of the projections.

        Args:
            x (Tensor): ``(B, 3, T, H, W)``, ImageNet-normalised.
            make_mask (Callable[[Tensor], Tensor]): Called once with ``cls_attn``
                ``(B*T, h*w)`` (as :meth:`forward` returns it); returns the bool mask
                ``(B, T*h*w)``, True = masked, with the same number of visible tokens in
                every clip.

        Returns:
            tuple[Tensor, Tensor, Tensor]: ``targets`` ``(K, B, N_vis, output_dim)`` fp32
            (visible tokens in (t, h, w) order), ``cls_attn`` and the mask.

        ``teacher(x, make_mask=make_mask)`` is the same call; use that form when the
        teacher may be wrapped (e.g. by an FSDP unit), since wrappers act on ``__call__``.
        """
        return self(x, make_mask=make_mask)

    @property
    def num_patches(self) -> int:
        """Patches per frame at ``input_resolution``."""
        return self.grid * self.grid

    def extra_repr(self) -> str:
        return (f'patch={self.patch_size}, width={self.width}, layers={self.layers}, '
                f'heads={self.heads}, output_dim={self.output_dim}, '
                f'input_resolution={self.input_resolution}, blocks={self.return_layers}, '
                f'autocast={self.autocast_dtype}')
