"""Encoders of the baselines, built in torchvision's key layout, and their weight-file loaders.

ImageNet weights cannot be downloaded here, so users hand over the files they already have
(torchvision-format state_dicts of VGG-16(-BN), ResNet-50 / ResNeXt, DenseNet-201, MobileNetV2, or
MODNet's SPS-pretrained ``mobilenetv2_human_seg.ckpt``) and :func:`load_backbone_weights` maps
their keys onto these modules. Every encoder returns the five taps at strides 2, 4, 8, 16, 32
(``channels`` lists their widths), except VGG which also returns its max-pooling indices for
SegNet-style unpooling.

torchvision itself is not a dependency: its 0.29 wheel needs torch >= 2.14 and would pull a CUDA
build, so the layouts are re-declared here (same module names, so the same keys).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from typing import Callable, Optional, Sequence

import torch
from mattebench_baselines.common.checkpoints import load_strict, read_state_dict
from torch import Tensor, nn

from mattebench.errors import CheckpointError

# --------------------------------------------------------------------------------------------
# VGG-16 (torchvision ``vgg16`` / ``vgg16_bn``: ``features.N`` and ``classifier.0`` = fc6)
# --------------------------------------------------------------------------------------------
VGG16_CFG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")


class VGG16Encoder(nn.Module):
    """The 13 convolutions of VGG-16 with 5 max-poolings that keep their indices.

    ``fc6=True`` adds fc6 as a 7x7 convolution 512 -> 4096 (``conv6``, padding 3), as Deep Image
    Matting does; a torchvision ``classifier.0.weight`` (4096 x 25088) reshapes into it exactly.
    """

    def __init__(self, in_channels: int = 3, batch_norm: bool = True, fc6: bool = False, num_pools: int = 5):
        super().__init__()
        self.num_pools = num_pools  # SHM's M-Net keeps 4 of the 5 poolings (bottleneck at 1/16)
        layers: list[nn.Module] = []
        cin = in_channels
        for v in VGG16_CFG:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2, return_indices=True))
            else:
                layers.append(nn.Conv2d(cin, int(v), 3, padding=1))
                if batch_norm:
                    layers.append(nn.BatchNorm2d(int(v)))
                layers.append(nn.ReLU(inplace=True))
                cin = int(v)
        self.features = nn.Sequential(*layers)
        self.in_channels = in_channels
        self.batch_norm = batch_norm
        self.conv6 = nn.Conv2d(512, 4096, 7, padding=3) if fc6 else None
        self.out_channels = 4096 if fc6 else 512

    def forward(self, x: Tensor) -> tuple[Tensor, list[Tensor], list[torch.Size]]:
        """Returns (bottleneck at 1/2**num_pools, pooling indices [1/2 ..], pre-pool sizes)."""
        indices: list[Tensor] = []
        sizes: list[torch.Size] = []
        for layer in self.features:
            if isinstance(layer, nn.MaxPool2d):
                if len(indices) == self.num_pools:
                    break
                sizes.append(x.shape)
                x, idx = layer(x)
                indices.append(idx)
            else:
                x = layer(x)
        if self.conv6 is not None:
            x = torch.relu(self.conv6(x))
        return x, indices, sizes


# --------------------------------------------------------------------------------------------
# ResNet-50 / ResNeXt (torchvision ``resnet50``, ``resnext50_32x4d``, ``resnext101_32x8d``)
# --------------------------------------------------------------------------------------------
class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin: int, planes: int, stride: int = 1, downsample: Optional[nn.Module] = None,
                 groups: int = 1, base_width: int = 64, dilation: int = 1):
        super().__init__()
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, padding=dilation, dilation=dilation, groups=groups, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNetEncoder(nn.Module):
    """torchvision ResNet without ``fc``; ``dilate`` replaces the strides of layer2..4 by dilation
    (PSPNet's output stride 8 is ``(False, True, True)``)."""

    def __init__(self, layers: Sequence[int] = (3, 4, 6, 3), groups: int = 1, width_per_group: int = 64,
                 in_channels: int = 3, dilate: Sequence[bool] = (False, False, False)):
        super().__init__()
        self.groups, self.base_width = groups, width_per_group
        self.inplanes, self.dilation = 64, 1
        self.conv1 = nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(64, layers[0])
        self.layer2 = self._make_layer(128, layers[1], 2, dilate[0])
        self.layer3 = self._make_layer(256, layers[2], 2, dilate[1])
        self.layer4 = self._make_layer(512, layers[3], 2, dilate[2])
        self.in_channels = in_channels
        self.channels = (64, 256, 512, 1024, 2048)

    def _make_layer(self, planes: int, blocks: int, stride: int = 1, dilate: bool = False) -> nn.Sequential:
        previous = self.dilation
        if dilate:
            self.dilation *= stride
            stride = 1
        downsample = None
        if stride != 1 or self.inplanes != planes * 4:
            downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes * 4, 1, stride, bias=False), nn.BatchNorm2d(planes * 4))
        blocks_: list[nn.Module] = [Bottleneck(self.inplanes, planes, stride, downsample, self.groups, self.base_width, previous)]
        self.inplanes = planes * 4
        for _ in range(1, blocks):
            blocks_.append(Bottleneck(self.inplanes, planes, groups=self.groups, base_width=self.base_width, dilation=self.dilation))
        return nn.Sequential(*blocks_)

    def forward(self, x: Tensor) -> list[Tensor]:
        x0 = self.relu(self.bn1(self.conv1(x)))
        x1 = self.layer1(self.maxpool(x0))
        x2 = self.layer2(x1)
        x3 = self.layer3(x2)
        x4 = self.layer4(x3)
        return [x0, x1, x2, x3, x4]


