"""Loss terms shared by several matting methods (MODNet, DIM, IndexNet, SHM, ...).

Tensors are Bx1xHxW (mattes, masks) or Bx3xHxW (colours), floats in [0, 1].
"""

from __future__ import annotations

import torch


def unknown_mask(trimap: torch.Tensor) -> torch.Tensor:
    """1 where the training trimap is unknown (0.5), else 0 (trimaps hold {0, 0.5, 1})."""
    return ((trimap - 0.5).abs() < 0.25).to(trimap.dtype)


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``values`` over the pixels where ``mask`` is 1 (all channels of those pixels).

    An empty mask gives 0 (with a gradient path), never NaN: a crop without transition pixels is
    legal (a patch of pure background).
    """
    m = mask.expand_as(values)
    return (values * m).sum() / m.sum().clamp_min(1.0)


def composite(alpha: torch.Tensor, fg: torch.Tensor, bg: torch.Tensor) -> torch.Tensor:
    """I = alpha F + (1 - alpha) B (the compositing equation of every benchmark)."""
    return alpha * fg + (1.0 - alpha) * bg


def compositional_l1(alpha: torch.Tensor, fg: torch.Tensor, bg: torch.Tensor, image: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Compositional loss of Deep Image Matting (Xu et al. 2017) with the absolute difference:
    mean over pixels and channels of |I - (alpha_p F + (1 - alpha_p) B)|, F and B the true colours.
    With ``mask`` the mean runs over the masked pixels only (DIM's unknown-region variant)."""
    diff = (composite(alpha, fg, bg) - image).abs()
    return diff.mean() if mask is None else masked_mean(diff, mask)


def alpha_l1(pred: torch.Tensor, gt: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    diff = (pred - gt).abs()
    return diff.mean() if mask is None else masked_mean(diff, mask)
