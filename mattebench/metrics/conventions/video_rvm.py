"""The video benchmarks' official protocols of the RVM family, reimplemented: ``rvm-lr``, ``rvm-hr``,
``matanyone-lr``, ``matanyone-hr``.

Sources (facts: video-benchmarks.md section 4): PeterL1n/RobustVideoMatting@53d74c6
``evaluation/evaluate_lr.py`` (numpy/OpenCV) and ``evaluation/evaluate_hr.py`` (torch/kornia);
pq-yang/MatAnyone@e5ddc53 ``evaluation/eval_yt_lr.py`` / ``eval_yt_hr.py`` are copies of them (same formulas,
no foreground metric). The scripts read 8-bit files: ``u8 / 255`` in float32, every metric over the WHOLE frame:

- MAD, MSE: 1e3 * mean |p - g|, 1e3 * mean (p - g)^2 (evaluate_lr.py L148-155);
- Grad: sum (|grad g| - |grad p|)^2 / 1000, 9x9 DoG sigma 1.4, replicate border; LR first min-max stretches
  each map with cv2.normalize (L158-204), HR does not (evaluate_hr.py L169-177);
- Conn (LR only): thresholds 0.1 i compared in float32, largest 4-connected OpenCV component, / 1000 (L207-241);
- dtSSD: frame 0 is 0, then 100 * sqrt(mean(((p_t - p_{t-1}) - (g_t - g_{t-1}))^2)); the mean over all T frames
  (L126-130, L244-249);
- fgr MAD / MSE (RVM only; HR: MSE only): 1e3 * mean over {GT alpha > 0} x 3 channels (L135-143), the shared
  :func:`mattebench.metrics.foreground.foreground_error` times 1e3.

Aggregation: the script's workbook averages each frame-index column over clips, then the columns; with clips of
equal length (as published: 100 frames) that is the mean of clip means, which is what a run stores (one row
per clip, the frame mean; the run's mean over clips, with its interval over clips).

Arithmetic: differences are taken exactly in integers, or with the scripts' OpenCV calls, sums in float64: equal
to a float32 transcription of the scripts to ~1e-7 relative (tests/test_video_protocols.py). A float prediction
is first quantised as its writer saves it: RVM truncates (``mul(255).byte()``, inference_utils.py L44, L82),
MatAnyone rounds (inference_matanyone_yt.py L118). An 8-bit prediction is scored as it is.
"""

from __future__ import annotations

import math
from typing import Callable, Optional

import cv2
import numpy as np

from mattebench.metrics import fast as M
from mattebench.metrics.conventions.base import Convention, ConventionMetric, Pair, derived
from mattebench.metrics.foreground import foreground_error

__all__ = ["RVM_LR", "RVM_HR", "MATANYONE_LR", "MATANYONE_HR", "truncate", "mad", "mse", "grad", "conn", "dtssd_frames"]

_A8 = np.arange(256, dtype=np.float32) / np.float32(255.0)  # u8 -> float32 alpha, as ``astype(float32) / 255``


def truncate(x: np.ndarray) -> np.ndarray:
    """RVM's writers: uint8(float32(x) * 255) truncated (an 8-bit input k/255 gives back k)."""
    a = np.asarray(x)
    if a.dtype == np.uint8:
        return a
    return (np.clip(a.astype(np.float32), 0.0, 1.0) * np.float32(255.0)).astype(np.uint8)


def rounded(x: np.ndarray) -> np.ndarray:
    """MatAnyone's writer: round(clip(255 x)) (mattebench's quantize: round half up)."""
    a = np.asarray(x)
    return a if a.dtype == np.uint8 else M.quantize(a)


def _abs_diff_sums(p: np.ndarray, g: np.ndarray) -> tuple[int, int]:
    """(sum |p - g|, sum (p - g)^2) of two 8-bit maps, exact integers: from the count of each difference
    k = 0..255, without a full-size integer copy of either map."""
    d = cv2.absdiff(p, g) if p.dtype == g.dtype == np.uint8 else np.abs(p.astype(np.int64) - g.astype(np.int64))
    counts = np.bincount(d.ravel(), minlength=256).astype(np.int64)
    k = np.arange(counts.size, dtype=np.int64)
    return int(counts @ k), int(counts @ (k * k))


def mad(p: np.ndarray, g: np.ndarray) -> float:
    """1e3 * mean over the frame of |p - g| (8-bit maps)."""
    return float(_abs_diff_sums(p, g)[0]) / 255.0 / p.size * 1e3


def mse(p: np.ndarray, g: np.ndarray) -> float:
    """1e3 * mean over the frame of (p - g)^2 (8-bit maps)."""
    return float(_abs_diff_sums(p, g)[1]) / 65025.0 / p.size * 1e3


