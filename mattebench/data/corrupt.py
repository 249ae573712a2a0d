"""Image corruptions for the robustness track: ``-d corrupt=KIND:SEVERITY`` on any dataset.

A corruption changes the *input image only*: ground truth, trimap, the true foreground/background
and the compositing are untouched (:mod:`mattebench.data.variant` applies it to ``Sample.image`` and
to every frame of a ``Clip``). The model is ImageNet-C (Hendrycks & Dietterich, "Benchmarking Neural
Network Robustness to Common Corruptions and Perturbations", ICLR 2019,
https://github.com/hendrycks/robustness): five severities per kind, the parameters of each in one
table (:data:`CORRUPTIONS`, rendered into docs/robustness.md by :func:`table_markdown`), and the
random parts drawn from a seed per sample, so a run is reproducible.

Choices where ImageNet-C does not fit matting (written down here and in docs/robustness.md):

- ImageNet-C's images are 224 px. Blur lengths are given at that size and scaled by
  ``min(h, w) / 224`` (:data:`REFERENCE_SIZE`), so a 4K portrait is blurred as much, relative to its
  size, as a 224 px crop would be; per-pixel corruptions (noise, JPEG, scale factors) are not scaled.
- ``gaussian-noise``, ``gaussian-blur``, ``jpeg`` (PIL's encoder there, OpenCV's libjpeg here, 4:2:0)
  and ``downscale`` (ImageNet-C's ``pixelate`` factors; area down, bicubic up, a low-resolution capture
  upsampled, rather than the box-up pixelation) take ImageNet-C's values. ``motion-blur`` takes its
  (radius, sigma) pairs and angle range; the kernel is ImageMagick's one-sided Gaussian streak, drawn
  here with OpenCV rather than Wand.
- ``low-light`` and ``colour-cast`` are not in ImageNet-C. ``low-light`` darkens with a gamma and adds
  Gaussian read noise, the synthetic low-light recipe of LLNet (Lore, Akintayo & Sarkar, Pattern
  Recognition 2017); ``colour-cast`` is a white-balance error: per-channel gains ``exp(m * d)`` with d a
  random unit direction of zero sum (chromaticity changes, grey level about kept). Their values are
  mattebench's, spaced so that five severities run from mild to severe as ImageNet-C's do.

Seeds: SHA-256 of ``(dataset name, sample id, kind, severity)`` (never Python's ``hash``); for clips the
frame index is added for what changes per frame (noise), not for what belongs to the clip (motion-blur
angle, cast direction). Bump :data:`TABLE_VERSION` whenever a value or a function here changes: it goes
into the dataset fingerprint.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from typing import Callable, Optional

import cv2
import numpy as np

from mattebench.errors import CorruptionError, see

TABLE_VERSION = "corruptions-v1"
REFERENCE_SIZE = 224  # ImageNet-C's image size: blur parameters are given at this size
SEVERITIES = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class Param:
    """One parameter of a kind: its name, unit, and the value at severities 1..5."""

    name: str
    unit: str
    values: tuple[float, ...]


@dataclass(frozen=True)
class CorruptionKind:
    """One row group of the table: a kind, its parameters per severity, and where they come from."""

    name: str
    description: str
    source: str
    params: tuple[Param, ...]

    def values(self, severity: int) -> dict[str, float]:
        return {p.name: p.values[severity - 1] for p in self.params}


# The one table. docs/robustness.md holds the same table (tests/test_corrupt.py checks it).
CORRUPTIONS: tuple[CorruptionKind, ...] = (
    CorruptionKind(
        "jpeg", "re-encode as JPEG (OpenCV/libjpeg, 4:2:0) at this quality", "ImageNet-C jpeg_compression",
        (Param("quality", "JPEG quality", (25, 18, 15, 10, 7)),),
    ),
    CorruptionKind(
        "gaussian-noise", "add i.i.d. Gaussian noise per pixel and channel, on [0, 1], then clip", "ImageNet-C gaussian_noise",
        (Param("sigma", "std on [0, 1]", (0.08, 0.12, 0.18, 0.26, 0.38)),),
    ),
    CorruptionKind(
        "gaussian-blur", "Gaussian blur; sigma in px at 224 px, scaled by min(h, w) / 224", "ImageNet-C gaussian_blur",
        (Param("sigma", "px at 224", (1, 2, 3, 4, 6)),),
    ),
    CorruptionKind(
        "motion-blur", "one-sided Gaussian streak of this radius and sigma (px at 224, scaled), angle uniform in "
        "[-45, 45] degrees per item", "ImageNet-C motion_blur",
        (Param("radius", "px at 224", (10, 15, 15, 15, 20)), Param("sigma", "px at 224", (3, 5, 8, 12, 15))),
    ),
    CorruptionKind(
        "downscale", "resize by this factor (area), then back to the original size (bicubic)", "ImageNet-C pixelate factors",
        (Param("factor", "scale", (0.6, 0.5, 0.4, 0.3, 0.25)),),
    ),
    CorruptionKind(
        "low-light", "x ** gamma on [0, 1], then Gaussian read noise of this std, then clip", "after LLNet (Lore et al. 2017); mattebench values",
        (Param("gamma", "exponent", (1.5, 2.0, 2.5, 3.0, 3.5)), Param("sigma", "std on [0, 1]", (0.01, 0.02, 0.03, 0.04, 0.05))),
    ),
    CorruptionKind(
        "colour-cast", "white-balance error: channel gains exp(m * d), d a random zero-sum unit direction per item",
        "mattebench values",
        (Param("magnitude", "log-gain m", (0.1, 0.2, 0.3, 0.4, 0.5)),),
    ),
)

KINDS: tuple[str, ...] = tuple(k.name for k in CORRUPTIONS)
ALIASES = {"color-cast": "colour-cast", "jpeg-compression": "jpeg", "noise": "gaussian-noise", "blur": "gaussian-blur",
           "low-res": "downscale"}


def kind(name: str) -> CorruptionKind:
    canonical = ALIASES.get(name.strip().lower().replace("_", "-"), name.strip().lower().replace("_", "-"))
    for k in CORRUPTIONS:
        if k.name == canonical:
            return k
    raise CorruptionError(f"unknown corruption kind {name!r}; known kinds: {', '.join(KINDS)}{see('docs/robustness.md', 'parameters: ')}")


@dataclass(frozen=True)
class Corruption:
    """A kind at a severity, e.g. ``Corruption("jpeg", 3)``; parsed from ``"jpeg:3"``."""

    kind: str
    severity: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", kind(self.kind).name)
        if isinstance(self.severity, bool) or not isinstance(self.severity, int) or self.severity not in SEVERITIES:
            raise CorruptionError(f"corruption severity must be an integer 1..5, got {self.severity!r} (for {self.kind})")

    @classmethod
    def parse(cls, text: object) -> "Corruption":
        if isinstance(text, Corruption):
            return text
        m = re.fullmatch(r"\s*([A-Za-z_-]+)\s*:\s*(-?\d+)\s*", str(text))
        if not m:
            raise CorruptionError(f"corrupt={text!r}: give KIND:SEVERITY, e.g. -d corrupt=jpeg:3 (kinds: {', '.join(KINDS)}; severity 1..5)")
        return cls(m.group(1), int(m.group(2)))

    @property
    def spec(self) -> CorruptionKind:
        return kind(self.kind)

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.severity}"

    def params(self) -> dict[str, float]:
        return self.spec.values(self.severity)

    def as_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "severity": self.severity, "params": self.params(), "table": TABLE_VERSION}


def seed_for(dataset: str, item_id: str, corruption: Corruption, frame: Optional[int] = None) -> int:
    """64-bit seed from SHA-256 of (dataset, id, kind, severity[, frame]): the same in every process."""
    key = f"mattebench-corrupt|{TABLE_VERSION}|{dataset}|{item_id}|{corruption.kind}|{corruption.severity}"
    if frame is not None:
        key += f"|frame={frame}"
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little")


# -- the functions -------------------------------------------------------------------------------
def _scale(image: np.ndarray) -> float:
    return min(image.shape[:2]) / float(REFERENCE_SIZE)


def _to_u8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x * 255.0), 0, 255).astype(np.uint8)


def _jpeg(image: np.ndarray, p: dict[str, float], item: np.random.Generator, frame: np.random.Generator) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(p["quality"])])
    if not ok:  # pragma: no cover - libjpeg does not fail on a valid uint8 image
        raise RuntimeError("OpenCV could not JPEG-encode the image")
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def _noise(image: np.ndarray, p: dict[str, float], item: np.random.Generator, frame: np.random.Generator) -> np.ndarray:
    x = image.astype(np.float64) / 255.0
    return _to_u8(x + frame.normal(0.0, p["sigma"], size=x.shape))


def _gaussian_blur(image: np.ndarray, p: dict[str, float], item: np.random.Generator, frame: np.random.Generator) -> np.ndarray:
    sigma = p["sigma"] * _scale(image)
    r = max(1, int(math.ceil(4.0 * sigma)))  # skimage's gaussian truncates at 4 sigma
    return cv2.GaussianBlur(image, (2 * r + 1, 2 * r + 1), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT)


def motion_kernel(radius: float, sigma: float, angle_deg: float) -> np.ndarray:
    """ImageMagick's motion blur: a one-sided streak of length ``radius`` from the pixel, weights
    ``exp(-d^2 / (2 sigma^2))``, at ``angle_deg``; sub-pixel positions are splatted bilinearly."""
    n = max(1, int(math.ceil(radius)))
    size = 2 * n + 1
    k = np.zeros((size, size), dtype=np.float64)
    theta = math.radians(angle_deg)
    for d in np.linspace(0.0, radius, 4 * n + 1):
        w = math.exp(-(d * d) / (2.0 * sigma * sigma))
        x, y = n + d * math.cos(theta), n - d * math.sin(theta)
        x0, y0 = int(math.floor(x)), int(math.floor(y))
        fx, fy = x - x0, y - y0
        for dx, dy, ww in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
            if 0 <= x0 + dx < size and 0 <= y0 + dy < size:
                k[y0 + dy, x0 + dx] += w * ww
    return k / k.sum()


def _motion_blur(image: np.ndarray, p: dict[str, float], item: np.random.Generator, frame: np.random.Generator) -> np.ndarray:
    s = _scale(image)
    angle = float(item.uniform(-45.0, 45.0))
    k = motion_kernel(p["radius"] * s, max(1e-3, p["sigma"] * s), angle)
    out = cv2.filter2D(image.astype(np.float32), -1, k.astype(np.float32), borderType=cv2.BORDER_REFLECT)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def _downscale(image: np.ndarray, p: dict[str, float], item: np.random.Generator, frame: np.random.Generator) -> np.ndarray:
    h, w = image.shape[:2]
    small = cv2.resize(image, (max(1, int(w * p["factor"])), max(1, int(h * p["factor"]))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def _low_light(image: np.ndarray, p: dict[str, float], item: np.random.Generator, frame: np.random.Generator) -> np.ndarray:
    x = (image.astype(np.float64) / 255.0) ** p["gamma"]
    return _to_u8(x + frame.normal(0.0, p["sigma"], size=x.shape))


_CHROMA = np.array([[1.0, -1.0, 0.0], [1.0, 1.0, -2.0]]) / np.array([[math.sqrt(2.0)], [math.sqrt(6.0)]])


def _colour_cast(image: np.ndarray, p: dict[str, float], item: np.random.Generator, frame: np.random.Generator) -> np.ndarray:
    phi = float(item.uniform(0.0, 2.0 * math.pi))
    direction = math.cos(phi) * _CHROMA[0] + math.sin(phi) * _CHROMA[1]  # unit length, zero sum
    gains = np.exp(p["magnitude"] * direction)
    return _to_u8(image.astype(np.float64) / 255.0 * gains[None, None, :])


_FUNCTIONS: dict[str, Callable[[np.ndarray, dict[str, float], np.random.Generator, np.random.Generator], np.ndarray]] = {
    "jpeg": _jpeg,
    "gaussian-noise": _noise,
    "gaussian-blur": _gaussian_blur,
    "motion-blur": _motion_blur,
    "downscale": _downscale,
    "low-light": _low_light,
    "colour-cast": _colour_cast,
}


def apply(image: np.ndarray, corruption: Corruption, dataset: str, item_id: str, frame: Optional[int] = None) -> np.ndarray:
    """``image`` (HxWx3 uint8 RGB) corrupted; a new array, the input is not modified.

    ``frame`` (clips): the frame index, which seeds what changes per frame (noise); what belongs to
    the item (motion-blur angle, cast direction) is seeded without it.
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"corruptions take HxWx3 uint8 RGB images, got {image.dtype} {image.shape}")
    item_rng = np.random.default_rng(seed_for(dataset, item_id, corruption))
    frame_rng = item_rng if frame is None else np.random.default_rng(seed_for(dataset, item_id, corruption, frame))
    out = _FUNCTIONS[corruption.kind](np.ascontiguousarray(image), corruption.params(), item_rng, frame_rng)
    return np.ascontiguousarray(out, dtype=np.uint8)


# -- the table as documentation ----------------------------------------------------------------
TABLE_BEGIN = "<!-- corruption-table:begin (generated by mattebench.data.corrupt.table_markdown; do not edit) -->"
TABLE_END = "<!-- corruption-table:end -->"


def table_markdown() -> str:
    """The parameter table as markdown (docs/robustness.md holds this text between the markers)."""
    lines = [f"Table version `{TABLE_VERSION}`; blur lengths are px at {REFERENCE_SIZE} px, scaled by min(h, w) / {REFERENCE_SIZE}.", "",
             "| Kind | Parameter | Unit | 1 | 2 | 3 | 4 | 5 | What it does | Source |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for k in CORRUPTIONS:
        for i, p in enumerate(k.params):
            vals = " | ".join(f"{v:g}" for v in p.values)
            what, src = (k.description, k.source) if i == 0 else ("", "")
            lines.append(f"| {'`' + k.name + '`' if i == 0 else ''} | {p.name} | {p.unit} | {vals} | {what} | {src} |")
    return "\n".join(lines)
