"""What the scorer does for the video benchmarks' official protocols (``rvm-lr``, ``tcvom``, ...).

A dataset card names its protocol in ``protocols`` (:mod:`mattebench.data.videomatte`, ``vm108``...); every run
on it scores that protocol's columns (``mad@rvm-lr``...) beside the reference metrics, one row per clip (the
frame mean), so the run's mean and interval are over clips, as the scripts average (per clip, then over clips).

The foreground: a sequence method (or a folder of saved predictions in RVM's layout) may give each frame as
``(alpha, foreground)`` (HxW alpha; HxWx3 foreground, uint8 or float in [0, 1]) or as one HxWx4 array (alpha,
then the foreground's RGB); :func:`split_foregrounds` takes the answer apart before the alphas are checked.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Optional, Sequence

import numpy as np

from mattebench.errors import PredictionError
from mattebench.types import Clip, DatasetCard

# Names of mattebench.metrics.conventions.VIDEO_PROTOCOLS (kept here so a run without them never imports
# the conventions; tests/test_video_protocols.py checks the two agree).
PROTOCOL_NAMES = ("rvm-lr", "rvm-hr", "matanyone-lr", "matanyone-hr", "tcvom")
_NEEDS_TRIMAPS = ("tcvom",)


def protocols_of(card: DatasetCard) -> tuple[str, ...]:
    """The video protocols the dataset's card names."""
    return tuple(n for n in PROTOCOL_NAMES if n in card.protocols)


def conventions_for(card: DatasetCard, names: Sequence[str]) -> tuple[str, ...]:
    """The user's ``--conventions`` (checked) followed by the dataset's protocols; the same when given twice."""
    from mattebench.metrics import conventions as C

    return C.parse([n for n in names if n not in PROTOCOL_NAMES]) + protocols_of(card)


def _split(where: str, p: Any) -> tuple[Any, Optional[np.ndarray]]:
    if isinstance(p, tuple):
        if len(p) != 2:
            raise PredictionError(f"{where}: a prediction tuple must be (alpha, foreground), got {len(p)} items")
        fgr = np.asarray(p[1])
        if fgr.ndim != 3 or fgr.shape[2] != 3 or fgr.shape[:2] != np.shape(p[0])[:2]:
            raise PredictionError(f"{where}: foreground has shape {fgr.shape}; expected HxWx3 at the alpha's size {np.shape(p[0])[:2]}")
        return p[0], fgr
    if isinstance(p, np.ndarray) and p.ndim == 3 and p.shape[2] == 4:
        return p[..., 0], p[..., 1:]
    return p, None


def split_foregrounds(ans: Any, clip_id: str) -> tuple[Any, dict[int, np.ndarray]]:
    """(the answer with alphas only, frame index -> predicted foreground)."""
    alphas: dict[int, Any] = {}
    fgrs: dict[int, np.ndarray] = {}
    for i, p in ans.predictions.items():
        alphas[i], f = _split(f"{clip_id} frame {i}", p)
        if f is not None:
            fgrs[i] = f
    return dataclasses.replace(ans, predictions=alphas), fgrs


def frame_foregrounds(c: Clip, i: int, fgrs: dict[int, np.ndarray]) -> dict[str, Any]:
    """The keyword arguments of one frame's convention scores: both foregrounds, or none (the metric is NaN)."""
    if i not in fgrs or i not in c.fgs:
        return {}
    return {"pred_fgr": fgrs[i], "gt_fgr": c.fgs[i]}


def clip_inputs(c: Clip, idx: list[int], names: Sequence[str]) -> dict[str, Any]:
    """Trimaps and flows for the clip metrics of the protocols that need them (TCVOM), else nothing."""
    if not any(n in _NEEDS_TRIMAPS for n in names):
        return {}
    out: dict[str, Any] = {}
    if all(i in c.trimaps for i in idx):
        out["trimaps"] = [c.trimaps[i] for i in idx]
    flows = [c.flows.get(i) for i in idx[:-1]]
    if flows and all(f is not None for f in flows):
        out["flows"] = flows
    return out
