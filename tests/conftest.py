"""Shared fixtures: tiny in-memory datasets and methods honouring the contracts."""

from __future__ import annotations

import hashlib
import os
from typing import Optional

# The environment this process's BLAS/OpenMP libraries start with (read before numpy loads them): see
# same_thread_settings.
ENV_AT_START = dict(os.environ)

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

from mattebench.data.trimap import trimap_from_alpha
from mattebench.errors import SampleError
from mattebench.types import Clip, DatasetCard, Sample


def disc_sample(i: int, h: int = 40, w: int = 32) -> Sample:
    """A soft disc on a gradient background; alpha is exactly k/255."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    r = np.hypot(yy - h / 2 - i % 3, xx - w / 2)
    a8 = np.clip(np.round((10.0 + i % 4 - r) / 4.0 * 255), 0, 255).astype(np.uint8)
    fg = np.zeros((h, w, 3), np.uint8)
    fg[..., 0] = 200
    fg[..., 1] = 120 + i
    bg = np.zeros((h, w, 3), np.uint8)
    bg[..., 2] = (xx * 255 / w).astype(np.uint8)
    a = a8.astype(np.float64)[..., None] / 255.0
    img = (a * fg + (1 - a) * bg).astype(np.uint8)
    alpha = a8.astype(np.float32) / np.float32(255)
    return Sample(id=f"s{i:02d}", image=img, alpha=alpha, trimap=trimap_from_alpha(a8), fg=fg, bg=bg,
                  metadata={"image_path": f"/fake/image/s{i:02d}.png"})


class TinyVideo:
    """``n`` clips of ``frames`` frames of 24x20 (moving discs), every frame annotated: the video dataset of the
    executor plug-ins (a subclass gives its card). With ``stamp``, pixel (0, 0) of each frame holds
    (frame, clip), so that a test can check the order frames reached the method in."""

    card = DatasetCard(name="tiny-video", kind="video", protocols=("whole", "unknown"), needs_root=False)
    stamp = False

    def __init__(self, root: Optional[str] = None, n: int = 3, frames: int = 3) -> None:
        self.n, self.frames = n, frames

    def ids(self) -> list[str]:
        return [f"c{i}" for i in range(self.n)]

    def __len__(self) -> int:
        return self.n

    def fingerprint(self) -> str:
        return hashlib.sha256(f"{self.card.name}-{self.n}-{self.frames}".encode()).hexdigest()

    def load(self, id: str) -> Clip:
        c = int(id[1:])
        frames, alphas, trimaps = [], {}, {}
        for t in range(self.frames):
            s = disc_sample(c + t, h=24, w=20)
            img = s.image.copy() if self.stamp else s.image
            if self.stamp:
                img[0, 0, 0], img[0, 0, 1] = t, c
            frames.append(img)
            alphas[t] = s.alpha
            trimaps[t] = trimap_from_alpha(s.alpha)
        return Clip(id=id, frames=frames, alphas=alphas, trimaps=trimaps)


class TinyDataset:
    """An in-memory dataset; ``bad`` maps ids to the kind of damage to simulate."""

    card = DatasetCard(name="tiny", protocols=("whole", "unknown"), primary_metric="mse_whole", needs_root=False)

    def __init__(self, root: Optional[str] = None, n: int = 6, bad: Optional[dict[str, str]] = None):
        self.n = n
        self.bad = bad or {}

    def ids(self) -> list[str]:
        return [f"s{i:02d}" for i in range(self.n)]

    def __len__(self) -> int:
        return self.n

    def fingerprint(self) -> str:
        return hashlib.sha256(f"tiny-{self.n}-{sorted(self.bad.items())}".encode()).hexdigest()

    def load(self, id: str) -> Sample:
        s = disc_sample(int(id[1:]))
        kind = self.bad.get(id)
        if kind == "corrupt":
            raise SampleError("cannot decode image (truncated file)", path=f"/fake/image/{id}.png")
        if kind == "missing-alpha":
            s.alpha = None
        if kind == "mismatch":
            s.alpha = s.alpha[:-3]
        return s


@pytest.fixture
def tiny():
    return TinyDataset()


@pytest.fixture
def same_thread_settings():
    """For tests that compare worker rows (--jobs, Ray) with serial rows bit for bit: another split of a BLAS or torch
    reduction rounds differently, so both sides must compute with the same thread settings, on any machine. Workers
    get the driver's environment and torch thread count; this makes those the driver's own by construction: the
    thread variables are still the ones this process's libraries started with (no earlier test left them changed),
    and torch computes on one thread here, so the workers do too."""
    import torch

    from mattebench.runs.executors.ray import (
        THREAD_VARS,  # the variables workers are given
    )

    now, start = ({k: env.get(k) for k in THREAD_VARS} for env in (os.environ, ENV_AT_START))
    assert now == start, f"thread settings changed since the libraries loaded: {now} != {start}"

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
