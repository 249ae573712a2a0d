"""Attention-Guided Hierarchical Structure Aggregation for Image Matting (HAttMatting; Qiao, Liu,
Yang, Zhou, Xu, Zhang, Wei; CVPR 2020).

Encoder: ResNeXt-101 32x8d (torchvision layout) with layers 3-4 dilated (output stride 8, our
choice: the paper's ~1.5 TMACs at 800 x 800 needs it). High level: ASPP (1x1 + 3x3 at rates 12,
24, 36 + image pooling, 256 channels) on the 1/8 features. Pyramidal features distillation (PFD):
channel attention on the ASPP features (global pooling, FC 256 -> 64 -> 256, sigmoid, rescale).
Appearance cues filtration (ACF): the 1/4 low-level features (layer1, reduced 256 -> 64) are
multiplied by a spatial attention map computed from the distilled high-level features (3x3 conv
-> 64, 1x1 conv -> 1, sigmoid, at 1/4). Aggregation decoder: [high-level upsampled to 1/4,
filtered low-level] -> two 3x3 conv-BN-ReLU (256), up to 1/2 with the conv1 features (64) ->
3x3 conv 64, up to full size with the image -> 3x3 conv 32 -> 3x3 conv 1, sigmoid.

Losses (paper Sec. 3.4): MSE + SSIM + adversarial. The discriminator (a PatchGAN on [RGB, alpha]:
4x4 stride-2 convs 64-128-256-512 with LeakyReLU, then a 4x4 conv to one logit map) lives beside
``.model`` (it is not needed for inference and not in the checkpoint); ``training_step`` updates it
with its own Adam (lr 1e-4, betas 0.5/0.999) and returns the generator loss
``1 * MSE + 1 * (1 - SSIM) + 0.05 * BCE(D(fake), real)``: weights are our choice (the paper does not
give them in a form we could confirm). ``adversarial=False`` drops the GAN term.
Size: 104.0 M parameters as built, 106.8 M with the discriminator (paper "about 107 M";
decoder widths not published).
† (``backbone="mobilenetv2"``): MODNet's MobileNetV2 (SPS weights via ``backbone_checkpoint``)
replaces ResNeXt; ``backbone_checkpoint`` with the default backbone takes torchvision
resnext101_32x8d weights.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Iterable, Optional

import torch
import torch.nn.functional as F
from mattebench_baselines.common.backbones import (
    MobileNetV2Encoder,
    load_backbone_weights,
    resnext101_32x8d,
)
from mattebench_baselines.common.blocks import ASPP, conv_bn_relu, up_to
from mattebench_baselines.common.losses import ssim_loss
from mattebench_baselines.common.torch_method import TorchMattingMethod
from torch import Tensor, nn

from mattebench.contract import method
from mattebench.errors import MattebenchError
from mattebench.types import FAMILY_FREE, AtLeast, MethodCard


class ChannelAttention(nn.Module):
    """PFD: squeeze-and-excitation style channel weights on the ASPP features."""

    def __init__(self, c: int = 256, reduction: int = 4):
        super().__init__()
        self.fc1 = nn.Linear(c, c // reduction)
        self.fc2 = nn.Linear(c // reduction, c)

    def forward(self, x: Tensor) -> Tensor:
        w = torch.sigmoid(self.fc2(torch.relu(self.fc1(x.mean((2, 3))))))
        return x * w[:, :, None, None]


class HAttNet(nn.Module):
    def __init__(self, backbone: str = "resnext101"):
        super().__init__()
        if backbone == "resnext101":
            # layers 3-4 dilated (output stride 8, DeepLab-v3 style): the MAC count then agrees with
            # the published ~1.5 TMACs at 800x800 (output stride 32 would give ~0.3 T)
            self.encoder: nn.Module = resnext101_32x8d(3, dilate=(False, True, True))
            rates = (12, 24, 36)
        elif backbone == "mobilenetv2":
            self.encoder = MobileNetV2Encoder(3)
            rates = (6, 12, 18)
        else:
            raise MattebenchError(f"HAtt backbone must be 'resnext101' or 'mobilenetv2', got {backbone!r}")
        ch = self.encoder.channels
        # pool_bn=False: the image-pooling branch must train with batches of one
        self.aspp = ASPP(ch[4], 256, rates=rates, pool_bn=False)
        self.pfd = ChannelAttention(256)
        self.low_reduce = conv_bn_relu(ch[1], 64, 1)
        self.spatial = nn.Sequential(conv_bn_relu(256, 64, 3), nn.Conv2d(64, 1, 1))
        self.fuse4 = nn.Sequential(conv_bn_relu(256 + 64, 256, 3), conv_bn_relu(256, 256, 3))
        self.fuse2 = conv_bn_relu(256 + ch[0], 64, 3)
        self.fuse1 = conv_bn_relu(64 + 3, 32, 3)
        self.pred = nn.Conv2d(32, 1, 3, padding=1)

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        taps = self.encoder(x)
        high = up_to(self.pfd(self.aspp(taps[4])), taps[1])
        attention = torch.sigmoid(self.spatial(high))
        low = self.low_reduce(taps[1]) * attention  # ACF: spatial attention filters appearance cues
        y = self.fuse4(torch.cat([high, low], 1))
        y = self.fuse2(torch.cat([up_to(y, taps[0]), taps[0]], 1))
        y = self.fuse1(torch.cat([up_to(y, x), x[:, :3]], 1))
        return {"alpha": torch.sigmoid(self.pred(y)), "attention": attention}


class PatchDiscriminator(nn.Module):
    def __init__(self, in_channels: int = 4):
        super().__init__()
        layers: list[nn.Module] = []
        cin = in_channels
        for i, c in enumerate((64, 128, 256, 512)):
            layers.append(nn.Conv2d(cin, c, 4, 2, 1, bias=i == 0))
            if i:
                layers.append(nn.BatchNorm2d(c))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            cin = c
        layers.append(nn.Conv2d(cin, 1, 4, 1, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class HAtt(TorchMattingMethod):
    default_optimizer = {"name": "adam", "lr": 1e-4}
    w_mse, w_ssim, w_adv = 1.0, 1.0, 0.05

    def __init__(self, *, backbone: str = "resnext101", backbone_checkpoint: Optional[str] = None, adversarial: bool = True, **kw: Any):
        model = HAttNet(backbone)
        if backbone_checkpoint:
            load_backbone_weights(model.encoder, backbone_checkpoint)
        self.adversarial = adversarial
        self.discriminator: Optional[PatchDiscriminator] = PatchDiscriminator() if adversarial else None
        self._d_optimizer: Optional[torch.optim.Optimizer] = None
        self.card = HATT_CARD if backbone == "resnext101" else dataclasses.replace(HATT_CARD, pretrained="SPS MobileNetV2 (†)")
        super().__init__(model, needs_trimap=False, ref_size=kw.pop("ref_size", 512), options=dict(backbone=backbone, adversarial=adversarial), **kw)

    def stage_parameters(self, stage: str) -> Iterable[nn.Parameter]:
        self._check_stage(stage)
        return list(self.model.parameters())

    def _discriminator_step(self, d: PatchDiscriminator, image: Tensor, real: Tensor, fake: Tensor) -> float:
        d.to(image.device).train()
        if self._d_optimizer is None:
            self._d_optimizer = torch.optim.Adam(d.parameters(), lr=1e-4, betas=(0.5, 0.999))
        self._d_optimizer.zero_grad(set_to_none=True)
        pr, pf = d(torch.cat([image, real], 1)), d(torch.cat([image, fake.detach()], 1))
        loss = F.binary_cross_entropy_with_logits(pr, torch.ones_like(pr)) + F.binary_cross_entropy_with_logits(pf, torch.zeros_like(pf))
        loss.backward()
        self._d_optimizer.step()
        self._d_optimizer.zero_grad(set_to_none=True)
        return float(loss.detach())

    def training_step(self, batch: dict[str, Tensor], stage: str) -> tuple[Tensor, dict[str, float]]:
        self._check_stage(stage)
        alpha = self.model(self.network_input(batch["image"], None))["alpha"]
        mse = F.mse_loss(alpha, batch["alpha"])
        ssim = ssim_loss(alpha, batch["alpha"])
        loss = self.w_mse * mse + self.w_ssim * ssim
        parts = {"mse": float(mse.detach()), "ssim": float(ssim.detach())}
        if self.discriminator is not None:
            parts["d_loss"] = self._discriminator_step(self.discriminator, batch["image"], batch["alpha"], alpha)
            for p in self.discriminator.parameters():
                p.requires_grad_(False)  # the generator loss must not leave gradients on D
            pf = self.discriminator(torch.cat([batch["image"], alpha], 1))
            for p in self.discriminator.parameters():
                p.requires_grad_(True)
            adv = F.binary_cross_entropy_with_logits(pf, torch.ones_like(pf))
            loss = loss + self.w_adv * adv
            parts["adv"] = float(adv.detach())
        return loss, parts


HATT_CARD = MethodCard(
    name="hatt", needs_trimap=False, family=FAMILY_FREE, pretrained="ImageNet ResNeXt-101 32x8d (user-supplied); † = SPS MobileNetV2",
    paper="Qiao et al. Attention-Guided Hierarchical Structure Aggregation for Image Matting. CVPR 2020",
    url="https://wukaoliu.github.io/HAttMatting/", code_licence="Apache-2.0 (mattebench re-implementation from the paper)",
    weights_licence="none (no released weights)", input_size="short side to 512 (MODNet's rule), multiple of 32",
    notes=(
        "ResNeXt-101 32x8d dilated to output stride 8, ASPP (12/24/36) with channel attention (PFD), spatial attention on 1/4 low-level features "
        "(ACF), aggregation decoder to full size. Loss MSE + (1-SSIM) + 0.05 adversarial (PatchGAN on [RGB, alpha], "
        "trained inside training_step with its own Adam; not in the checkpoint); weights our choice; "
        "adversarial=False drops it. 104.0 M parameters, 106.8 M with the discriminator (paper about 107 M). backbone='mobilenetv2' "
        "(+ backbone_checkpoint) is HAtt †; backbone_checkpoint alone takes torchvision resnext101_32x8d weights."
    ),
    trainable=True, weights_option="checkpoint",
)


@method(HATT_CARD)
def create_hatt(device: Any = "cpu", checkpoint: Optional[str] = None, backbone: str = "resnext101",
                backbone_checkpoint: Optional[str] = None, adversarial: bool = True,
                ref_size: Annotated[Optional[int], AtLeast(1)] = 512) -> HAtt:
    return HAtt(backbone=backbone, backbone_checkpoint=backbone_checkpoint, adversarial=adversarial, device=device,
                checkpoint=checkpoint, ref_size=ref_size)
