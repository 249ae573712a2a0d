"""The adaptation / evaluation split of a real paired folder (issue 17, section 2).

The pairs are sorted by id (file stem); the first ``n_adapt`` form the adaptation half, whose PHOTOS ONLY may
be used for training or SOC (their mattes are never read), and the rest the evaluation half. For the 41
``ppm100-dev`` pairs: 20 adaptation ids, 21 evaluation ids.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
PPM_DEV_ADAPT = 20


@dataclass(frozen=True)
class RealSplit:
    image_dir: Path
    adapt: tuple[str, ...]
    evaluate: tuple[str, ...]

    def adapt_photos(self) -> list[Path]:
        return [self._photo(i) for i in self.adapt]

    def eval_photos(self) -> list[Path]:
        return [self._photo(i) for i in self.evaluate]

    def _photo(self, stem: str) -> Path:
        return next(p for p in self.image_dir.iterdir() if p.stem == stem and p.suffix.lower() in IMAGE_SUFFIXES)


def split_photos(image_dir: str | os.PathLike[str], n_adapt: int = PPM_DEV_ADAPT) -> RealSplit:
    d = Path(image_dir)
    stems = sorted(p.stem for p in d.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if len(stems) <= n_adapt:
        raise ValueError(f"{d} holds {len(stems)} photos; the split needs more than {n_adapt}")
    return RealSplit(d, tuple(stems[:n_adapt]), tuple(stems[n_adapt:]))
