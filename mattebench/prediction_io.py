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
from io import BytesIO
from pathlib import Path
from typing import Union

import numpy as np

from .errors import NotRegularFile, PredictionError
from .hashing import read_regular
from .image_header import read_header
from .io import max_pixels, refuse_before_decoding, too_large_text, write_png

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
    """Write a matte as a 16-bit grey PNG (atomically: a killed run never leaves a torn file; any file name)."""
    try:
        write_png(path, to_uint16(alpha))
    except (OSError, ValueError) as exc:
        raise PredictionError(f"{path}: could not write the 16-bit PNG ({exc}); disk full or no permission?") from exc


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


def _values_checked(a: np.ndarray, path: Path) -> np.ndarray:
    """A float matte's values, checked where the file is read so that the error names the file (not the photo)."""
    finite = np.isfinite(a)
    if not finite.all():
        raise PredictionError(f"{path}: the saved prediction has {int((~finite).sum())} NaN/inf pixels; "
                              "save finite alpha values in [0, 1]")
    if a.size:
        lo, hi = float(a.min()), float(a.max())
        if lo < -1e-3 or hi > 1.0 + 1e-3:
            raise PredictionError(f"{path}: the saved prediction's values span [{lo:.4g}, {hi:.4g}], expected alpha in "
                                  "[0, 1] (a float file holds alpha as it is, not k/255)")
    return a


def _bytes_of(p: Path) -> bytes:
    """The file's bytes through the one opener that refuses FIFOs and devices (never blocks)."""
    if p.is_symlink() and not p.exists():
        raise PredictionError(f"{p}: prediction file not found (a broken symbolic link to {os.readlink(p)})")
    try:
        data = read_regular(p)
    except NotRegularFile as exc:
        raise PredictionError(f"{p}: prediction is {exc.kind}, not a regular file; replace it by the matte file") from exc
    except FileNotFoundError as exc:
        raise PredictionError(f"{p}: prediction file not found") from exc
    except OSError as exc:
        raise PredictionError(f"{p}: cannot read the prediction ({exc.strerror or exc})") from exc
    if not data:
        raise PredictionError(f"{p}: prediction file is empty (0 bytes)")
    return data


def _npy(data: bytes, p: Path) -> np.ndarray:
    """A ``.npy`` array; its header's shape is checked against the pixel limit before any data is read."""
    f = BytesIO(data)
    try:
        major, _minor = np.lib.format.read_magic(f)
        read = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
        shape, _, _ = read(f)  # the header only
        dims = list(shape[:-1]) if len(shape) >= 3 and shape[-1] <= 4 else list(shape)  # HxWxC: C is no pixel
        pixels = int(np.prod(dims, dtype=np.float64)) if dims else 1
        limit = max_pixels()
        if pixels > limit:
            raise PredictionError(f"{p}: {too_large_text(pixels, limit, 'x'.join(map(str, shape)))}")
        f.seek(0)
        a = np.load(f, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise PredictionError(f"{p}: cannot read it as a .npy array ({exc})") from exc
    return np.asarray(a)


def _decoded(data: bytes, p: Path) -> np.ndarray:
    """An image file's pixels: the header is parsed first (pixel limit, pages), then OpenCV decodes the bytes in
    memory (never a path: a name that is not UTF-8 never reaches a library)."""
    import cv2

    why = refuse_before_decoding(read_header(BytesIO(data)))
    if why:
        raise PredictionError(f"{p}: {why}")
    try:
        a = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:
        raise PredictionError(f"{p}: cannot decode the image ({exc})") from exc
    if a is None:
        raise PredictionError(f"{p}: cannot decode the image: the file is corrupt, truncated or not an image")
    if a.ndim == 3 and a.shape[2] >= 3:  # OpenCV gives BGR(A): back to RGB(A) so the alpha channel stays last
        a = a[:, :, [2, 1, 0, *range(3, a.shape[2])]]
    return a


def read_prediction(path: PathLike) -> np.ndarray:
    """A saved matte as HxW float32 (see the module docstring for the value conventions).

    Every failure names the prediction file: not a regular file, a header over the pixel limit or with
    several pages (refused before decoding), undecodable, NaN or out-of-range values.
    """
    p = Path(path)
    data = _bytes_of(p)
    a = _npy(data, p) if p.suffix.lower() == ".npy" else _decoded(data, p)
    out = _from_array(a, p)
    return _values_checked(out, p) if a.dtype.kind == "f" else out
