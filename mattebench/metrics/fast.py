"""Matting metrics: exact to the reference conventions, and fast.

Pure functions, numpy in, float out. The conventions (regions, units, thresholds, tie-breaks)
are those of the Deep Image Matting evaluation code (Xu et al., CVPR 2017, its MATLAB ``compute_*_loss``
scripts) and of the MODNet paper (Ke et al., AAAI 2022, arXiv:2011.11961); each function's docstring
names the one it follows.

Protocols
---------
``unknown`` (Deep Image Matting MATLAB code): :func:`sad`, :func:`mse`, :func:`grad`,
:func:`conn` over the pixels where ``trimap == 128`` exactly, in the reference units
(SAD/1000, MSE raw, Grad/1000, Conn/1000). ``whole`` (MODNet paper): :func:`mse_whole`,
:func:`mad_whole` over every pixel, alpha in [0, 1]. ``video``: :func:`dtssd` (RVM convention)
and :func:`messddt` (TCVOM convention).

Inputs
------
A map is an HxW array, either uint8 0..255 or float alpha in [0, 1] (float16/32/64). A uint8
map and the float map ``k / 255`` of the same values give the same result (to ~1e-7 relative).
The metric functions never quantise a float map themselves: the reference pipeline scores 8-bit
PNGs, so for the ``unknown`` protocol the runner calls :func:`quantize` first (the facts'
**Decision**) and records that in the run's provenance.

Empty unknown region (no pixel equals 128): :func:`mse` returns NaN (the MATLAB code divides
0 by 0; the aggregate excludes and counts such samples). :func:`sad`, :func:`grad` and
:func:`conn` are sums over that region, and a sum over an empty set is 0, so they return 0.0.

Speed (see ``benchmarks/metrics.py``): the gradient filter runs only on rectangles that cover
the unknown band plus the 4-pixel filter margin (separable OpenCV filters, float32, uint8 maps
filtered directly); SAD and MSE of 8-bit maps are OpenCV's exact integer norms over the unknown
mask; the connectivity error walks the levels of min(prediction, ground truth) once
(:mod:`mattebench.metrics.conn_levels`) and reads phi of 8-bit maps from a table; no float64
full-image array is built. The unknown-region metrics run with one OpenCV thread
(:func:`opencv_single_threaded`). Results are bit-for-bit repeatable.
"""

from __future__ import annotations

import contextlib
import functools
import math
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional, Sequence, TypeVar, Union

import cv2
import numpy as np

from mattebench.metrics.conn_levels import conn_from_levels
from mattebench.types import ALPHA_OF_8BIT

__all__ = [
    "MetricInfo",
    "METRICS",
    "UNKNOWN_METRICS",
    "WHOLE_METRICS",
    "VIDEO_METRICS",
    "quantize",
    "sad",
    "mse",
    "grad",
    "conn",
    "unknown_metrics",
    "whole_metrics",
    "mse_whole",
    "mad_whole",
    "sad_whole",
    "grad_whole",
    "conn_whole",
    "WHOLE_DETAIL_METRICS",
    "dtssd",
    "messddt",
    "messddt_details",
    "MessddtResult",
    "estimate_gt_flow",
    "FLOW_ESTIMATOR",
]


# ---------------------------------------------------------------------------------------------
# Metadata for the runner, the CLI summary and the leaderboard
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MetricInfo:
    """How a metric is named and shown.

    ``unit`` is the text for table headers: it carries the scale already applied by the
    metric (``SAD (/1000)``) or the region when the label alone is ambiguous (``MSE (whole)``).
    ``fmt`` is an optional ``format()`` spec for table cells (``None``: the table's default).
    """

    key: str
    label: str
    unit: str
    protocol: str  # "unknown" | "whole" | "video"
    lower_is_better: bool = True
    fmt: Optional[str] = None
    description: str = ""


METRICS: dict[str, MetricInfo] = {
    m.key: m
    for m in (
        MetricInfo("sad", "SAD", "SAD (/1000)", "unknown", description="sum of |p - g| over trimap == 128, alpha in [0,1], divided by 1000"),
        MetricInfo("mse", "MSE", "MSE (unknown)", "unknown", description="mean of (p - g)^2 over trimap == 128, alpha in [0,1]"),
        MetricInfo("grad", "Grad", "Grad (/1000)", "unknown", description="sum over trimap == 128 of (|grad P| - |grad G|)^2, derivative-of-Gaussian sigma 1.4, divided by 1000"),
        MetricInfo("conn", "Conn", "Conn (/1000)", "unknown", description="connectivity error (thresholds 0.1 apart, 4-connected), summed over trimap == 128, divided by 1000"),
        MetricInfo("mse_whole", "MSE", "MSE (whole)", "whole", description="mean of (p - g)^2 over every pixel, alpha in [0,1]"),
        MetricInfo("mad_whole", "MAD", "MAD (whole)", "whole", description="mean of |p - g| over every pixel, alpha in [0,1]"),
        MetricInfo("sad_whole", "SAD", "SAD (whole, /1000)", "whole", description="sum of |p - g| over every pixel, alpha in [0,1], divided by 1000"),
        MetricInfo("grad_whole", "Grad", "Grad (whole, /1000)", "whole", description="the DIM gradient error (stretch, 9x9 DoG sigma 1.4, replicate border) summed over every pixel, divided by 1000"),
        MetricInfo("conn_whole", "Conn", "Conn (whole, /1000)", "whole", description="the DIM connectivity error (float32 thresholds 0.1 apart, 4-connected, guarded) summed over every pixel, divided by 1000"),
        MetricInfo("dtssd", "dtSSD", "dtSSD", "video", description="RVM: 100 * RMS of the temporal-derivative difference per frame, mean over frames t >= 1"),
        MetricInfo("messddt", "MESSDdt", "MESSDdt", "video", description="TCVOM: flow-warped change of the squared error over 0 < trimap < 255, mean over all frames"),
    )
}
UNKNOWN_METRICS: tuple[str, ...] = ("sad", "mse", "grad", "conn")
WHOLE_METRICS: tuple[str, ...] = ("mse_whole", "mad_whole")
VIDEO_METRICS: tuple[str, ...] = ("dtssd", "messddt")
# The rest of the five whole-image metrics: stored and shown in a run's breakdown, never ranked (the boards rank
# by WHOLE_METRICS, as before these existed).
WHOLE_DETAIL_METRICS: tuple[str, ...] = ("sad_whole", "grad_whole", "conn_whole")

