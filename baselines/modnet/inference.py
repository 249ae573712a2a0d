"""MODNet inference: the official preprocessing, the input-size rule, and ``predict``/``predict_batch``.

The official MODNet image preprocessing (demo/image_matting inference), reproduced exactly.

- RGB scaled to [-1, 1]: ``x = (rgb / 255 - 0.5) / 0.5``;
- ``ref = 512``: when ``max(h, w) < 512`` or ``min(h, w) > 512`` the short side becomes 512 and the long
  side ``int(long / short * 512)``; otherwise the size is kept;
- both sides rounded DOWN to a multiple of 32;
- resized in with ``mode='area'``; the matte resized back to (h, w) with ``mode='area'``.

One guard the official code lacks: a side that would round to 0 (an image under 32 pixels on a side that
is kept as it is) becomes 32, instead of a crash.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Iterable, Mapping, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from mattebench_baselines.common.torch_method import (
    trimap_to_tensor,  # the {0, 0.5, 1} trimap coding every network here uses
)
from mattebench_baselines.modnet.model import MODNet
from torch import Tensor

from mattebench.data.trimap import keep_known
from mattebench.errors import MattebenchError

REF_SIZE = 512
MULTIPLE = 32


def inference_size(h: int, w: int, ref: int = REF_SIZE, multiple: int = MULTIPLE) -> tuple[int, int]:
    """(height, width) at which MODNet runs for an h x w image."""
    if max(h, w) < ref or min(h, w) > ref:
        if w >= h:
            rh, rw = ref, int(w / h * ref)
        else:
            rh, rw = int(h / w * ref), ref
    else:
        rh, rw = h, w
    return max(multiple, rh - rh % multiple), max(multiple, rw - rw % multiple)


def normalise(image: np.ndarray) -> torch.Tensor:
    """HxWx3 uint8 RGB (HxW grey or HxWx4 RGBA accepted) -> 1x3xHxW float32 in [-1, 1]."""
    a = np.asarray(image)
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    elif a.shape[2] == 4:
        a = a[:, :, :3]
    elif a.shape[2] == 1:
        a = np.repeat(a, 3, axis=2)
    a = np.ascontiguousarray(a)
    if not a.flags.writeable:  # torch.from_numpy warns on read-only arrays (e.g. broadcast views)
        a = a.copy()
    x = torch.from_numpy(a).permute(2, 0, 1)[None].float()
    return (x / 255.0 - 0.5) / 0.5


def prepare(image: np.ndarray, ref: int = REF_SIZE, multiple: int = MULTIPLE) -> tuple[torch.Tensor, tuple[int, int]]:
    """Image -> (model input 1x3xH'xW', original (h, w))."""
    x = normalise(image)
    h, w = x.shape[-2:]
    size = inference_size(h, w, ref, multiple)
    return F.interpolate(x, size=size, mode="area"), (h, w)


def restore(matte: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bx1xH'xW' matte -> Bx1xhxw by area resizing (the official inverse step)."""
    return F.interpolate(matte, size=size, mode="area")


def encode_trimap(trimap: np.ndarray, size: tuple[int, int]) -> torch.Tensor:
    """HxW uint8 trimap (0 background, 255 foreground, anything else unknown) -> 1x1xH'xW' in {-1, 0, 1}
    at the inference size, resized by nearest neighbour so that no new unknown values appear. The
    training trimaps (0, 0.5, 1 in [0, 1]) map to the same three values by ``(t - 0.5) / 0.5``."""
    return F.interpolate((trimap_to_tensor(trimap) - 0.5) / 0.5, size=size, mode="nearest")


# ----------------------------------------------------------------------------------------------------
# Which inference-size rule a MODNet runs with, and where it came from.
#
# A checkpoint may carry the rule it was trained and evaluated with (``meta["input_rule"] = {"ref_size",
# "multiple"}``; every shipped checkpoint does). Precedence: an explicit ``ref_size=`` option, then the
# checkpoint's rule, then the official default (512, multiples of 32). The chosen rule and its source go into
# the run's provenance, so a number says at which size it was measured.
# ----------------------------------------------------------------------------------------------------

SOURCES = ("option", "checkpoint", "default")


