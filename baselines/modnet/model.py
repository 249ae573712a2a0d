"""MODNet (Ke et al., AAAI 2022), module by module as in the paper's Fig. 2.

``MODNet()`` is the public v1 release (SE block in S); ``MODNet(context="easpp")`` is the paper's
variant with e-ASPP in S. The call is the official one: ``model(x, inference)`` returns
``(pred_semantic, pred_detail, pred_matte)``; the first two are None when ``inference`` is True.
``x`` is Bx3xHxW in [-1, 1] with H and W multiples of 32.

``MODNet(in_channels=4)`` is the paper's "MODNet (trimap)" of Tables 1-2 ("taking a trimap as input during
both training and testing"): the paper does not say where the trimap enters, so it is a fourth input
channel wherever the image enters (the backbone, and the image concatenations of D and F).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from mattebench_baselines.modnet.blocks import EASPP, Conv, MobileNetV2Backbone, SEBlock
from torch import nn


def resize(x: torch.Tensor, scale: float) -> torch.Tensor:
    return F.interpolate(x, scale_factor=scale, mode="bilinear", align_corners=False)


def up2(x: torch.Tensor) -> torch.Tensor:
    return resize(x, 2)


class LRBranch(nn.Module):
    """S: the encoder, context on the 1/32 features, decoded to 1/8 (lr8x); semantics s_p at 1/16."""

    def __init__(self, backbone: MobileNetV2Backbone, context: str = "se"):
        super().__init__()
        e = backbone.enc_channels
        self.backbone = backbone
        if context == "se":
            self.se_block = SEBlock(e[4], reduction=4)
        elif context == "easpp":
            self.easpp = EASPP(e[4])
        else:
            raise ValueError(f"unknown context module {context!r}: 'se' (v1 release) or 'easpp' (AAAI paper)")
        self.conv_lr16x = Conv(e[4], e[3], 5)
        self.conv_lr8x = Conv(e[3], e[2], 5)
        self.conv_lr = Conv(e[2], 1, 3, stride=2, plain=True)

    def forward(self, img: torch.Tensor, inference: bool):
        enc2x, enc4x, _, _, enc32x = self.backbone(img)
        context = self.se_block if hasattr(self, "se_block") else self.easpp
        lr16x = self.conv_lr16x(up2(context(enc32x)))
        lr8x = self.conv_lr8x(up2(lr16x))
        pred_semantic = None if inference else torch.sigmoid(self.conv_lr(lr8x))
        return pred_semantic, lr8x, enc2x, enc4x


class HRBranch(nn.Module):
    """D: boundary details at 1/4 and 1/2 from the image, low-level features and S(I); d_p at full size."""

    def __init__(self, hr: int = 32, enc: tuple[int, ...] = MobileNetV2Backbone.enc_channels, img: int = 3):
        super().__init__()
        self.tohr_enc2x = Conv(enc[0], hr, 1)
        self.conv_enc2x = Conv(hr + img, hr, 3, stride=2)
        self.tohr_enc4x = Conv(enc[1], hr, 1)
        self.conv_enc4x = Conv(2 * hr, 2 * hr, 3)
        self.conv_hr4x = nn.Sequential(Conv(3 * hr + img, 2 * hr, 3), Conv(2 * hr, 2 * hr, 3), Conv(2 * hr, hr, 3))
        self.conv_hr2x = nn.Sequential(Conv(2 * hr, 2 * hr, 3), Conv(2 * hr, hr, 3), Conv(hr, hr, 3), Conv(hr, hr, 3))
        self.conv_hr = nn.Sequential(Conv(hr + img, hr, 3), Conv(hr, 1, 1, plain=True))

    def forward(self, img, enc2x, enc4x, lr8x, inference: bool):
        img2x, img4x = resize(img, 1 / 2), resize(img, 1 / 4)
        enc2x = self.tohr_enc2x(enc2x)
        hr4x = self.conv_enc2x(torch.cat((img2x, enc2x), 1))  # image first here, last elsewhere
        hr4x = self.conv_enc4x(torch.cat((hr4x, self.tohr_enc4x(enc4x)), 1))
        hr4x = self.conv_hr4x(torch.cat((hr4x, up2(lr8x), img4x), 1))
        hr2x = self.conv_hr2x(torch.cat((up2(hr4x), enc2x), 1))
        pred_detail = None if inference else torch.sigmoid(self.conv_hr(torch.cat((up2(hr2x), img), 1)))
        return pred_detail, hr2x


class FusionBranch(nn.Module):
    """F: upsampled semantics + details -> alpha matte alpha_p."""

    def __init__(self, hr: int = 32, enc: tuple[int, ...] = MobileNetV2Backbone.enc_channels, img: int = 3):
        super().__init__()
        self.conv_lr4x = Conv(enc[2], hr, 5)
        self.conv_f2x = Conv(2 * hr, hr, 3)
        self.conv_f = nn.Sequential(Conv(hr + img, hr // 2, 3), Conv(hr // 2, 1, 1, plain=True))

    def forward(self, img, lr8x, hr2x):
        lr2x = up2(self.conv_lr4x(up2(lr8x)))
        f2x = self.conv_f2x(torch.cat((lr2x, hr2x), 1))
        return torch.sigmoid(self.conv_f(torch.cat((up2(f2x), img), 1)))


class MODNet(nn.Module):
    """The backbone is registered twice (``backbone`` and ``lr_branch.backbone``), as in the release, so
    the state_dict holds both copies of its keys; ``parameters()`` counts it once."""

    def __init__(self, in_channels: int = 3, hr_channels: int = 32, context: str = "se"):
        super().__init__()
        self.backbone = MobileNetV2Backbone(in_channels)
        self.lr_branch = LRBranch(self.backbone, context)
        self.in_channels = in_channels
        self.hr_branch = HRBranch(hr_channels, self.backbone.enc_channels, in_channels)
        self.f_branch = FusionBranch(hr_channels, self.backbone.enc_channels, in_channels)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Official initialisation: kaiming-uniform (fan_in, relu) convs with zero bias; norms 1 and 0."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_uniform_(m.weight, a=0, mode="fan_in", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d)) and m.weight is not None:
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, img: torch.Tensor, inference: bool = False):
        pred_semantic, lr8x, enc2x, enc4x = self.lr_branch(img, inference)
        pred_detail, hr2x = self.hr_branch(img, enc2x, enc4x, lr8x, inference)
        pred_matte = self.f_branch(img, lr8x, hr2x)
        return pred_semantic, pred_detail, pred_matte

    def freeze_norm(self) -> None:
        """Norm layers to eval mode and their affine parameters frozen (SOC, paper Sec. 'Results on
        Real-World Data': 'we freeze the BatchNorm layers')."""
        for m in self.modules():
            if isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d)):
                m.eval()
                for p in m.parameters():
                    p.requires_grad_(False)


def count_parameters(model: nn.Module, heads: bool = True) -> int:
    """Distinct parameters; ``heads=False`` leaves out the training heads conv_lr and conv_hr."""
    skip: set[int] = set()
    if not heads and isinstance(model, MODNet):
        skip = {id(p) for m in (model.lr_branch.conv_lr, model.hr_branch.conv_hr) for p in m.parameters()}
    return sum(p.numel() for p in model.parameters() if id(p) not in skip)
