"""MODNet as a mattebench method: the cards of the three registered MODNets, the method class that
composes inference, training, adaptation and export, and packing a trained checkpoint as a shipped one.

The method cards of the three registered MODNets, in one place (``modnet``, ``modnet-easpp``,
``modnet-trimap``). The package attaches each to its factory (``create_modnet.card``) and every built
MODNetMethod reports its own (``method.card``).
"""

from __future__ import annotations

import argparse
import csv
import inspect
import json
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Optional, Sequence

import torch
from mattebench_baselines.common.torch_method import TorchMattingMethod, resolve_device  # noqa: F401  (resolve_device: its old import path)
from mattebench_baselines.modnet import checkpoints as ckpt
from mattebench_baselines.modnet.checkpoints import MatteOnly, MODNetExport  # noqa: F401  (MatteOnly: its old import path)
from mattebench_baselines.modnet.inference import (
    InputRule,
    MODNetInference,
    choose_rule,
)
from mattebench_baselines.modnet.model import MODNet
from mattebench_baselines.modnet.training import (
    LAMBDA_D,
    LAMBDA_S,
    LOSSES,
    MODNetAdaptation,
    MODNetTraining,
)

from mattebench.contract import SequencePredictor
from mattebench.errors import CheckpointError, MattebenchError
from mattebench.methods import shipped
from mattebench.types import FAMILY_FREE, FAMILY_TRIMAP, AtLeast, MethodCard

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


# ----------------------------------------------------------------------------------------------------
# MODNet as a mattebench method, on the shared torch base (:class:`mattebench_baselines.common.torch_method.TorchMattingMethod`:
# device, checkpoint hook, stage checks). Each job is its own part, readable alone:
#
# - inference (``predict``, ``predict_batch``, the OFD sequence path): :mod:`.inference`;
# - training (``training_step``, ``stage_parameters``, ``save_checkpoint``, optimiser and schedule): :mod:`.training`;
# - SOC adaptation (``adapt``): :mod:`.adaptation`;
# - export (``export_module``, ``MatteOnly``): :mod:`.export`.
#
# This module builds the network from the options and loads its weights (:mod:`.checkpoint`).
# ----------------------------------------------------------------------------------------------------

VARIANTS = {"v1": "se", "easpp": "easpp"}  # network variant -> the low-resolution branch's context block


def _flag(value: Any) -> bool:
    """A boolean option given as a bool or as text from the command line (-m ofd=true)."""
    return value.strip().lower() in ("1", "true", "yes", "on") if isinstance(value, str) else bool(value)


