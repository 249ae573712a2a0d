"""Robust Video Matting's low-resolution evaluation (PeterL1n/RobustVideoMatting @ 53d74c6,
``evaluation/evaluate_lr.py``), reimplemented.

The script reads the saved 8-bit PNGs: RVM's writers store ``frames.mul(255).byte()`` (and
``to_pil_image``, which does the same), a truncation (``inference_utils.py`` L44, L82). Both maps
are ``imread(...).astype(np.float32) / 255`` (L116-117). Per frame, over the whole frame: MAD and
MSE times 1e3 (L148-155), Grad on ``cv2.normalize`` stretched maps / 1000 (L158-204), Conn / 1000
(L207-241); dtSSD is 0 for frame 0 and ``100 * sqrt(mean(...))`` after (L126-130, L244-249), and
every metric of a clip is the mean over all its frames.
"""

from __future__ import annotations

import numpy as np

from mattebench.metrics.conventions.base import Clip, Convention, ConventionMetric, Pair
from mattebench.metrics.conventions.connectivity import (
    ARANGE_THRESHOLDS,
    connectivity_error,
    largest_excluding_background,
)
from mattebench.metrics.conventions.gradients import dim_magnitude, minmax

__all__ = ["CONVENTION", "png", "mad", "mse", "grad", "conn", "dtssd"]


def png(pred: np.ndarray) -> np.ndarray:
    """The saved prediction as RVM reads it back: uint8(float32(p) * 255) truncated, / 255 in float32."""
    q = (np.clip(np.asarray(pred, dtype=np.float32), 0.0, 1.0) * np.float32(255.0)).astype(np.uint8)
    return q.astype(np.float32) / np.float32(255.0)


def _maps(pair: Pair) -> tuple[np.ndarray, np.ndarray]:
    return png(pair.pred), pair.gt.astype(np.float32) / np.float32(255.0)


def mad(pair: Pair) -> float:
    p, g = _maps(pair)
    return float(np.abs(p - g).mean(dtype=np.float64)) * 1e3


def mse(pair: Pair) -> float:
    p, g = _maps(pair)
    return float(((p - g) ** 2).mean(dtype=np.float64)) * 1e3


def grad(pair: Pair) -> float:
    """sum over the frame of (|grad G| - |grad P|)^2 on stretched float32 maps, / 1000."""
    p, g = _maps(pair)
    e = dim_magnitude(minmax(g, 0.0, 1.0, np.float32), "opencv") - dim_magnitude(minmax(p, 0.0, 1.0, np.float32), "opencv")
    return float((e * e).sum(dtype=np.float64)) / 1000.0


def conn(pair: Pair) -> float:
    """Connectivity error over the frame, / 1000: float32 maps (153/255 passes 0.6 in float32),
    OpenCV 4-connected components without the background, empty intersection guarded."""
    p, g = _maps(pair)
    th = ARANGE_THRESHOLDS.astype(np.float32)
    return connectivity_error(
        p, g, None, p_thresholds=th, g_thresholds=th, largest=largest_excluding_background, empty="guard", l_dtype=np.float32
    )


def dtssd(clip: Clip) -> float:
    """Mean over ALL T frames, frame 0 counted as 0, of 100 * sqrt(mean((dp - dg)^2)) (x1e2)."""
    if len(clip.preds) < 2:
        return float("nan")
    ps = [png(p) for p in clip.preds]
    gs = [g.astype(np.float32) / np.float32(255.0) for g in clip.gts]
    per_frame = [0.0]
    for t in range(1, len(ps)):
        d = (ps[t] - ps[t - 1]) - (gs[t] - gs[t - 1])
        per_frame.append(float(np.sqrt((d * d).sum(dtype=np.float64) / d.size)) * 1e2)
    return float(np.mean(per_frame))


_Q = "saved PNG: uint8(float32(p) * 255) truncated (inference_utils.py L44, L82)"

CONVENTION = Convention(
    name="rvm",
    toolkit="Robust Video Matting",
    repo="PeterL1n/RobustVideoMatting",
    commit="53d74c6",
    needs_trimap=False,
    description=(
        "RVM scores the truncated 8-bit prediction over the whole frame, prints MAD and MSE times 1e3, and averages "
        "dtSSD over every frame with frame 0 counted as 0 (evaluation/evaluate_lr.py L116-249)."
    ),
    metrics=(
        ConventionMetric("mad", "MAD", "x1e3", "whole frame", _Q, "–",
                         "Not in the DIM reference; whole-frame mean |p - g| times 1e3 on the truncated prediction.",
                         "evaluation/evaluate_lr.py L148-150", image=mad, reference="mad_whole"),
        ConventionMetric("mse", "MSE", "x1e3", "whole frame", _Q, "–",
                         "Whole frame instead of trimap == 128, times 1e3.", "evaluation/evaluate_lr.py L153-155", image=mse, reference="mse_whole"),
        ConventionMetric("grad", "Grad", "/1000", "whole frame", _Q,
                         "cv2.normalize NORM_MINMAX, 9x9 DoG sigma 1.4, cv2.filter2D BORDER_REPLICATE, float32",
                         "Summed over the whole frame instead of trimap == 128.", "evaluation/evaluate_lr.py L158-204", image=grad),
        ConventionMetric("conn", "Conn", "/1000", "whole frame", _Q,
                         "np.arange(0, 1.1, 0.1) compared in float32; OpenCV 4-connected, background excluded; empty: guarded",
                         "Summed over the whole frame; ties go to the first component in row-major order.",
                         "evaluation/evaluate_lr.py L207-241", image=conn),
        ConventionMetric("dtssd", "dtSSD", "x1e2", "whole frame, scored frames of a clip", _Q, "frame 0 counted as 0",
                         "Not in the DIM reference; differs from mattebench's dtssd column by counting frame 0 as 0 in the mean.",
                         "evaluation/evaluate_lr.py L126-130, L244-249", clip=dtssd, reference="dtssd"),
    ),
)
