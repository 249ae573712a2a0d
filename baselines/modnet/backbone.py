"""MobileNetV2 encoder of MODNet's low-resolution branch S (width 1.0, expansion 6).

Parameter names follow the official release (``model.features.N...``) so that its checkpoints and
``mobilenetv2_human_seg.ckpt`` (the SPS-pretrained backbone) load strictly.
"""

from __future__ import annotations

import torch
from torch import nn

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
