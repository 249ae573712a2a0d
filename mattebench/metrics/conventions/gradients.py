"""The gradient filters the toolkits use, written here from their descriptions.

Two families appear in the toolkits' evaluation code:

- the DIM MATLAB ``gaussgradient`` kernel (9x9, derivative of a Gaussian with sigma 1.4, unit
  Frobenius norm), applied by GCA (``scipy.ndimage.convolve``), mmagic and RVM (``cv2.filter2D``),
  all with replicated borders;
- ``scipy.ndimage.gaussian_filter(..., order=1)`` (IndexNet, P3M): a 13-tap sampled Gaussian
  normalised to sum 1 and its derivative, with scipy's default ``reflect`` border and a float32
  output array.

Every function returns the gradient magnitude ``sqrt(gx^2 + gy^2)``; the sign flip between
correlation and convolution does not change it.
"""

from __future__ import annotations

import math
from typing import Literal

import cv2
import numpy as np
from scipy import ndimage

__all__ = ["dim_kernel", "dim_magnitude", "scipy_gaussian_magnitude", "minmax"]

_SIGMA = 1.4


def dim_kernel(sigma: float = _SIGMA) -> np.ndarray:
    """The 9x9 kernel hx(i, j) = G(i) dG(j) / ||.||_F of the DIM MATLAB ``gaussgradient.m``
    (half size ceil(sigma sqrt(-2 ln(sqrt(2 pi) sigma 0.01))) = 4 for sigma 1.4), float64."""
    half = math.ceil(sigma * math.sqrt(-2.0 * math.log(math.sqrt(2.0 * math.pi) * sigma * 0.01)))
    x = np.arange(-half, half + 1, dtype=np.float64)
    g = np.exp(-(x * x) / (2.0 * sigma * sigma)) / (sigma * math.sqrt(2.0 * math.pi))
    dg = -x * g / (sigma * sigma)
    k = np.outer(g, dg)
    return k / np.sqrt((k * k).sum())


_DIM = dim_kernel()


def dim_magnitude(x: np.ndarray, engine: Literal["scipy", "opencv"]) -> np.ndarray:
    """|grad x| with the DIM kernel and replicated borders, in x's float dtype.

    ``scipy``: ``ndimage.convolve(mode='nearest')`` (GCA); ``opencv``: ``cv2.filter2D`` with
    ``BORDER_REPLICATE`` and the input's depth (mmagic on float64, RVM on float32).
    """
    if engine == "scipy":
        gx = ndimage.convolve(x, _DIM, mode="nearest")
        gy = ndimage.convolve(x, _DIM.T, mode="nearest")
    else:
        gx = cv2.filter2D(x, -1, _DIM, borderType=cv2.BORDER_REPLICATE)
        gy = cv2.filter2D(x, -1, _DIM.T, borderType=cv2.BORDER_REPLICATE)
    return np.sqrt(gx * gx + gy * gy)


def scipy_gaussian_magnitude(x: np.ndarray, sigma: float = _SIGMA) -> np.ndarray:
    """|grad x| from ``gaussian_filter(x, sigma, order=[1, 0] / [0, 1], output=float32)``
    (scipy's defaults: truncate 4.0, so 13 taps for sigma 1.4; mode 'reflect')."""
    gy = ndimage.gaussian_filter(x, sigma=sigma, order=[1, 0], output=np.float32)
    gx = ndimage.gaussian_filter(x, sigma=sigma, order=[0, 1], output=np.float32)
    return np.sqrt(gx * gx + gy * gy)


def minmax(x: np.ndarray, lo: float, hi: float, dtype: type = np.float64) -> np.ndarray:
    """``cv2.normalize(x, dst, hi, lo, NORM_MINMAX)``: x stretched linearly onto [lo, hi].

    A constant map goes to ``lo`` everywhere (OpenCV uses scale 0 when max - min is below
    DBL_EPSILON), not to a copy of itself. Computed in float64, stored in ``dtype`` (OpenCV
    scales in double and saturates into the destination depth).
    """
    x64 = np.asarray(x, dtype=np.float64)
    smin, smax = float(x64.min()), float(x64.max())
    scale = (hi - lo) / (smax - smin) if smax - smin > np.finfo(np.float64).eps else 0.0
    return (x64 * scale + (lo - smin * scale)).astype(dtype)
