"""AIM-500 (Li et al. 2021, Automatic Image Matting benchmark).

Layout as distributed: ``AIM-500/original/o_<hex>.jpg``, ``AIM-500/mask/o_<hex>.png``,
``AIM-500/trimap/o_<hex>.png`` (plus ``usr/`` and a category file, unused here). Pairs by stem.
100 of the 500 images are portraits; this loader scores all 500 as the paper does.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from mattebench.data.base import PairedFolderDataset, find_dir, not_found
from mattebench.types import DatasetCard


class AIM500(PairedFolderDataset):
    card = DatasetCard(
        name="aim500",
        kind="image",
        protocols=("whole", "unknown"),
        primary_metric="sad",
        paper="Li, Zhang, Tao. Deep Automatic Natural Image Matting. IJCAI 2021.",
        url="https://github.com/JizhiziLi/AIM (download links in its README)",
        licence="AIM-500 terms: non-commercial research use only",
        layout="AIM-500/original/<name>.jpg\nAIM-500/mask/<name>.png\nAIM-500/trimap/<name>.png",
        notes="500 natural images (100 portraits), official trimaps for the unknown protocol, whole-image MSE/MAD too. "
        "The paper's own Grad is divided by 10: mattebench keeps raw DIM units.",
    )
    expected_count = 500
    trimaps_expected = True

    def __init__(self, root: Optional[str | os.PathLike[str]] = None, trimap_snap: bool = False, exif: str = "auto") -> None:
        super().__init__(root, trimap_snap=trimap_snap, exif=exif)

    def _locate(self) -> tuple[Path, Path, Optional[Path]]:
        base = find_dir(self.root, ("AIM-500", "", "AIM-500/AIM-500"), ["original", "mask"])
        if base is None:
            raise not_found(self.card, self.root, "no AIM-500/original and AIM-500/mask folders")
        trimap = base / "trimap"
        return base / "original", base / "mask", trimap if trimap.is_dir() else None
