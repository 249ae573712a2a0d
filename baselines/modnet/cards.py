"""The method cards of the three registered MODNets, in one place (``modnet``, ``modnet-easpp``,
``modnet-trimap``). The package attaches each to its factory (``create_modnet.card``) and every built
MODNetMethod reports its own (``method.card``)."""

from __future__ import annotations

from mattebench.types import FAMILY_FREE, FAMILY_TRIMAP, MethodCard

PAPER = "Ke et al., MODNet: Real-Time Trimap-Free Portrait Matting via Objective Decomposition, AAAI 2022"
URL = "https://github.com/ZHKKKe/MODNet"
INPUT_RULE = (
    "official rule: short side to 512 when max(h,w) < 512 or min(h,w) > 512, else kept; both sides rounded down "
    "to multiples of 32; area resize in and out. A checkpoint carrying its own rule (the shipped ones) makes that "
    "the default; -m ref_size= always wins; the run's provenance says which applied"
)

MODNET_CARD = MethodCard(
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
    trainable=True, weights_option="checkpoint",
)

MODNET_EASPP_CARD = MethodCard(
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
    trainable=True, weights_option="checkpoint",
)

MODNET_TRIMAP_CARD = MethodCard(
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
    trainable=True, weights_option="checkpoint",
)

CARDS: dict[str, MethodCard] = {c.name: c for c in (MODNET_CARD, MODNET_EASPP_CARD, MODNET_TRIMAP_CARD)}


def registered_name(variant: str, trimap_input: bool) -> str:
    """The registered method that builds this network: a trimap-input network is ``modnet-trimap`` whatever
    its low-resolution branch; otherwise the branch decides (v1: SE block, easpp: e-ASPP)."""
    if trimap_input:
        return "modnet-trimap"
    return "modnet" if variant == "v1" else "modnet-easpp"
