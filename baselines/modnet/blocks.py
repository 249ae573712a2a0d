"""MODNet's building blocks and its MobileNetV2 encoder (the low-resolution branch S's backbone).

MODNet's building blocks: IBNorm, Conv-IBNorm-ReLU, the SE block (v1) and e-ASPP (AAAI 2022).
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn


class IBNorm(nn.Module):
    """Batch norm on the first ``int(C/2)`` channels, instance norm (no affine, per-image statistics
    even in eval mode) on the rest, concatenated in that order."""

    def __init__(self, channels: int):
        super().__init__()
        self.split = int(channels / 2)
        self.bnorm = nn.BatchNorm2d(self.split, affine=True)
        self.inorm = nn.InstanceNorm2d(channels - self.split, affine=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat((self.bnorm(x[:, : self.split].contiguous()), self.inorm(x[:, self.split :].contiguous())), 1)


class Conv(nn.Module):
    """``C(in -> out, k, s)``: Conv2d(bias) -> IBNorm -> ReLU; ``plain=True`` keeps only the conv (heads).

    The layers sit in ``self.layers`` so that keys read ``...layers.0.weight``, ``...layers.1.bnorm.*``.
    """

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, plain: bool = False):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=True)]
        if not plain:
            layers += [IBNorm(cout), nn.ReLU(inplace=True)]
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class SEBlock(nn.Module):
    """Squeeze-and-excitation (v1 release): channel weights from global average pooling."""

    def __init__(self, channels: int, reduction: int = 4):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Sequential(
            nn.Linear(channels, channels // reduction, bias=False),
            nn.ReLU(inplace=True),
            nn.Linear(channels // reduction, channels, bias=False),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c = x.shape[:2]
        return x * self.fc(self.pool(x).view(b, c)).view(b, c, 1, 1)


# Dilation rates of the five depth-wise 3x3 branches. The paper gives none. DeepLab's ASPP uses
# (1x1, 6, 12, 18, image pooling) on 33x33 maps (output stride 16); here the module runs on the 1/32 map
# (16x16 at MODNet's 512 input), and eq. 13 counts k x k weights for all m = 5 scales, so every branch is
# a 3x3 depth-wise conv and the rates are scaled to the map: the widest reaches half of a 16x16 map,
# as DeepLab's widest (18) reaches about half of its 33x33 map.
EASPP_DILATIONS = (1, 2, 4, 6, 8)


class EASPP(nn.Module):
    """Efficient ASPP (paper Fig. 3 and Appendix A), in four steps:

    1. channel reduction, 1x1 conv c -> c/4;
    2. multi-scale extraction, one depth-wise atrous k x k conv per scale on the c/4 channels;
    3. multi-scale fusion, depth-wise over the m scales (one weight per scale and channel);
    4. inter-channel fusion, 1x1 conv c/4 -> c.

    Its weights are exactly eq. 13: ``(2 c^2 + (k^2 + 1) m c) / 4`` (no biases). The normalisations are
    parameter-free (BatchNorm without affine) so that the count stays the paper's.
    """

    def __init__(self, channels: int, kernel: int = 3, dilations: Sequence[int] = EASPP_DILATIONS):
        super().__init__()
        if channels % 4:
            raise ValueError(f"e-ASPP reduces channels by 4; {channels} is not a multiple of 4")
        c4 = channels // 4
        self.scales = len(dilations)
        self.reduce = nn.Sequential(nn.Conv2d(channels, c4, 1, bias=False), nn.BatchNorm2d(c4, affine=False), nn.ReLU(inplace=True))
        self.extract = nn.ModuleList(
            nn.Conv2d(c4, c4, kernel, padding=d * (kernel // 2), dilation=d, groups=c4, bias=False) for d in dilations
        )
        # Input channels ordered channel-major (ch0@s0, ch0@s1, ..., ch1@s0, ...), groups=c/4: each output
        # channel is a weighted sum of the same channel over the m scales.
        self.fuse_scales = nn.Conv2d(c4 * self.scales, c4, 1, groups=c4, bias=False)
        self.norm = nn.Sequential(nn.BatchNorm2d(c4, affine=False), nn.ReLU(inplace=True))
        self.fuse_channels = nn.Sequential(nn.Conv2d(c4, channels, 1, bias=False), nn.BatchNorm2d(channels, affine=False), nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r = self.reduce(x)
        multi = torch.stack([conv(r) for conv in self.extract], dim=2)  # B x c/4 x m x H x W
        fused = self.fuse_scales(multi.flatten(1, 2))
        return self.fuse_channels(self.norm(fused))


def easpp_parameters(c: int, k: int = 3, m: int = 5) -> int:
    """Eq. 13 of the paper."""
    return (2 * c * c + (k * k + 1) * m * c) // 4


def aspp_parameters(c: int, k: int = 3, m: int = 5) -> int:
    """Eq. 11 of the paper (standard ASPP)."""
    return m * c * c * (k * k + 1)


# ----------------------------------------------------------------------------------------------------
# MobileNetV2 encoder of MODNet's low-resolution branch S (width 1.0, expansion 6).
#
# Parameter names follow the official release (``model.features.N...``) so that its checkpoints and
# ``mobilenetv2_human_seg.ckpt`` (the SPS-pretrained backbone) load strictly.
# ----------------------------------------------------------------------------------------------------

# (expansion t, output channels c, repeats n, first stride s): Sandler et al. 2018, Table 2.
SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))
# Feature indices whose outputs are the taps at 1/2, 1/4, 1/8, 1/16, 1/32.
TAPS = (1, 3, 6, 13, 18)
ENC_CHANNELS = (16, 24, 32, 96, 1280)


def conv_bn_relu6(cin: int, cout: int, kernel: int, stride: int, groups: int = 1) -> list[nn.Module]:
    return [
        nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU6(inplace=True),
    ]


class InvertedResidual(nn.Module):
    """Expand (1x1, skipped when t = 1) -> depthwise 3x3 -> linear projection; residual if shapes match."""

    def __init__(self, cin: int, cout: int, stride: int, expansion: int):
        super().__init__()
        hidden = cin * expansion
        expand = conv_bn_relu6(cin, hidden, 1, 1) if expansion != 1 else []
        depthwise = conv_bn_relu6(hidden, hidden, 3, stride, groups=hidden)
        project = [nn.Conv2d(hidden, cout, 1, 1, 0, bias=False), nn.BatchNorm2d(cout)]
        self.residual = stride == 1 and cin == cout
        self.conv = nn.Sequential(*expand, *depthwise, *project)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.residual else self.conv(x)


class MobileNetV2(nn.Module):
    """``features[0..18]`` only (MODNet builds it without a classifier)."""

    def __init__(self, in_channels: int = 3):
        super().__init__()
        layers: list[nn.Module] = [nn.Sequential(*conv_bn_relu6(in_channels, 32, 3, 2))]
        cin = 32
        for t, c, n, s in SETTINGS:
            for i in range(n):
                layers.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        layers.append(nn.Sequential(*conv_bn_relu6(cin, 1280, 1, 1)))
        self.features = nn.Sequential(*layers)


class MobileNetV2Backbone(nn.Module):
    """Runs ``features`` and returns the five taps [enc2x, enc4x, enc8x, enc16x, enc32x]."""

    enc_channels = ENC_CHANNELS

    def __init__(self, in_channels: int = 3):
        super().__init__()
        self.model = MobileNetV2(in_channels)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        taps = []
        for i, layer in enumerate(self.model.features):
            x = layer(x)
            if i in TAPS:
                taps.append(x)
        return taps
