"""The UMT video ViT (student of Unmasked Teacher, and the finetuned classifier backbone)."""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmaction.registry import MODELS
from mmengine.model import BaseModule

from ..layers import UMTBlock, sincos_table_1d, umt_position_table
from .arch_presets import resolve_arch

ARCH_PRESETS = {
    'base': dict(embed_dims=768, depth=12, num_heads=12, mlp_ratio=4.0),
    'large': dict(embed_dims=1024, depth=24, num_heads=16, mlp_ratio=4.0),
}


class UMTPatchEmbed(nn.Module):
    """Tubelet embedding: ``Conv3d(kernel=stride=(tubelet, p, p))`` then tokens in (t, h, w) order.

    Args:
        in_channels (int): Input channels. Defaults to 3.
        embed_dims (int): Output channels. Defaults to 768.
        patch_size (int): Spatial patch size. Defaults to 16.
        tubelet_size (int): Temporal patch size. Defaults to 1.
    """

    def __init__(self, in_channels: int = 3, embed_dims: int = 768, patch_size: int = 16,
                 tubelet_size: int = 1) -> None:
        super().__init__()
        kernel = (tubelet_size, patch_size, patch_size)
        self.proj = nn.Conv3d(in_channels, embed_dims, kernel_size=kernel, stride=kernel)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int, int]]:
        x = self.proj(x)
        grid = tuple(x.shape[2:])
        return x.flatten(2).transpose(1, 2), grid


