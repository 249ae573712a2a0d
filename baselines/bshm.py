"""Boosting Semantic Human Matting with Coarse Annotations (Liu, Yao, Wang, Xu, Liu, Zhao, Gu; CVPR 2020).

Three U-Net-like networks applied in turn:
- MPN (mask prediction network): RGB -> coarse mask (sigmoid);
- QUN (quality unification network): [RGB, coarse mask] -> mask of unified quality (sigmoid);
- MRN (matting refinement network): [RGB, unified mask] -> alpha (sigmoid).

The paper names the networks and their roles but not their widths, so each is a plain U-Net here
(two 3x3 conv + BN + ReLU per level, 2x max-pooling down, bilinear 2x up + skip concatenation):
MPN and MRN with widths 32-64-128-256-512, QUN (a lighter corrector) with 16-32-64-128-256.
Training (choices, after the paper's Sec. 3): stage ``mpn`` = BCE of the coarse mask against
alpha > 0.5 (coarse annotations are binary); stage ``qun`` = L2 between QUN's output (from the
frozen MPN's mask) and the binary mask, so that masks of any quality map to one quality; stage
``mrn`` = 0.5 alpha + 0.5 compositional (Charbonnier, whole image) on fine data, with MPN and QUN
frozen (the paper trains MRN on fine annotations only). Fractions 0.4 / 0.2 / 0.4.
† (``backbone="mobilenetv2"``): MPN's encoder is MODNet's MobileNetV2 (SPS weights via
``backbone_checkpoint``) with a U-Net decoder over its five taps.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Iterable, Optional, Sequence

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


def double_conv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(conv_bn_relu(cin, cout, 3), conv_bn_relu(cout, cout, 3))


class UNet(nn.Module):
    def __init__(self, in_channels: int, widths: Sequence[int] = (32, 64, 128, 256, 512)):
        super().__init__()
        self.down = nn.ModuleList()
        cin = in_channels
        for w in widths:
            self.down.append(double_conv(cin, w))
            cin = w
        self.up = nn.ModuleList(double_conv(widths[i + 1] + widths[i], widths[i]) for i in range(len(widths) - 2, -1, -1))
        self.head = nn.Conv2d(widths[0], 1, 1)

    def forward(self, x: Tensor) -> Tensor:
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        for block, skip in zip(self.up, reversed(skips[:-1])):
            x = block(torch.cat([up_to(x, skip), skip], 1))
        return self.head(x)


class MobileUNet(nn.Module):
    """MobileNetV2 encoder (taps at 1/2 .. 1/32) with a U-Net decoder back to full size."""

    def __init__(self, widths: Sequence[int] = (16, 32, 64, 128, 256)):
        super().__init__()
        self.encoder = MobileNetV2Encoder(3)
        ch = self.encoder.channels
        self.up = nn.ModuleList()
        cin = ch[4]
        for i in range(3, -1, -1):
            self.up.append(double_conv(cin + ch[i], widths[i]))
            cin = widths[i]
        self.full = double_conv(cin + 3, widths[0])
        self.head = nn.Conv2d(widths[0], 1, 1)

    def forward(self, x: Tensor) -> Tensor:
        taps = self.encoder(x)
        y = taps[4]
        for block, skip in zip(self.up, (taps[3], taps[2], taps[1], taps[0])):
            y = block(torch.cat([up_to(y, skip), skip], 1))
        return self.head(self.full(torch.cat([up_to(y, x), x[:, :3]], 1)))


class BSHMNet(nn.Module):
    def __init__(self, backbone: str = "unet"):
        super().__init__()
        if backbone == "unet":
            self.mpn: nn.Module = UNet(3)
        elif backbone == "mobilenetv2":
            self.mpn = MobileUNet()
        else:
            raise MattebenchError(f"BSHM backbone must be 'unet' or 'mobilenetv2', got {backbone!r}")
        self.qun = UNet(4, (16, 32, 64, 128, 256))
        self.mrn = UNet(4)

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        coarse_logit = self.mpn(x)
        coarse = torch.sigmoid(coarse_logit)
        unified = torch.sigmoid(self.qun(torch.cat([x, coarse], 1)))
        alpha = torch.sigmoid(self.mrn(torch.cat([x, unified], 1)))
        return {"coarse_logit": coarse_logit, "coarse": coarse, "unified": unified, "alpha": alpha}


class BSHM(TorchMattingMethod):
    train_stages = [("mpn", 0.4), ("qun", 0.2), ("mrn", 0.4)]
    default_optimizer = {"name": "adam", "lr": 1e-4}

    def __init__(self, *, backbone: str = "unet", backbone_checkpoint: Optional[str] = None, **kw: Any):
        model = BSHMNet(backbone)
        if backbone_checkpoint:
            if backbone != "mobilenetv2":
                raise MattebenchError("bshm: backbone_checkpoint needs backbone='mobilenetv2' (the plain U-Nets have no pretrained weights)")
            load_backbone_weights(model.mpn.encoder, backbone_checkpoint)
        self.card = BSHM_CARD if backbone == "unet" else dataclasses.replace(BSHM_CARD, pretrained="SPS MobileNetV2 MPN (†)")
        super().__init__(model, needs_trimap=False, ref_size=kw.pop("ref_size", 512), options=dict(backbone=backbone), **kw)

    def stage_parameters(self, stage: str) -> Iterable[nn.Parameter]:
        self._check_stage(stage)
        return list(getattr(self.model, stage).parameters())

    def training_step(self, batch: dict[str, Tensor], stage: str) -> tuple[Tensor, dict[str, float]]:
        self._check_stage(stage)
        m = self.model
        x = self.network_input(batch["image"], None)
        binary = (batch["alpha"] > 0.5).to(x.dtype)
        if stage == "mpn":
            loss = F.binary_cross_entropy_with_logits(m.mpn(x), binary)
            return loss, {"mask_bce": float(loss.detach())}
        with torch.no_grad():
            coarse = torch.sigmoid(m.mpn(x))
        if stage == "qun":
            unified = torch.sigmoid(m.qun(torch.cat([x, coarse], 1)))
            loss = F.mse_loss(unified, binary)
            return loss, {"unify_l2": float(loss.detach())}
        with torch.no_grad():
            unified = torch.sigmoid(m.qun(torch.cat([x, coarse], 1)))
        alpha = torch.sigmoid(m.mrn(torch.cat([x, unified], 1)))
        return dim_loss(alpha, batch, None)


BSHM_CARD = MethodCard(
    name="bshm", needs_trimap=False, family=FAMILY_FREE, pretrained="none; † = SPS MobileNetV2 MPN encoder",
    paper="Liu et al. Boosting Semantic Human Matting with Coarse Annotations. CVPR 2020", url="https://arxiv.org/abs/2004.04955",
    code_licence="Apache-2.0 (mattebench re-implementation; no official training code)", weights_licence="none (no released weights)",
    input_size="short side to 512 (MODNet's rule), multiple of 32",
    notes=(
        "MPN (RGB -> coarse mask), QUN ([RGB, mask] -> unified mask), MRN ([RGB, unified] -> alpha), each a plain "
        "U-Net (widths 32..512; QUN 16..256: the paper gives none). Stages: mpn (BCE vs alpha>0.5) 0.4, qun (L2 vs "
        "binary mask, MPN frozen) 0.2, mrn (0.5 alpha + 0.5 comp, MPN and QUN frozen) 0.4. Size not reported in the "
        "paper. backbone='mobilenetv2' (+ backbone_checkpoint) is BSHM †."
    ),
    trainable=True, weights_option="checkpoint",
)


@method(BSHM_CARD)
def create_bshm(device: Any = "cpu", checkpoint: Optional[str] = None, backbone: str = "unet",
                backbone_checkpoint: Optional[str] = None, ref_size: Annotated[Optional[int], AtLeast(1)] = 512) -> BSHM:
    return BSHM(backbone=backbone, backbone_checkpoint=backbone_checkpoint, device=device, checkpoint=checkpoint, ref_size=ref_size)
