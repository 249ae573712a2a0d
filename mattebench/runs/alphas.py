"""Stored predictions (``run --save-alphas``): written as 16-bit PNGs while a run scores, and read back by
the reports (never by predicting).

``run --save-alphas [IDS|all]``: the predictions of a run, stored as 16-bit PNGs in its folder.

Every prediction of such a run is rounded to what a 16-bit PNG holds (``round(65535 a) / 65535``,
at most 7.6e-6 from the float) *before* it is scored, so the stored files are exactly what was
scored: scoring ``<run>/alphas/`` with ``run --predictions`` gives the run's numbers to the last digit.
The rounding is part of the run's identity (a resume never mixes rounded and unrounded rows).
Files: ``<run>/alphas/<id>.png``; clip frames ``<run>/alphas/<clip id>/<frame>.png``.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Mapping, Optional, Sequence, Union

import numpy as np

from mattebench.data.io import quantise16, read_prediction, write_alpha16
from mattebench.errors import MattebenchError
from mattebench.files import inside
from mattebench.runs.record import RunRecord, as_record

ALPHAS_DIR = "alphas"
FORMAT = "16-bit grey PNG, value round(65535 * alpha); predictions rounded so before scoring"


@dataclass(frozen=True)
class AlphaSelection:
    """Which ids to store: every one (``all``) or the listed ones (clip ids store all their frames)."""

    ids: Optional[frozenset[str]]  # None = all

    @classmethod
    def parse(cls, spec: Union[str, Sequence[str], None]) -> Optional["AlphaSelection"]:
        if spec is None or spec is False:
            return None
        if spec is True or (isinstance(spec, str) and spec.strip().lower() in ("", "all")):
            return cls(None)
        items = spec.split(",") if isinstance(spec, str) else list(spec)
        ids = frozenset(i.strip() for i in items if str(i).strip())
        if not ids:
            raise MattebenchError("--save-alphas: give 'all' or comma-separated sample ids")
        return cls(ids)

    def wants(self, pred_id: str) -> bool:
        return self.ids is None or pred_id in self.ids or pred_id.split("/", 1)[0] in self.ids

    def describe(self) -> Any:
        return "all" if self.ids is None else sorted(self.ids)


class AlphaSink:
    """The scorer's hook (``Scorer.alpha_sink``): round, store the selected ids, hand back what was stored."""

    def __init__(self, run_dir: Path, selection: AlphaSelection):
        self.dir = Path(run_dir) / ALPHAS_DIR
        self.selection = selection

    def keep(self, pred_id: str, alpha: np.ndarray) -> np.ndarray:
        q = quantise16(alpha)
        if self.selection.wants(pred_id):
            write_alpha16(self.dir / f"{pred_id}.png", q)
        return q

    def record(self) -> dict[str, Any]:
        return {"dir": ALPHAS_DIR, "format": FORMAT, "ids": self.selection.describe()}

    def unknown_ids(self, ids: Sequence[str]) -> list[str]:
        if self.selection.ids is None:
            return []
        return sorted(self.selection.ids - set(ids))


# ----------------------------------------------------------------------------------------------------
# The predictions a run stored with ``run --save-alphas``, as a report reads them (never by predicting).
#
# A run made with ``--save-alphas [IDS|all]`` records in ``provenance.saved_alphas`` the folder (relative
# to the run folder), the format and which ids it kept; its files are 16-bit grey PNGs
# ``<run>/<dir>/<id>.png`` holding exactly the alpha that was scored (the run rounds each prediction to
# 16 bits *before* scoring). This module finds and reads them for figures. It does not import the
# writer's module (:mod:`mattebench.runs.alphas` belongs to the scorer): the record says where the
# files are, and :func:`mattebench.data.io.read_prediction` reads them.
#
# Every way a stored alpha can be missing is a reason in words, for the figure's placeholder panel:
# the run stored none, it stored other ids, the file is gone, unreadable, or of another size than
# the image.
# ----------------------------------------------------------------------------------------------------

RecordLike = Union[RunRecord, Mapping[str, Any]]


@dataclass(frozen=True)
class StoredAlpha:
    """One sample's stored alpha (HxW float32, as scored), or None with the reason."""

    alpha: Optional[np.ndarray]
    reason: str = ""


