"""Fast Deep Matting for Portrait Animation on Mobile Phone (Zhu, Chen, Shen, Jia; ACM MM 2017).

Segmentation block (the paper's Fig. 2): a 3x3 stride-2 conv 3 -> 13 concatenated with the 2x
max-pooled input (16 channels at 1/2); four densely connected dilated 3x3 convs of 16 channels
(dilation 2, 4, 6, 8; each sees the block input and every earlier output); a 3x3 conv on all of
them (80 channels) -> 2 classes; 2x bilinear upsampling; softmax -> foreground F and background B.
Feathering block (a learned guided filter): concat(I, F, B, I*I, I*F) (11 channels) -> 3x3 conv 8
+ BN + ReLU -> 3x3 conv 3 = (a, b, c); alpha = sigmoid(a F + b B + c).

Choices where the paper is silent: BN + ReLU after the first conv and each dilated conv; the image
enters in [0,1] (no mean/std, so I*I and I*F are products of intensities); the network runs at
its 128 x 128 input (``fixed_size``), the alpha is resized back bilinearly. 25,945 + 154 (BN)
= 26,099 parameters (paper: 0.026 M). Training: the segmentation block first (2-class
cross-entropy against alpha > 0.5), then everything on 0.5 alpha + 0.5 compositional loss
(Charbonnier) over the whole image.
† (``backbone="mobilenetv2"``): the segmentation block becomes MODNet's MobileNetV2 (SPS weights
via ``backbone_checkpoint``) with a light head (1/32 features to 64 channels, upsampled to 1/4 and
fused with the 1/4 tap, 3x3 convs to 2 classes); the feathering block is unchanged.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Iterable, Optional

import torch
import torch.nn.functional as F
from mattebench_baselines.common.backbones import (
    MobileNetV2Encoder,
    load_backbone_weights,
)
from mattebench_baselines.common.blocks import conv_bn_relu, up_to
from mattebench_baselines.common.losses import dim_loss
from mattebench_baselines.common.torch_method import TorchMattingMethod
from torch import Tensor, nn

from mattebench.contract import method
from mattebench.errors import MattebenchError
from mattebench.types import FAMILY_FREE, AtLeast, MethodCard


class SegmentationBlock(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = conv_bn_relu(3, 13, 3, stride=2, bias=True)
        self.pool = nn.MaxPool2d(2, 2)
        self.dilated = nn.ModuleList(conv_bn_relu(16 * (i + 1), 16, 3, dilation=d, bias=True) for i, d in enumerate((2, 4, 6, 8)))
        self.classifier = nn.Conv2d(80, 2, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        feats = [torch.cat([self.conv(x), self.pool(x)], 1)]
        for layer in self.dilated:
            feats.append(layer(torch.cat(feats, 1)))
        return up_to(self.classifier(torch.cat(feats, 1)), x)


class MobileSegmentation(nn.Module):
    """† segmentation block: MobileNetV2 + a light two-level head."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = MobileNetV2Encoder(3)
        self.reduce = conv_bn_relu(1280, 64, 1)
        self.fuse = conv_bn_relu(64 + 24, 32, 3)
        self.classifier = nn.Conv2d(32, 2, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        taps = self.encoder(x)
        y = up_to(self.reduce(taps[4]), taps[1])
        return up_to(self.classifier(self.fuse(torch.cat([y, taps[1]], 1))), x)


class FeatheringBlock(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(11, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 3, 3, padding=1)

    def forward(self, image: Tensor, fg: Tensor, bg: Tensor) -> Tensor:
        x = torch.cat([image, fg, bg, image * image, image * fg], 1)
        abc = self.conv2(torch.relu(self.bn(self.conv1(x))))
        a, b, c = abc[:, 0:1], abc[:, 1:2], abc[:, 2:3]
        return torch.sigmoid(a * fg + b * bg + c)


class FDMPANet(nn.Module):
    def __init__(self, backbone: str = "fdmpa"):
        super().__init__()
        if backbone == "fdmpa":
            self.segmentation: nn.Module = SegmentationBlock()
        elif backbone == "mobilenetv2":
            self.segmentation = MobileSegmentation()
        else:
            raise MattebenchError(f"FDMPA backbone must be 'fdmpa' or 'mobilenetv2', got {backbone!r}")
        self.feathering = FeatheringBlock()

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        logits = self.segmentation(x)
        prob = torch.softmax(logits, 1)
        fg, bg = prob[:, 1:2], prob[:, 0:1]
        return {"seg_logits": logits, "alpha": self.feathering(x, fg, bg)}


class FDMPA(TorchMattingMethod):
    fixed_size = 128
    input_multiple = 4
    mean = (0.0, 0.0, 0.0)
    std = (1.0, 1.0, 1.0)
    train_stages = [("segmentation", 0.5), ("joint", 0.5)]
    default_optimizer = {"name": "adam", "lr": 1e-3}

    def __init__(self, *, backbone: str = "fdmpa", backbone_checkpoint: Optional[str] = None, size: int = 128, **kw: Any):
        model = FDMPANet(backbone)
        if backbone_checkpoint:
            if backbone != "mobilenetv2":
                raise MattebenchError("fdmpa: backbone_checkpoint needs backbone='mobilenetv2' (the original block has no pretrained weights)")
            load_backbone_weights(model.segmentation.encoder, backbone_checkpoint)
        if backbone == "mobilenetv2":
            self.input_multiple = 32
            size = max(32, size // 32 * 32)
        self.fixed_size = size
        self.card = FDMPA_CARD if backbone == "fdmpa" else dataclasses.replace(FDMPA_CARD, pretrained="SPS MobileNetV2 (†)")
        super().__init__(model, needs_trimap=False, options=dict(backbone=backbone, size=size), **kw)

    def stage_parameters(self, stage: str) -> Iterable[nn.Parameter]:
        self._check_stage(stage)
        if stage == "segmentation":
            return list(self.model.segmentation.parameters())
        return list(self.model.parameters())

    def training_step(self, batch: dict[str, Tensor], stage: str) -> tuple[Tensor, dict[str, float]]:
        self._check_stage(stage)
        out = self.model(self.network_input(batch["image"], None))
        if stage == "segmentation":
            target = (batch["alpha"][:, 0] > 0.5).long()
            loss = F.cross_entropy(out["seg_logits"], target)
            return loss, {"seg_ce": float(loss.detach())}
        return dim_loss(out["alpha"], batch, None)


FDMPA_CARD = MethodCard(
    name="fdmpa", needs_trimap=False, family=FAMILY_FREE, pretrained="none; † = SPS MobileNetV2 segmentation block",
    paper="Zhu, Chen, Shen, Jia. Fast Deep Matting for Portrait Animation on Mobile Phone. ACM MM 2017",
    url="https://arxiv.org/abs/1707.08289", code_licence="Apache-2.0 (mattebench re-implementation; no official code)",
    weights_licence="none (no released weights)", input_size="fixed 128 x 128 (size= option); alpha resized back",
    notes=(
        "Segmentation block (3x3/s2 conv 3->13 + 2x max-pooled input, four densely connected dilated convs "
        "16 ch d=2,4,6,8, 3x3 conv 80->2, x2 up, softmax) and feathering block (concat(I,F,B,I*I,I*F) -> conv 8 + BN "
        "+ ReLU -> conv 3 -> alpha = sigmoid(aF+bB+c)). Choices: BN+ReLU in the segmentation block, image in [0,1], "
        "26,099 parameters (paper 0.026 M). Stages: segmentation (2-class CE vs alpha>0.5) 0.5, joint (0.5 alpha "
        "+ 0.5 comp, Charbonnier, whole image) 0.5. backbone='mobilenetv2' (+ backbone_checkpoint) is FDMPA †."
    ),
    trainable=True, weights_option="checkpoint",
)


@method(FDMPA_CARD)
def create_fdmpa(device: Any = "cpu", checkpoint: Optional[str] = None, backbone: str = "fdmpa",
                 backbone_checkpoint: Optional[str] = None, size: Annotated[int, AtLeast(1)] = 128) -> FDMPA:
    return FDMPA(backbone=backbone, backbone_checkpoint=backbone_checkpoint, size=size, device=device, checkpoint=checkpoint)