def _dog_kernel(sigma: float = 1.4, eps: float = 1e-2) -> np.ndarray:
    """hx(i, j) = G(i - h) dG(j - h) / ||.||_F, h = ceil(sigma sqrt(-2 ln(sqrt(2 pi) sigma eps))) = 4."""
    half = math.ceil(sigma * math.sqrt(-2 * math.log(math.sqrt(2 * math.pi) * sigma * eps)))
    x = np.arange(-half, half + 1, dtype=np.float64)
    g = np.exp(-x ** 2 / (2 * sigma ** 2)) / (sigma * math.sqrt(2 * math.pi))
    k = np.outer(g, -x * g / sigma ** 2)
    return k / np.sqrt((k ** 2).sum())


_HX = _dog_kernel()


def _grad_mag(x: np.ndarray) -> np.ndarray:
    gx = cv2.filter2D(x, -1, _HX, borderType=cv2.BORDER_REPLICATE)
    gy = cv2.filter2D(x, -1, _HX.T, borderType=cv2.BORDER_REPLICATE)
    return np.sqrt(gx * gx + gy * gy)


def grad(p: np.ndarray, g: np.ndarray, stretch: bool) -> float:
    """sum over the frame of (|grad g| - |grad p|)^2 / 1000 on float32 maps; ``stretch``: LR's cv2.normalize
    NORM_MINMAX of each map first (a constant map becomes 0). HR uses kornia's filter2D: the same correlation."""
    pf, gf = _A8[p], _A8[g]
    if stretch:
        pf = cv2.normalize(pf, np.zeros_like(pf), 1.0, 0.0, cv2.NORM_MINMAX)
        gf = cv2.normalize(gf, np.zeros_like(gf), 1.0, 0.0, cv2.NORM_MINMAX)
    e = _grad_mag(gf) - _grad_mag(pf)
    return float(np.einsum("ij,ij->", e, e, dtype=np.float64)) / 1000.0


# k/255 in float32 >= float32(0.1 i): the first 8-bit level that passes each threshold (the scripts compare
# float32 maps with np.arange(0, 1.1, 0.1)[i]; numpy < 1.24, which they need for np.int, compares in float32).
_TH32 = (np.arange(11, dtype=np.float64) * 0.1).astype(np.float32)
_KMIN = np.array([int(np.searchsorted(_A8, t, side="left")) for t in _TH32])


