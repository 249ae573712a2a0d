"""P3M-500-P and P3M-500-NP, the validation sets of P3M-10k (Li et al. 2021, privacy-preserving).

Layout as distributed::

    P3M-10k/validation/P3M-500-P/{blurred_image/<name>.jpg, mask/<name>.png, trimap/<name>.png}
    P3M-10k/validation/P3M-500-NP/{original_image/<name>.jpg, mask/<name>.png, trimap/<name>.png}

The root may hold ``P3M-10k/``, be ``P3M-10k`` or ``validation``, or be the set folder itself.
Official trimaps give the ``unknown`` protocol; ``whole`` is scored too (P3M's own evaluation
reports whole-image and trimap-region numbers, with its Grad divided by 10: mattebench keeps the
raw DIM units and lets tables scale).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar, Optional

from mattebench.data.base import PairedFolderDataset, find_dir, not_found
from mattebench.types import DatasetCard

_PAPER = "Li, Zhang, Tao et al. Privacy-Preserving Portrait Matting. ACM MM 2021."
_URL = "https://github.com/JizhiziLi/P3M (P3M-10k download form/links in its README)"
_LICENCE = "P3M-10k terms: non-commercial research use only"


class _P3M500(PairedFolderDataset):
    set_name: ClassVar[str] = ""
    image_folder: ClassVar[str] = ""
    expected_count = 500
    trimaps_expected = True

    def __init__(self, root: Optional[str | os.PathLike[str]] = None, trimap_snap: bool = False, exif: str = "auto") -> None:
        super().__init__(root, trimap_snap=trimap_snap, exif=exif)

    def _locate(self) -> tuple[Path, Path, Optional[Path]]:
        s = self.set_name
        base = find_dir(self.root, (f"P3M-10k/validation/{s}", f"validation/{s}", s, ""), [self.image_folder, "mask"])
        if base is None:
            raise not_found(self.card, self.root, f"no {s}/{self.image_folder} and {s}/mask folders")
        trimap = base / "trimap"
        return base / self.image_folder, base / "mask", trimap if trimap.is_dir() else None


def _card(name: str, set_name: str, image_folder: str, what: str) -> DatasetCard:
    """The card of one of the two validation sets (they differ only in folder names and the face blurring)."""
    base = f"P3M-10k/validation/{set_name}"
    return DatasetCard(
        name=name,
        kind="image",
        protocols=("whole", "unknown"),
        primary_metric="sad",
        paper=_PAPER,
        url=_URL,
        licence=_LICENCE,
        layout=f"{base}/{image_folder}/<name>.jpg\n{base}/mask/<name>.png\n{base}/trimap/<name>.png",
        notes=f"500 {what} portraits with official trimaps (unknown protocol) and whole-image MSE/MAD.",
    )


class P3M500P(_P3M500):
    set_name = "P3M-500-P"
    image_folder = "blurred_image"
    card = _card("p3m500-p", set_name, image_folder, "face-blurred")


class P3M500NP(_P3M500):
    set_name = "P3M-500-NP"
    image_folder = "original_image"
    card = _card("p3m500-np", set_name, image_folder, "non-blurred")
