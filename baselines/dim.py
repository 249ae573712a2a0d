"""Deep Image Matting (Xu, Price, Cohen, Huang; CVPR 2017), trimap-based and trimap-free.

Stage 1 (encoder-decoder): VGG-16 encoder (13 convs; BN after each as in the IndexNet authors'
PyTorch DIM, whose count is the published 130.55 M) on RGB + trimap, fc6 as a 7x7 convolution
512 -> 4096, then a SegNet-style decoder: ``deconv6`` 1x1 -> 512, five max-unpoolings (with the
encoder's pooling indices) each followed by a 5x5 convolution (512, 256, 128, 64, 64), and a 5x5
alpha prediction layer with a sigmoid.
Stage 2 (refinement): four 3x3 convolutions (64, 64, 64, 1) on [RGB, stage-1 alpha]; the result is
added to the stage-1 alpha (residual). Choice (paper silent on where): the residual is added to
the stage-1 logit and squashed by a sigmoid, which keeps the output in [0,1] without a clamp
that would stop gradients.

Losses (Sec. 3.1): 0.5 alpha-prediction + 0.5 compositional, Charbonnier with eps 1e-6, over the
unknown region of the trimap (trimap-free DIM: over the whole image, as no trimap is given).
Schedule (Sec. 4.1): encoder-decoder first, then the refinement alone (alpha loss only), then
everything together; the step fractions (0.5 / 0.25 / 0.25) are our choice.

``dim-free`` drops the trimap channel (first conv 4 -> 3), as the MODNet authors did for their
trimap-free DIM. ``backbone="mobilenetv2"`` is the † variant: MODNet's MobileNetV2 (SPS weights via
``backbone_checkpoint``) replaces VGG-16, and 2x bilinear upsamplings replace max-unpooling (it has
no pooling indices); the decoder widths and refinement stay those of DIM.
"""

from __future__ import annotations

from typing import Annotated, Any, Iterable, Optional

import torch
import torch.nn.functional as F
from mattebench_baselines.common.backbones import (
    MobileNetV2Encoder,
    VGG16Encoder,
    load_backbone_weights,
)
from mattebench_baselines.common.losses import charbonnier, dim_loss, unknown_mask
from mattebench_baselines.common.torch_method import TorchMattingMethod
from torch import Tensor, nn

from mattebench.contract import method
from mattebench.errors import MattebenchError
from mattebench.types import FAMILY_FREE, FAMILY_TRIMAP, AtLeast, MethodCard

DECODER = (512, 256, 128, 64, 64)  # widths of deconv5 .. deconv1 (5x5 each)