def resnet50(in_channels: int = 3, dilate: Sequence[bool] = (False, False, False)) -> ResNetEncoder:
    return ResNetEncoder((3, 4, 6, 3), 1, 64, in_channels, dilate)


def resnext50_32x4d(in_channels: int = 3, dilate: Sequence[bool] = (False, False, False)) -> ResNetEncoder:
    return ResNetEncoder((3, 4, 6, 3), 32, 4, in_channels, dilate)


def resnext101_32x8d(in_channels: int = 3, dilate: Sequence[bool] = (False, False, False)) -> ResNetEncoder:
    return ResNetEncoder((3, 4, 23, 3), 32, 8, in_channels, dilate)


# --------------------------------------------------------------------------------------------
# DenseNet-201 (torchvision ``densenet201``: ``features.conv0`` ... ``features.norm5``)
# --------------------------------------------------------------------------------------------
class _DenseLayer(nn.Module):
    def __init__(self, cin: int, growth: int, bn_size: int):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(cin)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(cin, bn_size * growth, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(bn_size * growth, growth, 3, padding=1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv2(self.relu2(self.norm2(self.conv1(self.relu1(self.norm1(x))))))


class _DenseBlock(nn.ModuleDict):
    def __init__(self, n: int, cin: int, growth: int, bn_size: int):
        super().__init__()
        for i in range(n):
            self.add_module(f"denselayer{i + 1}", _DenseLayer(cin + i * growth, growth, bn_size))

    def forward(self, x: Tensor) -> Tensor:  # type: ignore[override]
        feats = [x]
        for layer in self.values():
            feats.append(layer(torch.cat(feats, 1)))
        return torch.cat(feats, 1)


class _Transition(nn.Sequential):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.add_module("norm", nn.BatchNorm2d(cin))
        self.add_module("relu", nn.ReLU(inplace=True))
        self.add_module("conv", nn.Conv2d(cin, cout, 1, bias=False))
        self.add_module("pool", nn.AvgPool2d(2, 2))


class DenseNetEncoder(nn.Module):
    """torchvision DenseNet ``features`` (no classifier). Taps: relu0 (1/2), dense blocks 1-3
    before their transition (1/4, 1/8, 1/16), relu(norm5) (1/32)."""

    def __init__(self, blocks: Sequence[int] = (6, 12, 48, 32), growth: int = 32, init: int = 64,
                 bn_size: int = 4, in_channels: int = 3):
        super().__init__()
        f = nn.Sequential()
        f.add_module("conv0", nn.Conv2d(in_channels, init, 7, 2, 3, bias=False))
        f.add_module("norm0", nn.BatchNorm2d(init))
        f.add_module("relu0", nn.ReLU(inplace=True))
        f.add_module("pool0", nn.MaxPool2d(3, 2, 1))
        c = init
        channels = [init]
        for i, n in enumerate(blocks):
            f.add_module(f"denseblock{i + 1}", _DenseBlock(n, c, growth, bn_size))
            c += n * growth
            channels.append(c)
            if i != len(blocks) - 1:
                f.add_module(f"transition{i + 1}", _Transition(c, c // 2))
                c //= 2
        f.add_module("norm5", nn.BatchNorm2d(c))
        self.features = f
        self.in_channels = in_channels
        self.channels = tuple(channels)

    def forward(self, x: Tensor) -> list[Tensor]:
        f = self.features
        x0 = f.relu0(f.norm0(f.conv0(x)))
        taps = [x0]
        x = f.pool0(x0)
        n_blocks = len(self.channels) - 1
        for i in range(n_blocks):
            x = getattr(f, f"denseblock{i + 1}")(x)
            if i != n_blocks - 1:
                taps.append(x)
                x = getattr(f, f"transition{i + 1}")(x)
        taps.append(torch.relu(f.norm5(x)))
        return taps


def densenet201(in_channels: int = 3) -> DenseNetEncoder:
    return DenseNetEncoder((6, 12, 48, 32), 32, 64, 4, in_channels)


# --------------------------------------------------------------------------------------------
# MobileNetV2 (MODNet's module: keys ``features.N...``, the layout of mobilenetv2_human_seg.ckpt)
# --------------------------------------------------------------------------------------------
MOBILENETV2_TAPS = (1, 3, 6, 13, 18)


class MobileNetV2Encoder(nn.Module):
    """MODNet's MobileNetV2 ``features[0..18]`` (reused, not copied: the SPS checkpoint loads
    into both); taps at features 1, 3, 6, 13, 18 (16, 24, 32, 96, 1280 channels)."""

    def __init__(self, in_channels: int = 3):
        super().__init__()
        from mattebench_baselines.modnet.blocks import MobileNetV2

        self.features = MobileNetV2(in_channels).features
        self.in_channels = in_channels
        self.channels = (16, 24, 32, 96, 1280)

    def forward(self, x: Tensor) -> list[Tensor]:
        taps = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in MOBILENETV2_TAPS:
                taps.append(x)
        return taps


ENCODERS: dict[str, Callable[..., nn.Module]] = {
    "vgg16": lambda in_channels=3: VGG16Encoder(in_channels, batch_norm=False),
    "vgg16_bn": lambda in_channels=3: VGG16Encoder(in_channels, batch_norm=True),
    "resnet50": resnet50,
    "resnext50_32x4d": resnext50_32x4d,
    "resnext101_32x8d": resnext101_32x8d,
    "densenet201": densenet201,
    "mobilenetv2": MobileNetV2Encoder,
}


# --------------------------------------------------------------------------------------------
# Weight-file loading by key mapping
# --------------------------------------------------------------------------------------------
_DENSENET_OLD = re.compile(r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$")


def _strip_prefixes(sd: "OrderedDict[str, Tensor]", prefixes: Sequence[str]) -> "OrderedDict[str, Tensor]":
    out: "OrderedDict[str, Tensor]" = OrderedDict()
    for k, v in sd.items():
        changed = True
        while changed:
            changed = False
            for p in prefixes:
                if k.startswith(p):
                    k = k[len(p):]
                    changed = True
        out[k] = v
    return out


def _torchvision_mobilenetv2_to_modnet(key: str) -> str:
    """torchvision nests Conv-BN-ReLU6 (``conv.0.0``, ``conv.0.1``, ``conv.1.0`` ...); MODNet's
    (and the SPS checkpoint's) blocks are flat (``conv.0``, ``conv.1``, ``conv.3`` ...)."""
    m = re.match(r"^features\.(\d+)\.conv\.(.+)$", key)
    if not m:
        return key
    block, rest = int(m.group(1)), m.group(2)
    t1 = {"0.0": "0", "0.1": "1", "1": "3", "2": "4"}  # expansion 1 (features.1)
    t6 = {"0.0": "0", "0.1": "1", "1.0": "3", "1.1": "4", "2": "6", "3": "7"}
    table = t1 if block == 1 else t6
    for src, dst in sorted(table.items(), key=lambda kv: -len(kv[0])):
        if rest.startswith(src + "."):
            return f"features.{block}.conv.{dst}.{rest[len(src) + 1:]}"
    return key


def _adapt_first_conv(weight: Tensor, cin: int) -> Tensor:
    """RGB weights of a pretrained first layer, extra input channels (trimap) zero-initialised as in
    DIM (Xu et al. 2017, Sec. 4.1) and IndexNet's released code."""
    if weight.shape[1] == cin:
        return weight
    if weight.shape[1] > cin:
        return weight[:, :cin].clone()
    out = torch.zeros(weight.shape[0], cin, *weight.shape[2:], dtype=weight.dtype)
    out[:, : weight.shape[1]] = weight
    return out


def map_backbone_state_dict(encoder: nn.Module, sd: "OrderedDict[str, Tensor]") -> "OrderedDict[str, Tensor]":
    """Map a torchvision (or SPS / MODNet) state_dict onto ``encoder``'s keys; classifier heads dropped."""
    sd = _strip_prefixes(sd, ("module.", "backbone.model.", "lr_branch.backbone.model.", "model.", "encoder."))
    out: "OrderedDict[str, Tensor]" = OrderedDict()
    if isinstance(encoder, VGG16Encoder):
        for k, v in sd.items():
            if k.startswith("features."):
                out[k] = v
            elif k == "classifier.0.weight" and encoder.conv6 is not None:
                out["conv6.weight"] = v.reshape(4096, 512, 7, 7)  # fc6 as a 7x7 convolution
            elif k == "classifier.0.bias" and encoder.conv6 is not None:
                out["conv6.bias"] = v
        first = "features.0.weight"
    elif isinstance(encoder, DenseNetEncoder):
        for k, v in sd.items():
            m = _DENSENET_OLD.match(k)
            k = m.group(1) + m.group(2) if m else k
            if k.startswith("features."):
                out[k] = v
        first = "features.conv0.weight"
    elif isinstance(encoder, ResNetEncoder):
        out = OrderedDict((k, v) for k, v in sd.items() if not k.startswith("fc."))
        first = "conv1.weight"
    elif isinstance(encoder, MobileNetV2Encoder):
        # torchvision nests its blocks (features.1.conv.0.0.weight); MODNet / SPS files are flat already
        nested = any(re.match(r"^features\.\d+\.conv\.\d+\.\d+\.", k) for k in sd)
        for k, v in sd.items():
            if k.startswith("features."):
                out[_torchvision_mobilenetv2_to_modnet(k) if nested else k] = v
        first = "features.0.0.weight"
    else:
        raise CheckpointError(f"no key mapping for encoder {type(encoder).__name__}")
    if first in out:
        out[first] = _adapt_first_conv(out[first], encoder.in_channels)  # type: ignore[arg-type]
    return out


def load_backbone_weights(encoder: nn.Module, path: str) -> None:
    """Load a user-supplied weight file into ``encoder`` (strict, after key mapping).

    Raises :class:`CheckpointError` naming the file and the missing/unexpected keys.
    """
    sd = map_backbone_state_dict(encoder, read_state_dict(path))
    load_strict(encoder, sd, path, f"the {type(encoder).__name__} backbone (expected a torchvision-format state_dict of the same architecture, or MODNet's mobilenetv2_human_seg.ckpt)")
