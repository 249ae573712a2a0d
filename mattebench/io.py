"""All image, alpha and trimap reading and writing: one place for the awkward cases.

Reading goes through PIL because it handles what matting datasets actually ship: EXIF
orientation, palette PNGs (alphamatting.com trimaps), 16-bit PNGs, RGBA, greyscale JPEGs.
Every failure raises :class:`SampleError` naming the file, so a run records it and goes on.
"""

from __future__ import annotations

import hashlib
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

from .errors import SampleError

PathLike = Union[str, "os.PathLike[str]"]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


ENV_MAX_PIXELS = "MATTEBENCH_MAX_PIXELS"
# PIL's own hard limit (twice Image.MAX_IMAGE_PIXELS): above it PIL refuses to decode. Keeping it as the
# default changes nothing for files PIL reads today; the variable raises (or lowers) it.
DEFAULT_MAX_PIXELS = 2 * 89_478_485


def max_pixels() -> int:
    """The largest image (width x height) mattebench decodes: ``$MATTEBENCH_MAX_PIXELS`` or PIL's hard limit."""
    text = os.environ.get(ENV_MAX_PIXELS, "").strip().replace("_", "")
    if not text:
        return DEFAULT_MAX_PIXELS
    try:
        value = int(float(text))
    except ValueError:
        raise SampleError(f"${ENV_MAX_PIXELS}={text!r} is not a number of pixels (for example {ENV_MAX_PIXELS}=400000000)") from None
    if value < 1:
        raise SampleError(f"${ENV_MAX_PIXELS}={text!r} must be at least 1")
    return value


def _too_large(p: Path, pixels: Optional[int], limit: int, size: str = "") -> SampleError:
    what = f"{size} = {pixels:,} pixels" if pixels is not None else "more pixels than allowed"
    need = f"{pixels}" if pixels is not None else f"{2 * limit}"
    return SampleError(
        f"image is too large to decode ({what}, limit {limit:,} pixels, a guard against decompression bombs). "
        f"If the file is genuine, raise the limit: {ENV_MAX_PIXELS}={need} mattebench ...",
        path=str(p),
    )


def _check_path(p: Path) -> None:
    """Missing, broken link, folder, empty or unreadable: each said as what it is."""
    if not p.exists():
        if p.is_symlink():
            raise SampleError(f"file not found (a broken symbolic link to {os.readlink(p)})", path=str(p))
        raise SampleError("file not found", path=str(p))
    if p.is_dir():
        raise SampleError("is a folder, not an image file", path=str(p))
    if not p.is_file():  # reading a fifo or a device (/dev/zero behind a link) would block or never end
        raise SampleError("is not a regular file (a device, fifo or socket)", path=str(p))
    try:
        size = p.stat().st_size
    except PermissionError as exc:
        raise _permission(p, exc) from exc
    if size == 0:
        raise SampleError("file is empty (0 bytes); re-download or re-extract it", path=str(p))


def _permission(p: Path, exc: OSError) -> SampleError:
    return SampleError(f"permission denied reading the file ({exc.strerror or exc}); give your user read access "
                       f"(e.g. chmod a+r on the file and a+x on its folders)", path=str(p))


def _header(p: Path, source: Optional[BinaryIO] = None) -> Image.Image:
    """``Image.open`` (header only) of ``p`` (or of its bytes in ``source``) with every failure as a SampleError
    that says what happened."""
    limit = max_pixels()
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
        raise SampleError("not an image file (no image format recognised; is it text, HTML or an archive?): "
                          "re-download or re-extract it", path=str(p)) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise SampleError(f"cannot read the image header ({exc}); the file is corrupt or not an image: re-download it", path=str(p)) from exc
    w, h = img.size
    if w * h > limit:
        img.close()
        raise _too_large(p, w * h, limit, f"{w}x{h}")
    return img


# -- the read log: which files a sample was built from, hashed from the bytes that were decoded ----------
_READS: ContextVar[Optional[dict[str, set[str]]]] = ContextVar("mattebench_reads", default=None)


@contextmanager
def read_log() -> Iterator[dict[str, set[str]]]:
    """Within the block, every file the readers here decode is logged: absolute path -> sha256 of the bytes
    decoded (a set: a file rewritten between two reads logs both). Outside one, nothing is hashed."""
    log: dict[str, set[str]] = {}
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
            img = ImageOps.exif_transpose(img)
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


def write_alpha(path: PathLike, alpha: np.ndarray) -> None:
    """Write a matte as an 8-bit grey PNG (float input is rounded)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(to_uint8_alpha(alpha), mode="L").save(path)


def write_image(path: PathLike, image: np.ndarray) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    if image.ndim == 2:
        Image.fromarray(image.astype(np.uint8), mode="L").save(path)
    elif image.shape[2] == 4:
        Image.fromarray(image.astype(np.uint8), mode="RGBA").save(path)
    else:
        Image.fromarray(image.astype(np.uint8), mode="RGB").save(path)


def list_images(folder: PathLike) -> list[Path]:
    """Image files of a folder, sorted by name (deterministic order), hidden files skipped."""
    p = Path(folder)
    return sorted(f for f in p.iterdir() if f.is_file() and not f.name.startswith(".") and f.suffix.lower() in IMAGE_EXTENSIONS)


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