@dataclass(frozen=True)
class InputRule:
    ref_size: int
    multiple: int
    source: str  # one of SOURCES

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def stored(self) -> dict[str, int]:
        """The form a checkpoint carries (without the source)."""
        return {"ref_size": self.ref_size, "multiple": self.multiple}


def choose_rule(option: Optional[Any], checkpoint_meta: Mapping[str, Any]) -> InputRule:
    """``option``: the ref_size the user gave (None when not given); ``checkpoint_meta``: the checkpoint's metadata."""
    stored = dict((checkpoint_meta.get("meta") or {}).get("input_rule") or {})
    multiple = int(stored.get("multiple", MULTIPLE))
    if option not in (None, ""):
        return InputRule(int(option), multiple, "option")
    if "ref_size" in stored:
        return InputRule(int(stored["ref_size"]), multiple, "checkpoint")
    return InputRule(REF_SIZE, MULTIPLE, "default")


# ----------------------------------------------------------------------------------------------------
# MODNet inference: ``predict`` (one image), ``predict_batch`` (images sharing a size run as one batch) and
# the One-Frame-Delay sequence path, all with the official preprocessing (:mod:`.preprocess`).
# ----------------------------------------------------------------------------------------------------

OFD_CHUNK = 8  # frames per forward in the OFD path: same result, fewer calls


class MODNetInference:
    """The inference part of :class:`~mattebench_baselines.modnet.method.MODNetMethod` (it sets these attributes)."""

    model: MODNet
    device: torch.device
    half: bool
    trimap_input: bool
    input_rule: InputRule
    ref_size: int
    name: str
    # The official normalisation, in the base class's terms (network_input below applies it).
    mean = (0.5, 0.5, 0.5)
    std = (0.5, 0.5, 0.5)

    # -- the network's input and output, in the base class's terms ---------------------------------
    def network_input(self, image: Tensor, trimap: Optional[Tensor]) -> Tensor:
        """[0, 1] image (and {0, 0.5, 1} trimap) -> MODNet's input: both coded to [-1, 1] by ``(v - 0.5) / 0.5``,
        the official image normalisation; the trimap appended as a fourth channel when ``trimap_input``."""
        x = (image - 0.5) / 0.5
        if self.trimap_input:
            if trimap is None:
                raise MattebenchError(f"{self.name} takes a trimap with every image (trimap_input=True)")
            x = torch.cat((x, (trimap - 0.5) / 0.5), 1)
        return x

    def forward_alpha(self, image: Tensor, trimap: Optional[Tensor] = None) -> Tensor:
        """Alpha (Bx1xHxW in [0, 1]) of a [0, 1] image batch at the size given: the matte head of
        ``model(x, inference=True)``, known trimap regions pasted in."""
        matte = self.model(self.network_input(image, trimap), True)[2].float().clamp(0, 1)
        if self.trimap_input and trimap is not None:
            matte = torch.where(trimap < 0.25, torch.zeros_like(matte), torch.where(trimap > 0.75, torch.ones_like(matte), matte))
        return matte

    def working_size(self, h: int, w: int) -> tuple[int, int]:
        """The size MODNet runs at for an h x w image (the input rule in force)."""
        return inference_size(h, w, self.ref_size, self.input_rule.multiple)

    # -- the method contract -------------------------------------------------------------------------
    @torch.inference_mode()
    def predict(self, image: np.ndarray, trimap: Optional[np.ndarray] = None) -> np.ndarray:
        return self.predict_batch([image], [trimap] if trimap is not None else None)[0]

    def _predict_sequence_ofd(self, frames: Sequence[np.ndarray], trimaps: Optional[Sequence[Any]] = None) -> list[np.ndarray]:
        """Mattes of consecutive frames, then OFD over them (thresholds in mattebench.methods.ofd)."""
        from mattebench.methods.ofd import one_frame_delay

        raw: list[np.ndarray] = []
        for start in range(0, len(frames), OFD_CHUNK):
            end = start + OFD_CHUNK
            raw.extend(self.predict_batch(list(frames[start:end]), list(trimaps[start:end]) if trimaps else None))
        return list(one_frame_delay(raw))

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