class MODNetMethod(MODNetInference, MODNetTraining, MODNetAdaptation, MODNetExport, TorchMattingMethod):
    """``predict(image) -> alpha`` for one image, ``predict_batch(images)`` for throughput (GPU), and the
    training contract of :mod:`mattebench.methods.train` (``training_step``, ``save_checkpoint``, ...)."""

    needs_trimap = False
    input_multiple = 32

    def __new__(cls, *args: Any, **kwargs: Any) -> "MODNetMethod":
        # ofd=True builds MODNetOFDMethod, the subclass that takes whole clips (a SequencePredictor), whichever
        # factory calls the constructor; a plain MODNet has no predict_sequence (frames go one by one).
        if cls is MODNetMethod:
            bound = inspect.signature(cls.__init__).bind_partial(None, *args, **kwargs).arguments
            if _flag(bound.get("ofd", False)):
                cls = MODNetOFDMethod
        return super().__new__(cls)

    def __init__(
        self,
        variant: str = "v1",
        checkpoint: Optional[str] = None,
        device: Optional[str] = "cpu",
        backbone_checkpoint: Optional[str] = None,
        loss: str = "paper",
        ref_size: Annotated[Optional[int], AtLeast(1)] = None,
        threads: Annotated[Optional[int], AtLeast(1)] = None,
        half: bool = False,
        lambda_s: Annotated[float, AtLeast(0)] = LAMBDA_S,
        lambda_d: Annotated[float, AtLeast(0)] = LAMBDA_D,
        ofd: bool = False,
        trimap_input: bool = False,
    ):
        if variant not in VARIANTS:
            raise MattebenchError(f"unknown MODNet variant {variant!r}; choose from {sorted(VARIANTS)}")
        if loss not in LOSSES:
            raise MattebenchError(f"unknown MODNet loss {loss!r}; choose 'paper' (eq. 2-5) or 'official' (released code)")
        if threads:
            torch.set_num_threads(int(threads))
        self.variant = variant
        # "MODNet (trimap)" of Tables 1-2: RGB + trimap in (model.py says where the trimap enters).
        self.trimap_input = _flag(trimap_input)
        # Checkpoints record the variant; a trimap-input network has other input shapes, so its own name.
        self.checkpoint_variant = variant + ("-trimap" if self.trimap_input else "")
        self._card = CARDS[registered_name(variant, self.trimap_input)]
        self._set_loss(loss, lambda_s, lambda_d)
        self._backbone_checkpoint = backbone_checkpoint if not checkpoint else None
        self._checkpoint_meta: dict[str, Any] = {}
        # None keeps its old meaning here: the GPU when there is one ("auto").
        device = "auto" if device is None else device
        resolve_device(device)  # a device that cannot be used is refused before the network is built
        model = MODNet(in_channels=4 if self.trimap_input else 3, context=VARIANTS[variant])
        if self._backbone_checkpoint:
            ckpt.load_backbone(model, self._backbone_checkpoint)
        super().__init__(model, needs_trimap=self.trimap_input, device=device, checkpoint=checkpoint,
                         options={"variant": variant, "trimap_input": self.trimap_input, "loss": loss})
        if not checkpoint:
            self.checkpoint: Any = ({"backbone": os.fspath(backbone_checkpoint), "sha256": ckpt.sha256(backbone_checkpoint)}
                                    if self._backbone_checkpoint else {})
        self.half = bool(half) and self.device.type == "cuda"
        # ref_size=: explicit option > the checkpoint's own rule > the official 512 (input_rule.py).
        self.input_rule: InputRule = choose_rule(ref_size, self._checkpoint_meta)
        self.ref_size = self.input_rule.ref_size
        # One-Frame-Delay (paper, Sec. "OFD"): on clip datasets the scorer hands over the whole clip, and
        # each frame's matte is corrected from its raw neighbours (offline, so without the one-frame lag).
        self.ofd = _flag(ofd)

    def _set_loss(self, loss: str, lambda_s: float, lambda_d: float) -> None:
        self.loss = loss
        # Loss weights of eq. 5 (paper defaults 1 and 10). With loss="official" the released code's
        # semantic and detail scales (10 and 10) are multiplied by lambda_s / 1 and lambda_d / 10, so
        # 0 switches a term off under either variant (Table 3's ablation).
        self.lambda_s, self.lambda_d = float(lambda_s), float(lambda_d)
        if loss == "paper":
            self.loss_options = {"lambda_s": self.lambda_s, "lambda_d": self.lambda_d}
        else:
            self.loss_options = {"semantic_scale": 10.0 * self.lambda_s / LAMBDA_S, "detail_scale": 10.0 * self.lambda_d / LAMBDA_D}

    @property
    def card(self) -> MethodCard:  # type: ignore[override]
        """The card of the registered method that builds this network (``modnet``, ``modnet-easpp``, ``modnet-trimap``)."""
        return self._card

    # -- the base class's hooks ----------------------------------------------------------------------
    def load_checkpoint(self, path: str | os.PathLike[str]) -> None:
        """The official file (with or without ``module.``), a mattebench .ckpt or a shipped name; strict."""
        fmt, self._checkpoint_meta = ckpt.load_weights_meta(self.model, path, self.checkpoint_variant)
        self.checkpoint = {"path": os.fspath(shipped.resolve(path)), "sha256": ckpt.sha256(path), "format": fmt}
        if shipped.is_shipped_name(path):
            self.checkpoint["name"] = str(path)
        self.model.to(self.device).eval()

    def untrained_warning(self) -> str:
        if self._backbone_checkpoint:
            return ""  # the backbone is pretrained: the start of a training run, not a mistake
        return (f"{self.name}: no checkpoint given, built with the official initialisation: UNTRAINED, its mattes are "
                f"meaningless. Pass checkpoint=PATH (official .ckpt or one from `mattebench train`) or train it.")

    def provenance(self) -> dict[str, Any]:
        """What the run record keeps beside the options: the input rule applied, and where it came from."""
        return {"input_rule": self.input_rule.as_dict()}


class MODNetOFDMethod(MODNetMethod, SequencePredictor):
    """MODNet with ``ofd=True``: on clip datasets the scorer hands over the whole clip (SequencePredictor), and
    each frame's matte is corrected from its raw neighbours (One-Frame-Delay, offline: no one-frame lag)."""

    def predict_sequence(self, frames: Sequence[Any], trimaps: Optional[Sequence[Any]] = None) -> list[Any]:
        return self._predict_sequence_ofd(frames, trimaps)


# ----------------------------------------------------------------------------------------------------
# Pack a trained MODNet checkpoint as a shipped one: float16 weights with their input rule in
# ``mattebench/weights/``, its training curve, and an entry in ``index.json`` (name, file, sha256, rule).
#
#     python -m mattebench_baselines.modnet.method --from runs/train/X/final.ckpt --name modnet-synthetic         --ref-size 192 --train-dir runs/train/X [--train-dir runs/train/X2] --description "..."
#
# One path for every shipped MODNet (``modnet``, ``modnet-easpp``, ``modnet-trimap``): the method and network
# variant are read from the trained checkpoint itself (``meta.variant``), so a trimap network cannot be packed
# under a trimap-free name; ``--method``, when given, must agree with it.
#
# The card (``mattebench/weights/CARD.md``) is written by hand from the measured numbers; this tool prints the
# sha256 it must quote (tests check that the card and the index agree with the file).
# ----------------------------------------------------------------------------------------------------

