"""Training batches: sample selection, crops/resizes, flips and the training trimaps.

Every batch is a pure function of (seed, step): resuming after an interruption gives the same batches
as an uninterrupted run, and batches can be built in worker processes.

Two kinds of data sources:
- a finite dataset (``ids()``/``load(id)``): epochs, each a permutation seeded by (seed, epoch);
- an unbounded stream (a dataset with ``training_sample(index) -> Sample``, deterministic in ``index``).
"""

from __future__ import annotations

import random
import warnings
from typing import Any, Optional

import cv2
import numpy as np
import torch
from scipy.ndimage import grey_dilation, grey_erosion

from mattebench.errors import SampleError, TrainingError
from mattebench.types import Sample

TRIMAP_RECIPE = "modnet-train: fg = alpha >= 0.9, unknown where dilate(alpha > 0, d) != erode(fg, e), d, e = size/256 * U{10..20}"


def training_trimap(
    alpha: np.ndarray, rng: random.Random | np.random.Generator, size: Optional[int] = None, kernels: Optional[tuple[int, int]] = None
) -> np.ndarray:
    """The recipe documented by the MODNet author (issues #58, #74 of ZHKKKe/MODNet), as float {0, 0.5, 1}:

    ``fg = alpha >= 0.9``; ``not_bg = alpha > 0``; square kernels of sides d, e = (size / 256) * randint(10, 20);
    unknown (0.5) wherever ``grey_dilation(not_bg, d) - grey_erosion(fg, e) != 0``.
    The author writes ``size // 256``; for crops under 256 pixels that would give empty kernels, so the
    factor is kept fractional (``max(1, round(size / 256 * r))``), equal to the author's for multiples of 256.
    Every fractional-alpha pixel is unknown (it is in ``not_bg`` and not in the eroded ``fg``).
    ``kernels=(d, e)`` fixes the kernel sides (tests, deterministic use).
    """
    if kernels is None:
        size = int(size or min(alpha.shape))
        randint = rng.integers if isinstance(rng, np.random.Generator) else (lambda a, b: rng.randint(a, b - 1))
        kernels = tuple(max(1, int(round(size / 256 * int(randint(10, 21))))) for _ in range(2))  # type: ignore[assignment]
    d, e = kernels
    fg = (alpha >= 0.9).astype(np.float32)
    not_bg = (alpha > 0).astype(np.float32)
    trimap = fg.copy()
    trimap[(grey_dilation(not_bg, size=(d, d)) - grey_erosion(fg, size=(e, e))) != 0] = 0.5
    return trimap


def _resize(a: np.ndarray, size: int) -> np.ndarray:
    interp = cv2.INTER_AREA if a.shape[0] > size else cv2.INTER_LINEAR
    return cv2.resize(a, (size, size), interpolation=interp)


