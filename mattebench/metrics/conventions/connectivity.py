"""The connectivity error as the toolkits compute it, with each of their choices a parameter.

The reference (:func:`mattebench.metrics.fast.conn`, after Rhemann et al., "A Perceptually Motivated Online
Benchmark for Image Matting", CVPR 2009, and the alphamatting.com evaluation code) compares single-precision alphas with single
thresholds, takes the largest 4-connected component of the thresholded intersection (the
background never counts, ties go to the first component in column-major order) and gives the
pixels of an empty intersection the previous threshold. The toolkits differ in:

- ``thresholds``: the values each map is compared with, already in the precision the toolkit's
  comparison happens in (``np.arange(0, 1.1, 0.1)`` in float64 has 0.6000000000000001, which a
  float64 153/255 = 0.6 fails; in float32 both are 0.6000000238 and it passes);
- ``largest``: which labelled region is omega (:func:`largest_excluding_background` or GCA's
  :func:`largest_including_background`);
- ``empty``: ``"guard"`` (an empty intersection gives an empty omega, so every pixel still at
  -1 gets the previous threshold) or ``"continue"`` (the step is skipped; those pixels end at 1).

Labels are 4-connected and numbered in row-major (raster) order of their first pixel, as
``skimage.measure.label`` and ``cv2.connectedComponents*`` number them; ``np.argmax`` over the
sizes then picks the lowest such label among equal sizes.
"""

from __future__ import annotations

from typing import Callable, Literal, Optional

import numpy as np
from scipy import ndimage

__all__ = ["largest_excluding_background", "largest_including_background", "connectivity_error", "ARANGE_THRESHOLDS"]

# np.arange(0, 1 + 0.1, 0.1) and np.arange(0, 1.1, 0.1): 11 float64 values, 0.30000000000000004,
# 0.6000000000000001 and 0.7000000000000001 among them (start + i * step).
ARANGE_THRESHOLDS: np.ndarray = np.arange(11, dtype=np.float64) * 0.1

_FOUR = ndimage.generate_binary_structure(2, 1)  # 4-connectivity (skimage connectivity=1)


def _labels(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """4-connected labels in raster order (0 = background) and the size of every label."""
    labels, n = ndimage.label(mask, structure=_FOUR)
    return labels, np.bincount(labels.reshape(-1), minlength=n + 1)


def largest_excluding_background(mask: np.ndarray) -> np.ndarray:
    """The largest component of ``mask``; ties: the first in row-major order; empty mask: empty.

    What ``argmax(stats[1:, AREA]) + 1`` (mmagic, RVM) and ``argmax(regionprops areas)``
    (IndexNet, P3M) select.
    """
    labels, sizes = _labels(mask)
    if sizes.size <= 1:
        return np.zeros(mask.shape, dtype=bool)
    return labels == (1 + int(np.argmax(sizes[1:])))


def largest_including_background(mask: np.ndarray) -> np.ndarray:
    """GCA's ``labels == argmax(bincount(labels))``: label 0 (every pixel outside the mask)
    competes too and wins ties, so when the background is the largest region omega is the
    background, and an empty mask gives omega = every pixel."""
    labels, sizes = _labels(mask)
    return labels == int(np.argmax(sizes))


def connectivity_error(
    p: np.ndarray,
    g: np.ndarray,
    region: Optional[np.ndarray],
    *,
    p_thresholds: np.ndarray,
    g_thresholds: np.ndarray,
    largest: Callable[[np.ndarray], np.ndarray],
    empty: Literal["guard", "continue"],
    l_dtype: type = np.float64,
) -> float:
    """sum over ``region`` (None: every pixel) of |phi_p - phi_g|, divided by 1000.

    ``p`` and ``g`` are alpha maps in [0, 1] in the dtype the toolkit computes phi in;
    ``*_thresholds`` are the 11 thresholds as each map is compared with them; the round-down map
    l is stored in ``l_dtype`` (float32 in IndexNet and P3M, so 0.6000000000000001 is kept as
    0.6000000238).
    """
    level = np.full(p.shape, -1.0, dtype=l_dtype)
    for i in range(1, len(p_thresholds)):
        inter = (p >= p_thresholds[i]) & (g >= g_thresholds[i])
        if empty == "continue" and not inter.any():
            continue
        omega = largest(inter)
        level[(level == -1) & ~omega] = p_thresholds[i - 1]
    level[level == -1] = 1
    d_p = p - level
    d_g = g - level
    phi_p = 1 - d_p * (d_p >= 0.15)
    phi_g = 1 - d_g * (d_g >= 0.15)
    err = np.abs(phi_p - phi_g)
    total = err.sum(dtype=np.float64) if region is None else err[region].sum(dtype=np.float64)
    return float(total) / 1000.0
