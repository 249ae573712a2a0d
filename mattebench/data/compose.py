"""The official compositing rule of the Adobe matting dataset (Composition-1k, Xu et al. 2017).

``Composition_code.py`` shipped with the dataset does, for each foreground and each background:

1. open the background with PIL and ``convert('RGB')`` when its mode is not RGB (no EXIF rotation);
2. ``ratio = max(w / bw, h / bh)`` with (w, h) the foreground size; only if ``ratio > 1`` resize
   the background with PIL BICUBIC to ``(ceil(bw * ratio), ceil(bh * ratio))``;
3. crop the top-left ``w x h``;
4. per pixel with ``alpha = a / 255``: ``alpha >= 1`` copies the foreground, ``alpha > 0`` writes
   ``int(alpha * fg + (1 - alpha) * bg)`` per channel (truncation, in double precision), and
   ``alpha == 0`` keeps the background.

The foreground is used as stored when its mode is RGB or RGBA (colour channels), else converted to
RGB. Distinctions-646 composites its test set with the same rule. The widely copied "revised"
script (OpenCV bicubic, float32) does not give these pixels.

:func:`blend` is the vectorised form of step 4; it is bit-identical to the per-pixel loop because
the same double-precision operations run in the same order (IEEE arithmetic is the same in Python
floats and NumPy float64), and at a == 255 / a == 0 the formula equals the copy exactly.
Pixels depend on the Pillow version only through BICUBIC resizing (stable since Pillow 4).

Composites are not cached on disk: on a 1000x800 foreground over a 500x375 VOC background,
loading and composing costs about 42-49 ms of CPU per sample (decode, bicubic upscale, blend), and
reading a cached PNG of the composite plus refitting the background (``Sample.bg``) measured the
same (54 ms; writing it 135 ms), see benchmarks/datasets.py. Only the decoded foreground and alpha are kept in memory
between the 20 composites of one foreground.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

import numpy as np
from PIL import Image

from mattebench.data.io import open_image, read_alpha_u8
from mattebench.errors import MattebenchError, SampleError

RULE_NAME = "adobe-composition-code-v1"


def foreground_array(fg: Image.Image) -> np.ndarray:
    """HxWx3 uint8 colour of a foreground image as the official script reads it."""
    if fg.mode not in ("RGB", "RGBA"):
        fg = fg.convert("RGB")
    arr = np.asarray(fg, dtype=np.uint8)
    return np.ascontiguousarray(arr[..., :3])


def background_size(bw: int, bh: int, w: int, h: int) -> Optional[tuple[int, int]]:
    """The size the official rule resizes a ``bw x bh`` background to, or None (no resize)."""
    wratio = w / bw
    hratio = h / bh
    ratio = wratio if wratio > hratio else hratio
    if ratio > 1:
        return (math.ceil(bw * ratio), math.ceil(bh * ratio))
    return None


def fit_background(bg: Image.Image, w: int, h: int) -> np.ndarray:
    """Steps 1-3: the ``h x w x 3`` uint8 background the foreground is blended onto."""
    if bg.mode != "RGB":
        bg = bg.convert("RGB")
    new_size = background_size(bg.size[0], bg.size[1], w, h)
    if new_size is not None:
        bg = bg.resize(new_size, Image.BICUBIC)
    if bg.size[0] < w or bg.size[1] < h:  # cannot happen with the rule above; guard anyway
        raise ValueError(f"background {bg.size} smaller than the foreground {(w, h)} after fitting")
    return np.ascontiguousarray(np.asarray(bg.crop((0, 0, w, h)), dtype=np.uint8))


def blend(fg: np.ndarray, alpha_u8: np.ndarray, bg: np.ndarray) -> np.ndarray:
    """Step 4, exactly: HxWx3 uint8 fg and bg, HxW uint8 alpha -> HxWx3 uint8 composite."""
    if fg.shape != bg.shape or fg.shape[:2] != alpha_u8.shape:
        raise ValueError(f"blend: fg {fg.shape}, alpha {alpha_u8.shape} and bg {bg.shape} must agree")
    out = bg.copy()
    full = alpha_u8 == 255
    out[full] = fg[full]
    part = (alpha_u8 > 0) & ~full
    a = alpha_u8[part].astype(np.float64)[:, None] / 255.0  # Python's a / 255 (correctly rounded)
    mixed = a * fg[part].astype(np.float64) + (1.0 - a) * bg[part].astype(np.float64)
    out[part] = mixed.astype(np.uint8)  # int(): truncation toward zero (values are >= 0)
    return out


def composite_files(fg_path: Path, alpha_path: Path, bg_path: Path, sample_id: Optional[str] = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rebuild one composite from its files: returns (image, fg, bg, alpha_u8)."""
    fg = foreground_array(open_image(fg_path))
    alpha = read_alpha_u8(alpha_path)
    return composite_arrays(fg, alpha, bg_path, fg_path, alpha_path, sample_id)


def composite_arrays(
    fg: np.ndarray, alpha: np.ndarray, bg_path: Path, fg_path: Path, alpha_path: Path, sample_id: Optional[str] = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Like :func:`composite_files` with the foreground and alpha already decoded (shared by 20 composites)."""
    if fg.shape[:2] != alpha.shape:
        raise SampleError(
            f"foreground is {fg.shape[1]}x{fg.shape[0]} but its alpha {alpha_path} is {alpha.shape[1]}x{alpha.shape[0]}",
            path=str(fg_path),
            sample_id=sample_id,
        )
    h, w = alpha.shape
    bg = fit_background(open_image(bg_path), w, h)
    return blend(fg, alpha, bg), fg, bg, alpha


# ----------------------------------------------------------------------------------------------------
# Compositing a predicted matte onto a plain background (what `mattebench predict` writes as composites).
# ----------------------------------------------------------------------------------------------------

BACKGROUNDS = {"green": (0, 255, 0), "white": (255, 255, 255), "black": (0, 0, 0), "blue": (0, 0, 255)}
# Beyond the colours: "transparent" writes RGBA (the matte as the alpha channel), "none" writes no composite.
BACKGROUND_CHOICES = (*BACKGROUNDS, "transparent", "none")


def check_background(background: str) -> None:
    """Refuse a background name that is neither a colour of :data:`BACKGROUNDS`, ``transparent`` nor ``none``."""
    if background not in BACKGROUND_CHOICES:
        raise MattebenchError(f"--background {background!r}: choose {', '.join(BACKGROUNDS)}, transparent or none")


def composite(image: np.ndarray, alpha: np.ndarray, background: str) -> np.ndarray:
    """HxWx3 uint8 ``image`` over ``background`` with HxW float ``alpha`` in [0, 1]: HxWx3 uint8 (HxWx4 for transparent)."""
    if background == "transparent":
        return np.dstack([image, np.round(alpha * 255).astype(np.uint8)])
    if background not in BACKGROUNDS:
        raise MattebenchError(f"--background {background!r}: choose {', '.join(BACKGROUNDS)}, transparent or none")
    a = alpha[..., None].astype(np.float32)
    bg = np.array(BACKGROUNDS[background], np.float32)
    return np.clip(np.round(a * image + (1 - a) * bg), 0, 255).astype(np.uint8)
