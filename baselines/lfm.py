"""A Late Fusion CNN for Digital Matting (Zhang, Gong, Fang, Chen, Shen, Wang, Zhou; CVPR 2019).

Encoder: DenseNet-201 (taps relu0 1/2, dense blocks 1-3 at 1/4, 1/8, 1/16, norm5 at 1/32).
Two decoders of the same shape, one predicting the foreground probability F, the other the
background probability B: from 1/32, four steps (2x bilinear upsampling, concatenation with the
encoder tap, 3x3 conv + BN + ReLU to 256, 128, 64, 32), then to full size, concatenation with
the image and a 3x3 conv to 32 channels, and a 1x1 conv to one logit (sigmoid).
Fusion branch: concat(image, both decoders' last 32-channel features, F, B) -> 3x3 conv 64 ->
3x3 conv 32 -> 3x3 conv 1 -> sigmoid = blending weight beta; alpha = beta F + (1 - beta)(1 - B)
(paper eq. 1).

Choices (the paper gives the layout, not every width): decoder widths above (37.6 M parameters
with DenseNet-201, paper "about 37.9 M"); losses per stage: segmentation = for each decoder
BCE + L1 against alpha (F) and 1 - alpha (B); fusion = L1 of the fused alpha (decoders frozen);
joint = both (fusion term weight 1). Step fractions 0.4 / 0.2 / 0.4.
† (``backbone="mobilenetv2"``): MODNet's MobileNetV2 (SPS weights via ``backbone_checkpoint``)
replaces DenseNet-201; decoders and fusion unchanged. ``backbone_checkpoint`` with the default
backbone takes torchvision densenet201 weights.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Iterable, Optional, Sequence

import torch
import torch.nn.functional as F
from mattebench_baselines.common.backbones import (
    MobileNetV2Encoder,
    densenet201,
    load_backbone_weights,
)
from mattebench_baselines.common.blocks import conv_bn_relu, up_to
from mattebench_baselines.common.torch_method import TorchMattingMethod
from torch import Tensor, nn

from mattebench.contract import method
from mattebench.errors import MattebenchError
from mattebench.types import FAMILY_FREE, AtLeast, MethodCard

WIDTHS = (256, 128, 64, 32)


class LFMDecoder(nn.Module):
    def __init__(self, channels: Sequence[int], widths: Sequence[int] = WIDTHS):
        super().__init__()
        stages = []
        cin = channels[4]
        for skip, w in zip((channels[3], channels[2], channels[1], channels[0]), widths):
            stages.append(conv_bn_relu(cin + skip, w, 3))
            cin = w
        self.stages = nn.ModuleList(stages)
        self.full = conv_bn_relu(cin + 3, 32, 3)
        self.head = nn.Conv2d(32, 1, 1)

    def forward(self, taps: list[Tensor], image: Tensor) -> tuple[Tensor, Tensor]:
        x = taps[4]
        for stage, skip in zip(self.stages, (taps[3], taps[2], taps[1], taps[0])):
            x = stage(torch.cat([up_to(x, skip), skip], 1))
        feat = self.full(torch.cat([up_to(x, image), image], 1))
        return self.head(feat), feat


class LFMNet(nn.Module):
    def __init__(self, backbone: str = "densenet201"):
        super().__init__()
        if backbone == "densenet201":
            self.encoder: nn.Module = densenet201(3)
        elif backbone == "mobilenetv2":
            self.encoder = MobileNetV2Encoder(3)
        else:
            raise MattebenchError(f"LFM backbone must be 'densenet201' or 'mobilenetv2', got {backbone!r}")
        ch = self.encoder.channels
        self.fg_decoder = LFMDecoder(ch)
        self.bg_decoder = LFMDecoder(ch)
        self.fusion = nn.Sequential(conv_bn_relu(3 + 32 + 32 + 2, 64, 3), conv_bn_relu(64, 32, 3), nn.Conv2d(32, 1, 3, padding=1))

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        image = x[:, :3]
        taps = self.encoder(x)
        f_logit, f_feat = self.fg_decoder(taps, image)
        b_logit, b_feat = self.bg_decoder(taps, image)
        fg, bg = torch.sigmoid(f_logit), torch.sigmoid(b_logit)
        beta = torch.sigmoid(self.fusion(torch.cat([image, f_feat, b_feat, fg, bg], 1)))
        alpha = beta * fg + (1 - beta) * (1 - bg)  # eq. 1
        return {"fg_logit": f_logit, "bg_logit": b_logit, "fg": fg, "bg": bg, "beta": beta, "alpha": alpha}


class LFM(TorchMattingMethod):
    train_stages = [("segmentation", 0.4), ("fusion", 0.2), ("joint", 0.4)]
    default_optimizer = {"name": "adam", "lr": 1e-4}

    def __init__(self, *, backbone: str = "densenet201", backbone_checkpoint: Optional[str] = None, **kw: Any):
        model = LFMNet(backbone)
        if backbone_checkpoint:
            load_backbone_weights(model.encoder, backbone_checkpoint)
        self.card = LFM_CARD if backbone == "densenet201" else dataclasses.replace(LFM_CARD, pretrained="SPS MobileNetV2 (†)")
        super().__init__(model, needs_trimap=False, ref_size=kw.pop("ref_size", 512), options=dict(backbone=backbone), **kw)

    def stage_parameters(self, stage: str) -> Iterable[nn.Parameter]:
        self._check_stage(stage)
        m = self.model
        if stage == "segmentation":
            return [*m.encoder.parameters(), *m.fg_decoder.parameters(), *m.bg_decoder.parameters()]
        if stage == "fusion":
            return list(m.fusion.parameters())
        return list(m.parameters())

    def training_step(self, batch: dict[str, Tensor], stage: str) -> tuple[Tensor, dict[str, float]]:
        self._check_stage(stage)
        out = self.model(self.network_input(batch["image"], None))
        a = batch["alpha"]
        seg_f = F.binary_cross_entropy_with_logits(out["fg_logit"], a) + (out["fg"] - a).abs().mean()
        seg_b = F.binary_cross_entropy_with_logits(out["bg_logit"], 1 - a) + (out["bg"] - (1 - a)).abs().mean()
        fusion = (out["alpha"] - a).abs().mean()
        parts = {"seg_fg": float(seg_f.detach()), "seg_bg": float(seg_b.detach()), "fusion_l1": float(fusion.detach())}
        if stage == "segmentation":
            return seg_f + seg_b, parts
        if stage == "fusion":
            return fusion, parts
        return seg_f + seg_b + fusion, parts


LFM_CARD = MethodCard(
    name="lfm", needs_trimap=False, family=FAMILY_FREE, pretrained="ImageNet DenseNet-201 (user-supplied); † = SPS MobileNetV2",
    paper="Zhang et al. A Late Fusion CNN for Digital Matting. CVPR 2019", url="https://github.com/yunkezhang/FusionMatting",
    code_licence="Apache-2.0 (mattebench re-implementation from the paper)", weights_licence="none (no released weights)",
    input_size="short side to 512 (MODNet's rule), multiple of 32",
    notes=(
        "DenseNet-201 encoder with skips, two decoders (F, B: 3x3 conv-BN-ReLU widths 256/128/64/32 + full-size 32), "
        "fusion branch (64, 32, 1) -> beta; alpha = beta F + (1-beta)(1-B). Widths are our choice (37.6 M vs paper "
        "~37.9 M). Stages: segmentation (BCE + L1 per decoder) 0.4, fusion (L1 of alpha, fusion only) 0.2, joint 0.4. "
        "backbone='mobilenetv2' (+ backbone_checkpoint) is LFM †; backbone_checkpoint alone takes torchvision "
        "densenet201 weights."
    ),
    trainable=True, weights_option="checkpoint",
)


@method(LFM_CARD)
def create_lfm(device: Any = "cpu", checkpoint: Optional[str] = None, backbone: str = "densenet201",
               backbone_checkpoint: Optional[str] = None, ref_size: Annotated[Optional[int], AtLeast(1)] = 512) -> LFM:
    return LFM(backbone=backbone, backbone_checkpoint=backbone_checkpoint, device=device, checkpoint=checkpoint, ref_size=ref_size)
