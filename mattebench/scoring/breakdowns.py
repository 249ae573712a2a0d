"""Where a method fails: the breakdown columns of an image row (never ranked).

Per sample, beside the ranked metrics: SAD/MSE/MAD over the trimap's fg, bg and transition regions
(:mod:`mattebench.metrics.regions`; datasets without trimaps use the generated recipe, recorded as
``trimap_recipe``), Boundary IoU and mBA of the binarised mattes (:mod:`mattebench.metrics.boundary`), the rest
of the five whole-image metrics on sets with the ``whole`` protocol (``sad_whole``, ``grad_whole``,
``conn_whole``), and the foreground colour error (:mod:`mattebench.metrics.foreground`) where the sample has the
true foreground and the method declares one (:class:`mattebench.contract.ForegroundPredictor`), or, when the
run asks for it, one estimated from the predicted alpha with pymatting, labelled as estimated.

Regions and boundaries score the prediction as the whole protocol does (the float prediction, not quantised);
the whole-image SAD, Grad and Conn score the 8-bit prediction, as their unknown-region versions do;
mBA and the boundary band quantise as BiRefNet reads 8-bit PNGs (see the metric modules).
"""

from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

from mattebench.contract import ForegroundPredictor
from mattebench.metrics import fast as M
from mattebench.metrics.boundary import BOUNDARY_COLUMNS, boundary_iou, mba
from mattebench.metrics.foreground import ESTIMATOR, FOREGROUND_COLUMNS, estimated_foreground, foreground_error
from mattebench.metrics.regions import REGION_COLUMNS, region_metrics
from mattebench.types import DatasetCard, Sample

# Part of a run's identity: a run folder scored without these columns (or with another version of them) is another run.
BREAKDOWN_VERSION = 1
FOREGROUND_PREDICTED = "predicted by the method"


def breakdown_columns(card: DatasetCard, foreground: bool = False) -> list[str]:
    """The breakdown columns an image dataset's rows carry (none for video); the foreground columns only when
    the run scores a foreground (:func:`foreground_source` is not None)."""
    if card.kind != "image":
        return []
    cols = [*REGION_COLUMNS, *BOUNDARY_COLUMNS]
    if "whole" in card.protocols:
        cols += list(M.WHOLE_DETAIL_METRICS)
    return cols + (list(FOREGROUND_COLUMNS) if foreground else [])


def reads_trimap(columns: list[str]) -> bool:
    """Whether rows with ``columns`` read the sample's trimap (the region columns do; a set without trimaps
    then generates one, and the run records the recipe)."""
    return REGION_COLUMNS[0] in columns


def foreground_source(method: Any, estimate: bool, hosted: bool = False) -> Optional[str]:
    """Whose foreground a run scores: the method's own (``hosted``: a method host predicts it, see
    :func:`mattebench.methods.host.declares_foreground`), the estimate (``estimate``), or none."""
    if hosted or (method is not None and isinstance(method, ForegroundPredictor)):
        return FOREGROUND_PREDICTED
    return ESTIMATOR if estimate else None


def _foreground(pred: np.ndarray, s: Sample, method: Any, source: Optional[str],
                given: Optional[np.ndarray]) -> dict[str, float]:
    if source is None or s.fg is None:
        return {k: math.nan for k in FOREGROUND_COLUMNS}
    if source == FOREGROUND_PREDICTED and method is None:  # predicted in a method host: it came with the alpha
        if given is None:  # the host's method turned out to predict none: nothing to score (NaN, excluded and counted)
            return {k: math.nan for k in FOREGROUND_COLUMNS}
        fgr = np.asarray(given)
    elif source == FOREGROUND_PREDICTED:
        fgr = np.asarray(method.predict_foreground(np.array(s.image, copy=True), np.array(pred, copy=True)))
    else:
        fgr = estimated_foreground(s.image, pred).foreground
    e = foreground_error(fgr, s.fg, s.alpha, source)
    return {"fgr_mad": e.mad, "fgr_mse": e.mse}


def breakdown_scores(pred: np.ndarray, s: Sample, columns: list[str], method: Any = None,
                     fg_source: Optional[str] = None, foreground: Optional[np.ndarray] = None) -> dict[str, float]:
    """The breakdown columns of one checked prediction (only those in ``columns``); ``foreground``: the one a
    method host sent with the alpha (``method`` is then None)."""
    out: dict[str, float] = {}
    if REGION_COLUMNS[0] in columns:
        if s.trimap is None:
            out.update({k: math.nan for k in REGION_COLUMNS})
        else:
            out.update(region_metrics(pred, s.alpha, s.trimap).as_row())
    if "biou" in columns:
        out["biou"] = boundary_iou(pred, s.alpha).biou
        out["mba"] = mba(pred, s.alpha)
    whole = [k for k in M.WHOLE_DETAIL_METRICS if k in columns]
    if whole:
        # SAD/Grad/Conn over every pixel are the unknown-region sums with the region widened, scored like them on
        # the 8-bit prediction the reference pipelines read (metrics.fast.quantize): two runs of one model, one
        # saved as 8-bit PNGs, then give the same sums, and their resolution is one 8-bit step (report.resolution).
        q = M.quantize(pred)
        for k in whole:
            out[k] = float(getattr(M, k)(q, s.alpha))
    if FOREGROUND_COLUMNS[0] in columns:
        out.update(_foreground(pred, s, method, fg_source, foreground))
    return out
