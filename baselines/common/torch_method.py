"""Base class of the torch baselines: device, checkpoints, preprocessing, ``predict``, training hooks.

A subclass supplies the ``nn.Module`` (whose ``forward(x)`` takes the network input tensor and
returns a dict holding at least ``"alpha"``, Bx1xHxW in [0,1]), its card, and ``training_step``.
Everything between a uint8 image and that tensor lives here so that all baselines see the same
preprocessing, and ``mattebench bench`` can time the bare module (``example_input``) apart from
the end-to-end ``predict``.
"""

from __future__ import annotations

import os
import warnings
from typing import Any, ClassVar, Iterable, Optional

import numpy as np
import torch
import torch.nn.functional as F
from mattebench_baselines.common.checkpoints import (
    load_strict,
    read_state_dict,
    save_atomic,
    strip_module_prefix,
)
from torch import Tensor, nn

from mattebench.data.trimap import keep_known
from mattebench.errors import MattebenchError, SampleError
from mattebench.types import MethodCard

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CHECKPOINT_FORMAT = "mattebench-checkpoint-v1"


def resolve_device(device: Any) -> torch.device:
    """The torch device of a ``device=`` option: None means the CPU; ``"auto"`` (or ``""``) the GPU when
    this torch sees one, else the CPU; a device torch cannot use here is refused with what to pass instead."""
    if device in ("", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device if device is not None else "cpu")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise MattebenchError(f"device {device!r} was asked for but this torch ({torch.__version__}) sees no CUDA GPU; "
                              f"use device=cpu (--device cpu)")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise MattebenchError(f"device {device!r} was asked for but MPS is not available here; use device=cpu")
    return dev


def trimap_to_tensor(trimap: np.ndarray) -> Tensor:
    """uint8 {0,128,255} (any value strictly between 0 and 255 counts as unknown) -> 1x1xHxW {0, .5, 1}."""
    t = torch.from_numpy(np.ascontiguousarray(trimap))
    out = torch.full(t.shape, 0.5, dtype=torch.float32)
    out[t == 0] = 0.0
    out[t == 255] = 1.0
    return out[None, None]


