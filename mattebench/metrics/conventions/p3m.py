"""P3M's (and AIM's) test metrics (JizhiziLi/P3M @ 9f9390f, ``core/evaluate.py``), reimplemented.

``core/test.py`` L133-149 scores the float prediction (never quantised) against
``imread / 255.`` (float64) with, for every image:

- ``p3m-whole``: SAD, MSE and MAD over every pixel (``calculate_sad_mse_mad_whole_img``,
  L128-133), and Grad and Conn over every pixel too (``compute_gradient_whole_image`` L148-159:
  scipy's Gaussian derivative, divided by 10; ``compute_connectivity_loss_whole_image``
  L161-191: float64 thresholds, ``continue`` on an empty intersection);
- ``p3m-trimap``: the prediction set to 1 / 0 where trimap == 255 / 0, SAD over every pixel,
  MSE and MAD divided by the number of trimap == 128 pixels, or, when there is none, by the
  number of pixels that are neither 0 nor 255 (``calculate_sad_mse_mad``, L116-126).
"""

from __future__ import annotations

import math

import numpy as np

from mattebench.metrics.conventions.base import (
    Convention,
    ConventionMetric,
    Pair,
    trimap_of,
)
from mattebench.metrics.conventions.connectivity import (
    ARANGE_THRESHOLDS,
    connectivity_error,
    largest_excluding_background,
)
from mattebench.metrics.conventions.gradients import scipy_gaussian_magnitude

__all__ = ["WHOLE", "TRIMAP", "whole_sad", "whole_mse", "whole_mad", "whole_grad", "whole_conn",
           "trimap_sad", "trimap_mse", "trimap_mad", "trimap_divisor"]


def _maps(pair: Pair) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(pair.pred, dtype=np.float64), pair.gt / 255.0


def whole_sad(pair: Pair) -> float:
    p, g = _maps(pair)
    return float(np.abs(p - g).sum()) / 1000.0


def whole_mse(pair: Pair) -> float:
    p, g = _maps(pair)
    return float(((p - g) ** 2).sum()) / p.size


def whole_mad(pair: Pair) -> float:
    p, g = _maps(pair)
    return float(np.abs(p - g).sum()) / p.size


def whole_grad(pair: Pair) -> float:
    """sum over every pixel of (|grad p| - |grad g|)^2, / 10: no stretch, scipy's filter."""
    p, g = _maps(pair)
    e = scipy_gaussian_magnitude(p) - scipy_gaussian_magnitude(g)
    return float((e * e).sum(dtype=np.float64)) / 10.0


def whole_conn(pair: Pair) -> float:
    """Connectivity error over every pixel, / 1000: float64 maps against float64
    ``np.arange(0, 1.1, 0.1)`` (153/255 fails 0.6000000000000001), skimage 4-connected regions,
    empty intersection skipped, l stored in float32."""
    p, g = _maps(pair)
    return connectivity_error(
        p, g, None, p_thresholds=ARANGE_THRESHOLDS, g_thresholds=ARANGE_THRESHOLDS,
        largest=largest_excluding_background, empty="continue", l_dtype=np.float32,
    )


def trimap_divisor(trimap: np.ndarray) -> int:
    """|trimap == 128|, or when that is 0, H*W - |trimap == 255| - |trimap == 0| (L118-123)."""
    t = np.asarray(trimap)
    n = int((t == 128).sum())
    return n if n else int(t.size - (t == 255).sum() - (t == 0).sum())


def _trimap_diff(pair: Pair) -> tuple[np.ndarray, int]:
    t = trimap_of(pair)
    p, g = _maps(pair)
    p = p.copy()
    p[t == 255] = 1.0
    p[t == 0] = 0.0
    return p - g, trimap_divisor(t)


def trimap_sad(pair: Pair) -> float:
    d, _ = _trimap_diff(pair)
    return float(np.abs(d).sum()) / 1000.0