# Float maps may overshoot [0, 1] by this much (float arithmetic in a method's last layer).
_RANGE_TOL = 1e-5

# ---------------------------------------------------------------------------------------------
# Quantisation (the unknown protocol's Decision)
# ---------------------------------------------------------------------------------------------


def quantize(pred: np.ndarray) -> np.ndarray:
    """``uint8(clip(round(255 * p)))``: a float alpha in [0, 1] as the 8-bit map the reference
    pipeline scores. uint8 input is returned unchanged.

    Rounding is half away from zero (MATLAB's ``round`` and ``uint8()``), computed in float64 so
    that ``float32(k / 255)`` always maps back to ``k``.
    """
    x = np.asarray(pred)
    if x.dtype == np.uint8:
        return x
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"quantize: pred has dtype {x.dtype}; expected a float alpha in [0, 1] or uint8")
    y = x.astype(np.float64) * 255.0
    if y.size and not np.isfinite(y).all():
        raise ValueError("quantize: pred has NaN or inf values")
    np.clip(y, 0.0, 255.0, out=y)
    y += 0.5
    np.floor(y, out=y)  # y >= 0.5, so floor(y + 0.5) is round-half-up
    return y.astype(np.uint8)


# ---------------------------------------------------------------------------------------------
# Input checking
# ---------------------------------------------------------------------------------------------


def _check_map(x: object, name: str, shape: Optional[tuple[int, int]] = None) -> np.ndarray:
    """An HxW uint8 map or float alpha map in [0, 1], C-contiguous; clear ValueError otherwise."""
    a = np.asarray(x)
    if a.ndim != 2:
        raise ValueError(f"{name}: expected an HxW array, got shape {a.shape}")
    if shape is not None and a.shape != shape:
        raise ValueError(f"{name}: shape {a.shape} does not match pred's shape; expected {shape}")
    if a.size == 0:
        raise ValueError(f"{name}: empty array of shape {a.shape}")
    if a.dtype == np.uint8:
        return np.ascontiguousarray(a)
    if not np.issubdtype(a.dtype, np.floating):
        raise ValueError(f"{name}: dtype {a.dtype} is not supported; expected uint8 (0..255) or float (alpha in [0, 1])")
    if a.dtype not in (np.float32, np.float64):
        a = a.astype(np.float32)
    a = np.ascontiguousarray(a)
    lo, hi = float(a.min()), float(a.max())
    if math.isnan(lo) or math.isnan(hi):
        raise ValueError(f"{name}: contains NaN")
    if lo < -_RANGE_TOL or hi > 1.0 + _RANGE_TOL:
        hint = " (a 0..255 map stored as float? divide by 255 or pass uint8)" if hi > 1.5 else ""
        raise ValueError(f"{name}: float values span [{lo:.6g}, {hi:.6g}]; expected alpha in [0, 1]{hint}")
    return a


def _check_trimap(x: object, name: str, shape: tuple[int, int]) -> np.ndarray:
    a = np.asarray(x)
    if a.ndim != 2:
        raise ValueError(f"{name}: expected an HxW array, got shape {a.shape}")
    if a.shape != shape:
        raise ValueError(f"{name}: shape {a.shape} does not match pred's shape; expected {shape}")
    if a.dtype == np.bool_ or not np.issubdtype(a.dtype, np.integer):
        raise ValueError(
            f"{name}: dtype {a.dtype} is not supported; expected an integer trimap with values 0..255 "
            "(unknown == 128). Convert a [0, 1] trimap with np.round(t * 255).astype(np.uint8)"
        )
    return np.ascontiguousarray(a)


