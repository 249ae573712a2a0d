"""MODNet (Ke et al., "MODNet: Real-Time Trimap-Free Portrait Matting via Objective Decomposition", AAAI 2022).

Registered methods (entry points in pyproject.toml):

- ``modnet``: the public v1 release (SE block in the low-resolution branch); loads the official checkpoints.
- ``modnet-easpp``: the paper's variant with e-ASPP (Appendix A); no released weights, train it.
- ``modnet-trimap``: "MODNet (trimap)" of Tables 1-2, RGB + trimap in (e-ASPP by default); train it.

Both keep the official module call ``model(x, inference) -> (pred_semantic, pred_detail, pred_matte)``.
"""

from __future__ import annotations

from typing import Optional

from mattebench.types import FAMILY_FREE, FAMILY_TRIMAP, MethodCard

from .losses import LAMBDA_D, LAMBDA_S
from .method import MODNetMethod
from .model import MODNet

PAPER = "Ke et al., MODNet: Real-Time Trimap-Free Portrait Matting via Objective Decomposition, AAAI 2022"
URL = "https://github.com/ZHKKKe/MODNet"
INPUT_RULE = (
    "official rule: short side to 512 when max(h,w) < 512 or min(h,w) > 512, else kept; both sides rounded down "
    "to multiples of 32; area resize in and out. A checkpoint carrying its own rule (the shipped ones) makes that "
    "the default; -m ref_size= always wins; the run's provenance says which applied"
)


def create_modnet(
    checkpoint: Optional[str] = None,
    device: Optional[str] = "cpu",
    backbone_checkpoint: Optional[str] = None,
    loss: str = "paper",
    ref_size: Optional[int] = None,
    threads: Optional[int] = None,
    half: bool = False,
    lambda_s: float = LAMBDA_S,
    lambda_d: float = LAMBDA_D,
    ofd: bool = False,
) -> MODNetMethod:
    """MODNet v1. ``checkpoint``: the official .ckpt (with or without ``module.``), a mattebench .ckpt, or a
    shipped name (``mattebench:modnet-synthetic``). ``ref_size``: default the checkpoint's input rule, else 512.
    ``ofd=True``: One-Frame-Delay over each clip of a video dataset."""
    return MODNetMethod("v1", checkpoint, device, backbone_checkpoint, loss, ref_size, threads, half, lambda_s, lambda_d, ofd)


def create_modnet_easpp(
    checkpoint: Optional[str] = None,
    device: Optional[str] = "cpu",
    backbone_checkpoint: Optional[str] = None,
    loss: str = "paper",
    ref_size: Optional[int] = None,
    threads: Optional[int] = None,
    half: bool = False,
    lambda_s: float = LAMBDA_S,
    lambda_d: float = LAMBDA_D,
    ofd: bool = False,
) -> MODNetMethod:
    """MODNet with e-ASPP in the low-resolution branch (paper Fig. 3, Appendix A)."""
    return MODNetMethod("easpp", checkpoint, device, backbone_checkpoint, loss, ref_size, threads, half, lambda_s, lambda_d, ofd)


def create_modnet_trimap(
    checkpoint: Optional[str] = None,
    device: Optional[str] = "cpu",
    backbone_checkpoint: Optional[str] = None,
    loss: str = "paper",
    ref_size: Optional[int] = None,
    threads: Optional[int] = None,
    half: bool = False,
    lambda_s: float = LAMBDA_S,
    lambda_d: float = LAMBDA_D,
    ofd: bool = False,
    variant: str = "easpp",
) -> MODNetMethod:
    """MODNet taking the trimap as a fourth input channel in training and testing (paper, Sec. 'Results on
    PPM-100': 'regarding MODNet as a trimap-based method'). ``variant``: 'easpp' (the paper's) or 'v1'."""
    return MODNetMethod(variant, checkpoint, device, backbone_checkpoint, loss, ref_size, threads, half, lambda_s, lambda_d, ofd,
                        trimap_input=True)


create_modnet.card = MethodCard(  # type: ignore[attr-defined]
    name="modnet",
    needs_trimap=False,
    family=FAMILY_FREE,
    pretrained="official checkpoints start from MobileNetV2 pretrained on SPS (†)",
    paper=PAPER,
    url=URL,
    code_licence="Apache-2.0",
    weights_licence="Apache-2.0 (official modnet_photographic/webcam_portrait_matting.ckpt); your own when trained here",
    input_size=INPUT_RULE,
    notes="v1 public release: SE block in S; 6,487,075 parameters. Without checkpoint= it is untrained (warning).",
    trainable=True,
)
create_modnet_easpp.card = MethodCard(  # type: ignore[attr-defined]
    name="modnet-easpp",
    needs_trimap=False,
    family=FAMILY_FREE,
    paper=PAPER,
    url=URL,
    code_licence="Apache-2.0",
    weights_licence="none released; your own when trained here",
    input_size=INPUT_RULE,
    notes="AAAI 2022 variant: e-ASPP (eq. 13 parameters) replaces the SE block; five 3x3 depth-wise branches, "
    "dilations 1, 2, 4, 6, 8 (not given in the paper; DeepLab's rates scaled to the 1/32 map).",
    trainable=True,
)

create_modnet_trimap.card = MethodCard(  # type: ignore[attr-defined]
    name="modnet-trimap",
    needs_trimap=True,
    family=FAMILY_TRIMAP,
    paper=PAPER,
    url=URL,
    code_licence="Apache-2.0",
    weights_licence="none released; your own when trained here",
    input_size=INPUT_RULE + "; the trimap is resized by nearest neighbour and coded -1 / 0 / 1",
    notes="Tables 1-2's 'MODNet (trimap)'. The paper does not say where the trimap enters: here it is a fourth input "
    "channel wherever the image enters (backbone, D and F). -m backbone_checkpoint= loads RGB filters, trimap channel 0.",
    trainable=True,
)

__all__ = ["MODNet", "MODNetMethod", "create_modnet", "create_modnet_easpp", "create_modnet_trimap"]