def crop_and_resize(sample: Sample, size: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """A random square crop (side 75-100 % of the short side, anywhere in the image), resized to
    ``size x size`` (area when shrinking, bilinear when enlarging), flipped left-right half the time.
    Returns float32 arrays in [0, 1]: image/fg/bg HxWx3, alpha and trimap HxW."""
    if sample.alpha is None:
        raise SampleError("training needs a ground-truth alpha and this sample has none", sample_id=sample.id)
    h, w = sample.alpha.shape
    if sample.image.shape[:2] != (h, w):
        raise SampleError(f"image {sample.image.shape[:2]} and alpha {(h, w)} differ in size", sample_id=sample.id)
    side = int(round(min(h, w) * rng.uniform(0.75, 1.0)))
    y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
    flip = bool(rng.random() < 0.5)

    def take(a: np.ndarray) -> np.ndarray:
        a = _resize(np.ascontiguousarray(a[y : y + side, x : x + side]), size)
        return np.ascontiguousarray(a[:, ::-1]) if flip else a

    out = {"image": take(sample.image.astype(np.float32) / 255.0), "alpha": np.clip(take(np.asarray(sample.alpha, np.float32)), 0, 1)}
    if sample.fg is not None and sample.bg is not None:
        out["fg"] = take(sample.fg.astype(np.float32) / 255.0)
        out["bg"] = take(sample.bg.astype(np.float32) / 255.0)
    out["trimap"] = training_trimap(out["alpha"], rng, size)
    if sample.metadata.get("pseudo_label"):  # a teacher's mask, not ground truth (mattebench.data.teacher_mix)
        out["exact"] = np.zeros((1, 1), np.float32)
    return out


def collate(examples: list[dict[str, np.ndarray]]) -> dict[str, torch.Tensor]:
    """Stack to float tensors: image/fg/bg Bx3xHxW, alpha/trimap Bx1xHxW. fg/bg only when every example has them."""
    keys = ["image", "alpha", "trimap"] + [k for k in ("fg", "bg") if all(k in e for e in examples)]
    if any("exact" in e for e in examples):
        # Batches mixing exact ground truth with teacher labels: ``exact`` (Bx1x1x1) says which is which, and
        # pseudo-labelled examples (no true colours) borrow their image as fg/bg so that the stack is whole;
        # losses use fg/bg of exact examples only.
        examples = [{**e, "exact": e.get("exact", np.ones((1, 1), np.float32))} for e in examples]
        if any("fg" in e for e in examples):
            examples = [{"fg": e["image"], "bg": e["image"], **e} for e in examples]
            keys += [k for k in ("fg", "bg") if k not in keys]
        keys.append("exact")
    batch = {}
    for k in keys:
        arr = np.stack([e[k] for e in examples])
        t = torch.from_numpy(arr)
        batch[k] = t.permute(0, 3, 1, 2).contiguous() if t.ndim == 4 else t[:, None]
    return batch


def is_stream(dataset: Any) -> bool:
    return callable(getattr(dataset, "training_sample", None))


class BatchMaker(torch.utils.data.Dataset):
    """Map-style dataset whose item k is training batch k (usable with a DataLoader and workers)."""

    def __init__(self, dataset: Any, size: int, batch: int, seed: int = 0, total_steps: int = 0):
        self.dataset = dataset
        self.size = int(size)
        self.batch = int(batch)
        self.seed = int(seed)
        self.total_steps = int(total_steps)
        self.stream = is_stream(dataset)
        self.ids: list[str] = [] if self.stream else list(dataset.ids())
        if not self.stream and not self.ids:
            raise TrainingError("the training dataset is empty")
        self._perms: dict[int, np.ndarray] = {}
        self.skipped = 0

    def __len__(self) -> int:
        return self.total_steps

    def _sample(self, index: int) -> Sample:
        if self.stream:
            return self.dataset.training_sample(index)
        n = len(self.ids)
        epoch, pos = divmod(index, n)
        if epoch not in self._perms:
            self._perms = {epoch: np.random.default_rng([self.seed, epoch]).permutation(n)}
        item = self.dataset.load(self.ids[self._perms[epoch][pos]])
        if not isinstance(item, Sample):
            raise TrainingError(f"training takes still images; the dataset gave a {type(item).__name__} ({getattr(item, 'id', '?')})")
        return item

    def example(self, index: int) -> dict[str, np.ndarray]:
        """Training example number ``index`` (global over the run); a bad sample is replaced by the next one."""
        for attempt in range(100):
            i = index + attempt * 1_000_003  # far away, so the replacement does not repeat a neighbour
            try:
                sample = self._sample(i)
                return crop_and_resize(sample, self.size, np.random.default_rng([self.seed, i, 1]))
            except SampleError as exc:
                self.skipped += 1
                warnings.warn(f"training: skipped a bad sample ({exc})", stacklevel=2)
        raise TrainingError("100 bad samples in a row: check the dataset with `mattebench data check`")

    def __getitem__(self, step: int) -> dict[str, torch.Tensor]:
        return collate([self.example(step * self.batch + j) for j in range(self.batch)])
