"""Compositing a predicted matte onto a plain background (what `mattebench predict` writes as composites)."""

from __future__ import annotations

import numpy as np

from .errors import MattebenchError

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
