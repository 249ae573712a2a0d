"""Your own images: ``<root>/image/*`` with ``<root>/alpha/*`` (or ``matte/``, ``mask/``), optional
``<root>/trimap/*``, paired by file stem (``a.jpg`` with ``a.png``). Ids are the stems.

Without a trimap folder, trimaps come from the shared deterministic recipe
(:func:`mattebench.data.trimap.trimap_from_alpha`) and ``metadata["trimap_source"]`` says so.
``root=None`` is not meaningful here: pass ``--data-root`` (or ``root=``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from mattebench.data.base import PairedFolderDataset, not_found
from mattebench.errors import DatasetNotFound
from mattebench.types import DatasetCard

ALPHA_FOLDERS = ("alpha", "matte", "mask")


class FolderDataset(PairedFolderDataset):
    card = DatasetCard(
        name="folder",
        kind="image",
        protocols=("whole", "unknown"),
        primary_metric="mse_whole",
        paper="",
        url="(your own files)",
        licence="yours",
        layout="image/<stem>.<ext>\nalpha/<stem>.<ext>   (or matte/, mask/)\ntrimap/<stem>.<ext>   (optional)",
        notes="Any image/alpha folder pair, paired by file stem; trimaps from trimap/ when present, else generated "
        "by the shared recipe.",
    )

    def __init__(self, root: Optional[str | os.PathLike[str]] = None, trimap_snap: bool = False, exif: str = "auto") -> None:
        if root is None:
            raise DatasetNotFound("folder: give the folder that holds image/ and alpha/ (--data-root PATH, or root=PATH)")
        super().__init__(root, trimap_snap=trimap_snap, exif=exif)

    def _locate(self) -> tuple[Path, Path, Optional[Path]]:
        image = self.root / "image"
        if not image.is_dir():
            raise not_found(self.card, self.root, "no image/ folder")
        for name in ALPHA_FOLDERS:
            if (self.root / name).is_dir():
                alpha = self.root / name
                break
        else:
            raise not_found(self.card, self.root, f"no {'/, '.join(ALPHA_FOLDERS)}/ folder beside image/")
        trimap = self.root / "trimap"
        return image, alpha, trimap if trimap.is_dir() else None