def trimap_mse(pair: Pair) -> float:
    """Whole-image sum of squares / the divisor; a trimap of only 0 and 255 gives P3M a division
    by zero (inf, or nan for a perfect prediction): stored as NaN, excluded and counted."""
    d, n = _trimap_diff(pair)
    return float((d * d).sum()) / n if n else math.nan


def trimap_mad(pair: Pair) -> float:
    d, n = _trimap_diff(pair)
    return float(np.abs(d).sum()) / n if n else math.nan


_QW = "none: the float prediction, ground truth imread / 255. (core/test.py L137-149)"
_QT = "none: the float prediction, set to 1 / 0 where trimap == 255 / 0 (core/evaluate.py L117-120)"

WHOLE = Convention(
    name="p3m-whole",
    toolkit="P3M / AIM (whole image)",
    repo="JizhiziLi/P3M",
    commit="9f9390f",
    needs_trimap=False,
    description=(
        "P3M scores the float prediction over every pixel: SAD/1000, raw MSE and MAD, Grad with scipy's Gaussian "
        "derivative and no stretch divided by 10, and Conn with float64 thresholds that skips empty intersections "
        "(core/evaluate.py L128-191)."
    ),
    metrics=(
        ConventionMetric("sad", "SAD", "/1000", "every pixel", _QW, "–",
                         "Every pixel instead of trimap == 128, float prediction.", "core/evaluate.py L128-133", image=whole_sad),
        ConventionMetric("mse", "MSE", "raw", "every pixel", _QW, "–",
                         "Every pixel instead of trimap == 128, float prediction.", "core/evaluate.py L128-133", image=whole_mse, reference="mse_whole"),
        ConventionMetric("mad", "MAD", "raw", "every pixel", _QW, "–",
                         "Not in the DIM reference; the mean of |p - g| over every pixel.", "core/evaluate.py L128-133", image=whole_mad, reference="mad_whole"),
        ConventionMetric("grad", "Grad", "/10", "every pixel", _QW,
                         "scipy gaussian_filter sigma 1.4 order 1 (13 taps), mode 'reflect', float32; no stretch",
                         "Every pixel, no min-max stretch, another filter and border, divided by 10.",
                         "core/evaluate.py L148-159", image=whole_grad),
        ConventionMetric("conn", "Conn", "/1000", "every pixel", _QW,
                         "np.arange(0, 1.1, 0.1) float64 (153/255 fails 0.6); skimage 4-connected; empty: continue",
                         "Every pixel, float64 thresholds, and an empty intersection is skipped (its pixels end with l = 1).",
                         "core/evaluate.py L161-191", image=whole_conn),
    ),
)

TRIMAP = Convention(
    name="p3m-trimap",
    toolkit="P3M / AIM (trimap variant)",
    repo="JizhiziLi/P3M",
    commit="9f9390f",
    needs_trimap=True,
    description=(
        "P3M's 'trimap' numbers clamp the float prediction to the trimap's known values, sum SAD over every pixel, "
        "and divide the whole-image MSE and MAD sums by the unknown count, or by the count of pixels that are "
        "neither 0 nor 255 when there is none (core/evaluate.py L116-126)."
    ),
    metrics=(
        ConventionMetric("sad", "SAD", "/1000", "every pixel (prediction set to 1 / 0 on trimap 255 / 0)", _QT, "–",
                         "Every pixel of the trimap-clamped float prediction.", "core/evaluate.py L116-121", image=trimap_sad, reference="sad"),
        ConventionMetric("mse", "MSE", "raw", "numerator: every pixel; divisor: |trimap == 128| (else |0 < trimap < 255|)", _QT,
                         "divisor fallback when no pixel is 128", "Whole-image squared error over the unknown count.",
                         "core/evaluate.py L116-126", image=trimap_mse, reference="mse"),
        ConventionMetric("mad", "MAD", "raw", "numerator: every pixel; divisor: |trimap == 128| (else |0 < trimap < 255|)", _QT,
                         "divisor fallback when no pixel is 128", "Not in the DIM reference; whole-image absolute error over the unknown count.",
                         "core/evaluate.py L116-126", image=trimap_mad),
    ),
)
