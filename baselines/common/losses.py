"""Losses of the baseline papers, on the training batch of the shared loop.

Batch tensors: ``image``, ``fg``, ``bg`` Bx3xHxW in [0,1]; ``alpha`` Bx1xHxW in [0,1];
``trimap`` Bx1xHxW with values {0, 0.5, 1}.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

DIM_EPS = 1e-6  # Xu et al. 2017, eq. 1: sqrt((a_p - a_g)^2 + eps^2), eps = 1e-6


def unknown_mask(trimap: Tensor) -> Tensor:
    """1 where the trimap is unknown (0.5), else 0; tolerant to resampling (0.25 < t < 0.75)."""
    return ((trimap > 0.25) & (trimap < 0.75)).to(trimap.dtype)


def trimap_classes(trimap: Tensor) -> Tensor:
    """Class index per pixel (B x H x W, int64): 0 background, 1 unknown, 2 foreground."""
    return torch.round(trimap[:, 0] * 2).clamp(0, 2).long()


def masked_mean(x: Tensor, mask: Optional[Tensor]) -> Tensor:
    """Mean of ``x`` over ``mask`` (broadcast over channels); whole-image mean when mask is None.
    A batch without any masked pixel gives 0 (not NaN)."""
    if mask is None:
        return x.mean()
    mask = mask.expand_as(x)
    return (x * mask).sum() / mask.sum().clamp_min(1.0)


def charbonnier(pred: Tensor, target: Tensor, mask: Optional[Tensor] = None, eps: float = DIM_EPS) -> Tensor:
    return masked_mean(torch.sqrt((pred - target) ** 2 + eps**2), mask)


def composite(alpha: Tensor, fg: Tensor, bg: Tensor) -> Tensor:
    return alpha * fg + (1 - alpha) * bg


def composition_loss(alpha: Tensor, batch: dict[str, Tensor], mask: Optional[Tensor] = None, eps: float = DIM_EPS) -> Tensor:
    """DIM eq. 2: Charbonnier between the image and the composite of the true F, B with the
    predicted alpha (the true composite is recomputed from fg/bg/alpha so that 8-bit rounding of
    the image does not enter the loss)."""
    target = composite(batch["alpha"], batch["fg"], batch["bg"])
    return charbonnier(composite(alpha, batch["fg"], batch["bg"]), target, mask, eps)


def dim_loss(alpha: Tensor, batch: dict[str, Tensor], mask: Optional[Tensor], w_alpha: float = 0.5) -> tuple[Tensor, dict[str, float]]:
    """0.5 alpha-prediction + 0.5 compositional loss (DIM, IndexNet, SHM's L_p)."""
    la = charbonnier(alpha, batch["alpha"], mask)
    lc = composition_loss(alpha, batch, mask)
    loss = w_alpha * la + (1 - w_alpha) * lc
    return loss, {"alpha": float(la.detach()), "comp": float(lc.detach())}


def ssim_loss(pred: Tensor, target: Tensor, window: int = 11, sigma: float = 1.5) -> Tensor:
    """1 - SSIM (Wang et al. 2004) with a Gaussian window, constants for data range 1."""
    c1, c2 = 0.01**2, 0.03**2
    coords = torch.arange(window, dtype=pred.dtype, device=pred.device) - (window - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    g = (g / g.sum())
    kernel = (g[:, None] * g[None, :]).expand(pred.shape[1], 1, window, window).contiguous()
    pad = window // 2

    def blur(x: Tensor) -> Tensor:
        return F.conv2d(F.pad(x, (pad,) * 4, mode="replicate"), kernel, groups=pred.shape[1])

    mu_p, mu_t = blur(pred), blur(target)
    var_p = blur(pred * pred) - mu_p**2
    var_t = blur(target * target) - mu_t**2
    cov = blur(pred * target) - mu_p * mu_t
    ssim = ((2 * mu_p * mu_t + c1) * (2 * cov + c2)) / ((mu_p**2 + mu_t**2 + c1) * (var_p + var_t + c2))
    return 1 - ssim.mean()
