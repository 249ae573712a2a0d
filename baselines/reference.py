"""Reference methods: a floor to beat and a sanity check of the scoring pipeline."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from mattebench.contract import ReferenceMethod, SequencePredictor, method
from mattebench.data.trimap import keep_known
from mattebench.errors import SampleError
from mattebench.types import FAMILY_REFERENCE, FAMILY_TRIMAP, MethodCard, Sample


class TrimapMidpoint:
    """Alpha = the trimap itself with unknown pixels at 0.5: what a method gets for doing nothing."""

    card = MethodCard(
        name="trimap-midpoint",
        needs_trimap=True,
        family=FAMILY_TRIMAP,
        code_licence="Apache-2.0 (mattebench)",
        weights_licence="none (no learned weights)",
        notes="Reference floor: 0 on background, 1 on foreground, 0.5 on every other trimap value.",
        reference_floor=True,
        weights_option="",  # no learned weights
    )

    def predict(self, image: np.ndarray, trimap: Optional[np.ndarray] = None) -> np.ndarray:
        if trimap is None:
            raise SampleError("trimap-midpoint needs a trimap")
        return keep_known(np.full(trimap.shape, 0.5, dtype=np.float32), trimap)


class GroundTruthEcho(ReferenceMethod, SequencePredictor):
    """Returns the ground truth: every metric must be 0. Kept off leaderboards."""

    card = MethodCard(
        name="gt-echo",
        needs_trimap=False,
        family=FAMILY_REFERENCE,
        code_licence="Apache-2.0 (mattebench)",
        weights_licence="none",
        notes="Sanity check of the scoring pipeline: reads the sample's ground truth through observe().",
        on_leaderboard=False,
        weights_option="",
    )

    def __init__(self) -> None:
        self._alpha: Optional[np.ndarray] = None
        self._frames: Optional[dict[int, np.ndarray]] = None

    def observe(self, item: Any) -> None:
        if isinstance(item, Sample):
            self._alpha = item.alpha
        else:
            self._frames = dict(item.alphas)

    def predict(self, image: np.ndarray, trimap: Optional[np.ndarray] = None) -> np.ndarray:
        if self._alpha is None or self._alpha.shape != image.shape[:2]:
            raise SampleError("gt-echo was not shown the sample's ground truth (observe() must be called first)")
        return self._alpha.astype(np.float32)

    def predict_sequence(self, frames: list[np.ndarray], trimaps: Any = None) -> list[np.ndarray]:
        """For clips: the annotated frames' ground truth; unannotated frames get zeros (never scored)."""
        if self._frames is None:
            raise SampleError("gt-echo was not shown the clip's ground truth (observe() must be called first)")
        return [self._frames.get(i, np.zeros(f.shape[:2], np.float32)).astype(np.float32) for i, f in enumerate(frames)]


@method(TrimapMidpoint.card)
def trimap_midpoint() -> TrimapMidpoint:
    return TrimapMidpoint()


@method(GroundTruthEcho.card)
def gt_echo() -> GroundTruthEcho:
    return GroundTruthEcho()


