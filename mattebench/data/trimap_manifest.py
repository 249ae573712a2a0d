"""Frozen manifests of generated evaluation trimaps, and freezing a dataset's verified hashes into them.

Frozen manifests for generated evaluation trimaps (Distinctions-646 ships none).

What is frozen, since the data itself cannot ship with mattebench:

1. The recipe identity, in the packaged manifest ``mattebench/data/manifests/<name>.json``: the
   recipe name and rule text of :mod:`mattebench.data.trimap`. A loader refuses to run when the
   code's recipe differs from the packaged one (numbers would silently change).
2. Per-file hashes: for each ground-truth file (keyed by the sha256 of its bytes) the sha256 of
   the trimap generated from it. The packaged manifest may carry them (a maintainer with the data
   fills them with ``mattebench data check d646 --freeze``); otherwise the first load records
   them in the user's manifest (``$MATTEBENCH_CACHE/manifests/<name>.json``, or the path given
   by the dataset's ``trimap_manifest`` option). Every later load regenerates the trimap and
   compares: a different trimap for the same ground truth (a new OpenCV, an edited recipe) is a
   SampleError, never a silent change of the benchmark.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Optional

import numpy as np

from mattebench.data.base import cache_dir
from mattebench.data.trimap import describe
from mattebench.errors import (
    DatasetNotFound,
    FreezeError,
    NotRegularFile,
    SampleError,
    StoreError,
)
from mattebench.files import atomic_write_text, sha256_file

PACKAGED = Path(__file__).resolve().parent / "manifests"


def trimap_sha256(trimap: np.ndarray) -> str:
    """Hash of a trimap's pixels and shape (independent of any file encoding)."""
    h = hashlib.sha256(f"{trimap.shape[0]}x{trimap.shape[1]}|".encode())
    h.update(np.ascontiguousarray(trimap, dtype=np.uint8).tobytes())
    return h.hexdigest()


class TrimapManifest:
    """Packaged recipe + frozen hashes, and the user's manifest that grows on first loads."""

    def __init__(self, name: str, user_path: Optional[Path] = None):
        self.name = name
        packaged_path = PACKAGED / f"{name}.json"
        if not packaged_path.is_file():
            raise DatasetNotFound(f"the packaged trimap manifest {packaged_path} is missing: reinstall mattebench")
        self.packaged = json.loads(packaged_path.read_text(encoding="utf-8"))
        recipe = describe()
        frozen_recipe = self.packaged.get("trimap_recipe", {})
        if frozen_recipe.get("name") != recipe["name"] or frozen_recipe.get("rule") != recipe["rule"]:
            raise DatasetNotFound(
                f"{name}: the trimap recipe in the code ({recipe['name']}) differs from the frozen manifest "
                f"({frozen_recipe.get('name')}); scores would not compare with earlier runs. Restore the recipe "
                f"or publish a new manifest version."
            )
        self.recipe = recipe
        self.user_path = user_path or cache_dir() / "manifests" / f"{name}-{recipe['name']}.json"
        self._user: Optional[dict[str, Any]] = None

    @property
    def identity(self) -> str:
        """Short hash of the packaged manifest (recipe + frozen table), for provenance."""
        return hashlib.sha256(json.dumps(self.packaged, sort_keys=True).encode()).hexdigest()[:16]

    def _user_table(self) -> dict[str, Any]:
        if self._user is None:
            self._user = {}
            if self.user_path.is_file():
                try:
                    self._user = json.loads(self.user_path.read_text(encoding="utf-8")).get("trimaps", {})
                except (OSError, ValueError):
                    self._user = {}  # a torn file is rebuilt; the packaged table still guards
        return self._user

    def expected(self, gt_sha: str) -> Optional[dict[str, str]]:
        return self.packaged.get("trimaps", {}).get(gt_sha) or self._user_table().get(gt_sha)

    def verify(self, gt_path: Path, gt_sha: str, trimap: np.ndarray, sample_id: str) -> str:
        """Compare with the frozen hash, or freeze it; returns the trimap's hash."""
        th = trimap_sha256(trimap)
        want = self.expected(gt_sha)
        if want is None:
            self._user_table()[gt_sha] = {"name": gt_path.name, "trimap_sha256": th}
            self._save()
        elif want["trimap_sha256"] != th:
            raise SampleError(
                f"the generated trimap differs from the frozen one for this ground truth ({th[:12]} != {want['trimap_sha256'][:12]}, "
                f"recipe {self.recipe['name']}): the trimap code or OpenCV changed, so scores would not compare. "
                f"Pin the earlier version, or delete {self.user_path} to refreeze on purpose",
                path=str(gt_path),
                sample_id=sample_id,
            )
        return th

    def _save(self) -> None:
        data = {"dataset": self.name, "trimap_recipe": self.recipe, "trimaps": dict(sorted(self._user_table().items()))}
        try:
            self.user_path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.user_path, json.dumps(data, indent=1, sort_keys=True))  # never through a link
        except (OSError, StoreError):
            pass  # a read-only cache (or a link planted in it) only loses the freeze, never the run

    def frozen_count(self) -> int:
        return len(self.packaged.get("trimaps", {})) + len(self._user_table())

    def freeze_into_package(self) -> Path:
        """Copy the user's table into the packaged manifest (maintainers, ``data check --freeze``)."""
        path = PACKAGED / f"{self.name}.json"
        data = dict(self.packaged)
        table = dict(data.get("trimaps", {}))
        table.update(self._user_table())
        data["trimaps"] = dict(sorted(table.items()))
        path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        return path


def file_sha256(path: Path) -> str:
    """:func:`mattebench.environment.sha256_file`, an unreadable file being a sample error."""
    try:
        return sha256_file(path)
    except NotRegularFile as exc:
        raise SampleError(f"is {exc.kind}, not a regular file", path=str(path)) from exc
    except OSError as exc:
        raise SampleError(f"cannot read ({exc})", path=str(path)) from exc


# ----------------------------------------------------------------------------------------------------
# Freezing a dataset's verified generated-trimap hashes into the packaged manifest (`mattebench data check --freeze`).
# ----------------------------------------------------------------------------------------------------


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
