"""Freezing a dataset's verified generated-trimap hashes into the packaged manifest (`mattebench data check --freeze`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import MattebenchError


class FreezeError(MattebenchError):
    """The hashes cannot be frozen: no manifest (exit 2), or the packaged manifest is not writable (exit 1)."""

    def __init__(self, message: str, exit_code: int = 2):
        super().__init__(message)
        self.exit_code = exit_code


def freeze_trimaps(name: str, dataset: Any) -> tuple[Path, int]:
    """Write the generated-trimap hashes of the opened dataset ``name`` into the packaged manifest: (its path,
    hashes frozen). The command opens the dataset (a dataset module never looks names up in the registry).

    Run it after a good deep check only: the hashes frozen are those the check generated and verified.
    """
    manifest = getattr(dataset, "manifest", None)
    if manifest is None:
        raise FreezeError(f"{name} has no generated-trimap manifest to freeze", exit_code=2)
    try:
        path = manifest.freeze_into_package()
    except OSError as exc:
        raise FreezeError(f"cannot write the packaged manifest ({exc}); run from an editable checkout", exit_code=1) from exc
    return path, manifest.frozen_count()
