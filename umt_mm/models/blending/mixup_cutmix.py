"""timm-style batch Mixup / CutMix as the UMT finetuning scripts use it (``datasets/mixup.py``).

The reference builds ``Mixup(mixup_alpha=0.8, cutmix_alpha=1.0, prob=1.0, switch_prob=0.5,
mode='batch', label_smoothing=0.1)`` and calls it on the whole (repeated-augmentation) batch
of videos. MMAction2's ``RandomBatchAugment(MixupBlending, CutmixBlending)`` differs in the
pairing (a random permutation instead of the reversed batch) and in its random draws, so the
recipes use this module instead. Label smoothing is left to the head (``label_smooth_eps``):
MMAction2's ``BaseHead`` computes ``(1 - eps) * mixed + eps / N``, which equals timm's
``lam * smooth(y1) + (1 - lam) * smooth(y2)``.
"""
from __future__ import annotations

import warnings

import numpy as np
import torch
from mmaction.models.utils.blending_utils import BaseMiniBatchBlending
from mmaction.registry import MODELS


def cutmix_box(height: int, width: int, lam: float) -> tuple[int, int, int, int, float]:
    """timm's ``rand_bbox`` + ``cutmix_bbox_and_lam(correct_lam=True)``.

    ``cut = int(side * sqrt(1 - lam))``; the centre is uniform over the image; the box
    ``centre -/+ cut // 2`` is clipped to the image, and ``lam`` is corrected to
    ``1 - box_area / image_area``.

    Args:
        height (int): Frame height.
        width (int): Frame width.
        lam (float): Mixing weight drawn from Beta(alpha, alpha).

    Returns:
        tuple: ``(y_low, y_high, x_low, x_high, corrected_lam)``.
    """
    ratio = np.sqrt(1.0 - lam)
    cut_h, cut_w = int(height * ratio), int(width * ratio)
    cy = np.random.randint(0, height)
    cx = np.random.randint(0, width)
    yl = int(np.clip(cy - cut_h // 2, 0, height))
    yh = int(np.clip(cy + cut_h // 2, 0, height))
    xl = int(np.clip(cx - cut_w // 2, 0, width))
    xh = int(np.clip(cx + cut_w // 2, 0, width))
    corrected = 1.0 - (yh - yl) * (xh - xl) / float(height * width)
    return yl, yh, xl, xh, corrected


@MODELS.register_module()
class UMTMixupCutmix(BaseMiniBatchBlending):
    """Batch-mode Mixup / CutMix with timm's semantics for video batches.

    One decision per batch: with probability ``prob`` the batch is mixed; CutMix is chosen
    with probability ``switch_prob`` (else Mixup); ``lam ~ Beta(alpha, alpha)``. Sample
    ``i`` is mixed with sample ``B - 1 - i`` (the reversed batch). CutMix pastes one box,
    the same on every frame and view, and corrects ``lam`` to the pasted area. Labels become
    ``lam * y_i + (1 - lam) * y_{B-1-i}`` (one-hot); smoothing is applied by the head.
    A batch of one sample (which the reference never meets: its train loader drops the last
    incomplete batch, and its ``Mixup`` asserts an even batch) is passed through unmixed,
    with a warning the first time.

    Args:
        num_classes (int): Number of classes.
        mixup_alpha (float): Mixup Beta parameter (0 disables Mixup). Defaults to 0.8.
        cutmix_alpha (float): CutMix Beta parameter (0 disables CutMix). Defaults to 1.0.
        prob (float): Probability of mixing a batch at all. Defaults to 1.0.
        switch_prob (float): Probability of CutMix when both are enabled. Defaults to 0.5.

    Examples:
        >>> import torch
        >>> from mmaction.structures import ActionDataSample
        >>> from umt_mm.models.blending import UMTMixupCutmix
        >>> blend = UMTMixupCutmix(num_classes=4)
        >>> samples = [ActionDataSample().set_gt_label(i) for i in range(2)]
        >>> imgs, samples = blend(torch.rand(2, 1, 3, 2, 8, 8), samples)
        >>> samples[0].gt_label.shape
        torch.Size([4])
    """

    def __init__(self, num_classes: int, mixup_alpha: float = 0.8, cutmix_alpha: float = 1.0,
                 prob: float = 1.0, switch_prob: float = 0.5) -> None:
        super().__init__(num_classes=num_classes)
        if mixup_alpha < 0 or cutmix_alpha < 0:
            raise ValueError('mixup_alpha and cutmix_alpha must be >= 0')
        if mixup_alpha == 0 and cutmix_alpha == 0:
            raise ValueError('UMTMixupCutmix: enable mixup_alpha or cutmix_alpha (both are 0)')
        if not (0.0 <= prob <= 1.0 and 0.0 <= switch_prob <= 1.0):
            raise ValueError('prob and switch_prob must be in [0, 1]')
        self.mixup_alpha = mixup_alpha
        self.cutmix_alpha = cutmix_alpha
        self.prob = prob
        self.switch_prob = switch_prob
        self._warned_single = False

    def sample_params(self) -> tuple[float, bool]:
        """Draw ``(lam, use_cutmix)`` for one batch, in timm's order of random draws.

        Returns:
            tuple: ``lam`` (1.0 means no mixing) and whether CutMix is used.
        """
        if np.random.rand() >= self.prob:
            return 1.0, False
        if self.mixup_alpha > 0 and self.cutmix_alpha > 0:
            use_cutmix = bool(np.random.rand() < self.switch_prob)
            alpha = self.cutmix_alpha if use_cutmix else self.mixup_alpha
        else:
            use_cutmix = self.cutmix_alpha > 0
            alpha = self.cutmix_alpha if use_cutmix else self.mixup_alpha
        return float(np.random.beta(alpha, alpha)), use_cutmix

    def do_blending(self, imgs: torch.Tensor, label: torch.Tensor, **kwargs) -> tuple:
        """Mix a batch.

        Args:
            imgs (torch.Tensor): ``(B, N, C, T, H, W)`` or ``(B, N, C, H, W)`` inputs.
            label (torch.Tensor): ``(B, num_classes)`` one-hot labels.

        Returns:
            tuple: Mixed inputs and ``(B, num_classes)`` float labels.
        """
        if kwargs:
            raise TypeError(f'unexpected arguments for UMTMixupCutmix: {sorted(kwargs)}')
        label = label.float()
        if imgs.size(0) < 2:
            # nothing to pair with (e.g. the last batch of an epoch on one rank when the
            # train loader keeps incomplete batches): the sample goes through unmixed
            if not self._warned_single:
                self._warned_single = True
                warnings.warn(
                    'UMTMixupCutmix: a batch of one sample is passed through unmixed (its '
                    'one-hot label kept); set drop_last=True in train_dataloader, as the '
                    'recipes do, to train on full batches only. Warned once.', stacklevel=2)
            return imgs, label
        lam, use_cutmix = self.sample_params()
        if lam == 1.0:
            return imgs, label
        flipped = imgs.flip(0)
        if use_cutmix:
            yl, yh, xl, xh, lam = cutmix_box(imgs.size(-2), imgs.size(-1), lam)
            imgs = imgs.clone()
            imgs[..., yl:yh, xl:xh] = flipped[..., yl:yh, xl:xh]
        else:
            imgs = imgs * lam + flipped * (1.0 - lam)
        return imgs, lam * label + (1.0 - lam) * label.flip(0)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_classes={self.num_classes}, '
                f'mixup_alpha={self.mixup_alpha}, cutmix_alpha={self.cutmix_alpha}, '
                f'prob={self.prob}, switch_prob={self.switch_prob})')
