"""Every image, alpha, trimap and prediction file read or written: one place for the awkward cases,
and for predicted mattes at full precision (saved predictions, ``run --save-alphas``) after them.

All image, alpha and trimap reading and writing: one place for the awkward cases.

Reading goes through PIL because it handles what matting datasets actually ship: EXIF
orientation, palette PNGs (alphamatting.com trimaps), 16-bit PNGs, RGBA, greyscale JPEGs.
Every failure raises :class:`SampleError` naming the file, so a run records it and goes on.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import re
import warnings
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import BinaryIO, Iterator, Optional, Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from mattebench.data.image_header import ImageHeader, read_header
from mattebench.environment import (  # noqa: F401  (the limit's names, read here)
    DEFAULT_MAX_PIXELS,
    ENV_MAX_PIXELS,
    MAX_PIXELS_CEILING,
    check_environment,
    max_pixels,
)
from mattebench.errors import (
    NotRegularFile,
    PredictionError,
    SampleError,
    StoreError,
)
from mattebench.files import atomic_write_bytes, kind_of, open_regular, read_regular
from mattebench.types import ALPHA_OF_8BIT

PathLike = Union[str, "os.PathLike[str]"]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def too_large_text(pixels: Optional[int], limit: int, size: str = "") -> str:
    """Why an image is refused before it is decoded: its size from the header, the limit, how to raise it."""
    what = f"{size} = {pixels:,} pixels" if pixels is not None else "more pixels than allowed"
    need = f"{pixels}" if pixels is not None else f"{2 * limit}"
    return (f"image is too large to decode ({what}, limit {limit:,} pixels, a guard against decompression bombs). "
            f"If the file is genuine, raise the limit: {ENV_MAX_PIXELS}={need} mattebench ...")


def _too_large(p: Path, pixels: Optional[int], limit: int, size: str = "") -> SampleError:
    return SampleError(too_large_text(pixels, limit, size), path=str(p))


def header_of(path: PathLike) -> Optional[ImageHeader]:
    """What the file's header says (PNG, JPEG, TIFF), read through :func:`open_regular` without decoding;
    None for another format or a header this parser cannot follow. NotRegularFile/OSError propagate."""
    with open_regular(path) as f:
        return read_header(f)


def refuse_before_decoding(header: Optional[ImageHeader]) -> Optional[str]:
    """Why a file must not be decoded, from its header alone (too many pixels, several pages), or None."""
    if header is None:
        return None
    limit = max_pixels()
    if header.pixels > limit:
        return too_large_text(header.pixels, limit, f"{header.width}x{header.height}")
    if header.pages > 1:
        return pages_text(header.pages, header.format)
    return None


PAGED_FORMATS = ("TIFF", "PNG", "WEBP", "GIF")


def pages_text(pages: int, fmt: str) -> str:
    return (f"a multi-page {fmt or 'image'} file ({pages} pages or frames): which one is meant cannot be told, so it is "
            "not read; save the one image as a single-page file")


def _check_path(p: Path) -> None:
    """Missing, broken link, folder, empty or unreadable: each said as what it is."""
    if not p.exists():
        if p.is_symlink():
            raise SampleError(f"file not found (a broken symbolic link to {os.readlink(p)})", path=str(p))
        raise SampleError("file not found", path=str(p))
    if p.is_dir():
        raise SampleError("is a folder, not an image file", path=str(p))
    if not p.is_file():  # reading a fifo or a device (/dev/zero behind a link) would block or never end
        try:
            kind = kind_of(p.stat().st_mode)
        except OSError:
            kind = "not a regular file"
        raise SampleError(f"is not a regular file ({kind}; a device, fifo or socket would block or never end)", path=str(p))
    try:
        size = p.stat().st_size
    except PermissionError as exc:
        raise _permission(p, exc) from exc
    if size == 0:
        raise SampleError("file is empty (0 bytes); re-download or re-extract it", path=str(p))


def _permission(p: Path, exc: OSError) -> SampleError:
    return SampleError(f"permission denied reading the file ({exc.strerror or exc}); give your user read access "
                       f"(e.g. chmod a+r on the file and a+x on its folders)", path=str(p))


def _parsed_header(p: Path) -> Optional[ImageHeader]:
    """The header this module parses itself, with the refusals it allows before any decoder runs."""
    try:
        header = header_of(p)
    except NotRegularFile as exc:  # swapped for a fifo or device since _check_path looked
        raise SampleError(f"is not a regular file ({exc.kind}; it would block or never end)", path=str(p)) from exc
    except PermissionError as exc:
        raise _permission(p, exc) from exc
    except OSError as exc:
        raise SampleError(f"cannot read the file ({exc.strerror or exc})", path=str(p)) from exc
    why = refuse_before_decoding(header)
    if why:
        raise SampleError(why, path=str(p))
    return header


def _header(p: Path, source: Optional[BinaryIO] = None) -> Image.Image:
    """``Image.open`` (header only) of ``p`` (or of its bytes in ``source``) with every failure as a SampleError that says what happened.

    Our own header parse comes first (:mod:`mattebench.data.image_header`): a file whose header names more
    pixels than the limit, or several pages, is refused before PIL allocates anything.
    """
    limit = max_pixels()
    parsed = _parsed_header(p)
    if limit > 2 * (Image.MAX_IMAGE_PIXELS or 0) and Image.MAX_IMAGE_PIXELS is not None:
        Image.MAX_IMAGE_PIXELS = limit  # the user raised the limit: let PIL's own check follow it
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own check below decides
            img = Image.open(source if source is not None else p)
    except Image.DecompressionBombError as exc:
        m = re.search(r"\((\d+) pixels\)", str(exc))
        raise _too_large(p, int(m.group(1)) if m else None, limit) from exc
    except PermissionError as exc:
        raise _permission(p, exc) from exc
    except UnidentifiedImageError as exc:
        if parsed is not None:  # an image, but not one PIL decodes (a float RGB TIFF): say what it is
            raise SampleError(f"{parsed.describe()}, which cannot be decoded as a photo or matte: save it as an 8- or "
                              f"16-bit PNG or TIFF (1 or 3 channels)", path=str(p)) from exc
        raise SampleError("not an image file (no image format recognised; is it text, HTML or an archive?): "
                          "re-download or re-extract it", path=str(p)) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise SampleError(f"cannot read the image header ({exc}); the file is corrupt or not an image: re-download it", path=str(p)) from exc
    w, h = img.size
    if w * h > limit:
        img.close()
        raise _too_large(p, w * h, limit, f"{w}x{h}")
    pages = getattr(img, "n_frames", 1)
    # An animated PNG/WebP/GIF or a multi-page TIFF: which page is meant cannot be told. A camera JPEG with extra
    # pictures (MPO: a preview, a depth map) is not refused: its first picture is the photo, by the format's rule.
    if isinstance(pages, int) and pages > 1 and (img.format or "") in PAGED_FORMATS:
        img.close()
        raise SampleError(pages_text(pages, img.format or ""), path=str(p))
    return img


# -- the read log: which files a sample was built from, hashed from the bytes that were decoded ----------
_READS: ContextVar[Optional[dict[str, set[str]]]] = ContextVar("mattebench_reads", default=None)


@contextmanager
def read_log(into: Optional[dict[str, set[str]]] = None) -> Iterator[dict[str, set[str]]]:
    """Within the block, every file the readers here decode is logged: absolute path -> sha256 of the bytes
    decoded (a set: a file rewritten between two reads logs both). Outside one, nothing is hashed. ``into``
    goes on with a log begun earlier (a sample loaded in one step and scored in another)."""
    log: dict[str, set[str]] = {} if into is None else into
    token = _READS.set(log)
    try:
        yield log
    finally:
        _READS.reset(token)


def _logged_bytes(p: Path, log: dict[str, set[str]]) -> BinaryIO:
    """The file's bytes, read once: hashed into the log here, decoded from memory by the caller."""
    _header(p).close()  # the pixel limit first, from the header: a bomb is refused before its bytes are read
    try:
        data = p.read_bytes()
    except PermissionError as exc:
        raise _permission(p, exc) from exc
    except OSError as exc:
        raise SampleError(f"cannot read the file ({exc.strerror or exc})", path=str(p)) from exc
    log.setdefault(os.path.abspath(p), set()).add(hashlib.sha256(data).hexdigest())
    return BytesIO(data)


