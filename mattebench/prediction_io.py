"""Reading and writing predicted mattes at full precision (saved predictions, ``run --save-alphas``).

:mod:`mattebench.io` reads ground truth as 8 bits (what the datasets ship). Predictions need more:
a user's folder may hold 16-bit PNGs, float TIFFs or ``.npy`` arrays, and ``run --save-alphas``
writes 16-bit PNGs that must read back to the exact values that were scored. Every failure raises
:class:`~mattebench.errors.PredictionError` naming the file, so a run records an error row.

Value conventions (the dtype says the range, never the values):
- uint8 files and arrays: ``k / 255``; uint16: ``k / 65535``;
- float files and arrays (TIFF mode F, ``.npy`` float): alpha in [0, 1] as stored (checked later);
- 3- or 4-channel files: accepted only when the colour channels are equal (grey saved as RGB), or
  the colour is constant and the matte sits in the alpha channel; anything else is refused, since
  guessing a grey conversion would score a number the user never wrote. One exception: a grey matte
  saved as a colour JPEG comes back with channels a few levels apart (chroma subsampling and
  rounding); up to ``JPEG_GREY_SPREAD`` levels the channels are averaged (and rounded).
- ``.npy`` arrays may carry leading or trailing axes of size 1 (1xHxW, 1x1xHxW, HxWx1).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Union

import numpy as np

from .errors import PredictionError, StoreError
from .safe_write import atomic_write_bytes

PathLike = Union[str, "os.PathLike[str]"]

PREDICTION_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".npy")
PNG16_MAX = 65535
JPEG_GREY_SPREAD = 4  # levels (of 255) between the channels of a grey matte stored as a colour JPEG


def quantise16(alpha: np.ndarray) -> np.ndarray:
    """float alpha in [0, 1] -> the float32 value a 16-bit PNG holds (``round(65535 a) / 65535``)."""
    return to_uint16(alpha).astype(np.float32) / np.float32(PNG16_MAX)


def to_uint16(alpha: np.ndarray) -> np.ndarray:
    a = np.asarray(alpha, dtype=np.float64)
    return np.clip(np.round(a * PNG16_MAX), 0, PNG16_MAX).astype(np.uint16)


def write_alpha16(path: PathLike, alpha: np.ndarray) -> None:
    """Write a matte as a 16-bit grey PNG (atomically: a killed run never leaves a torn file)."""
    import cv2

    p = Path(path)
    ok, png = cv2.imencode(".png", to_uint16(alpha))  # in memory: the file is written by the one safe writer
    if not ok:
        raise PredictionError(f"{p}: could not encode the 16-bit PNG")
    p.parent.mkdir(parents=True, exist_ok=True)
    try:
        atomic_write_bytes(p, png.tobytes())  # never through a link planted at the name or its temporary
    except StoreError as exc:
        raise PredictionError(str(exc)) from exc


def _from_array(a: np.ndarray, path: Path) -> np.ndarray:
    while a.ndim > 2 and a.shape[0] == 1:  # 1xHxW, 1x1xHxW (an array saved with its batch axes)
        a = a[0]
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim == 3 and a.shape[2] in (3, 4):
        colour = a[:, :, :3]
        if a.shape[2] == 4 and colour.min() == colour.max():
            a = a[:, :, 3]
        elif np.array_equal(colour[..., 0], colour[..., 1]) and np.array_equal(colour[..., 0], colour[..., 2]):
            a = colour[..., 0]
        elif path.suffix.lower() in (".jpg", ".jpeg") and colour.dtype == np.uint8 and _spread(colour) <= JPEG_GREY_SPREAD:
            a = np.round(colour.astype(np.float32).mean(axis=2)).astype(np.uint8)
        else:
            raise PredictionError(f"{path}: prediction is a colour image with unequal channels; save the matte as one grey channel")
    if a.ndim != 2:
        raise PredictionError(f"{path}: prediction has shape {a.shape}, expected HxW (one channel)")
    if a.dtype == np.uint8:
        return a.astype(np.float32) / np.float32(255.0)
    if a.dtype == np.uint16:
        return a.astype(np.float32) / np.float32(PNG16_MAX)
    if a.dtype.kind == "f":
        return a.astype(np.float32)
    if a.dtype == np.bool_:
        return a.astype(np.float32)
    raise PredictionError(f"{path}: prediction dtype {a.dtype} is not uint8, uint16 or float")


def _spread(colour: np.ndarray) -> int:
    c = colour.astype(np.int16)
    return int(max(np.abs(c[..., 0] - c[..., 1]).max(), np.abs(c[..., 0] - c[..., 2]).max()))


def read_prediction(path: PathLike) -> np.ndarray:
    """A saved matte as HxW float32 (see the module docstring for the value conventions)."""
    p = Path(path)
    if not p.is_file():
        raise PredictionError(f"{p}: prediction file not found")
    if p.stat().st_size == 0:
        raise PredictionError(f"{p}: prediction file is empty (0 bytes)")
    if p.suffix.lower() == ".npy":
        try:
            a = np.load(p, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise PredictionError(f"{p}: cannot read it as a .npy array ({exc})") from exc
        return _from_array(np.asarray(a), p)
    import cv2

    try:
        a = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:
        raise PredictionError(f"{p}: cannot decode the image ({exc})") from exc
    if a is None:
        raise PredictionError(f"{p}: cannot decode the image: the file is corrupt, truncated or not an image")
    if a.ndim == 3 and a.shape[2] >= 3:  # OpenCV gives BGR(A): back to RGB(A) so the alpha channel stays last
        a = a[:, :, [2, 1, 0, *range(3, a.shape[2])]]
    return _from_array(a, p)
