"""MODNet inference: ``predict`` (one image), ``predict_batch`` (images sharing a size run as one batch) and
the One-Frame-Delay sequence path, all with the official preprocessing (:mod:`.preprocess`)."""

from __future__ import annotations

from typing import Any, Iterable, Optional, Sequence

import numpy as np
import torch
from torch import Tensor

from mattebench.data.trimap import keep_known
from mattebench.errors import MattebenchError

from .input_rule import InputRule
from .model import MODNet
from .preprocess import encode_trimap, inference_size, prepare, restore

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
        """Mattes of consecutive frames, then OFD over them (thresholds in mattebench.video.ofd)."""
        from mattebench.video.ofd import one_frame_delay

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
