"""Backgrounds for the synthetic benchmark: real photographs bundled inside scikit-image.

Only images that ship in the scikit-image wheel are used (``skimage.data.<name>()`` reads them from
the package folder, no pooch download), so the benchmark works with no network. Every crop, scale,
flip and blur is drawn from the caller's random generator, so the same generator state gives the
same pixels.

Photographs and their licences (from the docstrings of ``skimage.data``, scikit-image 0.26):

============  ======================================================  ==============================
name          what it shows                                            licence
============  ======================================================  ==============================
astronaut     Eileen Collins in front of a flag (NASA)                 public domain (NASA)
chelsea       a cat on a wooden floor (Stefan van der Walt)            CC0
coffee        a coffee cup on a wooden table (Rachel Michetti)         CC0
rocket        Falcon 9 launch, sky and smoke (SpaceX)                  public domain (SpaceX)
camera        a man with a camera on a lawn (Lav Varshney), grey       CC0
grass         a lawn, grey                                             CC0 (DeviantArt linolafett)
gravel        gravel ground, grey                                      CC0 (CC0Textures)
brick         a brick wall, grey                                       CC0 (CC0Textures)
============  ======================================================  ==============================

The grey photographs get a fixed colour tone (green for grass, terracotta for brick, warm grey for
gravel; camera stays black and white) so that they read as scenes and not as test charts. The
Middlebury motorcycle pair (licence not stated in scikit-image) and the non-scene images
(microscopy, retina, Hubble, charts) are left out on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Optional

import cv2
import numpy as np

# name -> (skimage.data function, RGB tone applied to a grey photograph or None for colour ones)
PHOTOS: dict[str, tuple[str, Optional[tuple[float, float, float]]]] = {
    "astronaut": ("astronaut", None),
    "chelsea": ("chelsea", None),
    "coffee": ("coffee", None),
    "rocket": ("rocket", None),
    "camera": ("camera", (1.0, 1.0, 1.0)),
    "grass": ("grass", (0.62, 0.95, 0.45)),
    "gravel": ("gravel", (1.0, 0.93, 0.82)),
    "brick": ("brick", (1.0, 0.62, 0.48)),
}

PHOTO_LICENCES: dict[str, str] = {
    "astronaut": "public domain (NASA)",
    "chelsea": "CC0 (Stefan van der Walt)",
    "coffee": "CC0 (Rachel Michetti)",
    "rocket": "public domain (SpaceX)",
    "camera": "CC0 (Lav Varshney)",
    "grass": "CC0 (DeviantArt linolafett)",
    "gravel": "CC0 (CC0Textures)",
    "brick": "CC0 (CC0Textures)",
}

PHOTO_NAMES: tuple[str, ...] = tuple(PHOTOS)


@lru_cache(maxsize=None)
def load_photo(name: str) -> np.ndarray:
    """The named photograph as HxWx3 uint8 RGB (read once per process, never written to disk)."""
    if name not in PHOTOS:
        raise KeyError(f"unknown background photo {name!r}; choose from {', '.join(PHOTO_NAMES)}")
    import skimage.data  # imported lazily: only the synthetic dataset needs it

    func, tone = PHOTOS[name]
    img = np.asarray(getattr(skimage.data, func)())
    if img.ndim == 2:
        tone_arr = np.asarray(tone if tone is not None else (1.0, 1.0, 1.0), dtype=np.float32)
        img = np.clip(img[..., None].astype(np.float32) * tone_arr, 0, 255).astype(np.uint8)
    img = np.ascontiguousarray(img[..., :3])
    img.setflags(write=False)
    return img


@dataclass(frozen=True)
class BackgroundSpec:
    """Where the background comes from: photo, crop window (in photo pixels), flip and blur."""

    photo: str
    x0: float
    y0: float
    scale: float  # output pixels per photo pixel
    flip: bool
    blur: str  # "none", "gaussian" or "disc"
    blur_radius: float  # sigma for gaussian, radius for disc (output pixels)

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def sample_background_spec(
    rng: np.random.Generator, height: int, width: int, blurred: bool, photo: Optional[str] = None
) -> BackgroundSpec:
    """Draw a crop of a photograph that covers a ``height x width`` output (with room to pan)."""
    name = photo if photo is not None else PHOTO_NAMES[int(rng.integers(len(PHOTO_NAMES)))]
    ph, pw = load_photo(name).shape[:2]
    # The crop covers between 45% and 95% of the largest window of this aspect that fits.
    max_scale_fit = max(height / ph, width / pw)  # smallest scale at which the output fits
    scale = max_scale_fit / float(rng.uniform(0.45, 0.95))
    crop_w, crop_h = width / scale, height / scale
    x0 = float(rng.uniform(0.0, max(0.0, pw - crop_w)))
    y0 = float(rng.uniform(0.0, max(0.0, ph - crop_h)))
    flip = bool(rng.random() < 0.5)
    if blurred:
        kind = "disc" if rng.random() < 0.5 else "gaussian"
        # radius grows with the output so that "blurred" looks alike at every size
        base = min(height, width) / 256.0
        radius = float(rng.uniform(3.0, 7.0) if kind == "disc" else rng.uniform(2.0, 4.5)) * base
    else:
        kind, radius = "none", 0.0
    return BackgroundSpec(name, x0, y0, scale, flip, kind, radius)


def disc_kernel(radius: float) -> np.ndarray:
    """A normalised disc (the shape of an out-of-focus highlight: bokeh), antialiased at its rim."""
    r = max(radius, 0.5)
    n = int(np.ceil(r))
    yy, xx = np.mgrid[-n : n + 1, -n : n + 1].astype(np.float32)
    k = np.clip(r + 0.5 - np.sqrt(xx * xx + yy * yy), 0.0, 1.0)
    return k / k.sum()


def render_background(spec: BackgroundSpec, height: int, width: int, shift: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """The background as HxWx3 uint8. ``shift`` (dx, dy) in output pixels pans the window (video)."""
    photo = load_photo(spec.photo)
    if spec.flip:
        photo = photo[:, ::-1]
    # output (u, v) <- photo (x0 + (u + dx) / scale, y0 + (v + dy) / scale)
    s = spec.scale
    dx, dy = shift
    pad = int(np.ceil(3 * spec.blur_radius)) + 2 if spec.blur != "none" else 0
    oh, ow = height + 2 * pad, width + 2 * pad
    m = np.array(
        [[1.0 / s, 0.0, spec.x0 + (dx - pad) / s], [0.0, 1.0 / s, spec.y0 + (dy - pad) / s]], dtype=np.float64
    )
    if s < 1.0:
        # downscaling: prefilter with a Gaussian so the result is not aliased
        sigma = 0.5 / s
        photo = cv2.GaussianBlur(np.ascontiguousarray(photo), (0, 0), sigmaX=sigma, sigmaY=sigma)
    img = cv2.warpAffine(
        np.ascontiguousarray(photo),
        m,
        (ow, oh),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REFLECT_101,
    )
    if spec.blur == "gaussian":
        img = cv2.GaussianBlur(img, (0, 0), sigmaX=spec.blur_radius, sigmaY=spec.blur_radius)
    elif spec.blur == "disc":
        # bokeh: a disc kernel on linear-ish light, with highlights boosted so bright spots bloom
        # (at half resolution: the result is smooth, and the disc filter is the costly step)
        f = (img.astype(np.float32) / 255.0) ** 2.2
        hh, ww = f.shape[:2]
        half = cv2.resize(f, (ww // 2, hh // 2), interpolation=cv2.INTER_AREA)
        half = cv2.filter2D(half, -1, disc_kernel(spec.blur_radius / 2.0), borderType=cv2.BORDER_REFLECT_101)
        f = cv2.resize(half, (ww, hh), interpolation=cv2.INTER_LINEAR)
        img = np.clip(np.round(np.maximum(f, 0.0) ** (1 / 2.2) * 255.0), 0, 255).astype(np.uint8)
    if pad:
        img = img[pad : pad + height, pad : pad + width]
    return np.ascontiguousarray(img)
