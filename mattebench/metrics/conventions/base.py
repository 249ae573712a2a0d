"""Types of the convention registry: what one toolkit's evaluation code computes, per metric."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

__all__ = ["Pair", "Clip", "ConventionMetric", "Convention", "trimap_of", "derived"]


@dataclass(frozen=True)
class Pair:
    """One scored image: the method's prediction as the runner checked it (HxW float32 alpha in
    [0, 1]), the ground truth as its 8-bit file holds it (HxW uint8) and the trimap (HxW uint8,
    or None where the dataset has none)."""

    pred: np.ndarray
    gt: np.ndarray
    trimap: Optional[np.ndarray] = None
    # The video benchmarks' foreground colour (RVM): HxWx3, the method's (uint8 or float in [0, 1]) and the
    # dataset's (uint8); None where either has none (the foreground metrics give NaN).
    pred_fgr: Optional[np.ndarray] = None
    gt_fgr: Optional[np.ndarray] = None
    # Arrays derived from this pair once and shared by a convention's metrics (the writer's 8-bit prediction):
    # key -> array; see :func:`derived`. Not part of the pair's value.
    memo: dict = field(default_factory=dict, compare=False, repr=False)


def derived(pair: Pair, make: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """``make(pair.pred)``, computed once per pair (``make`` is a module-level function: the key)."""
    if make not in pair.memo:
        pair.memo[make] = make(pair.pred)
    return pair.memo[make]


def trimap_of(pair: Pair) -> np.ndarray:
    """The pair's trimap, for the conventions that need one (``score`` gives them NaN without)."""
    if pair.trimap is None:
        raise ValueError("this convention needs a trimap (trimap=None given)")
    return np.asarray(pair.trimap)


@dataclass(frozen=True)
class Clip:
    """The scored frames of one clip, in order: T predictions (float32) and ground truths (uint8)."""

    preds: tuple[np.ndarray, ...]
    gts: tuple[np.ndarray, ...]
    # TCVOM's clip metrics: the trimap of each frame (uint8) and the flow t -> t+1 (HxWx2, NaN = none; None =
    # the dataset has none); empty where the caller has none.
    trimaps: tuple[np.ndarray, ...] = ()
    flows: tuple[Optional[np.ndarray], ...] = ()


@dataclass(frozen=True)
class ConventionMetric:
    """One number a toolkit prints.

    ``scale`` is the unit as the toolkit prints it (``/1000``, ``x1e3``, ``/10``, ``raw``);
    ``region`` the pixels summed or averaged over; ``quantisation`` what the prediction becomes
    before scoring; ``filters`` thresholds, kernels and borders; ``differs`` one sentence on how it
    differs from the DIM MATLAB reference; ``source`` the file and lines it follows at the pinned
    commit. Exactly one of ``image`` (per image or frame) and ``clip`` (per clip) computes it.
    ``reference`` names the mattebench reference column that measures the same thing in its own
    convention (``""``: none does), for side-by-side displays; it is never used for ranking.
    """

    metric: str
    label: str
    scale: str
    region: str
    quantisation: str
    filters: str
    differs: str
    source: str
    image: Optional[Callable[[Pair], float]] = None
    clip: Optional[Callable[[Clip], float]] = None
    reference: str = ""


@dataclass(frozen=True)
class Convention:
    """A toolkit's evaluation code at a pinned commit (``repo`` @ ``commit``)."""

    name: str
    toolkit: str
    repo: str
    commit: str
    needs_trimap: bool
    description: str
    metrics: tuple[ConventionMetric, ...]

    def column(self, metric: ConventionMetric) -> str:
        """Stored column name, e.g. ``sad@gca``: never one of the reference columns."""
        return f"{metric.metric}@{self.name}"

    def columns(self, video: bool) -> list[str]:
        """Columns a run of this kind gets (clip metrics only on video datasets)."""
        return [self.column(m) for m in self.metrics if m.image is not None or video]