@dataclass(frozen=True)
class StoredAlphas:
    """Where one run's stored alphas are and which ids it kept (``ids`` None: every id)."""

    run: str
    folder: Path
    ids: Optional[frozenset[str]]

    def kept(self, sample_id: str) -> bool:
        """The run was asked to store this id (a clip id keeps every frame below it)."""
        return self.ids is None or sample_id in self.ids or sample_id.split("/", 1)[0] in self.ids

    def path(self, sample_id: str) -> Optional[Path]:
        """``<folder>/<id>.png``; None for an id that would lead outside the folder."""
        rel = PurePosixPath(f"{sample_id}.png")
        if rel.is_absolute() or ".." in rel.parts or "\\" in sample_id:
            return None
        p = self.folder.joinpath(*rel.parts)
        return p if inside(self.folder, p) else None

    def load(self, sample_id: str, shape: Optional[Sequence[int]] = None) -> StoredAlpha:
        """The stored alpha of ``sample_id``, checked against the image size ``shape`` (H, W) when given."""
        if not self.kept(sample_id):
            return StoredAlpha(None, f"{self.run} stored alphas only for {_ids_text(self.ids)}, not {sample_id}")
        p = self.path(sample_id)
        if p is None:
            return StoredAlpha(None, f"sample id {sample_id!r} is not a file name inside {self.folder}")
        if not p.exists():
            return StoredAlpha(None, f"stored alpha {p} is missing (the sample failed, or the file was removed)")
        try:
            a = read_prediction(p)
        except MattebenchError as exc:
            return StoredAlpha(None, f"stored alpha unreadable: {exc}")
        if shape is not None and tuple(a.shape) != tuple(shape[:2]):
            return StoredAlpha(None, f"stored alpha {p} is {a.shape[0]}x{a.shape[1]}, the image {shape[0]}x{shape[1]}")
        return StoredAlpha(a)


def _ids_text(ids: Optional[frozenset[str]]) -> str:
    if ids is None:
        return "every id"
    shown = sorted(ids)
    return ", ".join(shown[:5]) + (f" and {len(shown) - 5} more" if len(shown) > 5 else "")


def stored_alphas(record: RecordLike) -> Optional[StoredAlphas]:
    """The stored alphas of a run; None when it was not made with ``--save-alphas`` (or its record names
    a folder outside the run folder, which a report never reads)."""
    r = as_record(record)
    saved = r.provenance.saved_alphas
    if not saved or not r.run_dir:
        return None
    rel = PurePosixPath(str(saved.get("dir") or ""))
    if not rel.parts or rel.is_absolute() or ".." in rel.parts:
        return None
    run_dir = Path(r.run_dir)
    folder = run_dir.joinpath(*rel.parts)
    if not inside(run_dir, folder):
        return None
    ids = saved.get("ids", "all")
    chosen = None if ids == "all" or ids is None else frozenset(str(i) for i in ids)
    return StoredAlphas(r.name, folder, chosen)


def rerun_command(record: RecordLike, ids: Sequence[str]) -> str:
    """The command that makes this run again with its predictions stored for ``ids``.

    ``--fresh``: a run with stored alphas rounds every prediction to 16 bits before scoring, so its rows
    are not those of a run without; mixing them in one folder is refused by the store.
    """
    r = as_record(record)
    words = ["mattebench", "run", "--method", r.method, "--dataset", r.dataset]
    s = r.settings
    if s.data_root:
        words += ["--data-root", s.data_root]
    for k, v in sorted(s.method_options.items()):
        if k != "device":
            words += ["-m", f"{k}={v}"]
    if s.method_options.get("device"):
        words += ["--device", str(s.method_options["device"])]
    for k, v in sorted(s.dataset_options.items()):
        words += ["-d", f"{k}={v}"]
    if s.limit is not None:
        words += ["--limit", str(s.limit)]
    if r.tag:
        words += ["--tag", r.tag]
    if r.run_dir:
        words += ["--out", str(Path(r.run_dir).parent.parent)]
    words += ["--save-alphas", ",".join(ids) if ids else "all", "--fresh"]
    return " ".join(shlex.quote(w) for w in words)
