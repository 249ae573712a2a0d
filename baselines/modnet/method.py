"""MODNet as a mattebench method, on the shared torch base (:class:`mattebench_baselines.common.torch_method.TorchMattingMethod`:
device, checkpoint hook, stage checks). Each job is its own part, readable alone:

- inference (``predict``, ``predict_batch``, the OFD sequence path): :mod:`.inference`;
- training (``training_step``, ``stage_parameters``, ``save_checkpoint``, optimiser and schedule): :mod:`.training`;
- SOC adaptation (``adapt``): :mod:`.adaptation`;
- export (``export_module``, ``MatteOnly``): :mod:`.export`.

This module builds the network from the options and loads its weights (:mod:`.checkpoint`).
"""

from __future__ import annotations

import inspect
import os
from typing import Any, Optional, Sequence

import torch

from mattebench import shipped
from mattebench.contract import SequencePredictor
from mattebench.errors import MattebenchError
from mattebench.types import MethodCard

from ..common.torch_method import TorchMattingMethod, resolve_device  # noqa: F401  (resolve_device: its old import path)
from . import checkpoint as ckpt
from .adaptation import MODNetAdaptation
from .cards import CARDS, registered_name
from .export import MatteOnly, MODNetExport  # noqa: F401  (MatteOnly: its old import path)
from .inference import MODNetInference
from .input_rule import InputRule, choose_rule
from .losses import LAMBDA_D, LAMBDA_S, LOSSES
from .model import MODNet
from .training import MODNetTraining

VARIANTS = {"v1": "se", "easpp": "easpp"}  # network variant -> the low-resolution branch's context block


def _flag(value: Any) -> bool:
    """A boolean option given as a bool or as text from the command line (-m ofd=true)."""
    return value.strip().lower() in ("1", "true", "yes", "on") if isinstance(value, str) else bool(value)


class MODNetMethod(MODNetInference, MODNetTraining, MODNetAdaptation, MODNetExport, TorchMattingMethod):
    """``predict(image) -> alpha`` for one image, ``predict_batch(images)`` for throughput (GPU), and the
    training contract of :mod:`mattebench.train` (``training_step``, ``save_checkpoint``, ...)."""

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
        ref_size: Optional[int] = None,
        threads: Optional[int] = None,
        half: bool = False,
        lambda_s: float = LAMBDA_S,
        lambda_d: float = LAMBDA_D,
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
