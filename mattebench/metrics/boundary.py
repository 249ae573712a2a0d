"""Boundary metrics for alpha mattes: Boundary IoU (Cheng et al. 2021), BiRefNet's BIoU curve, mBA.

Binarisation of an alpha matte (the reference codes take binary masks): foreground where the
8-bit value is > 128, i.e. alpha > 128/255 ~ 0.502 (BiRefNet's matting evaluation binarises the
gt, and both maps for mBA, with ``> 128``: ZhengPeng7/BiRefNet @ 25cb930 evaluation/metrics.py,
``_prepare_data`` and ``MBAMeasure.step``). A float map is compared as ``255 * alpha > 128``.

* :func:`boundary_iou` -- bowenc0221/boundary-iou-api @ 8006aa9,
  ``boundary_iou/utils/boundary_utils.py`` ``mask_to_boundary`` and
  ``coco_instance_api/cocoeval.py`` ``computeBoundaryIoU``: d = max(1, round(0.02 * sqrt(H^2 + W^2)))
  (Python's round, half to even); the mask padded by 1 px of 0, eroded d times with a 3x3 all-ones
  element, cropped back; band = mask - eroded (the inner band G_d n G, and objects cut by the image
  border get a band there); BIoU = |Gb n Pb| / |Gb u Pb|. The COCO evaluation ranks with
  min(mask IoU, boundary IoU); both are returned. Both bands empty (all-background gt and pred):
  the union is empty; returned as NaN, never guessed.
  Paper vs code: the paper defines G_d as the pixels "within distance d" of the contour; the code
  erodes with a 3x3 square d times, i.e. chessboard distance, plus the 1-px zero pad. Followed: the code.
* :func:`biou_curve` -- BiRefNet ``BIoUMeasure`` (metrics.py:931-978 at 25cb930): gt > 128 as a
  binary band; prediction /255 then min-max stretched (unless constant), x255 truncated to uint8,
  grey band = pred - erode(pred); for t = 255..0, BIoU(t) = TP(t) / (max(|gt band|, 1) + FP(t)).
  The set value is the max and the mean of the mean curve (:func:`biou_summary`).
* :func:`mba` -- BiRefNet ``MBAMeasure`` (metrics.py:854-928), after CascadePSP: both maps > 128;
  r_i = 1 + int((r_max - 1) / 5 * i), r_max = (H + W) / 300, i = 0..4; band = morphological gradient
  of the binary gt with an OpenCV ellipse of size 2r+1, > 0; accuracy = share of band pixels where
  pred == gt; mBA = mean of the 5. An empty band (all-0 or all-1 gt) gives 0/0 = NaN at 25cb930;
  the later torchmetrics rewrite of BiRefNet counts it as 1.0. Followed: NaN (25cb930, facts file).
* HCE (DIS) is not provided: it counts polygon control points of binary false-positive/negative
  regions of a segmentation, via a skeleton cached next to the gt; BiRefNet itself computes it only
  for DIS sets, and it has no reading for a soft matte.

Inputs: HxW uint8 or float alpha in [0, 1]. BiRefNet reads 8-bit PNGs: :func:`biou_curve` and
:func:`mba` quantise a float map with mattebench's rule (round half up) first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np

from mattebench.metrics.fast import _check_map as check_map
from mattebench.metrics.fast import quantize

__all__ = ["BOUNDARY_COLUMNS", "BoundaryIoU", "boundary_iou", "band_width", "binarize", "inner_band",
           "biou_curve", "biou_summary", "mba", "DILATION_RATIO", "BINARY_CUT_U8"]

# samples.csv / summary.json columns (never ranked): Boundary IoU of the binarised maps and mBA, per sample.
BOUNDARY_COLUMNS: tuple[str, ...] = ("biou", "mba")
DILATION_RATIO = 0.02  # boundary-iou-api default, used by BiRefNet too
BINARY_CUT_U8 = 128  # foreground: 8-bit value > 128


def band_width(h: int, w: int, ratio: float = DILATION_RATIO) -> int:
    """d = max(1, round(ratio * sqrt(h^2 + w^2))): 4 px at 120x160, 16 px at 480x640."""
    return max(1, int(round(ratio * math.sqrt(h * h + w * w))))


def binarize(x: np.ndarray) -> np.ndarray:
    """uint8 0/1 mask: 8-bit value > 128, or 255 * alpha > 128 for a float map."""
    if x.dtype == np.uint8:
        return (x > BINARY_CUT_U8).view(np.uint8)
    return (x.astype(np.float64) * 255.0 > BINARY_CUT_U8).view(np.uint8)


def inner_band(mask: np.ndarray, d: int) -> np.ndarray:
    """mask - erode(mask) as mask_to_boundary computes it (1-px zero pad, 3x3 ones, d iterations).
    Works on 0/1 masks and on grey maps (BiRefNet feeds a grey prediction)."""
    h, w = mask.shape
    padded = cv2.copyMakeBorder(mask, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    eroded = cv2.erode(padded, np.ones((3, 3), np.uint8), iterations=d)[1:h + 1, 1:w + 1]
    return mask - eroded  # erosion never exceeds the input: no uint8 wrap-around


@dataclass(frozen=True)
class BoundaryIoU:
    """Boundary IoU of one sample with its parts: band width d (px), band sizes, mask IoU and the
    COCO ranking value min(mask IoU, boundary IoU)."""

    biou: float
    mask_iou: float
    d: int
    n_gt_band: int
    n_pred_band: int

    @property
    def coco_value(self) -> float:
        return min(self.biou, self.mask_iou)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = int(np.count_nonzero(a | b))
    return math.nan if union == 0 else int(np.count_nonzero(a & b)) / union


def boundary_iou(pred: np.ndarray, gt: np.ndarray, ratio: float = DILATION_RATIO) -> BoundaryIoU:
    """Boundary IoU (Cheng et al. CVPR 2021, reference code) of the binarised maps; see the module doc."""
    p = check_map(pred, "pred")
    g = check_map(gt, "gt", p.shape)
    if not (ratio > 0 and math.isfinite(ratio)):
        raise ValueError(f"ratio: {ratio!r}; expected a positive dilation ratio (default 0.02)")
    pm, gm = binarize(p), binarize(g)
    d = band_width(*p.shape, ratio)
    pb, gb = inner_band(pm, d).astype(bool), inner_band(gm, d).astype(bool)
    return BoundaryIoU(_iou(pb, gb), _iou(pm.astype(bool), gm.astype(bool)), d,
                       int(np.count_nonzero(gb)), int(np.count_nonzero(pb)))


def biou_curve(pred: np.ndarray, gt: np.ndarray, ratio: float = DILATION_RATIO) -> np.ndarray:
    """BiRefNet's per-image BIoU curve, 256 float64 values, index k <-> threshold 255 - k."""
    p8 = quantize(check_map(pred, "pred"))
    g8 = quantize(check_map(gt, "gt", p8.shape))
    d = band_width(*p8.shape, ratio)
    x = p8.astype(np.float64) / 255.0
    lo, hi = x.min(), x.max()
    if hi != lo:
        x = (x - lo) / (hi - lo)
    grey = inner_band((x * 255.0).astype(np.uint8), d)  # truncation, as the reference
    gband = inner_band((g8 > BINARY_CUT_U8).view(np.uint8) * np.uint8(255), d) > 128
    tp = np.cumsum(np.bincount(grey[gband], minlength=256)[::-1])
    fp = np.cumsum(np.bincount(grey[~gband], minlength=256)[::-1])
    return tp / (max(int(np.count_nonzero(gband)), 1) + fp)


