"""Semantic Human Matting (Chen, Ge, Xu, Wang, Li, Zhu, Gai; ACM MM 2018).

T-Net: PSPNet-50 (ResNet-50 with layers 3-4 dilated, output stride 8; pyramid pooling with bins
1, 2, 3, 6; 3x3 conv 4096 -> 512 + BN + ReLU, dropout 0.1, 1x1 conv -> 3 classes; the auxiliary
head on layer3 of PSPNet training is kept) predicting background / unknown / foreground.
M-Net: DIM-like encoder-decoder on 6 channels (RGB + the three T-Net probabilities): the 13 convs
of VGG-16 with BN and 4 max-poolings (bottleneck at 1/16), decoder of 6 convs (5x5 + BN + ReLU:
512, 256, 128, 64, 64, then the 5x5 alpha layer with a sigmoid) and 4 max-unpoolings.
Fusion (eq. 3): alpha_p = F_s + U_s * alpha_r with F_s, U_s the T-Net softmax probabilities.

Losses (Sec. 3.4): L = L_p + 0.01 L_t; L_p = 0.5 L_alpha + 0.5 L_c (Charbonnier, whole image);
L_t = cross-entropy of the trimap (0.4 x the auxiliary head, PSPNet's weight). Phases: T-Net
pre-training (L_t), M-Net pre-training on ground-truth trimaps (L_p on the fused alpha with the
one-hot trimap in place of T-Net's), end-to-end (L). Fractions 0.3 / 0.3 / 0.4 are our choice.
Size: 74.63 M parameters as built (paper 79.27 M): the M-Net decoder widths are not published;
we use DIM's. † (``backbone="mobilenetv2"``): T-Net becomes MODNet's MobileNetV2 (SPS weights via
``backbone_checkpoint``) + pyramid pooling; M-Net unchanged. ``mnet_checkpoint`` takes a
torchvision vgg16_bn state_dict for the M-Net encoder (trimap channels zero-initialised).
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Iterable, Optional

import torch
import torch.nn.functional as F
from mattebench_baselines.common.backbones import (
    MobileNetV2Encoder,
    VGG16Encoder,
    load_backbone_weights,
    resnet50,
)
from mattebench_baselines.common.blocks import PyramidPooling, conv_bn_relu, up_to
from mattebench_baselines.common.losses import dim_loss, trimap_classes
from mattebench_baselines.common.torch_method import TorchMattingMethod
from torch import Tensor, nn

from mattebench.contract import method
from mattebench.errors import MattebenchError
from mattebench.types import FAMILY_FREE, AtLeast, MethodCard


class TNet(nn.Module):
    """PSPNet-50 (or MobileNetV2 + PPM for †) predicting 3-class trimap logits at full size."""

    def __init__(self, backbone: str = "resnet50"):
        super().__init__()
        self.backbone = backbone
        if backbone == "resnet50":
            self.encoder: nn.Module = resnet50(3, dilate=(False, True, True))
            cin, aux_in = 2048, 1024
        elif backbone == "mobilenetv2":
            self.encoder = MobileNetV2Encoder(3)
            cin, aux_in = 1280, 96
        else:
            raise MattebenchError(f"SHM T-Net backbone must be 'resnet50' or 'mobilenetv2', got {backbone!r}")
        self.ppm = PyramidPooling(cin)
        self.head = nn.Sequential(conv_bn_relu(self.ppm.out_channels, 512 if cin == 2048 else 256, 3), nn.Dropout2d(0.1),
                                  nn.Conv2d(512 if cin == 2048 else 256, 3, 1))
        self.aux = nn.Sequential(conv_bn_relu(aux_in, 256, 3), nn.Dropout2d(0.1), nn.Conv2d(256, 3, 1))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        taps = self.encoder(x)
        logits = up_to(self.head(self.ppm(taps[4])), x)
        aux = up_to(self.aux(taps[3]), x)
        return logits, aux


class MNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.encoder = VGG16Encoder(6, batch_norm=True, fc6=False, num_pools=4)
        widths = (512, 256, 128, 64, 64)
        cin = 512
        layers = []
        for w in widths:
            layers.append(nn.Sequential(nn.Conv2d(cin, w, 5, padding=2, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True)))
            cin = w
        self.decoder = nn.ModuleList(layers)
        self.alpha_pred = nn.Conv2d(64, 1, 5, padding=2)

    def forward(self, x: Tensor) -> Tensor:
        d, indices, sizes = self.encoder(x)
        d = self.decoder[0](d)  # at 1/16
        for layer, i in zip(self.decoder[1:], range(3, -1, -1)):
            d = layer(F.max_unpool2d(d, indices[i], 2, 2, output_size=sizes[i][-2:]))
        return torch.sigmoid(self.alpha_pred(d))


class SHMNet(nn.Module):
    def __init__(self, backbone: str = "resnet50"):
        super().__init__()
        self.tnet = TNet(backbone)
        self.mnet = MNet()

    def matting(self, x: Tensor, trimap_prob: Tensor) -> dict[str, Tensor]:
        """M-Net and the fusion given trimap probabilities (B x 3 x H x W: background, unknown, foreground)."""
        alpha_r = self.mnet(torch.cat([x[:, :3], trimap_prob], 1))
        alpha = trimap_prob[:, 2:3] + trimap_prob[:, 1:2] * alpha_r  # eq. 3: F_s + U_s * alpha_r
        return {"alpha_r": alpha_r, "alpha": alpha}

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        logits, aux = self.tnet(x)
        out = self.matting(x, torch.softmax(logits, 1))
        out.update(trimap_logits=logits, aux_logits=aux)
        return out


class SHM(TorchMattingMethod):
    train_stages = [("tnet", 0.3), ("mnet", 0.3), ("joint", 0.4)]
    default_optimizer = {"name": "adam", "lr": 1e-5}
    lambda_t = 0.01  # Sec. 3.4

    def __init__(self, *, backbone: str = "resnet50", backbone_checkpoint: Optional[str] = None,
                 mnet_checkpoint: Optional[str] = None, **kw: Any):
        model = SHMNet(backbone)
        if backbone_checkpoint:
            load_backbone_weights(model.tnet.encoder, backbone_checkpoint)
        if mnet_checkpoint:
            load_backbone_weights(model.mnet.encoder, mnet_checkpoint)
        self.card = SHM_CARD if backbone == "resnet50" else dataclasses.replace(SHM_CARD, pretrained="SPS MobileNetV2 T-Net (†)")
        super().__init__(model, needs_trimap=False, ref_size=kw.pop("ref_size", 512), options=dict(backbone=backbone), **kw)

    def stage_parameters(self, stage: str) -> Iterable[nn.Parameter]:
        self._check_stage(stage)
        if stage == "tnet":
            return list(self.model.tnet.parameters())
        if stage == "mnet":
            return list(self.model.mnet.parameters())
        return list(self.model.parameters())

    def _trimap_loss(self, logits: Tensor, aux: Tensor, batch: dict[str, Tensor]) -> Tensor:
        target = trimap_classes(batch["trimap"])
        return F.cross_entropy(logits, target) + 0.4 * F.cross_entropy(aux, target)

    def training_step(self, batch: dict[str, Tensor], stage: str) -> tuple[Tensor, dict[str, float]]:
        self._check_stage(stage)
        x = self.network_input(batch["image"], None)
        if stage == "tnet":
            logits, aux = self.model.tnet(x)
            lt = self._trimap_loss(logits, aux, batch)
            return lt, {"trimap_ce": float(lt.detach())}
        if stage == "mnet":  # ground-truth trimap as one-hot probabilities
            onehot = F.one_hot(trimap_classes(batch["trimap"]), 3).permute(0, 3, 1, 2).to(x.dtype)
            return dim_loss(self.model.matting(x, onehot)["alpha"], batch, None)
        out = self.model(x)
        lp, parts = dim_loss(out["alpha"], batch, None)
        lt = self._trimap_loss(out["trimap_logits"], out["aux_logits"], batch)
        parts["trimap_ce"] = float(lt.detach())
        return lp + self.lambda_t * lt, parts


SHM_CARD = MethodCard(
    name="shm", needs_trimap=False, family=FAMILY_FREE, pretrained="ImageNet ResNet-50 / VGG-16-BN (user-supplied); † = SPS MobileNetV2 T-Net",
    paper="Chen et al. Semantic Human Matting. ACM MM 2018", url="https://arxiv.org/abs/1809.01354",
    code_licence="Apache-2.0 (mattebench re-implementation; no official code)", weights_licence="none (no released weights)",
    input_size="short side to 512 (MODNet's rule), multiple of 32",
    notes=(
        "T-Net PSPNet-50 (dilated ResNet-50, PPM 1/2/3/6, aux head) -> 3-class trimap; M-Net VGG-16-BN on 6 channels "
        "with 4 poolings and a DIM-like 5x5 decoder (6 convs, 4 unpoolings); alpha = F + U * alpha_r. "
        "L = L_p + 0.01 L_t (L_p = 0.5 alpha + 0.5 comp). Stages tnet 0.3, mnet (GT trimap) 0.3, joint 0.4. "
        "74.63 M parameters as built (paper 79.27 M; M-Net decoder widths unpublished, DIM's used). "
        "backbone='mobilenetv2' (+ backbone_checkpoint) is SHM †; backbone_checkpoint alone takes torchvision "
        "resnet50 weights; mnet_checkpoint takes vgg16_bn weights."
    ),
    trainable=True, weights_option="checkpoint",
)


@method(SHM_CARD)
def create_shm(device: Any = "cpu", checkpoint: Optional[str] = None, backbone: str = "resnet50",
               backbone_checkpoint: Optional[str] = None, mnet_checkpoint: Optional[str] = None,
               ref_size: Annotated[Optional[int], AtLeast(1)] = 512) -> SHM:
    return SHM(backbone=backbone, backbone_checkpoint=backbone_checkpoint, mnet_checkpoint=mnet_checkpoint,
               device=device, checkpoint=checkpoint, ref_size=ref_size)
