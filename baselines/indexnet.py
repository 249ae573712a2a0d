"""IndexNet Matting (Lu, Dai, Shen, Xu; "Indices Matter: Learning to Index for Deep Image Matting",
ICCV 2019), the M2O depth-wise index network with nonlinearity and context (the released model).

Encoder: MobileNetV2 (width 1) on RGB + trimap (first conv 4 -> 32) with every stride set to 1;
the five 2x downsamplings (after layer0, 2, 3, 4, 6; output stride 32) are done by the learned
index blocks: ``x * idx_en`` then 4 x 2x2 average pooling. Context: ASPP 320 -> 160 (rates 2, 4, 8
at output stride 32, depth-wise separable 3x3 branches, image pooling). Decoder: at each level,
``idx_de * nearest_up(x)`` concatenated with the encoder feature, 5x5 conv + BN + ReLU6;
prediction: 5x5 conv-BN-ReLU6 to 1 channel then a 5x5 conv, no sigmoid (clipped to [0,1]).
Index block (M2O, depth-wise over four branches): per branch a 4x4 stride-2 conv (context) ->
BN -> ReLU6 -> 1x1 conv; sigmoid; softmax over the four branches for the encoder index,
pixel-shuffled to 2x.

Module names are those of the authors' release so that ``indexnet_matting.pth.tar``
(``{"state_dict": {"module.layer0.0.weight": ...}}``) loads through ``checkpoint=``; preprocessing
follows their demo: ImageNet mean/std on RGB, trimap in [0,1] unnormalised; the result is clipped
to [0,1] and the known trimap regions pasted in.

Size: the release builds each index branch C -> C (5.95 M parameters in all); the paper's
8.15 M is reproduced exactly by ``paper_size=True``, which widens the hidden layer of every
index branch to 2C (the released holistic index block has that 2C width; the paper's Table
counts the depth-wise M2O block the same way). Losses: 0.5 alpha + 0.5 compositional
(Charbonnier) on the unknown region; Adam lr 1e-2 with the encoder at lr/100 (paper Sec. 5).
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Iterable, Optional

import torch
import torch.nn.functional as F
from mattebench_baselines.common.checkpoints import read_state_dict
from mattebench_baselines.common.losses import dim_loss, unknown_mask
from mattebench_baselines.common.torch_method import TorchMattingMethod
from torch import Tensor, nn

from mattebench.contract import method
from mattebench.types import FAMILY_FREE, FAMILY_TRIMAP, AtLeast, MethodCard

# expansion t, input c, output c, repeats n (strides all 1: the index blocks downsample)
SETTINGS = ((1, 32, 16, 1), (6, 16, 24, 2), (6, 24, 32, 3), (6, 32, 64, 4), (6, 64, 96, 3), (6, 96, 160, 3), (6, 160, 320, 1))


def conv_bn6(cin: int, cout: int, k: int = 3, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, padding=k // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU6(inplace=True))


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, t: int):
        super().__init__()
        hidden = cin * t
        self.use_res_connect = cin == cout
        layers: list[nn.Module] = []
        if t != 1:
            layers += [nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True)]
        layers += [nn.Conv2d(hidden, hidden, 3, 1, 1, groups=hidden, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True),
                   nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class DepthwiseM2OIndexBlock(nn.Module):
    """Four branches (one per position of a 2x2 cell), each a 4x4/s2 conv -> BN -> ReLU6 -> 1x1."""

    def __init__(self, c: int, hidden_mult: int = 1):
        super().__init__()
        h = c * hidden_mult
        for i in range(1, 5):
            setattr(self, f"indexnet{i}", nn.Sequential(
                nn.Conv2d(c, h, 4, 2, 1, bias=False), nn.BatchNorm2d(h), nn.ReLU6(inplace=True), nn.Conv2d(h, c, 1, bias=False)))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        b, c, h, w = x.shape
        z = torch.stack([getattr(self, f"indexnet{i}")(x) for i in range(1, 5)], 2)  # B x C x 4 x h/2 x w/2
        y = torch.sigmoid(z)
        soft = F.softmax(y, dim=2)
        idx_en = F.pixel_shuffle(soft.reshape(b, c * 4, h // 2, w // 2), 2)
        idx_de = F.pixel_shuffle(y.reshape(b, c * 4, h // 2, w // 2), 2)
        return idx_en, idx_de


class _ASPPBranch(nn.Module):
    def __init__(self, cin: int, cout: int, dilation: int):
        super().__init__()
        if dilation == 1:  # 1x1 branch
            self.atrous_conv = nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU6(inplace=True))
        else:  # depth-wise separable 3x3 atrous branch
            self.atrous_conv = nn.Sequential(
                nn.Conv2d(cin, cin, 3, 1, dilation, dilation, groups=cin, bias=False), nn.BatchNorm2d(cin), nn.ReLU6(inplace=True),
                nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU6(inplace=True))

    def forward(self, x: Tensor) -> Tensor:
        return self.atrous_conv(x)


class IndexASPP(nn.Module):
    def __init__(self, cin: int = 320, cout: int = 160, mid: int = 256, rates: tuple[int, ...] = (1, 2, 4, 8)):
        super().__init__()
        for i, r in enumerate(rates):
            setattr(self, f"aspp{i + 1}", _ASPPBranch(cin, mid, r))
        self.global_avg_pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(cin, mid, 1, bias=False), nn.BatchNorm2d(mid), nn.ReLU6(inplace=True))
        self.bottleneck_conv = nn.Sequential(nn.Conv2d(mid * 5, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU6(inplace=True))
        self.dropout = nn.Dropout(0.5)

    def forward(self, x: Tensor) -> Tensor:
        outs = [getattr(self, f"aspp{i}")(x) for i in range(1, 5)]
        outs.append(F.interpolate(self.global_avg_pool(x), size=x.shape[-2:], mode="nearest"))
        return self.dropout(self.bottleneck_conv(torch.cat(outs, 1)))


class IndexedUpsampling(nn.Module):
    def __init__(self, cin: int, cout: int, k: int = 5):
        super().__init__()
        self.dconv = conv_bn6(cin, cout, k)

    def forward(self, x: Tensor, low: Tensor, idx: Optional[Tensor] = None) -> Tensor:
        if idx is not None:
            x = idx * F.interpolate(x, size=low.shape[-2:], mode="nearest")
        return self.dconv(torch.cat([x, low], 1))


class IndexNetModel(nn.Module):
    def __init__(self, in_channels: int = 4, index_hidden_mult: int = 1):
        super().__init__()
        self.layer0 = conv_bn6(in_channels, 32, 3, 1)
        for i, (t, cin, cout, n) in enumerate(SETTINGS, start=1):
            setattr(self, f"layer{i}", nn.Sequential(*[InvertedResidual(cin if j == 0 else cout, cout, t) for j in range(n)]))
        for i, c in ((0, 32), (2, 24), (3, 32), (4, 64), (6, 160)):
            setattr(self, f"index{i}", DepthwiseM2OIndexBlock(c, index_hidden_mult))
        self.dconv_pp = IndexASPP(320, 160)
        for name, cin, cout in (("6", 320, 96), ("5", 192, 64), ("4", 128, 32), ("3", 64, 24), ("2", 48, 16), ("1", 32, 32), ("0", 64, 32)):
            setattr(self, f"decoder_layer{name}", IndexedUpsampling(cin, cout))
        self.pred = nn.Sequential(conv_bn6(32, 1, 5), nn.Conv2d(1, 1, 5, padding=2, bias=False))

    @staticmethod
    def _down(x: Tensor, block: nn.Module) -> tuple[Tensor, Tensor, Tensor]:
        idx_en, idx_de = block(x)
        x = idx_en * x
        return x, 4 * F.avg_pool2d(x, 2, 2), idx_de

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        l0, l0p, i0 = self._down(self.layer0(x), self.index0)
        l1 = self.layer1(l0p)
        l2, l2p, i2 = self._down(self.layer2(l1), self.index2)
        l3, l3p, i3 = self._down(self.layer3(l2p), self.index3)
        l4, l4p, i4 = self._down(self.layer4(l3p), self.index4)
        l5 = self.layer5(l4p)
        l6, l6p, i6 = self._down(self.layer6(l5), self.index6)
        l7 = self.layer7(l6p)
        d = self.dconv_pp(l7)
        d = self.decoder_layer6(d, l6, i6)
        d = self.decoder_layer5(d, l5)
        d = self.decoder_layer4(d, l4, i4)
        d = self.decoder_layer3(d, l3, i3)
        d = self.decoder_layer2(d, l2, i2)
        d = self.decoder_layer1(d, l1)
        d = self.decoder_layer0(d, l0, i0)
        raw = self.pred(d)
        return {"alpha_raw": raw, "alpha": raw.clamp(0, 1)}


# MobileNetV2 ``features.N`` (torchvision / SPS / MODNet) -> IndexNet ``layerK.M`` (authors' CORRESP_NAME)
def _features_to_layers() -> dict[int, str]:
    table = {0: "layer0"}
    f = 1
    for k, (_, _, _, n) in enumerate(SETTINGS, start=1):
        for m in range(n):
            table[f] = f"layer{k}.{m}"
            f += 1
    return table


FEATURE_TO_LAYER = _features_to_layers()


def load_indexnet_backbone(model: IndexNetModel, path: str) -> None:
    """Initialise the encoder from MobileNetV2 weights (SPS ``mobilenetv2_human_seg.ckpt``,
    MODNet-layout or torchvision-layout ``features.N``); the trimap channel is zero-initialised."""
    from mattebench_baselines.common.backbones import (
        MobileNetV2Encoder,
        map_backbone_state_dict,
    )
    from mattebench_baselines.common.checkpoints import load_strict

    enc = MobileNetV2Encoder(3)
    sd = map_backbone_state_dict(enc, read_state_dict(path))
    load_strict(enc, sd, path, "a MobileNetV2 backbone")
    own = model.state_dict()
    mapped = {}
    for k, v in enc.state_dict().items():
        f = int(k.split(".")[1])
        if f not in FEATURE_TO_LAYER:  # features.18 (1x1 -> 1280) is not part of IndexNet
            continue
        rest = k.split(".", 2)[2]
        key = f"{FEATURE_TO_LAYER[f]}.{rest}"
        if key == "layer0.0.weight" and own[key].shape[1] != v.shape[1]:
            w = torch.zeros_like(own[key])
            w[:, :3] = v
            v = w
        mapped[key] = v
    model.load_state_dict(mapped, strict=False)



class IndexNet(TorchMattingMethod):
    # Paper Sec. 5: Adam, lr 1e-2 (encoder lr/100), batch 16, 320 x 320 crops, 30 epochs.
    default_optimizer = {"name": "adam", "lr": 1e-2}

    def __init__(self, *, trimap: bool = True, paper_size: bool = False, backbone_checkpoint: Optional[str] = None, **kw: Any):
        model = IndexNetModel(4 if trimap else 3, 2 if paper_size else 1)
        if backbone_checkpoint:
            load_indexnet_backbone(model, backbone_checkpoint)
        self.card = INDEXNET_CARD if trimap else dataclasses.replace(INDEXNET_CARD, needs_trimap=False, family=FAMILY_FREE)
        super().__init__(model, needs_trimap=trimap, options=dict(trimap=trimap, paper_size=paper_size), **kw)

    def stage_parameters(self, stage: str) -> Iterable[nn.Parameter]:
        self._check_stage(stage)
        return list(self.model.parameters())

    def encoder_parameters(self) -> list[nn.Parameter]:
        """The MobileNetV2 layers (trained at lr/100 in the paper; exposed for loops that support groups)."""
        return [p for n, p in self.model.named_parameters() if n.startswith("layer")]

    def training_step(self, batch: dict[str, Tensor], stage: str) -> tuple[Tensor, dict[str, float]]:
        self._check_stage(stage)
        out = self.model(self.network_input(batch["image"], batch["trimap"] if self.needs_trimap else None))
        mask = unknown_mask(batch["trimap"]) if self.needs_trimap else None
        # The raw (unclipped) output is supervised, as in the release: clipping would zero gradients.
        return dim_loss(out["alpha_raw"], batch, mask)


INDEXNET_CARD = MethodCard(
    name="indexnet", needs_trimap=True, family=FAMILY_TRIMAP, pretrained="ImageNet MobileNetV2 / official IndexNet checkpoint (user-supplied)",
    paper="Lu, Dai, Shen, Xu. Indices Matter: Learning to Index for Deep Image Matting. ICCV 2019",
    url="https://github.com/poppinace/indexnet_matting",
    code_licence="Apache-2.0 (mattebench re-implementation; official code: academic use only)",
    weights_licence="official indexnet_matting.pth.tar: academic use only (loads via checkpoint=)",
    input_size="any; resized to a multiple of 32 (native resolution by default)",
    notes=(
        "M2O depth-wise index blocks with nonlinearity and context, ASPP, 5x5 decoder; module names of the "
        "official release, whose checkpoint loads via checkpoint=PATH. Default size 5,953,515 parameters "
        "(the release); paper_size=True widens each index branch to 2C and gives the paper's 8.15 M "
        "(8,153,771); the paper's 6.30 GFLOPs compare with 6.71 GMACs of paper_size=True at 224x224 (5.52 for the "
        "release; the paper's input size is not stated). trimap=False is the trimap-free variant (first conv 4 -> 3); "
        "backbone_checkpoint=PATH initialises the encoder from MobileNetV2 weights (SPS for †). "
        "Loss 0.5 alpha + 0.5 comp on the unknown region, on the unclipped output."
    ),
    trainable=True, weights_option="checkpoint",
)


@method(INDEXNET_CARD)
def create_indexnet(device: Any = "cpu", checkpoint: Optional[str] = None, trimap: bool = True, paper_size: bool = False,
                    backbone_checkpoint: Optional[str] = None, ref_size: Annotated[Optional[int], AtLeast(1)] = None) -> IndexNet:
    return IndexNet(trimap=trimap, paper_size=paper_size, backbone_checkpoint=backbone_checkpoint, device=device,
                    checkpoint=checkpoint, ref_size=ref_size if trimap else (ref_size or 512))