@MODELS.register_module()
class UMTVisionTransformer(BaseModule):
    """UMT video vision transformer.

    The backbone of `Unmasked Teacher: Towards Training-Efficient Video Foundation
    Models <https://arxiv.org/abs/2303.16058>`_, with the reference's parameter names
    (``patch_embed.proj``, ``blocks.{i}.attn.qkv/q_bias/v_bias/proj``, ``blocks.{i}.mlp.fc1/fc2``,
    ``fc_norm``) so official checkpoints load after adding the ``backbone.`` prefix.

    The fixed sin-cos position table is a non-persistent buffer (never trained, never in
    the state dict), built as the reference builds it from its 8x14x14 base table
    (bicubic per-frame spatial, linear temporal interpolation). Inputs whose grid differs
    from the built one (e.g. detection frames of 256x320) get the table interpolated on
    the fly.

    Args:
        arch (str | dict): ``'base'`` (768/12/12), ``'large'`` (1024/24/16) or a dict with
            ``embed_dims``, ``depth``, ``num_heads`` and ``mlp_ratio``. Defaults to 'base'.
        img_size (int): Input height and width the table is built for. Defaults to 224.
        patch_size (int): Spatial patch size. Defaults to 16.
        in_channels (int): Input channels. Defaults to 3.
        num_frames (int): Input frames. Defaults to 8.
        tubelet_size (int): Temporal patch size (1 in every UMT recipe). Defaults to 1.
        qkv_bias (bool): q/v biases. Defaults to True.
        drop_path_rate (float): Stochastic depth, linearly spaced over blocks.
            Defaults to 0.
        init_values (float): Layer scale init (0: none). Defaults to 0.
        use_checkpoint (bool): Gradient checkpointing while training. Defaults to False.
        checkpoint_num (int): With ``use_checkpoint``, checkpoint the first
            ``checkpoint_num`` blocks (as the reference; 0 checkpoints none).
            Defaults to 0.
        output (str): ``'pooled'`` returns ``fc_norm(mean of tokens)`` ``(B, C)``;
            ``'feature_map'`` returns ``(B, C, T', H', W')`` for any input size that is
            a multiple of the patch (tokens normalised by ``norm`` when it exists,
            ``fc_norm`` is never applied). Defaults to 'pooled'.
        with_fc_norm (bool): Build ``fc_norm`` (classification, spec §1.4). When False,
            build the token ``norm`` of the reference detection model (spec §4)
            instead. Defaults to True.
        pad_to_patch (bool): Zero-pad the input's height and width at the bottom/right
            up to multiples of the patch before embedding (as
            :class:`UMTDetDataPreprocessor` pads), instead of raising. For callers that
            bypass the data preprocessor, such as MMAction2's
            ``demo/demo_spatiotemporal_det.py``. Defaults to False.
        use_learnable_pos_emb (bool): A learnable position table (``pos_embed``, a
            parameter of ``(1, T'*H'*W', D)`` saved in the state dict, truncated normal
            std 0.02 cut at +-0.02) instead of the fixed sin-cos one; for the pretraining
            student, as the reference's ``--use_learnable_pos_emb``. Inputs must then
            give the built grid. Defaults to False.
        position_table (str): The fixed sin-cos table: ``'interpolated'``, the finetuning
            model's (``models/modeling_finetune.py``: the 8 x 14 x 14 base table resized to the
            token grid), or ``'flat'``, the pretraining student's
            (``models/modeling_pretrain_umt.py``: a plain 1-D table over the ``T' * H' * W'``
            tokens). The two are equal at 8 frames x 224 px (16 px patches, tubelet 1) only.
            Defaults to 'interpolated'.
        pretrained (str, optional): A checkpoint for the backbone alone, as MMAction2
            backbones take it (``init_cfg=dict(type='Pretrained', checkpoint=...)``);
            None (what MMAction2's demos set) changes nothing. Defaults to None.
        init_cfg (dict | list[dict], optional): Initialisation. Defaults to truncated
            normal (std 0.02) Linear layers and unit LayerNorms, as the reference.

    Examples:
        >>> import torch
        >>> from mmaction.registry import MODELS
        >>> import umt_mm  # noqa
        >>> cfg = dict(type='UMTVisionTransformer', arch=dict(embed_dims=64, depth=2, num_heads=2,
        ...            mlp_ratio=4), img_size=64, num_frames=4)
        >>> model = MODELS.build(cfg)
        >>> model(torch.rand(2, 3, 4, 64, 64)).shape
        torch.Size([2, 64])
        >>> det = MODELS.build(dict(type='UMTVisionTransformer', arch=dict(embed_dims=64, depth=2,
        ...                    num_heads=2), output='feature_map', with_fc_norm=False))
        >>> det(torch.rand(1, 3, 8, 256, 320)).shape
        torch.Size([1, 64, 8, 16, 20])
    """

    def __init__(self,
                 arch: str | dict = 'base',
                 img_size: int = 224,
                 patch_size: int = 16,
                 in_channels: int = 3,
                 num_frames: int = 8,
                 tubelet_size: int = 1,
                 qkv_bias: bool = True,
                 drop_path_rate: float = 0.0,
                 init_values: float = 0.0,
                 use_checkpoint: bool = False,
                 checkpoint_num: int = 0,
                 output: str = 'pooled',
                 with_fc_norm: bool = True,
                 pad_to_patch: bool = False,
                 use_learnable_pos_emb: bool = False,
                 position_table: str = 'interpolated',
                 pretrained: str | None = None,
                 init_cfg: dict | list[dict] | None = None) -> None:
        if pretrained is not None:
            init_cfg = dict(type='Pretrained', checkpoint=pretrained)
        if init_cfg is None:
            init_cfg = [dict(type='TruncNormal', layer='Linear', std=0.02, bias=0.0),
                        dict(type='Constant', layer='LayerNorm', val=1.0, bias=0.0)]
        super().__init__(init_cfg=init_cfg)
        arch = resolve_arch('UMTVisionTransformer', arch, ARCH_PRESETS,
                            ('embed_dims', 'depth', 'num_heads'))
        if output not in ('pooled', 'feature_map'):
            raise ValueError(f"output must be 'pooled' or 'feature_map', got {output!r}")
        if num_frames % tubelet_size:
            raise ValueError(f'num_frames {num_frames} is not a multiple of tubelet_size '
                             f'{tubelet_size}')
        if img_size % patch_size:
            raise ValueError(f'img_size {img_size} is not a multiple of patch_size {patch_size}')
        if position_table not in ('interpolated', 'flat'):
            raise ValueError(f"position_table must be 'interpolated' or 'flat', got "
                             f'{position_table!r}')
        self.position_table_kind = position_table
        self.embed_dims = int(arch['embed_dims'])
        self.depth = int(arch['depth'])
        self.num_heads = int(arch['num_heads'])
        self.mlp_ratio = float(arch.get('mlp_ratio', 4.0))
        self.patch_size = patch_size
        self.tubelet_size = tubelet_size
        self.num_frames = num_frames
        self.img_size = img_size
        self.output = output
        self.pad_to_patch = pad_to_patch
        self.use_checkpoint = use_checkpoint
        self.checkpoint_num = checkpoint_num

        self.patch_embed = UMTPatchEmbed(in_channels, self.embed_dims, patch_size, tubelet_size)
        self.grid = (num_frames // tubelet_size, img_size // patch_size, img_size // patch_size)
        self.use_learnable_pos_emb = use_learnable_pos_emb
        if use_learnable_pos_emb:
            # the reference's pretraining trunc_normal_: std 0.02, cut at +-std
            self.pos_embed = nn.Parameter(nn.init.trunc_normal_(
                torch.zeros(1, self.grid[0] * self.grid[1] * self.grid[2], self.embed_dims),
                std=0.02, a=-0.02, b=0.02))
        else:
            self.register_buffer('pos_embed', self._fixed_table(self.grid), persistent=False)
        rates = torch.linspace(0, drop_path_rate, self.depth, device='cpu').tolist()
        self.blocks = nn.ModuleList([
            UMTBlock(self.embed_dims, self.num_heads, self.mlp_ratio, qkv_bias=qkv_bias,
                     drop_path=rate, init_values=init_values) for rate in rates])
        self.with_fc_norm = with_fc_norm
        if with_fc_norm:
            self.fc_norm = nn.LayerNorm(self.embed_dims, eps=1e-6)
            self.norm = None
        else:
            self.fc_norm = None
            self.norm = nn.LayerNorm(self.embed_dims, eps=1e-6)
        self._table_cache: dict[tuple, torch.Tensor] = {}

    # ------------------------------------------------------------------ position table
    def position_table(self, grid: tuple[int, int, int]) -> torch.Tensor:
        """The position table for a token grid ``(T', H', W')`` (built one or interpolated)."""
        grid = tuple(int(v) for v in grid)
        if grid == self.grid:
            return self.pos_embed
        if self.use_learnable_pos_emb:
            raise ValueError(f'the learnable position table is built for the token grid '
                             f'{self.grid}; the input gives {grid}: use inputs of '
                             f'{self.num_frames} frames x {self.img_size} px')
        key = (grid, self.pos_embed.device)
        if key not in self._table_cache:
            self._table_cache[key] = self._fixed_table(grid).to(self.pos_embed.device)
        return self._table_cache[key]

    def _fixed_table(self, grid: tuple[int, int, int]) -> torch.Tensor:
        """The sin-cos table of ``position_table``'s kind for a token grid ``(T', H', W')``."""
        if self.position_table_kind == 'flat':
            return sincos_table_1d(grid[0] * grid[1] * grid[2], self.embed_dims)
        return umt_position_table(self.embed_dims, grid[0], grid[1:])

    def embed(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int, int]]:
        """Patch embedding plus the position table (detached unless learnable).

        Args:
            x (torch.Tensor): Video ``(B, C, T, H, W)``; H and W multiples of the patch.

        Returns:
            tuple: Tokens ``(B, N, D)`` and the grid ``(T', H', W')``.
        """
        if x.shape[-1] % self.patch_size or x.shape[-2] % self.patch_size:
            raise ValueError(f'input height/width {tuple(x.shape[-2:])} must be multiples of '
                             f'the patch size {self.patch_size}')
        tokens, grid = self.patch_embed(x)
        table = self.position_table(grid).type_as(tokens)
        return tokens + (table if self.use_learnable_pos_emb else table.detach()), grid

    def _run_blocks(self, x: torch.Tensor, collect: Sequence[int] | None = None
                    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Run the blocks (checkpointing the first ``checkpoint_num`` while training).

        Args:
            x (torch.Tensor): Tokens ``(B, N, D)``.
            collect (Sequence[int], optional): Block indices whose outputs to keep; when
                given, blocks after the last of them are skipped. Defaults to None.

        Returns:
            tuple: The last computed tokens and the collected outputs (ascending).
        """
        outputs = []
        last = self.depth - 1 if collect is None else max(collect)
        for i, block in enumerate(self.blocks[:last + 1]):
            if self.use_checkpoint and self.training and i < self.checkpoint_num:
                x = cp.checkpoint(block, x, use_reentrant=False)
            else:
                x = block(x)
            if collect is not None and i in collect:
                outputs.append(x)
        return x, outputs

    # ------------------------------------------------------------------ forwards
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args:
            x (torch.Tensor): Video ``(B, C, T, H, W)``.

        Returns:
            torch.Tensor: ``(B, D)`` pooled features, or ``(B, D, T', H', W')``.
        """
        if self.pad_to_patch:
            pad_h = -x.shape[-2] % self.patch_size
            pad_w = -x.shape[-1] % self.patch_size
            x = nn.functional.pad(x, (0, pad_w, 0, pad_h))
        x, grid = self.embed(x)
        x, _ = self._run_blocks(x)
        if self.norm is not None:
            x = self.norm(x)
        if self.output == 'pooled':
            x = x.mean(dim=1)
            return self.fc_norm(x) if self.fc_norm is not None else x
        batch = x.shape[0]
        return x.transpose(1, 2).reshape(batch, self.embed_dims, *grid)

    def forward_masked(self, x: torch.Tensor, mask: torch.Tensor,
                       return_layers: Sequence[int]) -> torch.Tensor:
        """Run only the visible tokens and return the outputs of chosen blocks.

        Args:
            x (torch.Tensor): Video ``(B, C, T, H, W)``.
            mask (torch.Tensor): Bool ``(B, N)``, True = masked; every sample must keep
                the same number of visible tokens.
            return_layers (Sequence[int]): Block indices to return (negative indices
                count from the end; duplicates are ignored).

        Returns:
            torch.Tensor: ``(K, B, N_vis, D)`` block outputs in ascending block order,
            before any final norm.
        """
        tokens, _ = self.embed(x)
        batch, num_tokens, dims = tokens.shape
        if mask.shape != (batch, num_tokens):
            raise ValueError(f'mask shape {tuple(mask.shape)} != tokens {(batch, num_tokens)}')
        mask = mask.bool()
        visible = (~mask).sum(dim=1)
        if (visible != visible[0]).any():
            raise ValueError('every sample must keep the same number of visible tokens')
        layers = sorted({int(i) % self.depth for i in return_layers})
        if not layers:
            raise ValueError('return_layers must name at least one block')
        tokens = tokens[~mask].reshape(batch, -1, dims)
        _, outputs = self._run_blocks(tokens, collect=layers)
        return torch.stack(outputs)

    # ------------------------------------------------------------------ optimizer hooks
    def get_layer_depth(self, param_name: str, prefix: str = '') -> tuple[int, int]:
        """Layer id of a parameter for layer-wise lr decay.

        Patch embedding and position table: 0; ``blocks.i``: ``i + 1``; everything else
        (final norms, and parameters outside the backbone): ``depth + 1``.

        Args:
            param_name (str): Parameter name.
            prefix (str): Prefix of backbone parameters in ``param_name`` (e.g.
                ``'backbone.'``). Defaults to ''.

        Returns:
            tuple[int, int]: ``(layer_id, depth + 2)``.
        """
        num_layers = self.depth + 2
        if not param_name.startswith(prefix):
            return num_layers - 1, num_layers
        name = param_name[len(prefix):]
        if name.startswith(('patch_embed', 'pos_embed')):
            return 0, num_layers
        if name.startswith('blocks.'):
            return int(name.split('.')[1]) + 1, num_layers
        return num_layers - 1, num_layers

    def no_weight_decay(self) -> set[str]:
        """Names excluded from weight decay besides 1-D parameters and biases."""
        return {'pos_embed'}
