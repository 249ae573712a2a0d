"""Small building blocks shared by several baselines."""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def conv_bn_relu(cin: int, cout: int, k: int = 3, stride: int = 1, dilation: int = 1, bias: bool = False) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, padding=dilation * (k // 2), dilation=dilation, bias=bias),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


def up_to(x: Tensor, ref: Tensor, mode: str = "bilinear") -> Tensor:
    """Resize ``x`` to ``ref``'s spatial size (bilinear, align_corners=False)."""
    if x.shape[-2:] == ref.shape[-2:]:
        return x
    if mode == "nearest":
        return F.interpolate(x, size=ref.shape[-2:], mode="nearest")
    return F.interpolate(x, size=ref.shape[-2:], mode=mode, align_corners=False)


class ASPP(nn.Module):
    """DeepLab v3 ASPP: a 1x1 branch, 3x3 atrous branches at ``rates``, image pooling, 1x1 fusion.

    ``pool_bn=False`` drops the BN after the image-pooling 1x1 conv so that a batch of one 1x1 map
    can train (BN needs more than one value per channel).
    """

    def __init__(self, cin: int, cout: int = 256, rates: Sequence[int] = (6, 12, 18), mid: int = 256, pool_bn: bool = True):
        super().__init__()
        self.branches = nn.ModuleList([conv_bn_relu(cin, mid, 1)] + [conv_bn_relu(cin, mid, 3, dilation=r) for r in rates])
        pool: list[nn.Module] = [nn.AdaptiveAvgPool2d(1), nn.Conv2d(cin, mid, 1, bias=not pool_bn)]
        if pool_bn:
            pool.append(nn.BatchNorm2d(mid))
        pool.append(nn.ReLU(inplace=True))
        self.pool = nn.Sequential(*pool)
        self.project = conv_bn_relu(mid * (len(rates) + 2), cout, 1)

    def forward(self, x: Tensor) -> Tensor:
        outs = [b(x) for b in self.branches]
        outs.append(self.pool(x).expand(-1, -1, x.shape[2], x.shape[3]))
        return self.project(torch.cat(outs, 1))


class PyramidPooling(nn.Module):
    """PSPNet's pyramid pooling module (Zhao et al. 2017): average pooling to bins 1, 2, 3, 6,
    1x1 conv to cin/4 each, upsampling, concatenation with the input."""

    def __init__(self, cin: int, bins: Sequence[int] = (1, 2, 3, 6)):
        super().__init__()
        red = cin // len(bins)
        self.stages = nn.ModuleList(
            nn.Sequential(nn.AdaptiveAvgPool2d(b), nn.Conv2d(cin, red, 1, bias=False), nn.BatchNorm2d(red), nn.ReLU(inplace=True))
            for b in bins
        )
        self.out_channels = cin + red * len(bins)

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([x] + [up_to(s(x), x) for s in self.stages], 1)
