"""Token masks of UMT pretraining: semantic (teacher-attention) masking and the usual baselines."""
from __future__ import annotations

import torch
from mmaction.registry import MODELS
from mmengine.model import BaseModule

MASK_TYPES = ('attention', 'random', 'tube')


@MODELS.register_module()
class UMTMaskGenerator(BaseModule):
    """Which student tokens are masked (``True``) in a UMT pretraining step.

    * ``'attention'`` (UMT's semantic masking, ``engine_for_pretraining_umt.py``): per frame,
      ``torch.multinomial(cls_attn, H*W)`` draws all patches **without replacement**,
      weighted by the teacher's CLS-to-patch attention of that frame, and the first
      ``H*W - int(H*W * mask_ratio)`` drawn are visible (40 of 196 at 224 px and 0.8) —
      sampling, not top-k, exactly as the reference. Each frame gets its own mask.
    * ``'random'`` (VideoMAE random masking): ``int(N * mask_ratio)`` of all ``N = T*H*W``
      tokens of a clip, uniformly.
    * ``'tube'`` (VideoMAE tube masking): one uniform spatial mask of
      ``int(H*W * mask_ratio)`` patches per clip, repeated over every frame.

    Random numbers come from torch's global generator on the device of the attention (or
    ``device``), which MMEngine's runner seeds, so a seeded run draws the same masks.

    Args:
        mask_type (str): ``'attention'``, ``'random'`` or ``'tube'``.
            Defaults to 'attention'.
        mask_ratio (float): Fraction of tokens masked, in [0, 1). Defaults to 0.8.
        init_cfg (dict, optional): Unused (no parameters). Defaults to None.

    Examples:
        >>> gen = UMTMaskGenerator(mask_ratio=0.8)
        >>> attn = torch.rand(2 * 8, 196)  # (B*T, H*W) CLS attention of the teacher
        >>> mask = gen((8, 14, 14), batch=2, cls_attn=attn)
        >>> mask.shape, (~mask).sum(1).tolist()
        (torch.Size([2, 1568]), [320, 320])
    """

    def __init__(self, mask_type: str = 'attention', mask_ratio: float = 0.8,
                 init_cfg: dict | None = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if mask_type not in MASK_TYPES:
            raise ValueError(f'mask_type must be one of {MASK_TYPES}, got {mask_type!r}')
        if not 0.0 <= mask_ratio < 1.0:
            raise ValueError(f'mask_ratio must be in [0, 1), got {mask_ratio}')
        self.mask_type = mask_type
        self.mask_ratio = float(mask_ratio)

    @property
    def needs_attention(self) -> bool:
        """Whether :meth:`forward` needs the teacher's CLS attention."""
        return self.mask_type == 'attention'

    def num_visible(self, grid: tuple[int, int, int]) -> int:
        """Visible tokens per clip for a token grid ``(T', H', W')``."""
        frames, height, width = grid
        per_frame = height * width
        if self.mask_type == 'random':
            total = frames * per_frame
            return total - int(total * self.mask_ratio)
        return frames * (per_frame - int(per_frame * self.mask_ratio))

    @torch.no_grad()
    def forward(self, grid: tuple[int, int, int], batch: int,
                cls_attn: torch.Tensor | None = None,
                device: torch.device | str | None = None) -> torch.Tensor:
        """Draw the masks of a batch.

        Args:
            grid (tuple[int, int, int]): Token grid ``(T', H', W')`` of the student.
            batch (int): Clips ``B``.
            cls_attn (torch.Tensor, optional): ``(B*T', H'*W')`` CLS-to-patch attention
                of the teacher's last block (``'attention'`` only). Defaults to None.
            device (torch.device | str, optional): Device of the mask when ``cls_attn``
                is not given. Defaults to None (CPU).

        Returns:
            torch.Tensor: Bool ``(B, T'*H'*W')`` in (t, h, w) token order, True = masked.
        """
        frames, height, width = (int(v) for v in grid)
        per_frame = height * width
        if self.mask_type == 'attention':
            if cls_attn is None:
                raise ValueError("mask_type='attention' needs the teacher's CLS attention")
            if tuple(cls_attn.shape) != (batch * frames, per_frame):
                raise ValueError(
                    f'CLS attention of shape {tuple(cls_attn.shape)} does not fit {batch} '
                    f'clips of {frames} frames x {height}x{width} patches (expected '
                    f'{(batch * frames, per_frame)}): the teacher and the student must see '
                    'the same token grid')
            visible = per_frame - int(per_frame * self.mask_ratio)
            order = torch.multinomial(cls_attn.float(), per_frame)
            mask = torch.ones(batch * frames, per_frame, dtype=torch.bool,
                              device=cls_attn.device)
            mask.scatter_(1, order[:, :visible], False)
            return mask.view(batch, frames * per_frame)
        device = cls_attn.device if cls_attn is not None else device
        if self.mask_type == 'random':
            total = frames * per_frame
            return self._uniform(batch, total, total - int(total * self.mask_ratio), device)
        spatial = self._uniform(batch, per_frame, per_frame - int(per_frame * self.mask_ratio),
                                device)
        return spatial.unsqueeze(1).expand(batch, frames, per_frame).reshape(batch, -1)

    @staticmethod
    def _uniform(batch: int, length: int, visible: int,
                 device: torch.device | str | None) -> torch.Tensor:
        """``batch`` masks of ``length`` tokens with ``visible`` uniformly chosen kept."""
        order = torch.rand(batch, length, device=device).argsort(dim=1)
        mask = torch.ones(batch, length, dtype=torch.bool, device=device)
        mask.scatter_(1, order[:, :visible], False)
        return mask

    def extra_repr(self) -> str:
        return f'mask_type={self.mask_type!r}, mask_ratio={self.mask_ratio}'