def _check_unknown_args(pred: object, gt: object, trimap: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    p = _check_map(pred, "pred")
    g = _check_map(gt, "gt", p.shape)
    t = _check_trimap(trimap, "trimap", p.shape)
    return p, g, t


def _check_sequence(x: object, name: str, shape: Optional[tuple[int, ...]] = None) -> list[np.ndarray]:
    """TxHxW array or a list of HxW maps -> list of checked maps."""
    if isinstance(x, np.ndarray):
        if x.ndim != 3:
            raise ValueError(f"{name}: expected a TxHxW array or a list of HxW maps, got shape {x.shape}")
        frames = [x[i] for i in range(x.shape[0])]
    elif isinstance(x, (list, tuple)):
        frames = list(x)
    else:
        raise ValueError(f"{name}: expected a TxHxW array or a list of HxW maps, got {type(x).__name__}")
    if shape is not None and len(frames) != shape[0]:
        raise ValueError(f"{name}: {len(frames)} frames; expected {shape[0]} (as many as preds)")
    if not frames:
        raise ValueError(f"{name}: no frames")
    hw = tuple(shape[1:]) if shape is not None else None
    out = []
    for i, f in enumerate(frames):
        out.append(_check_map(f, f"{name}[{i}]", hw))  # type: ignore[arg-type]
        hw = out[-1].shape
    return out


# ---------------------------------------------------------------------------------------------
# One OpenCV thread for the unknown-region metrics
# ---------------------------------------------------------------------------------------------

# Why: their OpenCV calls are small (a 1080p frame's band: 0.1-1 ms each), where OpenCV's thread pool
# costs more CPU than it saves time. At 1920x1080 on 2 cores all four took 22.5 ms of CPU with OpenCV's
# default 2 threads and 19 ms with one, at 0.5 ms more wall time (benchmarks/metrics.py, issue 23); a
# run scores with one process per core anyway. The values do not depend on the thread count.
_CV_THREADS = threading.Lock()
_cv_users = 0
_cv_saved = 1


@contextlib.contextmanager
def opencv_single_threaded() -> Iterator[None]:
    """OpenCV with one thread inside the block, its previous setting restored after the last of any
    overlapping blocks (threads of one process share OpenCV's setting, so nested and concurrent blocks
    are counted)."""
    global _cv_users, _cv_saved
    with _CV_THREADS:
        if _cv_users == 0:
            _cv_saved = cv2.getNumThreads()
            if _cv_saved != 1:
                cv2.setNumThreads(1)
        _cv_users += 1
    try:
        yield
    finally:
        with _CV_THREADS:
            _cv_users -= 1
            if _cv_users == 0 and _cv_saved != 1:
                cv2.setNumThreads(_cv_saved)


_F = TypeVar("_F", bound=Callable[..., Any])


def _single_threaded(fn: _F) -> _F:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with opencv_single_threaded():
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


# uint8 k -> float32 alpha exactly as MATLAB's single(k) / 255 (the vocabulary's table).
_ALPHA8 = ALPHA_OF_8BIT


def _alpha32(x: np.ndarray) -> np.ndarray:
    """alpha in single precision (uint8 via the exact single(k)/255 table)."""
    if x.dtype == np.uint8:
        return _ALPHA8[x]
    return x.astype(np.float32, copy=False)


def _alpha64(x: np.ndarray) -> np.ndarray:
    if x.dtype == np.uint8:
        return x.astype(np.float64) / 255.0
    return x.astype(np.float64, copy=False)


# ---------------------------------------------------------------------------------------------
# The unknown region
# ---------------------------------------------------------------------------------------------


@dataclass
class _Unknown:
    """Pixels with trimap == 128 exactly, as sorted row-major flat indices."""

    shape: tuple[int, int]
    idx: np.ndarray
    mask: np.ndarray  # HxW uint8, 1 where trimap == 128 (an OpenCV mask)
    # a map's values at idx, kept with the map (so its id cannot be reused) while the metrics of one
    # call share them: SAD, MSE and Conn read the same p[idx] and g[idx] (issue 23)
    gathered: dict = field(default_factory=dict, repr=False)

    @property
    def count(self) -> int:
        return int(self.idx.size)

    def coords(self) -> tuple[np.ndarray, np.ndarray]:
        ys, xs = np.divmod(self.idx, self.shape[1])
        return ys, xs


def _unknown(trimap: np.ndarray) -> _Unknown:
    mask = np.equal(trimap, 128).view(np.uint8)  # 127, 129, 64... are not unknown
    # flatnonzero of the bool view: numpy scans bools ~4x faster than uint8 (the same indices)
    return _Unknown(trimap.shape, np.flatnonzero(mask.view(bool)), mask)


def _values(x: np.ndarray, u: _Unknown) -> np.ndarray:
    return x.reshape(-1)[u.idx]


def _shared_values(x: np.ndarray, u: _Unknown) -> np.ndarray:
    """``_values`` of an input map, gathered once per unknown region (read-only: several metrics share it)."""
    kept = u.gathered.get(id(x))
    if kept is None or kept[0] is not x:
        kept = u.gathered[id(x)] = (x, _values(x, u))
    return kept[1]


# ---------------------------------------------------------------------------------------------
# SAD and MSE (unknown region)
# ---------------------------------------------------------------------------------------------


def _abs_and_square_sums(p: np.ndarray, g: np.ndarray, u: _Unknown) -> tuple[float, float]:
    """(sum |p - g|, sum (p - g)^2) over U, alpha in [0, 1]; computed once for SAD and MSE of one call."""
    kept = u.gathered.get(("sums", id(p), id(g)))
    if kept is not None and kept[0] is p and kept[1] is g:
        return kept[2]
    sums = _sums(p, g, u)
    u.gathered[("sums", id(p), id(g))] = (p, g, sums)
    return sums


def _sums(p: np.ndarray, g: np.ndarray, u: _Unknown) -> tuple[float, float]:
    if p.dtype == np.uint8 and g.dtype == np.uint8:
        # Exact integer sums over the mask, without gathering the pixels: OpenCV adds 8-bit |differences| in
        # integers, and returns the sum of squares within an ulp of the integer it is (it squares a square
        # root), which round() restores; both are below 2**53.
        l1, l2 = cv2.norm(p, g, cv2.NORM_L1, u.mask), round(cv2.norm(p, g, cv2.NORM_L2SQR, u.mask))
        return l1 / 255.0, l2 / 65025.0
    pu, gu = _shared_values(p, u), _shared_values(g, u)
    d = _alpha64(pu) - _alpha64(gu)
    return float(np.abs(d).sum()), float((d * d).sum())


def _sad(p: np.ndarray, g: np.ndarray, u: _Unknown) -> float:
    if u.count == 0:
        return 0.0
    return _abs_and_square_sums(p, g, u)[0] / 1000.0


def _mse(p: np.ndarray, g: np.ndarray, u: _Unknown) -> float:
    if u.count == 0:
        return math.nan
    return _abs_and_square_sums(p, g, u)[1] / u.count


@_single_threaded
def sad(pred: np.ndarray, gt: np.ndarray, trimap: np.ndarray) -> float:
    """Sum of absolute differences over ``trimap == 128``, alpha in [0, 1], divided by 1000.

    The prediction is not masked by the trimap first. Empty unknown region: 0.0.
    """
    p, g, t = _check_unknown_args(pred, gt, trimap)
    return _sad(p, g, _unknown(t))


@_single_threaded
def mse(pred: np.ndarray, gt: np.ndarray, trimap: np.ndarray) -> float:
    """Mean squared error over ``trimap == 128`` (divided by the number of unknown pixels),
    alpha in [0, 1], raw. Empty unknown region: NaN (the **Decision** of the facts)."""
    p, g, t = _check_unknown_args(pred, gt, trimap)
    return _mse(p, g, _unknown(t))


# ---------------------------------------------------------------------------------------------
# Gradient error (unknown region)
# ---------------------------------------------------------------------------------------------

_GRAD_SIGMA = 1.4


def _gradient_taps(sigma: float = _GRAD_SIGMA) -> tuple[np.ndarray, np.ndarray]:
    """The two 1-D factors of the reference's 9x9 derivative-of-Gaussian kernel.

    hx(i, j) = G(i) dG(j) normalised to unit Frobenius norm; since ||a b^T||_F = ||a|| ||b||
    that is the outer product of G/||G|| (along y) and dG/||dG|| (along x); hy = hx^T swaps them.
    """
    half = math.ceil(sigma * math.sqrt(-2.0 * math.log(math.sqrt(2.0 * math.pi) * sigma * 0.01)))
    x = np.arange(-half, half + 1, dtype=np.float64)
    gauss = np.exp(-(x * x) / (2.0 * sigma * sigma)) / (sigma * math.sqrt(2.0 * math.pi))
    dgauss = -x * gauss / (sigma * sigma)
    return gauss / np.linalg.norm(gauss), dgauss / np.linalg.norm(dgauss)


_GAUSS, _DGAUSS = _gradient_taps()
_GAUSS32, _DGAUSS32 = _GAUSS.astype(np.float32), _DGAUSS.astype(np.float32)
_GRAD_MARGIN = (_GAUSS.size - 1) // 2  # 4: how far the filter reads beyond a pixel

# Rectangles covering the unknown band: horizontal strips of this many rows, split into column
# runs; runs closer than _RUN_GAP columns are merged (their filter margins would overlap anyway).
_STRIP = 64
_RUN_GAP = 32
# The bounding box is filtered whole when the rectangles would cover more than this share of it.
_BOX_SHARE = 0.6


def _cover(u: _Unknown, margin: int) -> list[tuple[int, int, int, int]]:
    """Core rectangles (y0, y1, x0, x1) whose union holds every unknown pixel.

    A thin band (a matte's unknown region) is covered by far fewer pixels than its bounding box;
    when the rectangles would cover most of the box anyway, the box itself is returned.
    """
    h, w = u.shape
    n_strips = (h + _STRIP - 1) // _STRIP
    # A column is occupied in a strip when any of its rows there is unknown: one numpy reduction over the
    # 0/1 mask viewed as (strips, rows, columns) (no coordinates of the unknown pixels are computed).
    occupied = np.empty((n_strips, w), dtype=bool)
    full = h // _STRIP
    occupied[:full] = u.mask[: full * _STRIP].reshape(full, _STRIP, w).max(axis=1)
    if full < n_strips:
        occupied[full:] = u.mask[full * _STRIP :].max(axis=0)
    rects: list[tuple[int, int, int, int]] = []
    area = 0
    for s in np.flatnonzero(occupied.any(axis=1)):
        cols = np.flatnonzero(occupied[s])
        breaks = np.flatnonzero(np.diff(cols) > _RUN_GAP)
        starts = np.concatenate(([cols[0]], cols[breaks + 1]))
        ends = np.concatenate((cols[breaks], [cols[-1]])) + 1
        y0, y1 = int(s) * _STRIP, min((int(s) + 1) * _STRIP, h)
        for x0, x1 in zip(starts.tolist(), ends.tolist()):
            rects.append((y0, y1, x0, x1))
            area += (y1 - y0 + 2 * margin) * (x1 - x0 + 2 * margin)
    bx0, by0, bw, bh = cv2.boundingRect(u.mask)
    by1, bx1 = by0 + bh, bx0 + bw
    if area > _BOX_SHARE * (by1 - by0 + 2 * margin) * (bx1 - bx0 + 2 * margin):
        return [(by0, by1, bx0, bx1)]
    return rects


def _stretch(x: np.ndarray) -> float:
    """1 / (max - min) of the whole map (MATLAB mat2gray); 0 for a constant map, whose stretched
    version is constant and so has zero gradient."""
    lo, hi, _, _ = cv2.minMaxLoc(x)
    return 0.0 if hi == lo else 1.0 / (hi - lo)


def _gradients(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(x * hx, x * hy) with replicated borders, float32.

    OpenCV's BORDER_REPLICATE is scipy's mode='nearest'. sepFilter2D correlates rather than
    convolves, which flips the sign of both derivatives and leaves the magnitude unchanged.
    """
    src = x if x.dtype in (np.uint8, np.float32) else x.astype(np.float32)
    gx = cv2.sepFilter2D(src, cv2.CV_32F, _DGAUSS32, _GAUSS32, borderType=cv2.BORDER_REPLICATE)
    gy = cv2.sepFilter2D(src, cv2.CV_32F, _GAUSS32, _DGAUSS32, borderType=cv2.BORDER_REPLICATE)
    return gx, gy


def _magnitude(x: np.ndarray, at: np.ndarray) -> np.ndarray:
    """|(x * hx, x * hy)| at the flat indices ``at`` of the filtered crop ``x``, in float64. (cv2.magnitude is
    avoided: its result changes in the last bit with the output buffer's alignment, and runs must be repeatable.)"""
    gx, gy = _gradients(x)
    a = gx.reshape(-1).take(at).astype(np.float64)
    b = gy.reshape(-1).take(at).astype(np.float64)
    np.multiply(a, a, out=a)
    np.multiply(b, b, out=b)
    a += b
    return np.sqrt(a, out=a)


def _grad(p: np.ndarray, g: np.ndarray, t: np.ndarray, u: _Unknown) -> float:
    if u.count == 0:
        return 0.0
    # The filter is linear and its derivative taps sum to zero, so the gradient of the stretched
    # map (x - min) / (max - min) is the raw map's gradient times 1 / (max - min): filter the raw
    # map (uint8 straight in, no float copy of the image) and scale the magnitudes.
    sp, sg = _stretch(p), _stretch(g)
    h, w = u.shape
    m = _GRAD_MARGIN
    total = 0.0
    for y0, y1, x0, x1 in _cover(u, m):
        # Read the 4-pixel margin where the image has it; at the image border the crop's own
        # replicated border is the image's.
        ya, yb, xa, xb = max(y0 - m, 0), min(y1 + m, h), max(x0 - m, 0), min(x1 + m, w)
        sel = np.zeros((yb - ya, xb - xa), bool)  # the rectangle's unknown pixels, in the crop, row-major
        np.equal(t[y0:y1, x0:x1], 128, out=sel[y0 - ya : y1 - ya, x0 - xa : x1 - xa])
        at = np.flatnonzero(sel)
        d = _magnitude(p[ya:yb, xa:xb], at)
        d *= sp
        d -= _magnitude(g[ya:yb, xa:xb], at) * sg
        total += float((d * d).sum())  # not np.dot: BLAS thread start-up costs more than the sum
    return total / 1000.0


@_single_threaded
def grad(pred: np.ndarray, gt: np.ndarray, trimap: np.ndarray) -> float:
    """Gradient error over ``trimap == 128``, divided by 1000.

    Each map is min-max stretched on its own (MATLAB ``mat2gray``), filtered with the 9x9
    derivative-of-Gaussian pair (sigma 1.4, unit Frobenius norm) with replicated borders, and
    the squared difference of the gradient magnitudes is summed. The filter reads up to 4 px
    outside the unknown region; the prediction is never masked. Empty unknown region: 0.0.
    """
    p, g, t = _check_unknown_args(pred, gt, trimap)
    return _grad(p, g, t, _unknown(t))


# ---------------------------------------------------------------------------------------------
# Connectivity error (unknown region)
# ---------------------------------------------------------------------------------------------

# Thresholds 0, 0.1, ..., 1.0 in single precision: MATLAB compares single(pred)/255 with them in
# single, so 153/255 passes 0.6 (in float64 it would not).
_CONN_TH = (np.arange(11, dtype=np.float64) / 10.0).astype(np.float32)
# For uint8 maps: the smallest k with single(k)/255 >= th[i], so that k8 >= _CONN_K8[i] is exactly
# the float32 comparison.
_CONN_K8 = np.array([int(np.argmax(_ALPHA8 >= th)) for th in _CONN_TH], dtype=np.int64)
_PHI_CUT = np.float32(0.15)
_HIST_EXACT = 1 << 24  # calcHist counts in float32: exact below 2**24 pixels


def _largest_component(mask: np.ndarray, narrow: bool = True) -> tuple[np.ndarray, int]:
    """Label the 4-connected components of a 0/1 ``mask`` and pick the largest.

    Returns (labels, winner); winner 0 means the mask is empty (the background is never a
    component). Ties between equal sizes go to the component whose first pixel comes first in
    column-major order (MATLAB bwconncomp's numbering); a rectangular crop keeps that order, so
    the caller may pass the mask's bounding box. 16-bit labels counted with an OpenCV histogram
    are the fast path (``narrow``); OpenCV refuses them when a mask has more than 65535
    provisional labels, and those masks, or ``narrow=False``, take 32-bit labels and a
    bincount (int32 labels come back: the caller may then skip the 16-bit attempt next time).
    """
    labels: np.ndarray
    narrow = narrow and mask.size < _HIST_EXACT
    if narrow:
        try:
            n, labels = cv2.connectedComponents(mask, connectivity=4, ltype=cv2.CV_16U)
        except cv2.error:  # "Total number of labels overflowed label type"
            narrow = False
    if not narrow:
        n, labels = cv2.connectedComponents(mask, connectivity=4, ltype=cv2.CV_32S)
    if n <= 1:
        return labels, 0
    if narrow:
        sizes = cv2.calcHist([labels], [0], None, [n], [0, n]).ravel()
    else:
        sizes = np.bincount(labels.reshape(-1), minlength=n).astype(np.float64)
    sizes[0] = 0  # background
    candidates = np.flatnonzero(sizes == sizes.max())
    if candidates.size == 1:
        return labels, int(candidates[0])
    tied = np.isin(labels, candidates)
    col = int(np.flatnonzero(tied.any(axis=0))[0])
    row = int(np.flatnonzero(tied[:, col])[0])
    return labels, int(labels[row, col])


# l (the threshold before the one where a pixel leaves) for leave = 1..11, indexed by the number
# of thresholds a pixel survived (0..10): survived k -> th[k]; survived 10 (never left) -> 1.
_CONN_L = np.append(_CONN_TH[:-1], np.float32(1.0))


def _conn(p: np.ndarray, g: np.ndarray, t: np.ndarray, u: _Unknown) -> float:
    # one pass over the level image min(p, g) instead of up to ten labellings (mattebench.metrics.conn_levels)
    return conn_from_levels(p, g, u.mask, u.idx, _shared_values(p, u), _shared_values(g, u))


def _conn_by_labelling(p: np.ndarray, g: np.ndarray, t: np.ndarray, u: _Unknown) -> float:
    """The connectivity error by one labelling per threshold: the version before issue 23, kept as the
    second exact reference of :mod:`mattebench.metrics.conn_levels` in the tests."""
    if u.count == 0:
        return 0.0
    h, w = u.shape
    if p.dtype == np.uint8 and g.dtype == np.uint8:
        # Integer thresholds reproduce the float32 comparisons exactly, on 1-byte maps.
        lowest = cv2.min(p, g)
        cuts: np.ndarray = _CONN_K8.astype(np.uint8)
        differ = cv2.compare(p, g, cv2.CMP_NE)
    else:
        p32, g32 = _alpha32(p), _alpha32(g)
        lowest = np.minimum(p32, g32)
        cuts = _CONN_TH  # compared in float32
        differ = np.not_equal(p32, g32).view(np.uint8)
    # (p >= th) & (g >= th) is min(p, g) >= th. Only the unknown pixels' l is ever read, and where
    # p == g, phi_p == phi_g whatever l is: such pixels add 0. So only the unknown pixels with
    # p != g are tracked, as a 0/1 image `alive` (those still in the largest component of every
    # threshold so far); `survived` counts, per pixel, the thresholds it stayed in. A pixel that
    # leaves at step i (in omega_1..omega_{i-1}, not in omega_i) has survived i - 1 and gets
    # l = th[i-1]; one that never leaves has survived 10 and gets l = 1.
    # Every later mask is a subset of M_1, so all work happens in M_1's bounding box (a crop keeps
    # the column-major order of components, which the tie-break needs); each step shrinks the crop
    # to M_i's box, and stops as soon as no tracked pixel is in M_i.
    bx, by, bw, bh = cv2.boundingRect(np.greater_equal(lowest, cuts[1]).view(np.uint8))
    survived = np.zeros((h, w), dtype=np.uint8)
    if bw > 0:
        box = (slice(by, by + bh), slice(bx, bx + bw))
        crop = lowest[box]
        alive = cv2.bitwise_and(differ[box], u.mask[box])
        sub = survived[box]
        narrow = True  # 16-bit labels until a mask has too many components for them
        for i in range(1, _CONN_TH.size):
            mask = np.greater_equal(crop, cuts[i]).view(np.uint8)  # 0/1, same dtype as crop: no upcast
            if not cv2.countNonZero(cv2.bitwise_and(mask, alive)):
                break  # the tracked pixels left are not in M_i: they all leave now
            mx, my, mw, mh = cv2.boundingRect(mask)
            inner = (slice(my, my + mh), slice(mx, mx + mw))
            mask, crop, alive, sub = mask[inner], crop[inner], alive[inner], sub[inner]
            labels, winner = _largest_component(mask, narrow)
            narrow = labels.dtype == np.uint16
            alive = cv2.bitwise_and(alive, np.equal(labels, winner).view(np.uint8))
            np.add(sub, alive, out=sub)
            if not cv2.countNonZero(alive):
                break
    s_u = _values(survived, u)
    if p.dtype == np.uint8 and g.dtype == np.uint8:
        # phi for every (survived, 8-bit value) pair, from the same float32 expression below.
        key = s_u.astype(np.uint16) << np.uint16(8)
        phi_p, phi_t = _CONN_PHI8[key | _values(p, u)], _CONN_PHI8[key | _values(g, u)]
    else:
        phi_p, phi_t = _phi(_alpha32(_values(p, u)), _CONN_L[s_u]), _phi(_alpha32(_values(g, u)), _CONN_L[s_u])
    return float(np.abs(phi_p - phi_t).sum(dtype=np.float64)) / 1000.0


def _phi(alpha: np.ndarray, l: np.ndarray) -> np.ndarray:
    """The reference's phi = 1 - d * (d >= 0.15), d = alpha - l, in single precision."""
    d = alpha - l
    return 1 - d * (d >= _PHI_CUT)


# _CONN_PHI8[(s << 8) | k] = phi of the 8-bit value k for a pixel that survived s thresholds.
_CONN_PHI8 = _phi(np.tile(_ALPHA8, 11), np.repeat(_CONN_L, 256))


@_single_threaded
def conn(pred: np.ndarray, gt: np.ndarray, trimap: np.ndarray) -> float:
    """Connectivity error over ``trimap == 128``, divided by 1000 (the DIM MATLAB reference).

    Single precision alphas and thresholds 0, 0.1, ..., 1; at each threshold the largest
    4-connected component of (p >= th) & (g >= th) (ties: first in column-major order); an
    empty intersection gives an empty component, so its pixels get the previous threshold (the
    guarded reference, not ``continue``). No distance weighting (dead code in the reference).
    Empty unknown region: 0.0.
    """
    p, g, t = _check_unknown_args(pred, gt, trimap)
    return _conn(p, g, t, _unknown(t))


_UNKNOWN_IMPL = {
    "sad": lambda p, g, t, u: _sad(p, g, u),
    "mse": lambda p, g, t, u: _mse(p, g, u),
    "grad": _grad,
    "conn": _conn,
}


@_single_threaded
def unknown_metrics(
    pred: np.ndarray, gt: np.ndarray, trimap: np.ndarray, metrics: Sequence[str] = UNKNOWN_METRICS
) -> dict[str, float]:
    """Several unknown-region metrics at once: the same values as the single functions, with
    the input checks and the unknown region computed once."""
    unknown_keys = [k for k in metrics if k not in _UNKNOWN_IMPL]
    if unknown_keys:
        raise ValueError(f"metrics: {unknown_keys} are not unknown-region metrics; choose from {UNKNOWN_METRICS}")
    p, g, t = _check_unknown_args(pred, gt, trimap)
    u = _unknown(t)
    return {k: _UNKNOWN_IMPL[k](p, g, t, u) for k in metrics}


# ---------------------------------------------------------------------------------------------
# Whole-image metrics (MODNet paper)
# ---------------------------------------------------------------------------------------------


def _whole_pair(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Both maps in one dtype for cv2.norm, plus the factor that brings differences to alpha units."""
    p = _check_map(pred, "pred")
    g = _check_map(gt, "gt", p.shape)
    if p.dtype == g.dtype:
        return p, g, (1.0 / 255.0 if p.dtype == np.uint8 else 1.0)
    return _alpha64(p), _alpha64(g), 1.0


def whole_metrics(pred: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    """``mse_whole`` and ``mad_whole`` at once: the same values as the single functions, each map checked
    once (at 4K the checks of a float map cost more than both sums)."""
    p, g, scale = _whole_pair(pred, gt)
    return {"mse_whole": _mse_whole(p, g, scale), "mad_whole": _mad_whole(p, g, scale)}


def mse_whole(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean of (p - g)^2 over every pixel, alpha in [0, 1] (MODNet's MSE)."""
    return _mse_whole(*_whole_pair(pred, gt))


def _mse_whole(p: np.ndarray, g: np.ndarray, scale: float) -> float:
    if p.dtype == np.uint8:
        # Integer sum of squares, exact: cv2.norm's uint8 path was seen to return 27110018.999999996 for 27110019.
        d = p.astype(np.int32) - g.astype(np.int32)
        return float(np.einsum("ij,ij->", d, d, dtype=np.int64)) * scale * scale / p.size
    # cv2.norm accumulates in double.
    return cv2.norm(p, g, cv2.NORM_L2SQR) * scale * scale / p.size


def mad_whole(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean of |p - g| over every pixel, alpha in [0, 1] (MODNet's MAD)."""
    return _mad_whole(*_whole_pair(pred, gt))


def _mad_whole(p: np.ndarray, g: np.ndarray, scale: float) -> float:
    return cv2.norm(p, g, cv2.NORM_L1) * scale / p.size


def _everywhere(p: np.ndarray) -> tuple[np.ndarray, _Unknown]:
    """A trimap that is 128 on every pixel and its region: the unknown-region code with U = the image."""
    t = np.full(p.shape, 128, dtype=np.uint8)
    return t, _unknown(t)


def sad_whole(pred: np.ndarray, gt: np.ndarray) -> float:
    """Sum of |p - g| over every pixel, alpha in [0, 1], divided by 1000 (:func:`sad` with U = the image;
    also P3M's and AIM's whole-image SAD)."""
    p = _check_map(pred, "pred")
    g = _check_map(gt, "gt", p.shape)
    return _sad(p, g, _everywhere(p)[1])


def grad_whole(pred: np.ndarray, gt: np.ndarray) -> float:
    """:func:`grad` with U = every pixel: the same stretch, filter, border and /1000. Not P3M's whole-image
    Grad (scipy filter, reflect border, no stretch, /10: the ``p3m-whole`` convention)."""
    p = _check_map(pred, "pred")
    g = _check_map(gt, "gt", p.shape)
    return _grad(p, g, *_everywhere(p))


def conn_whole(pred: np.ndarray, gt: np.ndarray) -> float:
    """:func:`conn` with U = every pixel: float32 thresholds, guarded empty intersection, column-major tie,
    /1000. Not P3M's whole-image Conn (float64 thresholds, ``continue``: the ``p3m-whole`` convention)."""
    p = _check_map(pred, "pred")
    g = _check_map(gt, "gt", p.shape)
    return _conn(p, g, *_everywhere(p))


# ---------------------------------------------------------------------------------------------
# Temporal metrics
# ---------------------------------------------------------------------------------------------

MapSequence = Union[np.ndarray, Sequence[np.ndarray]]


def dtssd(preds: MapSequence, gts: MapSequence, include_first: bool = False) -> float:
    """dtSSD, RVM convention: per frame t >= 1,
    ``100 * sqrt(mean(((p_t - p_{t-1}) - (g_t - g_{t-1}))^2))`` over the whole frame, alpha in
    [0, 1].

    Default (the facts' **Decision**): the mean over t >= 1. ``include_first=True`` reproduces
    RVM's average over all T frames with frame 0 counted as 0. Fewer than 2 frames: NaN (no
    frame pair). Frames are the annotated ones, in order (CRGNN-R: every 10th frame).
    """
    ps = _check_sequence(preds, "preds")
    gs = _check_sequence(gts, "gts", (len(ps), *ps[0].shape))
    n = len(ps)
    if n < 2:
        return math.nan
    exact = all(x.dtype == np.uint8 for x in (*ps, *gs))  # integer differences, no rounding

    def level(x: np.ndarray) -> np.ndarray:
        return x.astype(np.int32) if exact else _alpha64(x)

    scale = 1.0 / 65025.0 if exact else 1.0
    total = 0.0
    prev_p, prev_g = level(ps[0]), level(gs[0])
    for k in range(1, n):
        cur_p, cur_g = level(ps[k]), level(gs[k])
        d = (cur_p - prev_p) - (cur_g - prev_g)
        total += 100.0 * math.sqrt(float(np.mean(d * d, dtype=np.float64)) * scale)
        prev_p, prev_g = cur_p, cur_g
    return total / (n if include_first else n - 1)


FLOW_ESTIMATOR = "OpenCV DIS optical flow (medium preset) on the 8-bit ground-truth frames"
_DIS_MIN_SIDE = 12  # OpenCV's DIS refuses frames smaller than this on both sides


def estimate_gt_flow(gts: MapSequence) -> list[np.ndarray]:
    """Dense flow from each ground-truth frame to the next (T-1 arrays, HxWx2 float32,
    ``[..., 0] = dx``, ``[..., 1] = dy``), estimated with :data:`FLOW_ESTIMATOR`.

    What :func:`messddt` uses when no ground-truth flow is given; call it yourself to reuse the
    flows across methods scored on the same clip.
    """
    gs = [quantize(g) for g in _check_sequence(gts, "gts")]
    h, w = gs[0].shape
    if max(h, w) < _DIS_MIN_SIDE:
        raise ValueError(f"gts: frames of {w}x{h} are too small for flow estimation (at least {_DIS_MIN_SIDE} px on one side); pass flows=")
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    return [dis.calc(gs[k], gs[k + 1], None) for k in range(len(gs) - 1)]


@dataclass(frozen=True)
class MessddtResult:
    """MESSDdt with its parts: ``per_frame`` has T values (the last is 0), ``value`` is their
    mean, ``flow_source`` is "given" or "estimated: " + :data:`FLOW_ESTIMATOR`."""

    value: float
    per_frame: tuple[float, ...]
    flow_source: str

    @property
    def flow_estimated(self) -> bool:
        return self.flow_source != "given"


def _sample_bilinear_zero(img: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """img at real (x, y), pixel centres at integer coordinates, 0 outside the frame
    (``grid_sample(align_corners=True, padding_mode='zeros')``)."""
    h, w = img.shape
    x0 = np.floor(x)
    y0 = np.floor(y)
    fx, fy = x - x0, y - y0
    x0i, y0i = x0.astype(np.int64), y0.astype(np.int64)
    out = np.zeros(x.shape, dtype=np.float64)
    for dy, wy in ((0, 1.0 - fy), (1, fy)):
        for dx, wx in ((0, 1.0 - fx), (1, fx)):
            xi, yi = x0i + dx, y0i + dy
            inside = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
            vals = img[np.clip(yi, 0, h - 1), np.clip(xi, 0, w - 1)]
            out += np.where(inside, wx * wy * vals, 0.0)
    return out


def messddt_details(
    preds: MapSequence, gts: MapSequence, trimaps: MapSequence, flows: Optional[Sequence[Optional[np.ndarray]]] = None
) -> MessddtResult:
    """MESSDdt (TCVOM convention) with its per-frame terms and the flow's origin.

    For t < T-1, over U_t = {0 < trimap_t < 255} and the pixels whose flow is finite (NaN marks
    pixels without flow): sample a_{t+1}, g_{t+1} bilinearly at (x + dx, y + dy) (zero outside
    the frame) and sum ``|(a_t - g_t)^2 - (a'_{t+1} - g'_{t+1})^2|`` (no normalisation). The last
    frame contributes 0; the value is the mean over all T frames. Alphas are single precision
    (``float32(u8 / 255)``).

    ``flows``: T-1 (or T, the last unused) HxWx2 arrays, flow t from frame t to t+1 in pixels,
    ``[..., 0] = dx``, ``[..., 1] = dy``. ``None``: estimated on the ground truth with
    :func:`estimate_gt_flow`, and ``flow_source`` says so.
    """
    ps = _check_sequence(preds, "preds")
    shape = (len(ps), *ps[0].shape)
    gs = _check_sequence(gts, "gts", shape)
    tris = _check_trimap_sequence(trimaps, len(ps), ps[0].shape)
    n = len(ps)
    flow_list, source = _messddt_flows(flows, gs, n, ps[0].shape)
    per_frame = [0.0] * n
    a = [_alpha32(x) for x in ps]
    gg = [_alpha32(x) for x in gs]
    for k in range(n - 1):
        ys, xs = np.nonzero((tris[k] > 0) & (tris[k] < 255))
        f = flow_list[k][ys, xs].astype(np.float64)
        ok = np.isfinite(f).all(axis=1)
        ys, xs, f = ys[ok], xs[ok], f[ok]
        if ys.size == 0:
            continue
        xq, yq = xs + f[:, 0], ys + f[:, 1]
        e_now = (a[k][ys, xs].astype(np.float64) - gg[k][ys, xs]) ** 2
        e_next = (_sample_bilinear_zero(a[k + 1], xq, yq) - _sample_bilinear_zero(gg[k + 1], xq, yq)) ** 2
        per_frame[k] = float(np.abs(e_now - e_next).sum())
    return MessddtResult(value=sum(per_frame) / n, per_frame=tuple(per_frame), flow_source=source)


def _check_trimap_sequence(trimaps: MapSequence, n: int, shape: tuple[int, int]) -> list[np.ndarray]:
    """One checked HxW trimap per frame, from a TxHxW array or a list."""
    if isinstance(trimaps, np.ndarray):
        if trimaps.ndim != 3:
            raise ValueError(f"trimaps: expected a TxHxW array or a list of HxW trimaps, got shape {trimaps.shape}")
        tris_in = [trimaps[i] for i in range(trimaps.shape[0])]
    else:
        tris_in = list(trimaps)
    if len(tris_in) != n:
        raise ValueError(f"trimaps: {len(tris_in)} trimaps; expected {n} (one per frame)")
    return [_check_trimap(tr, f"trimaps[{i}]", shape) for i, tr in enumerate(tris_in)]


def _messddt_flows(flows: Optional[Sequence[Optional[np.ndarray]]], gs: list[np.ndarray], n: int,
                   shape: tuple[int, int]) -> tuple[list[np.ndarray], str]:
    """(the checked flows, where they came from): the given ones, or estimated on the ground truth."""
    if flows is None:
        return (estimate_gt_flow(gs) if n > 1 else []), "estimated: " + FLOW_ESTIMATOR
    flow_list: list[np.ndarray] = list(flows)  # type: ignore[arg-type]  # a None entry is refused below
    if len(flow_list) not in (n - 1, n):
        raise ValueError(f"flows: {len(flow_list)} flows; expected {n - 1} (frame t to t+1 for t < T-1)")
    for k in range(n - 1):
        f = flow_list[k]
        if f is None:
            raise ValueError(f"flows[{k}]: missing; give every flow or flows=None to estimate them")
        f = np.asarray(f)
        if f.shape != (*shape, 2) or not np.issubdtype(f.dtype, np.floating):
            raise ValueError(f"flows[{k}]: shape {f.shape} dtype {f.dtype}; expected a float array of shape {(*shape, 2)}")
        flow_list[k] = f
    return flow_list, "given"


def messddt(
    preds: MapSequence, gts: MapSequence, trimaps: MapSequence, flows: Optional[Sequence[Optional[np.ndarray]]] = None
) -> float:
    """MESSDdt (TCVOM convention); see :func:`messddt_details`, which also tells whether the flow
    was estimated (``flows=None``: OpenCV DIS on the ground truth)."""
    return messddt_details(preds, gts, trimaps, flows).value
