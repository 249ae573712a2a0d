"""``teacher-mix``: a training stream mixing the embedded synthetic portraits (exact ground truth) with
unlabeled real photographs labelled by a real segmentation teacher (pseudo-labels).

Built for issue 17 (a shipped MODNet that is useful on real portraits). Training only: it has no test split
and is never a benchmark.

- With probability ``synthetic_fraction`` an example is ``synthetic``'s training sample of the same index
  (never a test portrait), colour-jittered (image, fg and bg alike) and degraded (blur, resolution loss,
  noise, JPEG: :mod:`mattebench.data.augment`).
- Otherwise it is a photograph: one of the ``photos`` (a folder; with ``take="first:N"`` only the first N by
  sorted stem, i.e. the adaptation half of :mod:`mattebench.data.realsplit`; ``"all"`` for every photo) or,
  with ``skimage=True``, one of scikit-image's bundled photographs (two with people, three without). Its label
  is the teacher's soft mask of the whole photo, computed once; the photo and mask get the same random crop
  and small rotation, the photo alone colour jitter and degradations. ``metadata["pseudo_label"]`` names the
  teacher, so that losses treat the label as a teacher's (MODNet: ``baselines/modnet/training.py: teacher_loss``)
  and never as exact ground truth. No matte file is ever opened.

Every example is a pure function of (seed, index).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Optional

import cv2
import numpy as np

from mattebench.data.augment import degrade, sample_colour, zoom_rotate
from mattebench.data.realsplit import IMAGE_SUFFIXES
from mattebench.data.synthetic import SyntheticDataset
from mattebench.data.teacher import SelfieTeacher
from mattebench.errors import MattebenchError
from mattebench.types import DatasetCard, Sample

# scikit-image photographs: the two with a person are labelled by the teacher; the three without are known
# negatives (mask 0 everywhere), since the selfie teacher calls the cat 88 % and the coffee cup 19 % person.
SKIMAGE_PHOTOS = {"astronaut": "teacher", "camera": "teacher", "coffee": "no person", "chelsea": "no person", "rocket": "no person"}
PHOTO_SHORT_SIDE = 448  # photos are kept at most this size on the short side (the crops are 160-256 px)


def _rng(seed: int, index: int, what: str) -> np.random.Generator:
    key = f"mattebench-teacher-mix|{seed}|{what}|{index}".encode()
    return np.random.default_rng(int.from_bytes(hashlib.sha256(key).digest()[:8], "little"))


def _shrink(img: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    f = PHOTO_SHORT_SIDE / min(h, w)
    if f >= 1:
        return img
    return cv2.resize(img, (int(round(w * f)), int(round(h * f))), interpolation=cv2.INTER_AREA)


def select_photos(folder: str | os.PathLike[str], take: str = "all") -> list[Path]:
    d = Path(folder)
    if not d.is_dir():
        raise MattebenchError(f"teacher-mix: photos folder {d} not found")
    files = sorted((p for p in d.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES), key=lambda p: p.stem)
    if take != "all":
        kind, _, n = str(take).partition(":")
        if kind != "first" or not n.isdigit():
            raise MattebenchError(f"teacher-mix: take={take!r}: give 'all' or 'first:N'")
        files = files[: int(n)]
    if not files:
        raise MattebenchError(f"teacher-mix: no photos in {d}")
    return files


class TeacherMixStream:
    card = DatasetCard(
        name="teacher-mix",
        kind="image",
        protocols=(),
        primary_metric="mse_whole",
        paper="mattebench (issue 17): synthetic portraits + teacher-labelled real photographs, for training only",
        url="",
        licence="synthetic: mattebench; photographs: the licences of the folder given; teacher: its own licence",
        layout="photos=FOLDER of unlabeled photographs, teacher=selfie_segmentation.tflite",
        needs_root=False,
        notes="A training stream; no test split. Pseudo-labelled samples carry metadata['pseudo_label'].",
    )

    def __init__(self, root: Optional[str] = None, photos: Optional[str] = None, take: str = "all",
                 teacher: Optional[str] = None, synthetic_fraction: float = 0.5, skimage: bool = True, seed: int = 0) -> None:
        del root
        if teacher is None:
            raise MattebenchError("teacher-mix needs -d teacher=PATH/selfie_segmentation.tflite")
        self.seed = int(seed)
        self.synthetic_fraction = float(synthetic_fraction)
        self.synthetic = SyntheticDataset(split="train", seed=self.seed)
        self.teacher = SelfieTeacher(teacher)
        self.sources: list[tuple[str, object]] = []
        if photos:
            self.sources += [(p.stem, p) for p in select_photos(photos, take)]
        if str(skimage).lower() not in ("0", "false", "no", "off"):
            self.sources += [(f"skimage-{n}", n) for n in SKIMAGE_PHOTOS]
        self.labels = {name: SKIMAGE_PHOTOS.get(str(src), "teacher") if not isinstance(src, Path) else "teacher" for name, src in self.sources}
        if not self.sources and self.synthetic_fraction < 1:
            raise MattebenchError("teacher-mix: no photographs (give -d photos=FOLDER or keep skimage=true)")
        self._cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def ids(self) -> list[str]:
        return [name for name, _ in self.sources]

    def fingerprint(self) -> str:
        key = "|".join([str(self.seed), str(self.synthetic_fraction), self.teacher.name] + self.ids())
        return hashlib.sha256(key.encode()).hexdigest()[:16]

    def _photo(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        if k not in self._cache:
            _, src = self.sources[k]
            if isinstance(src, Path):
                bgr = cv2.imread(str(src), cv2.IMREAD_COLOR)
                if bgr is None:
                    raise MattebenchError(f"teacher-mix: cannot read {src}")
                img = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            else:
                from mattebench.data.backgrounds import load_photo

                img = load_photo(str(src))  # scikit-image's bundled photographs, read from the package
            img = _shrink(np.ascontiguousarray(img[..., :3]))
            label = self.teacher.mask(img) if self.labels[self.sources[k][0]] == "teacher" else np.zeros(img.shape[:2], np.float32)
            self._cache[k] = (img, label)
        return self._cache[k]

    def training_sample(self, index: int) -> Sample:
        rng = _rng(self.seed, index, "kind")
        colour = sample_colour(rng)
        if not self.sources or rng.random() < self.synthetic_fraction:
            s = self.synthetic.training_sample(index)
            img = degrade(colour.apply(s.image), rng)
            meta = {**s.metadata, "augment": "colour+degrade"}
            fg = colour.apply(s.fg) if s.fg is not None else None
            bg = colour.apply(s.bg) if s.bg is not None else None
            return Sample(id=s.id, image=img, alpha=s.alpha, fg=fg, bg=bg, metadata=meta)
        k = int(rng.integers(0, len(self.sources)))
        photo, mask = self._photo(k)
        photo, mask = zoom_rotate([photo, mask], rng)
        img = degrade(colour.apply(photo), rng)
        label = self.labels[self.sources[k][0]]
        meta = {"photo": self.sources[k][0], "pseudo_label": self.teacher.name if label == "teacher" else label}
        return Sample(id=f"photo-{self.sources[k][0]}-{index}", image=img, alpha=np.clip(mask, 0, 1).astype(np.float32), metadata=meta)
