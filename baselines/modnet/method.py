"""MODNet as a mattebench method: inference with the official preprocessing, training step, checkpoints."""

from __future__ import annotations

import inspect
import os
import warnings
from typing import Any, Iterable, Optional, Sequence

import numpy as np
import torch
from torch import nn

from mattebench.contract import SequencePredictor
from mattebench.data.trimap import keep_known
from mattebench.errors import MattebenchError
from mattebench.types import MethodCard

from mattebench import shipped

from . import checkpoint as ckpt
from .input_rule import InputRule, choose_rule
from .losses import LAMBDA_D, LAMBDA_S, LOSSES, mixed_loss
from .model import MODNet
from .preprocess import encode_trimap, prepare, restore

VARIANTS = {"v1": "se", "easpp": "easpp"}


def resolve_device(device: Optional[str]) -> torch.device:
    if device in (None, "", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise MattebenchError(f"device {device!r} requested but this torch ({torch.__version__}) sees no CUDA GPU; use --device cpu")
    return dev


def _flag(value: Any) -> bool:
    """A boolean option given as a bool or as text from the command line (-m ofd=true)."""
    return value.strip().lower() in ("1", "true", "yes", "on") if isinstance(value, str) else bool(value)


class MODNetMethod:
    """``predict(image) -> alpha`` for one image, ``predict_batch(images)`` for throughput (GPU), and the
    training contract of :mod:`mattebench.train` (``training_step``, ``save_checkpoint``, ...)."""

    needs_trimap = False
    train_stages = [("joint", 1.0)]
    # Paper, Sec. 'Experiments': SGD, momentum 0.9, lr 0.01, lr x 0.1 after every 10 of 40 epochs.
    default_optimizer = {"name": "sgd", "lr": 0.01, "momentum": 0.9}
    default_schedule = {"name": "step", "every": 0.25, "gamma": 0.1}
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
        self.needs_trimap = self.trimap_input
        # Checkpoints record the variant; a trimap-input network has other input shapes, so its own name.
        self.checkpoint_variant = variant + ("-trimap" if self.trimap_input else "")
        self.name = "modnet-trimap" if self.trimap_input else ("modnet" if variant == "v1" else "modnet-easpp")
        self.loss = loss
        # Loss weights of eq. 5 (paper defaults 1 and 10). With loss="official" the released code's
        # semantic and detail scales (10 and 10) are multiplied by lambda_s / 1 and lambda_d / 10, so
        # 0 switches a term off under either variant (Table 3's ablation).
        self.lambda_s, self.lambda_d = float(lambda_s), float(lambda_d)
        if loss == "paper":
            self.loss_options = {"lambda_s": self.lambda_s, "lambda_d": self.lambda_d}
        else:
            self.loss_options = {"semantic_scale": 10.0 * self.lambda_s / LAMBDA_S, "detail_scale": 10.0 * self.lambda_d / LAMBDA_D}
        self.device = resolve_device(device)
        self.half = bool(half) and self.device.type == "cuda"
        self.model = MODNet(in_channels=4 if self.trimap_input else 3, context=VARIANTS[variant])
        self.checkpoint: dict[str, Any] = {}
        meta: dict[str, Any] = {}
        if checkpoint:
            fmt, meta = ckpt.load_weights_meta(self.model, checkpoint, self.checkpoint_variant)
            self.checkpoint = {"path": os.fspath(shipped.resolve(checkpoint)), "sha256": ckpt.sha256(checkpoint), "format": fmt}
            if shipped.is_shipped_name(checkpoint):
                self.checkpoint["name"] = str(checkpoint)
        elif backbone_checkpoint:
            ckpt.load_backbone(self.model, backbone_checkpoint)
            self.checkpoint = {"backbone": os.fspath(backbone_checkpoint), "sha256": ckpt.sha256(backbone_checkpoint)}
        else:
            warnings.warn(
                f"{self.name}: no checkpoint given, built with the official initialisation: UNTRAINED, its mattes are "
                f"meaningless. Pass checkpoint=PATH (official .ckpt or one from `mattebench train`) or train it.",
                stacklevel=3,
            )
        # ref_size=: explicit option > the checkpoint's own rule > the official 512 (input_rule.py).
        self.input_rule: InputRule = choose_rule(ref_size, meta)
        self.ref_size = self.input_rule.ref_size
        self.model.to(self.device).eval()
        # One-Frame-Delay (paper, Sec. "OFD"): on clip datasets the scorer hands over the whole clip, and
        # each frame's matte is corrected from its raw neighbours (offline, so without the one-frame lag).
        self.ofd = _flag(ofd)

    @property
    def card(self) -> MethodCard:
        """The registered card of this variant (the MattingMethod contract; the factories in __init__ hold the cards)."""
        from mattebench.registry import method_card  # on use: the registry imports this package's factories

        return method_card(self.name)

    # -- inference -------------------------------------------------------------------------------
    @torch.inference_mode()
    def predict(self, image: np.ndarray, trimap: Optional[np.ndarray] = None) -> np.ndarray:
        return self.predict_batch([image], [trimap] if trimap is not None else None)[0]

    @torch.inference_mode()
    def predict_batch(self, images: Sequence[np.ndarray], trimaps: Optional[Iterable[Any]] = None) -> list[np.ndarray]:
        """Images that share an inference size run as one batch; each matte returns at its image's size."""
        self.model.eval()
        prepared = [prepare(im, self.ref_size, self.input_rule.multiple) for im in images]
        if self.trimap_input:
            tri = list(trimaps) if trimaps is not None else []
            if len(tri) != len(images) or any(t is None for t in tri):
                raise MattebenchError(f"{self.name} takes a trimap with every image (trimap_input=True): evaluate it on a "
                                      f"dataset with trimaps, or pass one to predict(image, trimap)")
            prepared = [(torch.cat((x, encode_trimap(t, tuple(x.shape[-2:]))), 1), hw) for (x, hw), t in zip(prepared, tri)]
        out: list[Optional[np.ndarray]] = [None] * len(images)
        groups: dict[tuple[int, ...], list[int]] = {}
        for i, (x, _) in enumerate(prepared):
            groups.setdefault(tuple(x.shape[-2:]), []).append(i)
        dtype = torch.float16 if self.half else torch.float32
        model = self.model.half() if self.half else self.model
        for idx in groups.values():
            x = torch.cat([prepared[i][0] for i in idx]).to(self.device, dtype)
            matte = model(x, True)[2].float()
            for j, i in enumerate(idx):
                alpha = restore(matte[j : j + 1], prepared[i][1])[0, 0]
                out[i] = alpha.clamp_(0, 1).cpu().numpy().astype(np.float32)
                if self.trimap_input:  # as every trimap-based method here: the trimap's known regions are kept
                    keep_known(out[i], tri[i])
        if self.half:
            self.model.float()
        return out  # type: ignore[return-value]

    # -- training contract -----------------------------------------------------------------------
    def training_step(self, batch: dict[str, torch.Tensor], stage: str = "joint") -> tuple[torch.Tensor, dict[str, float]]:
        x = (batch["image"] - 0.5) / 0.5
        if self.trimap_input:  # training trimaps are 0 / 0.5 / 1: the same -1 / 0 / 1 code as encode_trimap
            x = torch.cat((x, (batch["trimap"] - 0.5) / 0.5), 1)
        pred_semantic, pred_detail, pred_matte = self.model(x, False)
        if "exact" in batch:  # some examples carry a teacher's mask, not ground truth (teacher-mix stream)
            total, parts = mixed_loss(LOSSES[self.loss], pred_semantic, pred_detail, pred_matte, batch, **self.loss_options)
        else:
            total, parts = LOSSES[self.loss](pred_semantic, pred_detail, pred_matte, batch, **self.loss_options)
        return total, {k: float(v.detach()) for k, v in parts.items()}

    def provenance(self) -> dict[str, Any]:
        """What the run record keeps beside the options: the input rule applied, and where it came from."""
        return {"input_rule": self.input_rule.as_dict()}

    def save_checkpoint(self, path: str | os.PathLike[str], meta: Optional[dict[str, Any]] = None, half: bool = False) -> None:
        rule = {"input_rule": self.input_rule.stored()} if self.input_rule.source != "default" else {}  # SOC keeps it
        ckpt.save_weights(self.model, path, self.checkpoint_variant,
                          {"loss": self.loss, "lambda_s": self.lambda_s, "lambda_d": self.lambda_d, **rule, **(meta or {})}, half=half)

    # -- SOC -------------------------------------------------------------------------------------------
    def adapt(self, source: str | os.PathLike[str], steps: Optional[int] = None, lr: float = 1e-5, out: Optional[str | os.PathLike[str]] = None,
              ref_size: Optional[int] = None, progress: bool = True) -> list[dict[str, Any]]:
        """SOC (paper eq. 6-8) on the unlabeled images of ``source`` (an image folder or a video), batch 1, each
        image preprocessed by the inference rule. ``steps`` defaults to one pass. Writes soc.ckpt/soc.csv to ``out``."""
        from mattebench.video.frames import iter_frames

        from .soc import adapt

        if self.trimap_input:
            raise MattebenchError("SOC adapts trimap-free MODNet on unlabeled images; it is not defined for trimap_input=True")
        ref = int(ref_size or self.ref_size)

        def images():
            for _, image in iter_frames(source):
                yield prepare(image, ref, self.input_rule.multiple)[0].to(self.device)

        if steps is None:
            steps = sum(1 for _ in iter_frames(source))
        return adapt(self.model, images, int(steps), lr=lr, out=out, save=self.save_checkpoint, progress=progress)

    # -- export ------------------------------------------------------------------------------------
    def export_module(self, height: int = 512, width: int = 512) -> tuple[nn.Module, torch.Tensor]:
        """An inference-only module ``x in [-1, 1] (Bx3xHxW, multiples of 32) -> matte`` and an example input."""
        return MatteOnly(self.model).eval(), torch.zeros(1, self.model.in_channels, height, width, device=self.device)


class MatteOnly(nn.Module):
    """``model(x, True)[2]``: the form ONNX and TorchScript exports take."""

    def __init__(self, model: MODNet):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x, True)[2]


class MODNetOFDMethod(MODNetMethod, SequencePredictor):
    """MODNet with ``ofd=True``: on clip datasets the scorer hands over the whole clip (SequencePredictor), and
    each frame's matte is corrected from its raw neighbours (One-Frame-Delay, offline: no one-frame lag)."""

    def predict_sequence(self, frames: Sequence[np.ndarray], trimaps: Optional[Sequence[Any]] = None) -> list[np.ndarray]:
        """Mattes of consecutive frames, then OFD over them (thresholds in mattebench.video.ofd)."""
        from mattebench.video.ofd import one_frame_delay

        raw: list[np.ndarray] = []
        for start in range(0, len(frames), 8):  # a few frames per forward: same result, fewer calls
            raw.extend(self.predict_batch(list(frames[start:start + 8]), list(trimaps[start:start + 8]) if trimaps else None))
        return list(one_frame_delay(raw))
