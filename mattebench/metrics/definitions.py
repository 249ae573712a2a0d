"""Slow, literal reference implementations of the matting metrics.

Written line by line from the Deep Image Matting MATLAB evaluation code's conventions (Xu et al.,
CVPR 2017: ``compute_sad_loss``, ``compute_mse_loss``, ``compute_gradient_loss``,
``compute_connectivity_error``), independently of ``mattebench.metrics.fast``: whole-image float64
arrays, ``scipy.ndimage.convolve(mode='nearest')`` for the gradient filter and
``scipy.ndimage.label`` with 4-connectivity for the connectivity error. Nothing here is
optimised; the tests and ``benchmarks/metrics.py`` compare the fast code against it.

Inputs follow the reference: 8-bit maps (uint8 0..255). Float maps in [0, 1] are accepted and
taken as alpha directly (``pred / 255`` for uint8).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

FOUR_CONNECTED = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], dtype=bool)


def _alpha64(x: np.ndarray) -> np.ndarray:
    """alpha in [0, 1] as float64 (uint8 / 255)."""
    if x.dtype == np.uint8:
        return x.astype(np.float64) / 255.0
    return x.astype(np.float64)


def _alpha32(x: np.ndarray) -> np.ndarray:
    """alpha in single precision, as MATLAB's ``single(pred) / 255``."""
    if x.dtype == np.uint8:
        return x.astype(np.float32) / np.float32(255.0)
    return x.astype(np.float32)


def ref_sad(pred: np.ndarray, gt: np.ndarray, trimap: np.ndarray) -> float:
    u = trimap == 128
    return float(np.sum(np.abs(_alpha64(pred) - _alpha64(gt))[u]) / 1000.0)


def ref_mse(pred: np.ndarray, gt: np.ndarray, trimap: np.ndarray) -> float:
    u = trimap == 128
    n = int(u.sum())
    if n == 0:
        return math.nan
    d = (_alpha64(pred) - _alpha64(gt))[u]
    return float(np.sum(d * d) / n)


def ref_mse_whole(pred: np.ndarray, gt: np.ndarray) -> float:
    d = _alpha64(pred) - _alpha64(gt)
    return float(np.mean(d * d))


def ref_mad_whole(pred: np.ndarray, gt: np.ndarray) -> float:
    return float(np.mean(np.abs(_alpha64(pred) - _alpha64(gt))))


def gauss(x: float, sigma: float) -> float:
    return math.exp(-(x * x) / (2.0 * sigma * sigma)) / (sigma * math.sqrt(2.0 * math.pi))


def dgauss(x: float, sigma: float) -> float:
    return -x * gauss(x, sigma) / (sigma * sigma)


def gradient_kernels(sigma: float = 1.4) -> tuple[np.ndarray, np.ndarray]:
    """hx(i, j) = G(i) dG(j), unit Frobenius norm; hy = hx^T (9x9 for sigma = 1.4)."""
    half = math.ceil(sigma * math.sqrt(-2.0 * math.log(math.sqrt(2.0 * math.pi) * sigma * 0.01)))
    size = 2 * half + 1
    hx = np.zeros((size, size), dtype=np.float64)
    for i in range(size):
        for j in range(size):
            hx[i, j] = gauss(i - half, sigma) * dgauss(j - half, sigma)
    hx /= math.sqrt(float(np.sum(np.abs(hx) * np.abs(hx))))
    return hx, hx.T.copy()


def mat2gray(x: np.ndarray) -> np.ndarray:
    """Min-max stretch to [0, 1] on the map's own range; a constant map stays constant."""
    x = x.astype(np.float64)
    lo, hi = float(x.min()), float(x.max())
    if hi == lo:
        return np.clip(x, 0.0, 1.0)
    return (x - lo) / (hi - lo)


def ref_grad(pred: np.ndarray, gt: np.ndarray, trimap: np.ndarray) -> float:
    hx, hy = gradient_kernels(1.4)

    def magnitude(m: np.ndarray) -> np.ndarray:
        m = mat2gray(m)
        gx = ndimage.convolve(m, hx, mode="nearest")
        gy = ndimage.convolve(m, hy, mode="nearest")
        return np.sqrt(gx * gx + gy * gy)

    d = magnitude(pred) - magnitude(gt)
    u = trimap == 128
    return float(np.sum((d * d)[u]) / 1000.0)