def biou_summary(curves: Sequence[np.ndarray]) -> tuple[float, float]:
    """(maxBIoU, meanBIoU) of a set: the max and the mean of the mean of the per-image curves."""
    if len(curves) == 0:
        raise ValueError("curves: no per-image curves to summarise")
    arr = np.asarray(curves, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 256:
        raise ValueError(f"curves: expected per-image curves of 256 values, got shape {arr.shape}")
    mean = arr.mean(axis=0)
    return float(mean.max()), float(mean.mean())


def mba(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean boundary accuracy (BiRefNet/CascadePSP) of one image; NaN when the gt has no boundary."""
    p8 = quantize(check_map(pred, "pred"))
    g8 = quantize(check_map(gt, "gt", p8.shape))
    pb, gb = (p8 > BINARY_CUT_U8).view(np.uint8), (g8 > BINARY_CUT_U8).view(np.uint8)
    h, w = g8.shape
    r_max = (w + h) / 300
    accs = []
    for i in range(5):
        r = 1 + int((r_max - 1) / 5 * i)
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
        band = cv2.morphologyEx(gb, cv2.MORPH_GRADIENT, kernel) > 0
        n = int(np.count_nonzero(band))
        accs.append(math.nan if n == 0 else int(np.count_nonzero(pb[band] == gb[band])) / n)
    return float(sum(accs) / 5)