def resize_image(x: Tensor, size: tuple[int, int]) -> Tensor:
    """Area averaging when shrinking (no aliasing), bilinear when enlarging."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    if size[0] <= x.shape[-2] and size[1] <= x.shape[-1]:
        return F.interpolate(x, size=size, mode="area")
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


class TorchMattingMethod:
    """Common behaviour of every torch baseline (see the module docstring)."""

    card: ClassVar[MethodCard]
    input_multiple: int = 32
    fixed_size: Optional[int] = None  # FDMPA runs at a fixed 128 x 128
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    train_stages: list[tuple[str, float]] = [("joint", 1.0)]
    default_optimizer: dict[str, Any] = {"name": "adam", "lr": 1e-4}

    def __init__(self, model: nn.Module, *, needs_trimap: bool, device: Any = "cpu", checkpoint: Optional[str] = None,
                 ref_size: Optional[int] = None, options: Optional[dict[str, Any]] = None):
        self.model = model
        self.needs_trimap = needs_trimap
        self.ref_size = ref_size
        self.options = dict(options or {})
        self.device = resolve_device(device)
        self.model.to(self.device).eval()
        self.checkpoint = os.fspath(checkpoint) if checkpoint else None
        if checkpoint:
            self.load_checkpoint(checkpoint)
        elif message := self.untrained_warning():
            warnings.warn(message, stacklevel=4)  # points at the factory's caller

    def untrained_warning(self) -> str:
        """What a method built without ``checkpoint=`` warns ("" for none)."""
        return (f"{self.name}: no checkpoint given: the network is UNTRAINED (random initialisation, plus any "
                f"backbone_checkpoint) and its mattes are meaningless. Pass checkpoint=PATH or train it with "
                f"`mattebench train --method {self.name}`.")

    @property
    def name(self) -> str:
        return self.card.name

    # -- tensors ------------------------------------------------------------------------------
    def network_input(self, image: Tensor, trimap: Optional[Tensor]) -> Tensor:
        """Normalised image (ImageNet mean/std unless the method says otherwise), with the trimap
        channel ({0, 0.5, 1}) appended for trimap-based methods."""
        mean = torch.tensor(self.mean, dtype=image.dtype, device=image.device).view(1, 3, 1, 1)
        std = torch.tensor(self.std, dtype=image.dtype, device=image.device).view(1, 3, 1, 1)
        x = (image - mean) / std
        if self.needs_trimap:
            if trimap is None:
                raise SampleError(f"{self.name} is trimap-based and needs a trimap")
            x = torch.cat([x, trimap.to(image.dtype)], 1)
        return x

    def forward_alpha(self, image: Tensor, trimap: Optional[Tensor] = None) -> Tensor:
        """Alpha (Bx1xHxW in [0,1]) of a [0,1] image batch; known trimap regions are pasted in."""
        x = self.network_input(image, trimap)
        weight = next(self.model.parameters(), None)
        if weight is not None and weight.is_floating_point() and weight.dtype != x.dtype:
            x = x.to(weight.dtype)  # a model converted to fp16/bf16 (mattebench bench --precision fp16)
        alpha = self.model(x)["alpha"].float().clamp(0, 1)
        if self.needs_trimap and trimap is not None:
            alpha = torch.where(trimap < 0.25, torch.zeros_like(alpha), torch.where(trimap > 0.75, torch.ones_like(alpha), alpha))
        return alpha

    def working_size(self, h: int, w: int) -> tuple[int, int]:
        """Size the network runs at: ``fixed_size``; else (``ref_size`` set) MODNet's rule (short side
        to ref_size when the image is smaller than it or larger on both sides); then each side to
        the nearest multiple of ``input_multiple`` (at least one)."""
        if self.fixed_size:
            return self.fixed_size, self.fixed_size
        if self.ref_size and (max(h, w) < self.ref_size or min(h, w) > self.ref_size):
            scale = self.ref_size / min(h, w)
            h, w = max(1, round(h * scale)), max(1, round(w * scale))
        m = self.input_multiple
        return max(m, int(round(h / m)) * m), max(m, int(round(w / m)) * m)

    def example_batch(self, size: int, batch: int = 1, seed: int = 0) -> tuple[Tensor, Tensor]:
        """A random [0,1] image batch and a {0, .5, 1} trimap at ``size`` (timing, FLOP counting)."""
        g = torch.Generator().manual_seed(seed)
        image = torch.rand(batch, 3, size, size, generator=g)
        trimap = torch.randint(0, 3, (batch, 1, size, size), generator=g).float() / 2
        return image.to(self.device), trimap.to(self.device)

    def example_input(self, size: int, batch: int = 1) -> Tensor:
        image, trimap = self.example_batch(size, batch)
        return self.network_input(image, trimap if self.needs_trimap else None)

    # -- the method contract --------------------------------------------------------------------
    def predict(self, image: np.ndarray, trimap: Optional[np.ndarray] = None) -> np.ndarray:
        if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise SampleError(f"{self.name}: image must be an HxWx3 uint8 array, got {getattr(image, 'shape', None)} {getattr(image, 'dtype', None)}")
        h, w = image.shape[:2]
        if self.needs_trimap:
            if trimap is None:
                raise SampleError(f"{self.name} is trimap-based and needs a trimap (the dataset gives none and no recipe made one)")
            if trimap.shape != (h, w):
                raise SampleError(f"{self.name}: trimap shape {trimap.shape} differs from the image's {(h, w)}")
        th, tw = self.working_size(h, w)
        img = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float().div(255).to(self.device)
        img = resize_image(img, (th, tw))
        tri = None
        if self.needs_trimap and trimap is not None:
            tri = F.interpolate(trimap_to_tensor(trimap), size=(th, tw), mode="nearest").to(self.device)
        self.model.eval()
        with torch.inference_mode():
            alpha = self.forward_alpha(img, tri)
            if (th, tw) != (h, w):
                alpha = F.interpolate(alpha, size=(h, w), mode="bilinear", align_corners=False)
        out = alpha[0, 0].float().clamp(0, 1).cpu().numpy().astype(np.float32)
        if self.needs_trimap and trimap is not None:  # known regions exactly, at the original resolution
            keep_known(out, trimap)
        return out

    # -- training hooks (shared loop in mattebench.methods.train) ---------------------------------------
    def training_step(self, batch: dict[str, Tensor], stage: str) -> tuple[Tensor, dict[str, float]]:
        raise NotImplementedError

    def stage_parameters(self, stage: str) -> Iterable[nn.Parameter]:
        return [p for p in self.model.parameters() if p.requires_grad]

    def _check_stage(self, stage: str) -> None:
        names = [s for s, _ in self.train_stages]
        if stage not in names:
            raise MattebenchError(f"{self.name}: unknown training stage {stage!r}; its stages are {names}")

    # -- checkpoints ----------------------------------------------------------------------------
    def save_checkpoint(self, path: str | os.PathLike[str]) -> None:
        save_atomic({"format": CHECKPOINT_FORMAT, "method": self.name, "options": self.options,
                     "state_dict": self.model.state_dict()}, path)

    def remap_state_dict(self, sd: "dict[str, Tensor]") -> "dict[str, Tensor]":
        """Hook for official checkpoint layouts (IndexNet); identity by default."""
        return sd

    def load_checkpoint(self, path: str | os.PathLike[str]) -> None:
        sd = self.remap_state_dict(strip_module_prefix(read_state_dict(path)))
        load_strict(self.model, sd, os.fspath(path), f"method {self.name} with options {self.options}")
        self.model.to(self.device).eval()