def _largest_component(mask: np.ndarray) -> np.ndarray:
    """The largest 4-connected component of ``mask`` (background excluded); ties go to the
    component whose first pixel comes first in column-major order (MATLAB bwconncomp)."""
    lab, n = ndimage.label(mask, structure=FOUR_CONNECTED)
    if n == 0:
        return np.zeros(mask.shape, dtype=bool)
    sizes = np.bincount(lab.ravel())[1:]
    best = sizes.max()
    candidates = np.flatnonzero(sizes == best) + 1
    if candidates.size == 1:
        return lab == candidates[0]
    # a tie: the first occurrence of every label in column-major order decides
    labels_f, first_f = np.unique(lab.ravel(order="F"), return_index=True)
    first = dict(zip(labels_f.tolist(), first_f.tolist()))
    winner = min(candidates.tolist(), key=first.__getitem__)
    return lab == winner


def ref_conn(pred: np.ndarray, gt: np.ndarray, trimap: np.ndarray, step: float = 0.1) -> float:
    p = _alpha32(pred)
    t = _alpha32(gt)
    th = np.arange(0.0, 1.0 + step / 2, step).astype(np.float32)  # 0, 0.1, ..., 1.0 in single precision
    l = np.full(p.shape, -1.0, dtype=np.float32)
    for i in range(1, len(th)):
        m = (p >= th[i]) & (t >= th[i])
        omega = _largest_component(m)
        l[(l == -1) & ~omega] = th[i - 1]
    l[l == -1] = 1.0
    d_p = p - l
    d_t = t - l
    phi_p = 1 - d_p * (d_p >= np.float32(0.15))
    phi_t = 1 - d_t * (d_t >= np.float32(0.15))
    u = trimap == 128
    return float(np.sum(np.abs(phi_p - phi_t)[u].astype(np.float64)) / 1000.0)


REFERENCE = {"sad": ref_sad, "mse": ref_mse, "grad": ref_grad, "conn": ref_conn}


# -- every pixel counts -------------------------------------------------------------------------------
# The whole-image SAD, Grad and Conn are the definitions above with U = every pixel (a trimap that is 128
# everywhere). What changes when every pixel counts: MSE/MAD divide by H*W instead of |U| (ref_mse_whole,
# ref_mad_whole); the thresholds, the filter, the tie-break and the /1000 scaling do not; the image border
# now counts (the filter reads the replicated border there). P3M/AIM's own whole-image Grad and Conn differ
# (scipy filter, reflect border, no stretch, /10; float64 thresholds, skipped empty intersection): they stay
# the labelled ``p3m-whole`` convention (mattebench.metrics.conventions.p3m).
def _everywhere(pred: np.ndarray) -> np.ndarray:
    return np.full(np.asarray(pred).shape, 128, dtype=np.uint8)


def ref_sad_whole(pred: np.ndarray, gt: np.ndarray) -> float:
    return ref_sad(pred, gt, _everywhere(pred))


def ref_grad_whole(pred: np.ndarray, gt: np.ndarray) -> float:
    return ref_grad(pred, gt, _everywhere(pred))


def ref_conn_whole(pred: np.ndarray, gt: np.ndarray) -> float:
    return ref_conn(pred, gt, _everywhere(pred))


# -- regions of the trimap (P3M @ 9f9390f core/evaluate.py calculate_sad_fgbg; AIM @ 48e3dc8 the same) ---
def ref_region(pred: np.ndarray, gt: np.ndarray, trimap: np.ndarray, value: int) -> tuple[float, float, float]:
    """(SAD/1000, MSE, MAD) over the pixels whose trimap is exactly ``value`` (255 fg, 0 bg, 128 transition).
    P3M's SAD FG / SAD BG: sum |p - g| / 1000 on the raw prediction. MSE and MAD divide by the region's pixel
    count (P3M defines none for fg/bg; this is the plain mean). An empty region: SAD 0, MSE/MAD NaN."""
    r = trimap == value
    d = (_alpha64(pred) - _alpha64(gt))[r]
    if d.size == 0:
        return 0.0, math.nan, math.nan
    return float(np.sum(np.abs(d)) / 1000.0), float(np.sum(d * d) / d.size), float(np.sum(np.abs(d)) / d.size)
