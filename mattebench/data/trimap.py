"""The one deterministic recipe that makes evaluation trimaps from ground truth.

Used by every dataset that ships no trimaps (synthetic, folder, PPM-100, D646, ...), recorded in
each sample's metadata and in the run's provenance, and published with the leaderboard.

Recipe ``dilate-erode-v1``:
    fg      = alpha == 1 (255 in 8 bits)
    maybe   = alpha > 0
    r       = max(2, round(min(h, w) / 100))       # band half-width grows with the image
    K       = ellipse of size (2r+1) x (2r+1)
    trimap  = 255 on erode(fg, K), 0 outside dilate(maybe, K), 128 elsewhere
Every pixel with fractional alpha is unknown (it is in ``maybe`` and not in ``fg``), and a band of
about r pixels of each side of the boundary is unknown too, as in the PaddleSeg PPM-100 reference.
No randomness: the same alpha always gives the same trimap.
"""

from __future__ import annotations

import cv2
import numpy as np

RECIPE_NAME = "dilate-erode-v1"


def band_radius(height: int, width: int) -> int:
    return max(2, int(round(min(height, width) / 100.0)))


def trimap_from_alpha(alpha: np.ndarray, radius: int | None = None) -> np.ndarray:
    """HxW alpha (uint8 0..255 or float [0,1]) -> HxW uint8 trimap {0, 128, 255}."""
    if alpha.ndim != 2:
        raise ValueError(f"trimap_from_alpha expects an HxW alpha, got shape {alpha.shape}")
    if alpha.dtype == np.uint8:
        a8 = alpha
    else:
        a8 = np.clip(np.round(np.asarray(alpha, dtype=np.float64) * 255.0), 0, 255).astype(np.uint8)
    h, w = a8.shape
    r = band_radius(h, w) if radius is None else int(radius)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    fg = (a8 == 255).astype(np.uint8)
    maybe = (a8 > 0).astype(np.uint8)
    # Border: pixels outside the image count as neither fg nor maybe-fg (erosion shrinks fg at the
    # border would be wrong for a person cut by the frame, so replicate the border instead).
    sure_fg = cv2.erode(fg, kernel, borderType=cv2.BORDER_REPLICATE)
    reach = cv2.dilate(maybe, kernel, borderType=cv2.BORDER_REPLICATE)
    trimap = np.full((h, w), 128, dtype=np.uint8)
    trimap[reach == 0] = 0
    trimap[sure_fg == 1] = 255
    return trimap


def keep_known(alpha: np.ndarray, trimap: np.ndarray) -> np.ndarray:
    """``alpha`` (HxW float, modified in place and returned) with the trimap's known regions set: 0 where
    the trimap is 0, 1 where it is 255. Every trimap-based method ends with this: the known regions are
    the user's constraints, not estimates (solvers drift there, networks run at another resolution)."""
    alpha[trimap == 0] = 0.0
    alpha[trimap == 255] = 1.0
    return alpha


def describe() -> dict[str, str]:
    """The recipe as it goes into provenance and leaderboards."""
    return {
        "name": RECIPE_NAME,
        "rule": "255 on erode(alpha==1, K); 0 outside dilate(alpha>0, K); 128 elsewhere; "
        "K = ellipse (2r+1)^2, r = max(2, round(min(h,w)/100)), replicated borders",
    }
