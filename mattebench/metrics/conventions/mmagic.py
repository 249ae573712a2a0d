"""mmagic's matting metrics (open-mmlab/mmagic @ 0a560bb), reimplemented.

``BaseMattor.postprocess`` (``mmagic/models/base_models/base_mattor.py`` L198-205) clamps the
prediction to [0, 1], sets it to 1 where trimap == 255 and 0 where trimap == 0, and rounds
``* 255`` with ``torch.round`` (half to even) to uint8. ``_fetch_data_and_check``
(``mmagic/evaluation/metrics/metrics_utils.py`` L34-50) divides both maps by 255.0 in float64.
Then SAD sums over every pixel, MattingMSE divides the whole-image sum by the number of
trimap == 128 pixels, GradientError stretches each map with ``cv2.normalize(NORM_MINMAX)`` and
ConnectivityError compares with float64 ``np.arange`` thresholds.
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
from mattebench.metrics.conventions.gradients import dim_magnitude, minmax

__all__ = ["CONVENTION", "prediction", "sad", "mse", "grad", "conn"]


def prediction(pair: Pair) -> np.ndarray:
    """The uint8 map mmagic scores: clamped, trimap-masked, ``round(p * 255)`` half to even."""
    p = np.clip(np.asarray(pair.pred, dtype=np.float32), 0.0, 1.0)
    t = trimap_of(pair)
    p[t == 255] = 1.0
    p[t == 0] = 0.0
    return np.rint(p * np.float32(255.0)).astype(np.uint8)  # np.rint, like torch.round: half to even


def _maps(pair: Pair) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return prediction(pair) / 255.0, pair.gt / 255.0, trimap_of(pair) == 128


def sad(pair: Pair) -> float:
    """sum over EVERY pixel of |q - g| / 255, / 1000 (``sad.py`` L73): the known pixels count
    wherever the ground truth is not exactly 0 or 1 there, and pixels of other trimap values
    (64, 127...) are neither clamped nor left out."""
    p, g, _ = _maps(pair)
    return float(np.abs(p - g).sum()) / 1000.0


def mse(pair: Pair) -> float:
    """sum over every pixel of (q - g)^2 / |trimap == 128|; 0 without unknown pixels
    (``matting_mse.py`` L71-75)."""
    p, g, u = _maps(pair)
    n = int(u.sum())
    return float(((p - g) ** 2).sum()) / n if n else 0.0


def grad(pair: Pair) -> float:
    """sum over trimap == 128 of (|grad G| - |grad Q|)^2 on min-max stretched maps, / 1000
    (``gradient_error.py`` L75-89, ``functional/gaussian_funcs.py`` L32-82: the DIM kernel with
    ``cv2.filter2D`` and replicated borders). The reference's computation on the masked,
    half-to-even rounded prediction."""
    p, g, u = _maps(pair)
    e = dim_magnitude(minmax(g, 0.0, 1.0), "opencv") - dim_magnitude(minmax(p, 0.0, 1.0), "opencv")
    return float((e * e)[u].sum()) / 1000.0


def conn(pair: Pair) -> float:
    """Connectivity error over trimap == 128, / 1000 (``connectivity_error.py`` L76-111):
    float64 maps and float64 ``np.arange`` thresholds (153/255 fails 0.6000000000000001),
    OpenCV 4-connected components without the background, ties to the lowest label, an empty
    intersection handled as the guarded reference."""
    p, g, u = _maps(pair)
    return connectivity_error(
        p, g, u,
        p_thresholds=ARANGE_THRESHOLDS,
        g_thresholds=ARANGE_THRESHOLDS,
        largest=largest_excluding_background,
        empty="guard",
    )


_Q = "clamped, trimap-masked, torch.round(p * 255) half to even (base_mattor.py L198-205)"

CONVENTION = Convention(
    name="mmagic",
    toolkit="mmagic (MMEditing)",
    repo="open-mmlab/mmagic",
    commit="0a560bb",
    needs_trimap=True,
    description=(
        "mmagic scores the trimap-clamped prediction rounded half to even, sums SAD and MSE's numerator over every "
        "pixel (MSE still divided by the unknown count), and compares Conn's thresholds in float64 so that 153/255 "
        "misses 0.6 (mmagic/evaluation/metrics/sad.py L73, matting_mse.py L71-75, connectivity_error.py L76-111)."
    ),
    metrics=(
        ConventionMetric("sad", "SAD", "/1000", "every pixel (prediction masked by the trimap)", _Q, "–",
                         "Sums over every pixel, so ground-truth values in the known regions add to it.",
                         "mmagic/evaluation/metrics/sad.py L69-75", image=sad, reference="sad"),
        ConventionMetric("mse", "MSE", "raw", "numerator: every pixel; divisor: trimap == 128", _Q, "0 when no pixel is unknown",
                         "Whole-image squared error divided by the unknown count; 0 instead of NaN without unknown pixels.",
                         "mmagic/evaluation/metrics/matting_mse.py L68-77", image=mse, reference="mse"),
        ConventionMetric("grad", "Grad", "/1000", "trimap == 128", _Q,
                         "cv2.normalize NORM_MINMAX, 9x9 DoG sigma 1.4, cv2.filter2D BORDER_REPLICATE",
                         "Same computation as the reference, on the trimap-masked, half-to-even rounded prediction.",
                         "mmagic/evaluation/metrics/gradient_error.py L72-91", image=grad, reference="grad"),
        ConventionMetric("conn", "Conn", "/1000", "trimap == 128", _Q,
                         "np.arange(0, 1.1, 0.1) in float64; OpenCV 4-connected, background excluded; empty: guarded",
                         "Thresholds compared in float64 (153/255 misses 0.6) and ties go to the first component in row-major order.",
                         "mmagic/evaluation/metrics/connectivity_error.py L73-113", image=conn, reference="conn"),
    ),
)