class DIMRefinement(nn.Module):
    """Four 3x3 convolutions on [RGB, coarse alpha] predicting a residual."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(4, 64, 3, padding=1)
        self.conv2 = nn.Conv2d(64, 64, 3, padding=1)
        self.conv3 = nn.Conv2d(64, 64, 3, padding=1)
        self.conv4 = nn.Conv2d(64, 1, 3, padding=1)

    def forward(self, rgb: Tensor, alpha: Tensor) -> Tensor:
        x = torch.relu(self.conv1(torch.cat([rgb, alpha], 1)))
        x = torch.relu(self.conv2(x))
        x = torch.relu(self.conv3(x))
        return self.conv4(x)


class DIMNet(nn.Module):
    def __init__(self, in_channels: int = 4, fc6: bool = True, refine: bool = True, backbone: str = "vgg16",
                 batch_norm: bool = True):
        super().__init__()
        self.backbone = backbone
        if backbone == "vgg16":
            self.encoder: nn.Module = VGG16Encoder(in_channels, batch_norm=batch_norm, fc6=fc6)
            bottleneck = self.encoder.out_channels
        elif backbone == "mobilenetv2":
            self.encoder = MobileNetV2Encoder(in_channels)
            bottleneck = 1280
        else:
            raise MattebenchError(f"DIM backbone must be 'vgg16' or 'mobilenetv2', got {backbone!r}")
        self.deconv6 = nn.Conv2d(bottleneck, 512, 1)
        cin = 512
        for i, c in zip(range(5, 0, -1), DECODER):
            setattr(self, f"deconv{i}", nn.Conv2d(cin, c, 5, padding=2))
            cin = c
        self.alpha_pred = nn.Conv2d(64, 1, 5, padding=2)
        self.refinement = DIMRefinement() if refine else None

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        if self.backbone == "vgg16":
            feat, indices, sizes = self.encoder(x)
        else:
            feat = self.encoder(x)[-1]
        d = torch.relu(self.deconv6(feat))
        for n, i in zip(range(5, 0, -1), range(4, -1, -1)):
            if self.backbone == "vgg16":
                d = F.max_unpool2d(d, indices[i], 2, 2, output_size=sizes[i][-2:])
            else:
                d = F.interpolate(d, scale_factor=2.0, mode="bilinear", align_corners=False)
            d = torch.relu(getattr(self, f"deconv{n}")(d))
        logit = self.alpha_pred(d)
        coarse = torch.sigmoid(logit)
        out = {"alpha_coarse": coarse, "alpha": coarse}
        if self.refinement is not None:
            out["alpha"] = torch.sigmoid(logit + self.refinement(x[:, :3], coarse))
        return out


class DIM(TorchMattingMethod):
    default_optimizer = {"name": "adam", "lr": 1e-5}  # Sec. 4.1: Adam, lr 1e-5 (encoder-decoder phase)

    def __init__(self, *, trimap: bool, fc6: bool = True, refine: bool = True, backbone: str = "vgg16",
                 batch_norm: bool = True, backbone_checkpoint: Optional[str] = None, **kw: Any):
        model = DIMNet(4 if trimap else 3, fc6, refine, backbone, batch_norm)
        if backbone_checkpoint:
            load_backbone_weights(model.encoder, backbone_checkpoint)
        options = dict(fc6=fc6, refine=refine, backbone=backbone, batch_norm=batch_norm)
        self.card = DIM_CARD if trimap else DIM_FREE_CARD
        self.train_stages = [("encoder-decoder", 0.5), ("refinement", 0.25), ("joint", 0.25)] if refine else [("encoder-decoder", 1.0)]
        super().__init__(model, needs_trimap=trimap, ref_size=kw.pop("ref_size", None if trimap else 512), options=options, **kw)

    def stage_parameters(self, stage: str) -> Iterable[nn.Parameter]:
        self._check_stage(stage)
        if stage == "refinement":
            return list(self.model.refinement.parameters())
        return list(self.model.parameters())

    def training_step(self, batch: dict[str, Tensor], stage: str) -> tuple[Tensor, dict[str, float]]:
        self._check_stage(stage)
        out = self.model(self.network_input(batch["image"], batch["trimap"] if self.needs_trimap else None))
        mask = unknown_mask(batch["trimap"]) if self.needs_trimap else None
        if stage == "encoder-decoder":
            return dim_loss(out["alpha_coarse"], batch, mask)
        loss = charbonnier(out["alpha"], batch["alpha"], mask)  # refinement and joint: alpha loss only
        return loss, {"alpha_refined": float(loss.detach())}


_NOTES = (
    "Built from the paper (no official code): VGG-16 encoder with BN (IndexNet authors' PyTorch DIM; "
    "the published 130.55 M counts this encoder-decoder with fc6 and without the refinement stage, "
    "which adds 76,801), fc6 as 7x7 conv, max-unpooling decoder with 5x5 convs, sigmoid; refinement "
    "residual added to the stage-1 logit. Options: fc6=False (deconv6 becomes 1x1 512->512), "
    "refine=False, batch_norm=False (plain VGG-16, e.g. for torchvision vgg16 weights), "
    "backbone='mobilenetv2' (the † variant; bilinear 2x upsampling replaces unpooling), "
    "backbone_checkpoint=PATH (torchvision vgg16_bn/vgg16 state_dict incl. classifier.0 for fc6, "
    "or MobileNetV2/SPS weights); extra input channels zero-initialised. Loss 0.5 alpha + 0.5 comp "
    "(Charbonnier eps 1e-6); stages encoder-decoder 0.5, refinement 0.25, joint 0.25. Without fc6 the network "
    "has 25,945,793 parameters and 154.6 GMACs at 512 (the figures quoted for DIM without fc6, 28.4 M and "
    "175.5 GFLOPs, come from a layout that is not published; ours drops conv6 and makes deconv6 1x1 512->512)."
)

DIM_CARD = MethodCard(
    name="dim", needs_trimap=True, family=FAMILY_TRIMAP, pretrained="ImageNet VGG-16 (user-supplied); † = SPS MobileNetV2",
    paper="Xu, Price, Cohen, Huang. Deep Image Matting. CVPR 2017", url="https://arxiv.org/abs/1703.03872",
    code_licence="Apache-2.0 (mattebench re-implementation)", weights_licence="none (no released weights)",
    input_size="any; resized to a multiple of 32 (native resolution by default)", notes=_NOTES, trainable=True, weights_option="checkpoint",
)
DIM_FREE_CARD = MethodCard(
    name="dim-free", needs_trimap=False, family=FAMILY_FREE, pretrained="ImageNet VGG-16 (user-supplied); † = SPS MobileNetV2",
    paper="Xu et al. CVPR 2017, trimap channel removed (Ke et al. AAAI 2022, Sec. 5)", url="https://arxiv.org/abs/1703.03872",
    code_licence="Apache-2.0 (mattebench re-implementation)", weights_licence="none (no released weights)",
    input_size="short side to 512 (MODNet's rule), multiple of 32", notes="Trimap-free DIM: first conv 4 -> 3, loss over the whole image. " + _NOTES,
    trainable=True, weights_option="checkpoint",
)


@method(DIM_CARD)
def create_dim(device: Any = "cpu", checkpoint: Optional[str] = None, fc6: bool = True, refine: bool = True,
               backbone: str = "vgg16", batch_norm: bool = True, backbone_checkpoint: Optional[str] = None,
               ref_size: Annotated[Optional[int], AtLeast(1)] = None) -> DIM:
    """Trimap-based DIM (RGB + trimap)."""
    return DIM(trimap=True, fc6=fc6, refine=refine, backbone=backbone, batch_norm=batch_norm,
               backbone_checkpoint=backbone_checkpoint, device=device, checkpoint=checkpoint, ref_size=ref_size)


@method(DIM_FREE_CARD)
def create_dim_free(device: Any = "cpu", checkpoint: Optional[str] = None, fc6: bool = True, refine: bool = True,
                    backbone: str = "vgg16", batch_norm: bool = True, backbone_checkpoint: Optional[str] = None,
                    ref_size: Annotated[Optional[int], AtLeast(1)] = 512) -> DIM:
    """Trimap-free DIM (RGB only); ``backbone='mobilenetv2'`` is DIM †."""
    return DIM(trimap=False, fc6=fc6, refine=refine, backbone=backbone, batch_norm=batch_norm,
               backbone_checkpoint=backbone_checkpoint, device=device, checkpoint=checkpoint, ref_size=ref_size)
