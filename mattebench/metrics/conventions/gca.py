"""GCA-Matting's evaluation (Yaoyi-Li/GCA-Matting @ 5a999be), reimplemented.

What ``tester.py`` prints for one image, through ``utils/evaluate.py``:

- the trimap is recoded into classes (``dataloader/data_generator.py`` L41-43: < 85 background,
  >= 170 foreground, the rest unknown) and back to 0/128/255 (``tester.py`` L76-77), so the
  unknown region is 85 <= trimap < 170, not trimap == 128 only;
- the prediction is set to 1 on the foreground and 0 on the background class (L73-74), then
  ``(alpha * 255).astype(np.uint8)``: truncated, not rounded (L83-84);
- the ground truth is ``imread / 255.`` in float32, times 255 (L82): exactly the 8-bit values;
- SAD, MSE (``+ 1e-8`` in the divisor, so 0 without unknown pixels), Grad on maps divided by
  255 (no min-max stretch) and Conn with float64 thresholds and GCA's largest-component choice
  (``utils/evaluate.py`` L46-106).
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
    largest_including_background,
)
from mattebench.metrics.conventions.gradients import dim_magnitude

__all__ = ["CONVENTION", "prediction", "unknown", "sad", "mse", "grad", "conn"]


def unknown(trimap: np.ndarray) -> np.ndarray:
    """85 <= trimap < 170: the class-1 pixels of the recoded trimap."""
    t = np.asarray(trimap)
    return (t >= 85) & (t < 170)


def prediction(pair: Pair) -> np.ndarray:
    """The uint8 map GCA scores: trimap-clamped, then float32 ``* 255`` truncated."""
    p = np.array(pair.pred, dtype=np.float32)
    t = trimap_of(pair)
    p[t >= 170] = 1.0
    p[t < 85] = 0.0
    return (p * np.float32(255.0)).astype(np.uint8)


def _diff(pair: Pair) -> tuple[np.ndarray, np.ndarray]:
    u = unknown(trimap_of(pair))
    d = prediction(pair).astype(np.float64) - pair.gt.astype(np.float64)
    return d / 255.0, u


def sad(pair: Pair) -> float:
    """sum over U of |q - g| / 255, / 1000 (``comput_sad_loss``, L102-106)."""
    d, u = _diff(pair)
    return float(np.abs(d)[u].sum()) / 1000.0


def mse(pair: Pair) -> float:
    """sum over U of ((q - g) / 255)^2 / (|U| + 1e-8) (``compute_mse_loss``, L95-99): 0.0, not
    NaN, without unknown pixels."""
    d, u = _diff(pair)
    return float((d * d)[u].sum()) / (float(u.sum()) + 1e-8)


def grad(pair: Pair) -> float:
    """sum over U of (|grad q/255| - |grad g/255|)^2, / 1000 (``compute_gradient_loss``, L46-60).

    The maps are divided by 255 (``pred / 255.0``), not stretched (MATLAB ``mat2gray``): a
    ground truth without 0 or 255 pixels gives other numbers than the reference. The prediction
    is float64 (uint8 / 255.0), the ground truth float32 (float32 / 255.0), as in the source.
    """
    u = unknown(trimap_of(pair))
    p = prediction(pair) / 255.0
    g = pair.gt.astype(np.float32) / np.float32(255.0)
    e = dim_magnitude(p, "scipy") - dim_magnitude(g, "scipy").astype(np.float64)
    return float((e * e)[u].sum()) / 1000.0


def conn(pair: Pair) -> float:
    """Connectivity error over U, / 1000 (``compute_connectivity_error``, L63-92).

    ``np.arange(0, 1 + step, step)`` thresholds; the prediction (uint8 / 255.0, float64) is
    compared in float64, so 153/255 = 0.6 fails 0.6000000000000001; the ground truth (float32)
    is compared in float32 (NumPy 1.x casting, which this code needs: it uses ``np.float``), so
    153/255 passes. ``getLargestCC`` is ``argmax(bincount(labels))`` with label 0 included: the
    background competes and wins ties; an empty intersection makes omega every pixel.
    """
    u = unknown(trimap_of(pair))
    p = prediction(pair) / 255.0
    g = pair.gt.astype(np.float32) / np.float32(255.0)
    return connectivity_error(
        p, g, u,
        p_thresholds=ARANGE_THRESHOLDS,
        g_thresholds=ARANGE_THRESHOLDS.astype(np.float32),
        largest=largest_including_background,
        empty="guard",
    )


_Q = "trimap-clamped, uint8(float32(p) * 255) truncated (tester.py L73-84)"
_U = "85 <= trimap < 170 (trimap recoded to classes, data_generator.py L41-43)"

CONVENTION = Convention(
    name="gca",
    toolkit="GCA-Matting",
    repo="Yaoyi-Li/GCA-Matting",
    commit="5a999be",
    needs_trimap=True,
    description=(
        "GCA's tester truncates the trimap-clamped prediction to 8 bits, counts 85 <= trimap < 170 as unknown, "
        "divides Grad's maps by 255 instead of stretching them, and lets the background win the largest-component "
        "choice of Conn (utils/evaluate.py L46-92, tester.py L73-99)."
    ),
    metrics=(
        ConventionMetric("sad", "SAD", "/1000", _U, _Q, "–",
                         "Same sum as the reference, over a wider unknown band and on a truncated prediction.",
                         "utils/evaluate.py L102-106", image=sad, reference="sad"),
        ConventionMetric("mse", "MSE", "raw", _U, _Q, "divisor |U| + 1e-8",
                         "Divides by |U| + 1e-8, so an image without unknown pixels scores 0 instead of NaN.",
                         "utils/evaluate.py L95-99", image=mse, reference="mse"),
        ConventionMetric("grad", "Grad", "/1000", _U, _Q,
                         "9x9 DoG sigma 1.4, unit Frobenius norm, scipy convolve mode='nearest'",
                         "Maps are divided by 255 instead of min-max stretched (mat2gray).",
                         "utils/evaluate.py L17-60", image=grad, reference="grad"),
        ConventionMetric("conn", "Conn", "/1000", _U, _Q,
                         "np.arange(0, 1.1, 0.1) float64 for the prediction (153/255 fails 0.6), float32 for the ground truth; "
                         "skimage 4-connected labels; argmax(bincount) with the background included",
                         "The background can be the 'largest component' (and wins ties), an empty intersection assigns "
                         "nothing, and ties between components go to the first in row-major order.",
                         "utils/evaluate.py L63-92", image=conn, reference="conn"),
    ),
)