def _largest(mask: np.ndarray) -> np.ndarray:
    """Largest 4-connected component (OpenCV labels, background excluded, ties: lowest label)."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.view(np.uint8), connectivity=4)
    if n <= 1:
        return np.zeros(mask.shape, dtype=bool)
    return labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))


def conn(p: np.ndarray, g: np.ndarray) -> float:
    """For th_i = 0.1 i, i = 1..10: omega = largest component of {p >= th_i} & {g >= th_i}; pixels still at -1
    outside omega get th_{i-1}, the rest 1; phi = 1 - d (d >= 0.15), d = alpha - l; sum |phi_g - phi_p| / 1000."""
    level = np.full(p.shape, -1.0, dtype=np.float32)
    for i in range(1, 11):
        omega = _largest((p >= _KMIN[i]) & (g >= _KMIN[i]))
        level[(level == -1) & ~omega] = _TH32[i - 1]
    level[level == -1] = 1
    dp, dg = _A8[p] - level, _A8[g] - level
    phi_p = 1 - dp * (dp >= 0.15)
    phi_g = 1 - dg * (dg >= 0.15)
    return float(np.abs(phi_g - phi_p).sum(dtype=np.float64)) / 1000.0


def dtssd_frames(ps: list[np.ndarray], gs: list[np.ndarray]) -> list[float]:
    """Per frame: 0 for frame 0, then 100 * sqrt(sum(((p_t - p_{t-1}) - (g_t - g_{t-1}))^2) / (H W))."""
    out = [0.0]
    for t in range(1, len(ps)):
        d = (ps[t].astype(np.int64) - ps[t - 1]) - (gs[t].astype(np.int64) - gs[t - 1])
        out.append(100.0 * math.sqrt(float(np.einsum("ij,ij->", d, d)) / 65025.0 / d.size))
    return out


def _fgr(pair: Pair, q: Callable[[np.ndarray], np.ndarray]) -> Optional[tuple[float, float]]:
    """(MAD, MSE) x 1e3 of the predicted foreground, or None when either foreground is missing."""
    if pair.pred_fgr is None or pair.gt_fgr is None:
        return None
    e = foreground_error(q(pair.pred_fgr), pair.gt_fgr, pair.gt)
    return e.mad * 1e3, e.mse * 1e3


def _family(name: str, script: str, repo: str, commit: str, q: Callable[[np.ndarray], np.ndarray], qtext: str,
            stretch: bool, keys: tuple[str, ...], description: str) -> Convention:
    """One script's metrics, in its key order, on the writer's quantisation ``q``."""
    lr = "evaluate_lr.py" if stretch else "evaluate_hr.py"
    metrics = {
        "mad": ConventionMetric("mad", "MAD", "x1e3", "whole frame", qtext, "–", "Whole-frame mean |p - g| times 1e3.",
                                f"{lr} L148-150", image=lambda pr: mad(derived(pr, q), pr.gt), reference="mad_whole"),
        "mse": ConventionMetric("mse", "MSE", "x1e3", "whole frame", qtext, "–", "Whole frame instead of trimap == 128, times 1e3.",
                                f"{lr} L153-155", image=lambda pr: mse(derived(pr, q), pr.gt), reference="mse_whole"),
        "grad": ConventionMetric("grad", "Grad", "/1000", "whole frame", qtext,
                                 ("cv2.normalize NORM_MINMAX, " if stretch else "no stretch, ") + "9x9 DoG sigma 1.4, replicate border, float32",
                                 "Summed over the whole frame." + ("" if stretch else " No min-max stretch (HR script)."),
                                 "evaluate_lr.py L158-204" if stretch else "evaluate_hr.py L169-177",
                                 image=lambda pr: grad(derived(pr, q), pr.gt, stretch)),
        "conn": ConventionMetric("conn", "Conn", "/1000", "whole frame", qtext,
                                 "0.1 i compared in float32; OpenCV 4-connected, background excluded",
                                 "Summed over the whole frame; ties go to the first component in row-major order.",
                                 "evaluate_lr.py L207-241", image=lambda pr: conn(derived(pr, q), pr.gt)),
        "dtssd": ConventionMetric("dtssd", "dtSSD", "x1e2", "whole frame, t vs t-1", qtext, "frame 0 counted as 0",
                                  "Counts frame 0 as 0 in the clip mean (mattebench's dtssd does not).",
                                  "evaluate_lr.py L126-130, L244-249",
                                  clip=lambda c: float(np.mean(dtssd_frames([q(p) for p in c.preds], list(c.gts)))), reference="dtssd"),
        "fgr_mad": ConventionMetric("fgr_mad", "fgr MAD", "x1e3", "GT alpha > 0, 3 channels", "foreground: " + qtext, "–",
                                    "Foreground colour; the predicted alpha is not used. No foreground: NaN.", "evaluate_lr.py L135-143",
                                    image=lambda pr: (_fgr(pr, q) or (math.nan, math.nan))[0]),
        "fgr_mse": ConventionMetric("fgr_mse", "fgr MSE", "x1e3", "GT alpha > 0, 3 channels", "foreground: " + qtext, "–",
                                    "Foreground colour; the predicted alpha is not used. No foreground: NaN.",
                                    f"{lr} " + ("L135-141" if stretch else "L141-148"),
                                    image=lambda pr: (_fgr(pr, q) or (math.nan, math.nan))[1]),
    }
    return Convention(name=name, toolkit=script, repo=repo, commit=commit, needs_trimap=False, description=description,
                      metrics=tuple(metrics[k] for k in keys))


_RVM, _MA = "PeterL1n/RobustVideoMatting", "pq-yang/MatAnyone"
_QT = "8-bit file; a float prediction truncated as RVM's writer (inference_utils.py L44, L82)"
_QR = "8-bit file; a float prediction rounded as MatAnyone's writer (inference_matanyone_yt.py L118)"
_AGG = " Mean over a clip's frames, then over clips (the workbook's value for equal-length clips)."

RVM_LR = _family("rvm-lr", "RVM evaluation/evaluate_lr.py (VideoMatte 512x288)", _RVM, "53d74c6", truncate, _QT, True,
                 ("mad", "mse", "grad", "conn", "dtssd", "fgr_mad", "fgr_mse"),
                 "RVM's low-resolution script: whole-frame alpha metrics, dtSSD with frame 0 as 0, foreground error." + _AGG)
RVM_HR = _family("rvm-hr", "RVM evaluation/evaluate_hr.py (VideoMatte 1920x1080)", _RVM, "53d74c6", truncate, _QT, False,
                 ("mad", "mse", "grad", "dtssd", "fgr_mse"),
                 "RVM's high-resolution script: no Conn, no fgr MAD, Grad without min-max stretch." + _AGG)
MATANYONE_LR = _family("matanyone-lr", "MatAnyone evaluation/eval_yt_lr.py (YouTubeMatte 512x288)", _MA, "e5ddc53", rounded, _QR,
                       True, ("mad", "mse", "grad", "dtssd", "conn"),
                       "A copy of RVM's LR script without foreground metrics." + _AGG)
MATANYONE_HR = _family("matanyone-hr", "MatAnyone evaluation/eval_yt_hr.py (YouTubeMatte 1920x1080)", _MA, "e5ddc53", rounded, _QR,
                       False, ("mad", "mse", "grad", "dtssd"),
                       "A copy of RVM's HR script without foreground metrics; GT alpha read as <stem>.jpg." + _AGG)
