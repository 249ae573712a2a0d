"""PPM-100, the MODNet paper's Photographic Portrait Matting benchmark (ZHKKKe/PPM).

Layout as distributed: ``PPM-100/image/<name>.jpg`` and ``PPM-100/matte/<name>.jpg`` (same
names, Flickr style); the root may hold ``PPM-100/`` or ``image/`` and ``matte/`` directly.
Mattes are JPEG (never exactly 0/255): read as one 8-bit channel. No trimaps ship: trimap-based
methods get the shared deterministic recipe's trimap (``metadata["trimap_source"]``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from mattebench.data.base import PairedFolderDataset, find_dir, not_found
from mattebench.types import DatasetCard


class PPM100(PairedFolderDataset):
    card = DatasetCard(
        name="ppm100",
        kind="image",
        protocols=("whole",),
        primary_metric="mse_whole",
        paper="Ke et al. MODNet: Real-Time Trimap-Free Portrait Matting via Objective Decomposition. AAAI 2022.",
        url="https://github.com/ZHKKKe/PPM (Google Drive / Baidu links in its README)",
        licence="images: Flickr CC (commercial use allowed); mattes: CC BY-NC-SA 4.0",
        layout="PPM-100/image/<name>.jpg\nPPM-100/matte/<name>.jpg",
        notes="100 portraits, 1080p to 4K, whole-image MSE/MAD as in the MODNet paper. A few images were replaced "
        "after the paper: numbers are close to, not exactly, the paper's. Trimaps are generated from the GT by the "
        "shared recipe for trimap-based methods.",
    )
    expected_count = 100

    def __init__(self, root: Optional[str | os.PathLike[str]] = None, exif: str = "auto") -> None:
        super().__init__(root, exif=exif)

    def _locate(self) -> tuple[Path, Path, Optional[Path]]:
        base = find_dir(self.root, ("PPM-100", "", "PPM-100/PPM-100"), ["image"])
        if base is None:
            raise not_found(self.card, self.root, "no PPM-100/image folder")
        if not (base / "matte").is_dir():
            raise not_found(self.card, self.root, f"the matte folder {base / 'matte'} is missing")
        return base / "image", base / "matte", None