def _open(path: PathLike) -> Image.Image:
    p = Path(path)
    _check_path(p)
    log = _READS.get()
    img = _header(p, _logged_bytes(p, log) if log is not None else None)
    try:
        img.load()  # force decoding now so a truncated file fails here, not later
    except Exception as exc:  # PIL raises OSError, SyntaxError, ValueError, struct.error, ... on bad data
        img.close()  # a failed decode must not leak the file handle
        if isinstance(exc, PermissionError):
            raise _permission(p, exc) from exc
        if isinstance(exc, MemoryError):
            raise SampleError(f"out of memory decoding a {img.size[0]}x{img.size[1]} image", path=str(p)) from exc
        raise SampleError(f"cannot decode image ({exc}); the file is corrupt or truncated: re-download it", path=str(p)) from exc
    return img


def _to_8bit(img: Image.Image, path: PathLike) -> np.ndarray:
    """16-bit and float modes -> uint8 by their full range (65535 -> 255)."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        a = np.asarray(img).astype(np.float64)
        top = 65535.0 if a.max() > 255 or img.mode.startswith("I;16") else 255.0
        return np.clip(np.round(a / top * 255.0), 0, 255).astype(np.uint8)
    if img.mode == "F":
        a = np.asarray(img).astype(np.float64)
        top = 1.0 if a.max() <= 1.0 else 255.0
        return np.clip(np.round(a / top * 255.0), 0, 255).astype(np.uint8)
    raise SampleError(f"unsupported image mode {img.mode!r}", path=str(path))


def read_image(path: PathLike, apply_exif: bool = True) -> np.ndarray:
    """Read a photo as HxWx3 uint8 RGB (EXIF orientation applied; grey -> 3 channels; RGBA -> RGB).

    ``apply_exif=False`` keeps the stored pixel order: the official compositing scripts and most
    annotation tools never rotate, so a matte may match the raw orientation of its photo.
    """
    img = _open(path)
    if apply_exif:
        try:
            # In place: the same pixels, without the full copy exif_transpose makes of an upright photo (21 ms at 7 Mpx).
            ImageOps.exif_transpose(img, in_place=True)
        except Exception:  # broken EXIF should not lose the image
            pass
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        g = _to_8bit(img, path)
        return np.repeat(g[:, :, None], 3, axis=2)
    if img.mode == "RGBA" or img.mode == "LA" or (img.mode == "P" and "transparency" in img.info):
        img = img.convert("RGBA").convert("RGB")  # drop alpha; the photo is the colour channels
    elif img.mode != "RGB":
        img = img.convert("RGB")
    return np.ascontiguousarray(np.asarray(img, dtype=np.uint8))


MATTE_FROM_ALPHA_CHANNEL = "matte_alpha_channel"


def read_matte(path: PathLike) -> tuple[np.ndarray, tuple[str, ...]]:
    """Read a matte as HxW uint8, with notes on how it was read (see :func:`read_alpha_u8`).

    An RGBA (or LA, or palette with transparency) matte whose alpha channel varies is a cut-out: the
    matte is its alpha channel, whatever the colour channels hold (often the photo itself), and a note
    says so. An RGBA file with a constant alpha channel is read from its colour, like an RGB file.
    """
    img = _open(path)
    with img:
        if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
            return _to_8bit(img, path), ()
        if img.mode == "L":
            return np.asarray(img, dtype=np.uint8).copy(), ()
        if img.mode == "P":
            img = img.convert("RGBA" if "transparency" in img.info else "RGB")
        if img.mode == "PA":
            img = img.convert("RGBA")
        if img.mode in ("RGBA", "LA"):
            arr = np.asarray(img)
            colour, alpha = arr[..., :-1], arr[..., -1]
            if alpha.min() != alpha.max():  # a cut-out: the alpha channel is the matte
                notes: tuple[str, ...] = ()
                if colour.min() != colour.max():
                    notes = (f"{MATTE_FROM_ALPHA_CHANNEL}: {path} is an {img.mode} cut-out; the matte was read from its alpha "
                             "channel, not its colour",)
                return alpha.copy(), notes
            if colour.min() == colour.max():  # flat colour, flat alpha: the alpha channel, as before
                return alpha.copy(), ()
            img = img.convert("RGB")
        if img.mode != "RGB":
            img = img.convert("RGB")
        arr = np.asarray(img)
        if np.array_equal(arr[..., 0], arr[..., 1]) and np.array_equal(arr[..., 0], arr[..., 2]):
            return arr[..., 0].copy(), ()
        return np.asarray(img.convert("L"), dtype=np.uint8).copy(), ()


def read_alpha_u8(path: PathLike) -> np.ndarray:
    """Read a matte as HxW uint8.

    Grey files are taken as they are; RGB files with R == G == B (alphamatting.com) give channel 0;
    other RGB files follow PIL ``convert('L')``; RGBA mattes whose alpha channel varies (cut-outs) or
    whose colour is constant use the alpha channel; palette files are converted to grey through their
    palette; 16-bit scales to 8 bits. :func:`read_matte` also returns notes on what was done.
    """
    return read_matte(path)[0]


def read_alpha(path: PathLike) -> np.ndarray:
    """Read a matte as HxW float32 in [0, 1] (exactly k/255 for 8-bit files)."""
    return read_alpha_u8(path).astype(np.float32) / np.float32(255.0)


def read_trimap(path: PathLike) -> np.ndarray:
    """Read a trimap as HxW uint8 with values as stored (0, 128, 255; palette files read as grey values).

    Values other than 0/128/255 are kept: the DIM metrics count only == 128 as unknown.
    """
    return read_alpha_u8(path)


def to_uint8_alpha(alpha: np.ndarray) -> np.ndarray:
    """float [0,1] -> uint8 by rounding (uint8 passes through)."""
    if alpha.dtype == np.uint8:
        return alpha
    return np.clip(np.round(np.asarray(alpha, dtype=np.float64) * 255.0), 0, 255).astype(np.uint8)


def encode_png(array: np.ndarray) -> bytes:
    """A PNG of ``array`` in memory: uint8 HxW (grey), HxWx3 (RGB), HxWx4 (RGBA), or uint16 HxW (16-bit grey)."""
    if array.dtype == np.uint16:
        import cv2

        ok, buf = cv2.imencode(".png", np.ascontiguousarray(array))
        if not ok:
            raise ValueError(f"cannot encode a {array.shape} uint16 array as PNG")
        return buf.tobytes()
    a = np.ascontiguousarray(array.astype(np.uint8))
    mode = "L" if a.ndim == 2 else {3: "RGB", 4: "RGBA"}[a.shape[2]]
    buf = BytesIO()
    Image.fromarray(a, mode=mode).save(buf, format="PNG")
    return buf.getvalue()


def write_png(path: PathLike, array: np.ndarray) -> None:
    """A PNG whatever the suffix (stored 16-bit alphas): encoded in memory (:func:`encode_png`), then written by
    the one safe writer (:func:`_write`)."""
    _write(Path(path), encode_png(array))


def write_alpha(path: PathLike, alpha: np.ndarray) -> None:
    """Write a matte as an 8-bit grey PNG (float input is rounded)."""
    _save(path, Image.fromarray(to_uint8_alpha(alpha), mode="L"))


def write_image(path: PathLike, image: np.ndarray) -> None:
    if image.ndim == 2:
        _save(path, Image.fromarray(image.astype(np.uint8), mode="L"))
    elif image.shape[2] == 4:
        _save(path, Image.fromarray(image.astype(np.uint8), mode="RGBA"))
    else:
        _save(path, Image.fromarray(image.astype(np.uint8), mode="RGB"))


def _save(path: PathLike, img: Image.Image) -> None:
    """Encode in memory, then write through :func:`mattebench.files.atomic_write_bytes` (a fresh temporary
    renamed over the name: never through a link, never a torn file); OSError as before for the callers."""
    p = Path(path)
    fmt = Image.registered_extensions().get(p.suffix.lower(), "PNG")
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    _write(p, buf.getvalue())


def _write(p: Path, data: bytes) -> None:
    """Every image file the project writes: the path goes to the OS as is (no image library sees it, so a name of
    bytes that are not UTF-8 is written as those bytes), through a fresh temporary renamed over the name."""
    p.parent.mkdir(parents=True, exist_ok=True)
    try:
        atomic_write_bytes(p, data)
    except StoreError as exc:
        raise OSError(errno.EIO, str(exc), str(p)) from exc
def listed_file(entry: Path, extensions: tuple[str, ...] | list[str] = IMAGE_EXTENSIONS) -> bool:
    """Whether a folder listing keeps ``entry``: visible, with one of ``extensions``, and not a folder.

    A dangling symbolic link, a FIFO or a device named like an image is kept (``is_file()`` would drop it and
    its sample would vanish without a word): reading it then fails with a message naming it and what it is.
    """
    return not entry.name.startswith(".") and entry.suffix.lower() in extensions and not entry.is_dir()


def list_images(folder: PathLike) -> list[Path]:
    """Image entries of a folder (:func:`listed_file`), sorted by name (deterministic order), hidden files skipped."""
    p = Path(folder)
    return sorted(f for f in p.iterdir() if listed_file(f))


# -- header-level access (dataset checks) and raw PIL access (official compositing) ----------------
EXIF_ORIENTATION_TAG = 0x0112
_SWAPPING_ORIENTATIONS = (5, 6, 7, 8)  # EXIF orientations that rotate by 90 degrees (swap w and h)


@dataclass(frozen=True)
class ImageInfo:
    """What a file's header says: stored size, PIL mode, format, EXIF orientation (1 = none)."""

    path: str
    width: int
    height: int
    mode: str
    format: str
    orientation: int = 1

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) as stored."""
        return (self.width, self.height)

    @property
    def display_size(self) -> tuple[int, int]:
        """(width, height) after the EXIF orientation is applied (what :func:`read_image` returns)."""
        if self.orientation in _SWAPPING_ORIENTATIONS:
            return (self.height, self.width)
        return (self.width, self.height)


def _orientation(img: Image.Image) -> int:
    try:
        value = img.getexif().get(EXIF_ORIENTATION_TAG, 1)
        return int(value) if int(value) in range(1, 9) else 1
    except Exception:  # a broken EXIF block is not worth losing the file over
        return 1


def image_info(path: PathLike, decode: bool = False) -> ImageInfo:
    """Read a file's header (fast); with ``decode=True`` decode every pixel too (finds truncation).

    Raises :class:`SampleError` naming the file when it is missing, empty, not an image or corrupt.
    """
    p = Path(path)
    if decode:
        with _open(p) as img:
            return ImageInfo(str(p), img.size[0], img.size[1], img.mode, img.format or "", _orientation(img))
    _check_path(p)
    with _header(p) as img:
        return ImageInfo(str(p), img.size[0], img.size[1], img.mode, img.format or "", _orientation(img))


def open_image(path: PathLike) -> Image.Image:
    """The decoded PIL image exactly as stored: no EXIF rotation, no mode conversion.

    For code that must follow a reference script that works on PIL images (the Adobe compositing
    rule in :mod:`mattebench.data.compose`). Errors name the file like the readers above.
    """
    return _open(path)


def alpha_channels_equal(path: PathLike) -> bool:
    """True when a colour matte's channels agree (R == G == B), so channel 0 is the matte exactly.

    Grey, 16-bit and palette-of-greys files count as equal. Used by ``data check --deep`` to flag
    colour mattes that :func:`read_alpha_u8` has to convert with ``convert('L')`` weights.
    """
    img = _open(path)
    if img.mode in ("L", "I;16", "I;16B", "I;16L", "I", "F", "1"):
        return True
    arr = np.asarray(img.convert("RGB"))
    return bool(np.array_equal(arr[..., 0], arr[..., 1]) and np.array_equal(arr[..., 0], arr[..., 2]))


# ----------------------------------------------------------------------------------------------------
# Reading and writing predicted mattes at full precision (saved predictions, ``run --save-alphas``).
#
# :mod:`mattebench.data.io` reads ground truth as 8 bits (what the datasets ship). Predictions need more:
# a user's folder may hold 16-bit PNGs, float TIFFs or ``.npy`` arrays, and ``run --save-alphas``
# writes 16-bit PNGs that must read back to the exact values that were scored. Every failure raises
# :class:`~mattebench.errors.PredictionError` naming the file, so a run records an error row.
#
# Value conventions (the dtype says the range, never the values):
# - uint8 files and arrays: ``k / 255``; uint16: ``k / 65535``;
# - float files and arrays (TIFF mode F, ``.npy`` float): alpha in [0, 1] as stored (checked later);
# - 3- or 4-channel files: accepted only when the colour channels are equal (grey saved as RGB), or
#   the colour is constant and the matte sits in the alpha channel; anything else is refused, since
#   guessing a grey conversion would score a number the user never wrote. One exception: a grey matte
#   saved as a colour JPEG comes back with channels a few levels apart (chroma subsampling and
#   rounding); up to ``JPEG_GREY_SPREAD`` levels the channels are averaged (and rounded).
# - ``.npy`` arrays may carry leading or trailing axes of size 1 (1xHxW, 1x1xHxW, HxWx1).
# ----------------------------------------------------------------------------------------------------

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


def alpha_from_8bit(a: np.ndarray) -> np.ndarray:
    """An 8-bit matte as float32 alpha k/255: one table lookup, one pass over the image (a cast and a divide
    were two, at 4K a third of the time)."""
    import cv2

    if a.ndim == 2 and a.size and a.flags.c_contiguous:
        return cv2.LUT(a, ALPHA_OF_8BIT)
    return ALPHA_OF_8BIT[a]


def _from_array(a: np.ndarray, path: Path, keep_8bit: bool = False) -> np.ndarray:
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
        return a if keep_8bit else alpha_from_8bit(a)
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


def read_prediction(path: PathLike, keep_8bit: bool = False) -> np.ndarray:
    """A saved matte as HxW float32 (see the module docstring for the value conventions).

    Every failure names the prediction file: not a regular file, a header over the pixel limit or with
    several pages (refused before decoding), undecodable, NaN or out-of-range values. ``keep_8bit``: an
    8-bit matte comes back as its HxW uint8 values k (the float32 matte is k/255, as the scorer converts
    uint8 predictions): such a matte needs no range check, and at 4K the checks cost more than the read.
    """
    p = Path(path)
    data = _bytes_of(p)
    a = _npy(data, p) if p.suffix.lower() == ".npy" else _decoded(data, p)
    out = _from_array(a, p, keep_8bit)
    return _values_checked(out, p) if a.dtype.kind == "f" else out
