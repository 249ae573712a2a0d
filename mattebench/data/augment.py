"""Photometric and degradation augmentation for training images (issue 17: make synthetic-trained models
see what real photographs look like).

Every draw comes from the caller's ``numpy.random.Generator``, so a training example stays a pure function
of its index. Colour changes are applied identically to the image and to its true foreground and
background (so the compositional loss stays consistent); blur, resolution loss, sensor noise and JPEG are
camera degradations of the photograph alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import cv2
import numpy as np


@dataclass(frozen=True)
class ColourJitter:
    gains: tuple[float, float, float]  # white balance, per RGB channel
    brightness: float  # added, in [0, 1] units
    contrast: float  # around the mean grey
    saturation: float  # 0 = grey, 1 = unchanged
    gamma: float

    def apply(self, rgb8: np.ndarray) -> np.ndarray:
        x = rgb8.astype(np.float32) / 255.0
        x = x * np.asarray(self.gains, np.float32)
        grey = x.mean(axis=2, keepdims=True)
        x = grey + (x - grey) * self.saturation
        x = (x - 0.5) * self.contrast + 0.5 + self.brightness
        x = np.clip(x, 0.0, 1.0) ** self.gamma
        return np.clip(x * 255.0 + 0.5, 0, 255).astype(np.uint8)


def sample_colour(rng: np.random.Generator) -> ColourJitter:
    return ColourJitter(
        gains=tuple(float(g) for g in rng.uniform(0.85, 1.15, 3)),  # type: ignore[arg-type]
        brightness=float(rng.uniform(-0.08, 0.08)),
        contrast=float(rng.uniform(0.75, 1.25)),
        saturation=float(rng.uniform(0.6, 1.3)),
        gamma=float(np.exp(rng.uniform(np.log(0.75), np.log(1.35)))),
    )


def degrade(rgb8: np.ndarray, rng: np.random.Generator, p: float = 0.4) -> np.ndarray:
    """Camera degradations, each with probability ``p``: Gaussian blur (sigma 0.4-1.4 px), resolution loss
    (down 0.45-0.85x, back up bilinearly), Gaussian sensor noise (sigma 1-6 of 255), JPEG (quality 35-90)."""
    img = np.ascontiguousarray(rgb8)
    h, w = img.shape[:2]
    if rng.random() < p:
        img = cv2.GaussianBlur(img, (0, 0), float(rng.uniform(0.4, 1.4)))
    if rng.random() < p:
        f = float(rng.uniform(0.45, 0.85))
        small = cv2.resize(img, (max(8, int(w * f)), max(8, int(h * f))), interpolation=cv2.INTER_AREA)
        img = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    if rng.random() < p:
        noise = rng.normal(0.0, float(rng.uniform(1.0, 6.0)), img.shape)
        img = np.clip(img.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    if rng.random() < p:
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(35, 91))])
        if ok:
            img = cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    return img


def zoom_rotate(arrays: list[np.ndarray], rng: np.random.Generator, scale: tuple[float, float] = (0.55, 1.0),
                max_angle: float = 8.0) -> list[np.ndarray]:
    """The same random crop (``scale`` of each side, aspect kept, anywhere) and small rotation of several
    aligned arrays (a photo and its mask). Rotation borders replicate the edge pixels."""
    h, w = arrays[0].shape[:2]
    s = float(rng.uniform(*scale))
    ch, cw = max(16, int(h * s)), max(16, int(w * s))
    y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    angle = float(rng.uniform(-max_angle, max_angle))
    rot: Optional[np.ndarray] = cv2.getRotationMatrix2D((cw / 2, ch / 2), angle, 1.0) if abs(angle) > 0.5 else None
    out = []
    for a in arrays:
        c = np.ascontiguousarray(a[y : y + ch, x : x + cw])
        if rot is not None:
            c = cv2.warpAffine(c, rot, (cw, ch), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        out.append(c)
    return out
