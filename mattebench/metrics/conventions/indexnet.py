"""IndexNet Matting's evaluation (poppinace/indexnet_matting @ 4beb06a), reimplemented.

``scripts/hltrainval.py`` L257-266 keeps the float prediction (``clip(alpha, 0, 1) * 255.``, not
quantised; the 8-bit PNG is only saved) and replaces it outside trimap == 128 by the trimap
value itself. ``scripts/utils.py`` then min-max stretches both maps to [0, 255]
(``cv.normalize(pd, pd, ...)`` in place, so once for all four metrics), sums SAD, MSE, Grad and
Conn over trimap == 128, computes Grad with ``scipy.ndimage.gaussian_filter`` and divides it by
10, and skips empty threshold intersections in Conn (``continue``).
"""

from __future__ import annotations

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
from mattebench.metrics.conventions.gradients import minmax, scipy_gaussian_magnitude

__all__ = ["CONVENTION", "maps", "sad", "mse", "grad", "conn"]


def maps(pair: Pair) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pd, gt, mask): both maps float32 on 0..255 after the in-place stretch, mask = trimap == 128."""
    t = trimap_of(pair).astype(np.float32)
    mask = (t == 128).astype(np.float32)
    alpha = np.clip(np.asarray(pair.pred, dtype=np.float32), 0.0, 1.0) * np.float32(255.0)
    pd = (1 - mask) * t + mask * alpha  # outside the unknown band the trimap value is the prediction
    gt = pair.gt.astype(np.float32)
    return minmax(pd, 0.0, 255.0, np.float32), minmax(gt, 0.0, 255.0, np.float32), mask.astype(bool)


def sad(pair: Pair) -> float:
    """sum over trimap == 128 of |pd - gt| / 255, / 1000 (``compute_sad_loss``, L39-46)."""
    pd, gt, m = maps(pair)
    return float((np.abs(pd - gt) / np.float32(255.0))[m].sum(dtype=np.float64)) / 1000.0


def mse(pair: Pair) -> float:
    """sum over trimap == 128 of ((pd - gt) / 255)^2 / |U| (``compute_mse_loss``, L50-55); 0/0
    is NaN, as in the reference."""
    pd, gt, m = maps(pair)
    n = int(m.sum())
    if n == 0:
        return float("nan")
    return float((((pd - gt) / np.float32(255.0)) ** 2)[m].sum(dtype=np.float64)) / n


def grad(pair: Pair) -> float:
    """sum over trimap == 128 of (|grad pd/255| - |grad gt/255|)^2, / 10 (``compute_gradient_loss``,
    L59-73): scipy's Gaussian derivative (13 taps, normalised to sum 1, mode 'reflect', float32),
    not the DIM 9x9 kernel; divided by 10, not 1000."""
    pd, gt, m = maps(pair)
    e = scipy_gaussian_magnitude(pd / np.float32(255.0)) - scipy_gaussian_magnitude(gt / np.float32(255.0))
    return float((e * e)[m].sum(dtype=np.float64)) / 10.0


def conn(pair: Pair) -> float:
    """Connectivity error over trimap == 128, / 1000 (``compute_connectivity_loss``, L77-119):
    float32 maps compared with ``np.arange(0, 1.1, 0.1)`` (153/255 passes 0.6, as in float32),
    skimage 4-connected regions without the background, ties to the first region in row-major
    order, an empty intersection skipped (``continue``, so its pixels end with l = 1), l in float32.
    The distance maps it computes are never used (L106-108)."""
    pd, gt, m = maps(pair)
    p, g = pd / np.float32(255.0), gt / np.float32(255.0)
    th = ARANGE_THRESHOLDS.astype(np.float32)
    return connectivity_error(
        p, g, m, p_thresholds=th, g_thresholds=th, largest=largest_excluding_background, empty="continue", l_dtype=np.float32
    )


_Q = "none: float prediction clip(p) * 255, trimap value outside trimap == 128, both maps min-max stretched to [0, 255]"
_U = "trimap == 128"

CONVENTION = Convention(
    name="indexnet",
    toolkit="IndexNet Matting",
    repo="poppinace/indexnet_matting",
    commit="4beb06a",
    needs_trimap=True,
    description=(
        "IndexNet scores the unquantised prediction with the trimap's own values outside the unknown band, min-max "
        "stretches both maps to [0, 255] first, computes Grad with scipy's Gaussian derivative divided by 10, and "
        "skips empty threshold intersections in Conn (scripts/utils.py L39-119, scripts/hltrainval.py L257-271)."
    ),
    metrics=(
        ConventionMetric("sad", "SAD", "/1000", _U, _Q, "–",
                         "Float prediction and min-max stretched maps instead of the 8-bit maps.",
                         "scripts/utils.py L39-46", image=sad, reference="sad"),
        ConventionMetric("mse", "MSE", "raw", _U, _Q, "–",
                         "Float prediction and min-max stretched maps instead of the 8-bit maps.",
                         "scripts/utils.py L50-55", image=mse, reference="mse"),
        ConventionMetric("grad", "Grad", "/10", _U, _Q,
                         "scipy gaussian_filter sigma 1.4 order 1 (13 taps, sum-1 Gaussian), mode 'reflect', float32",
                         "Another derivative filter and border, and divided by 10 instead of 1000.",
                         "scripts/utils.py L59-73", image=grad, reference="grad"),
        ConventionMetric("conn", "Conn", "/1000", _U, _Q,
                         "np.arange(0, 1.1, 0.1) compared in float32; skimage 4-connected; empty intersection: continue",
                         "An empty intersection is skipped, so its pixels end with l = 1 instead of the previous threshold.",
                         "scripts/utils.py L77-119", image=conn, reference="conn"),
    ),
)