WEIGHTS_DIR = Path(__file__).resolve().parents[2] / "mattebench" / "weights"
CURVE_COLUMNS = ("phase", "step", "lr", "loss", "semantic", "detail", "matte", "comp", "t_semantic", "t_matte", "elapsed_s")


def write_curve(train_dirs: list[Path], csv_path: Path) -> list[dict[str, Any]]:
    """The loss.csv of each training phase, steps counted on from the previous phase, as one CSV and a PNG."""
    rows: list[dict[str, Any]] = []
    offset = 0
    for phase, d in enumerate(train_dirs, 1):
        with open(d / "loss.csv", newline="", encoding="utf-8") as f:
            part = list(csv.DictReader(f))
        for r in part:
            rows.append({**r, "phase": phase, "step": int(r["step"]) + offset})
        offset += int(part[-1]["step"]) if part else 0
    with open(csv_path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=[c for c in CURVE_COLUMNS if rows and c in rows[0]], extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3))
    for key in ("loss", "detail", "t_semantic", "t_matte", "matte"):
        if rows and key in rows[0]:
            ax.plot([r["step"] for r in rows], [float(r[key] or "nan") for r in rows], label=key, lw=1)
    ax.set_yscale("log")
    ax.set_xlabel("step (batches of 8)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(csv_path.with_name(csv_path.name.replace(".csv", ".png")), dpi=70)
    plt.close(fig)
    return rows


@dataclass(frozen=True)
class TrainedNetwork:
    """What a trained checkpoint holds: its network variant and the registered method that loads it."""

    variant: str  # "v1" | "easpp" (the low-resolution branch)
    trimap_input: bool

    @property
    def method(self) -> str:
        return registered_name(self.variant, self.trimap_input)


def trained_network(source: Path) -> TrainedNetwork:
    """The network of ``source`` from its stored variant ("v1", "easpp", "easpp-trimap", ...); official files are v1."""
    stored = str(ckpt.read_checkpoint(source)[2].get("variant", "v1"))
    base, _, trimap = stored.partition("-")
    return TrainedNetwork(base, trimap == "trimap")


def pack(source: Path, name: str, ref_size: int, train_dirs: list[Path], description: str,
         weights_dir: Path = WEIGHTS_DIR, method: Optional[str] = None) -> dict[str, Any]:
    """Write ``<name>.ckpt`` (float16, with its input rule), its curve and its index entry; returns the entry."""
    net = trained_network(source)
    if method is not None and method != net.method:
        raise CheckpointError(f"{source} holds a {net.method} network (variant {net.variant}"
                              f"{', trimap input' if net.trimap_input else ''}), not {method}; pack it with --method {net.method} "
                              f"or leave --method out")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = MODNetMethod(net.variant, checkpoint=str(source), ref_size=ref_size, trimap_input=net.trimap_input)
    phases = [json.loads((d / "train.json").read_text(encoding="utf-8")) for d in train_dirs if (d / "train.json").is_file()]
    out = weights_dir / f"{name}.ckpt"
    m.save_checkpoint(out, meta={"shipped_name": shipped.PREFIX + name, "training_phases": phases}, half=True)
    digest = ckpt.sha256(out)
    if train_dirs:
        write_curve(train_dirs, weights_dir / f"{name}.curve.csv")
    index_path = weights_dir / "index.json"
    index = json.loads(index_path.read_text(encoding="utf-8")) if index_path.is_file() else {"checkpoints": []}
    entry = {"name": name, "method": net.method, "file": out.name, "sha256": digest,
             "input_rule": m.input_rule.stored(), "description": description}
    index["checkpoints"] = [e for e in index["checkpoints"] if e["name"] != name] + [entry]
    index["checkpoints"].sort(key=lambda e: e["name"])
    index_path.write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")
    return entry


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--from", dest="source", required=True, type=Path)
    p.add_argument("--name", required=True)
    p.add_argument("--method", default=None, choices=("modnet", "modnet-easpp", "modnet-trimap"),
                   help="optional check: the method the checkpoint must load with (default: read from the checkpoint)")
    p.add_argument("--ref-size", type=int, required=True, help="the reference size it was trained and evaluated at")
    p.add_argument("--train-dir", type=Path, action="append", default=[], help="each training phase's --out, in order")
    p.add_argument("--description", default="")
    p.add_argument("--weights-dir", type=Path, default=WEIGHTS_DIR, help="where to write (default: the package's weights folder)")
    a = p.parse_args(argv)
    a.weights_dir.mkdir(parents=True, exist_ok=True)
    try:
        entry = pack(a.source, a.name, a.ref_size, a.train_dir, a.description, a.weights_dir, method=a.method)
    except CheckpointError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(entry, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
