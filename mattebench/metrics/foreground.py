"""Foreground colour error (RobustVideoMatting's definition) and an estimated foreground.

Definition: PeterL1n/RobustVideoMatting @ 53d74c6 ``evaluation/evaluate_lr.py`` L135-143 (facts:
video-benchmarks.md section 4): with colours in [0, 1] (8-bit files read as float32 / 255) and
the GT alpha of the same frame, the pixels scored are M = {GT alpha > 0} (any nonzero 8-bit
value), each with its 3 channels:

    fgr_mad = mean over M x 3 of |F_pred - F_true|
    fgr_mse = mean over M x 3 of (F_pred - F_true)^2

The predicted alpha is not used; pixels where the GT alpha is 0 are ignored whatever colour the
method gives them. RVM prints both x 1e3; here the raw value is returned (mattebench keeps raw
values and lets tables scale, metrics.md), so ``1e3 * fgr_mad`` is RVM's number. The HR script
(evaluate_hr.py) has fgr_mse only, same formula. Empty M (an all-zero GT alpha): RVM takes the
mean of an empty array (NaN with a warning); returned as NaN, excluded and counted by the
aggregate. The channel order (RVM reads BGR) does not matter as long as both images share it:
the error is summed symmetrically over channels.

A method without its own foreground can be scored with one estimated from its alpha and the
photo by :func:`estimated_foreground` (pymatting's ``estimate_foreground_ml``, Germer et al.,
"Fast Multi-Level Foreground Estimation", ICPR 2020), always labelled as estimated.

Video: a clip's value is the mean of the per-frame values (RVM averages frames and clips the
same way as for pha metrics); :func:`foreground_error` is the per-frame function.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

from mattebench.metrics.fast import _alpha64 as alpha64
from mattebench.metrics.fast import _check_map as check_map

__all__ = ["FOREGROUND_COLUMNS", "ForegroundError", "foreground_error", "EstimatedForeground", "estimated_foreground", "ESTIMATOR"]


# samples.csv / summary.json columns (never ranked); fgr_source says whose foreground was scored.
FOREGROUND_COLUMNS: tuple[str, ...] = ("fgr_mad", "fgr_mse")


def check_colour(x: object, name: str, shape: Optional[tuple[int, ...]] = None) -> np.ndarray:
    """An HxWx3 colour image, uint8 or float in [0, 1] (same value rules as an alpha map)."""
    a = np.asarray(x)
    if a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"{name}: expected an HxWx3 colour image, got shape {a.shape}")
    if shape is not None and a.shape[:2] != tuple(shape[:2]):
        raise ValueError(f"{name}: size {a.shape[:2]} does not match pred's {tuple(shape[:2])}")
    if a.size == 0:
        raise ValueError(f"{name}: empty array of shape {a.shape}")
    if a.dtype == np.uint8:
        return a
    if a.dtype == np.bool_ or not np.issubdtype(a.dtype, np.floating):
        raise ValueError(f"{name}: dtype {a.dtype} is not supported; expected uint8 (0..255) or float in [0, 1]")
    lo, hi = float(np.min(a)), float(np.max(a))
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"{name}: contains NaN or inf")
    if lo < -1e-5 or hi > 1.0 + 1e-5:
        hint = " (a 0..255 image stored as float? divide by 255 or pass uint8)" if hi > 1.5 else ""
        raise ValueError(f"{name}: float values span [{lo:.6g}, {hi:.6g}]; expected [0, 1]{hint}")
    return a


@dataclass(frozen=True)
class ForegroundError:
    """Raw fgr MAD and MSE (colours in [0, 1]) over the n pixels with GT alpha > 0 (3 n values);
    ``source`` says whose foreground was scored ("predicted" or the estimator's label)."""

    mad: float
    mse: float
    n: int
    source: str = "predicted"


def _colour64(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float64) / 255.0 if x.dtype == np.uint8 else x.astype(np.float64, copy=False)


def foreground_error(pred_fgr: np.ndarray, true_fgr: np.ndarray, true_alpha: np.ndarray,
                     source: str = "predicted") -> ForegroundError:
    """RVM's fgr_mad / fgr_mse of one image, raw (see the module docstring).

    ``pred_fgr``, ``true_fgr``: HxWx3, uint8 or float in [0, 1], the same channel order;
    ``true_alpha``: HxW uint8 or float in [0, 1]. Arithmetic in float64 (RVM: float32).
    """
    pf = check_colour(pred_fgr, "pred_fgr")
    tf = check_colour(true_fgr, "true_fgr", pf.shape)
    ta = check_map(true_alpha, "true_alpha", pf.shape[:2])
    mask = ta > 0  # u8 > 0 and (u8 / 255) > 0 select the same pixels, as do float32 x > 0 and float64(x) > 0
    n = int(np.count_nonzero(mask))
    if n == 0:
        return ForegroundError(math.nan, math.nan, 0, source)
    # The n x 3 selected colours, in row-major order as pf[mask] gives them: np.compress on the flat view is the
    # same selection several times faster than boolean indexing, and only they are converted to float64.
    flat = mask.ravel()
    d = _colour64(np.compress(flat, pf.reshape(-1, 3), axis=0)) - _colour64(np.compress(flat, tf.reshape(-1, 3), axis=0))
    return ForegroundError(float(np.abs(d).mean()), float((d * d).mean()), n, source)


ESTIMATOR = "estimated: pymatting.estimate_foreground_ml (multi-level, defaults) from the photo and the predicted alpha"


@dataclass(frozen=True)
class EstimatedForeground:
    """A foreground estimated from a photo and an alpha, HxWx3 float64 in [0, 1], with its label."""

    foreground: np.ndarray
    label: str = ESTIMATOR


def estimated_foreground(image: np.ndarray, alpha: np.ndarray) -> EstimatedForeground:
    """pymatting's ``estimate_foreground_ml(image, alpha)`` with its defaults (regularization 1e-5,
    10 small / 2 big iterations, small size 32, gradient weight 1), clipped to [0, 1].

    ``image``: HxWx3 uint8 or float in [0, 1]; ``alpha``: HxW uint8 or float in [0, 1] (the
    method's predicted alpha, so the estimate is the method's, not the ground truth's).
    The first call compiles pymatting's numba kernels (seconds).
    """
    from pymatting import estimate_foreground_ml  # imported late: numba start-up is slow

    img = check_colour(image, "image")
    a = check_map(alpha, "alpha", img.shape[:2])
    fg = estimate_foreground_ml(_colour64(img), np.clip(alpha64(a), 0.0, 1.0))
    return EstimatedForeground(np.clip(np.asarray(fg, dtype=np.float64), 0.0, 1.0))
