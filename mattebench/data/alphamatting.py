"""alphamatting.com training set (Rhemann et al. 2009): 27 images, two trimaps each.

Layout as distributed (the low-resolution zips; ``-d resolution=highres`` for the others)::

    input_training_lowres/GT01.png ... GT27.png
    gt_training_lowres/GT01.png                   RGB with R == G == B: read as one channel
    trimap_training_lowres/Trimap1/GT01.png       palette PNG: read as grey values 0/128/255
    trimap_training_lowres/Trimap2/GT01.png

``-d trimap=1`` (default, the small unknown band) or ``-d trimap=2`` (the large one).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from mattebench.data.base import PairedFolderDataset, find_dir, not_found
from mattebench.errors import DatasetNotFound
from mattebench.types import DatasetCard


class AlphaMatting(PairedFolderDataset):
    card = DatasetCard(
        name="alphamatting",
        kind="image",
        protocols=("unknown",),
        primary_metric="sad",
        paper="Rhemann et al. A Perceptually Motivated Online Benchmark for Image Matting. CVPR 2009.",
        url="http://www.alphamatting.com/datasets.php (input_training_lowres.zip, gt_training_lowres.zip, trimap_training_lowres.zip)",
        licence="no licence stated: research use only, do not redistribute",
        layout="input_training_lowres/GT01.png ...\ngt_training_lowres/GT01.png ...\n"
        "trimap_training_lowres/Trimap1/GT01.png ...\ntrimap_training_lowres/Trimap2/GT01.png ...",
        notes="27 training images with ground truth; -d trimap=1|2 picks the small or large trimap (default 1). "
        "Scored with the unknown protocol (SAD, MSE, Grad, Conn) per trimap.",
    )
    expected_count = 27
    trimaps_expected = True

    def __init__(self, root: Optional[str | os.PathLike[str]] = None, trimap: int = 1, resolution: str = "lowres",
                 trimap_snap: bool = False, exif: str = "auto") -> None:
        if str(trimap) not in ("1", "2"):
            raise DatasetNotFound(f"alphamatting: trimap must be 1 or 2, got {trimap!r}")
        if resolution not in ("lowres", "highres"):
            raise DatasetNotFound(f"alphamatting: resolution must be 'lowres' or 'highres', got {resolution!r}")
        self.trimap_choice = int(trimap)
        self.resolution = resolution
        super().__init__(root, trimap_snap=trimap_snap, exif=exif)
        self.options = {"trimap": self.trimap_choice, "resolution": resolution, **self.options}

    # The official trimap_training_lowres.zip ships Trimap1/GT12C.png, a trimap of a 3-row-shorter crop of GT12
    # with no image of its own: a known stray file, noted and ignored rather than failing every check.
    KNOWN_STRAYS = ("GT12C",)

    def _index(self) -> None:
        super()._index()
        for stem in self.KNOWN_STRAYS:
            stray = [p for p in self.problems if f"/{stem}." in p and "has no image" in p]
            for p in stray:
                self.problems.remove(p)
                self.notes.append(f"ignored a known stray file of the official download: {p.split(' has no image')[0]}")

    def _locate(self) -> tuple[Path, Path, Optional[Path]]:
        r = self.resolution
        base = find_dir(self.root, ("", "alphamatting", "alphamatting.com"), [f"input_training_{r}"])
        if base is None:
            raise not_found(self.card, self.root, f"no input_training_{r} folder")
        gt = base / f"gt_training_{r}"
        if not gt.is_dir():
            raise not_found(self.card, self.root, f"the ground-truth folder {gt} is missing (gt_training_{r}.zip)")
        tri = base / f"trimap_training_{r}" / f"Trimap{self.trimap_choice}"
        if not tri.is_dir():
            raise not_found(self.card, self.root, f"the trimap folder {tri} is missing (trimap_training_{r}.zip)")
        return base / f"input_training_{r}", gt, tri
