"""``mattebench data check``: is a downloaded dataset complete and readable?

:func:`check_dataset` opens the dataset (a missing layout is one problem with the download
instructions), takes the problems its index found (unpaired files, wrong counts, short lists),
then reads the header of every file every sample needs (``deep=True``: decodes every pixel, which
finds truncated files) and compares the sizes that must agree (image, alpha, trimap of a sample;
the frames of a clip). Every missing or unreadable file is named. On a good tree the report
carries the counts and the dataset fingerprint (the hash that goes into each run's provenance).

A dataset does not know the registry of methods and datasets, so the check is handed an *opener* (a
callable that opens the dataset and raises DatasetNotFound where its layout is missing) by its caller:
:func:`mattebench.methods.registry.check_dataset` opens a registered dataset by name.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from mattebench.data.base import check_matte_levels
from mattebench.data.io import (
    ImageInfo,
    alpha_channels_equal,
    image_info,
    read_matte,
    read_trimap,
)
from mattebench.data.trimap_values import SNAP_OPTION, checked_trimap
from mattebench.errors import DatasetNotFound, SampleError
from mattebench.types import Sample


@dataclass
class CheckReport:
    name: str
    root: str
    problems: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    fingerprint: Optional[str] = None
    notes: list[str] = field(default_factory=list)
    files_checked: int = 0
    modes: dict[str, dict[str, int]] = field(default_factory=dict)
    partial: Optional[tuple[int, int]] = None  # (found, expected): a consistent tree with fewer samples than the release

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "ok": self.ok}

    def render(self) -> str:
        lines = [f"{self.name} at {self.root}"]
        if self.counts:
            lines.append("  counts: " + ", ".join(f"{k} {v}" for k, v in self.counts.items()))
        if self.files_checked:
            lines.append(f"  files checked: {self.files_checked}")
        for role, modes in self.modes.items():
            lines.append(f"  {role} modes: " + ", ".join(f"{m} x{n}" for m, n in sorted(modes.items())))
        for n in self.notes:
            lines.append(f"  note: {n}")
        if self.problems:
            lines.append(f"  {len(self.problems)} problem(s):")
            lines.extend(f"    - {p}" for p in self.problems)
            lines.append("  NOT READY: fix the files above (re-download or re-extract), then run the check again.")
        else:
            lines.append(f"  fingerprint: {self.fingerprint}")
            lines.append(f"  OK, PARTIAL: {self.partial[0]} of {self.partial[1]} samples" if self.partial else "  OK")
        return "\n".join(lines)


DatasetOpener = Callable[[], Any]  # opens the dataset; raises DatasetNotFound where its files are missing


def check_opened(name: str, open_dataset: DatasetOpener, root: Optional[str | os.PathLike[str]] = None,
                 deep: bool = False) -> CheckReport:
    """Verify the dataset tree ``open_dataset`` opens (``name`` and ``root`` as the report shows them); see the
    module docstring. A missing layout is one problem; whatever else the opener raises propagates."""
    report = CheckReport(name=name, root=str(root) if root is not None else "(default root)")
    try:
        ds = open_dataset()
    except DatasetNotFound as exc:
        report.problems.append(str(exc))
        return report
    report.root = str(getattr(ds, "root", root))
    report.problems.extend(getattr(ds, "problems", []))
    report.notes.extend(getattr(ds, "notes", []))
    report.partial = getattr(ds, "partial", None)
    files = getattr(ds, "files", None)
    if callable(files):
        _check_files(ds, report, deep)
    else:  # a plug-in dataset without a file list: load every item instead
        _check_by_loading(ds, report)
    counts = getattr(ds, "counts", None)
    report.counts = dict(counts()) if callable(counts) else {"samples": len(ds.ids())}
    extra = getattr(ds, "extra_check", None)
    if callable(extra):
        extra(report, deep)
    if report.ok:
        report.fingerprint = ds.fingerprint()
    return report


def _check_files(ds: Any, report: CheckReport, deep: bool) -> None:
    seen: dict[Path, Optional[ImageInfo]] = {}
    modes: dict[str, Counter[str]] = defaultdict(Counter)
    colour_mattes: list[str] = []
    oriented: list[str] = []
    for sid in ds.ids():
        groups: dict[str, list[tuple[str, Path, tuple[int, int], Optional[tuple[int, int]]]]] = defaultdict(list)
        for ref in ds.files(sid):
            if ref.path not in seen:
                try:
                    info = image_info(ref.path, decode=deep)
                except SampleError as exc:
                    info = None
                    report.problems.append(f"{sid}: {ref.role} {exc}")
                seen[ref.path] = info
                if info is not None:
                    modes[ref.role][info.mode] += 1
                    if deep:
                        _deep_values(ds, sid, ref.role, ref.path, info, report, colour_mattes)
            info = seen[ref.path]
            if info is None or not ref.group:
                continue
            size = info.display_size if ref.role in ("image", "frame") else info.size
            raw = info.size if ref.role in ("image", "frame") and info.display_size != info.size else None
            groups[ref.group].append((ref.role, ref.path, size, raw))
        for members in groups.values():
            _compare_sizes(sid, members, report)
        for ref in ds.files(sid):
            info = seen.get(ref.path)
            if info is not None and info.orientation != 1:
                matte = next((seen.get(r.path) for r in ds.files(sid) if r.role == "alpha" and r.group == ref.group), None)
                oriented.append(_orientation_note(sid, ref.role, ref.path, info, matte.size if matte is not None else None,
                                                  getattr(ds, "exif", "auto")))
    report.files_checked = len(seen)
    if oriented:
        report.notes.append(f"{len(oriented)} file(s) carry an EXIF orientation other than 1 (each run counts them in its provenance):")
        report.notes.extend(oriented)
    report.modes = {role: dict(c) for role, c in modes.items()}
    if colour_mattes:
        report.notes.append(
            f"{len(colour_mattes)} colour mattes have unequal channels and are read with convert('L') weights: "
            + ", ".join(colour_mattes[:5])
        )


def _deep_values(ds: Any, sid: str, role: str, path: Path, info: ImageInfo, report: CheckReport, colour_mattes: list[str]) -> None:
    """Pixel-level checks: stray trimap values, RGBA cut-out mattes, colour mattes."""
    try:
        if role == "trimap":  # exactly what the loader will do with it (fail, or snap with a note)
            try:
                _, snapped = checked_trimap(read_trimap(path), path, bool(getattr(ds, "trimap_snap", False)), sid)
            except SampleError as exc:
                report.problems.append(f"{sid}: trimap {exc}")
                return
            if snapped:
                report.notes.append(f"{sid}: {snapped} (-d {SNAP_OPTION}=true)")
        elif role == "alpha":
            matte, notes = read_matte(path)
            check_matte_levels(matte, path)
            if notes:
                report.notes.extend(f"{sid}: {n}" for n in notes)
            elif info.mode in ("RGB", "RGBA", "P") and not alpha_channels_equal(path):
                colour_mattes.append(str(path))
    except SampleError as exc:  # already decoded once by image_info(decode=True); keep the report going
        report.problems.append(f"{sid}: {role} {exc}")


def _orientation_note(sid: str, role: str, path: Path, info: ImageInfo, ref_size: Optional[tuple[int, int]],
                      exif: str = "auto") -> str:
    """What the loader does with a file whose EXIF orientation is not 1."""
    head = f"{sid}: {role} {path} has EXIF orientation {info.orientation}: "
    if role not in ("image", "frame"):
        return head + "the stored pixels are used (mattes, trimaps and the composites' foregrounds are never rotated)"
    if ref_size is None:
        return head + "the loader applies it"
    if exif in ("apply", "ignore"):
        fits = (info.display_size if exif == "apply" else info.size) == ref_size
        return head + (f"the loader {'applies' if exif == 'apply' else 'ignores'} it (-d exif={exif})"
                       + ("" if fits else "; the matte does not fit that orientation: the sample fails"))
    fits_shown, fits_raw = info.display_size == ref_size, info.size == ref_size
    if fits_shown and fits_raw:
        return head + ("the loader applies it, but the matte fits either orientation (square, mirror or 180-degree turn): "
                       "check that the matte follows the rotated photo, else pass -d exif=ignore")
    if fits_shown:
        return head + "the loader applies it (only the rotated photo fits the matte)"
    if fits_raw:
        return head + "the loader ignores it (the matte follows the stored pixels)"
    return head + "neither orientation fits the matte (see the size problem)"


def _compare_sizes(sid: str, members: list[tuple[str, Path, tuple[int, int], Optional[tuple[int, int]]]], report: CheckReport) -> None:
    """Every member must have the reference size (the first non-photo file's, else the first's)."""
    ref = next((m for m in members if m[0] not in ("image", "frame")), members[0])
    for role, path, size, raw in members:
        if size == ref[2]:
            continue
        if raw is not None and raw == ref[2]:
            continue  # the orientation notes say that the stored pixels are used
        report.problems.append(
            f"{sid}: {role} {path} is {size[0]}x{size[1]} but {ref[0]} {ref[1]} is {ref[2][0]}x{ref[2][1]}"
        )


def _check_by_loading(ds: Any, report: CheckReport) -> None:
    for sid in ds.ids():
        try:
            item = ds.load(sid)
            if isinstance(item, Sample):  # a lazy sample reads its photo and trimap on first use: read them now
                _ = item.image, item.trimap
        except SampleError as exc:
            report.problems.append(f"{sid}: {exc}")


# -- the cheap part, shared with `run` ---------------------------------------------------------------
# Kinds of the problems a loader's index records (the texts of data/base.py PairedFolderDataset._index
# and stem_index); tests/test_trust_dataset.py pins them against a real tree.
PROBLEM_KINDS: tuple[tuple[str, str], ...] = (
    ("duplicate stems", "two files share the stem"),
    ("images without a matte", "missing matte for"),
    ("images without a trimap", "missing trimap for"),
    ("orphan mattes (no image)", "matte "),
    ("orphan trimaps (no image)", "trimap "),
)


def problem_counts(problems: list[str]) -> dict[str, int]:
    """How many index problems of each kind (``other`` for the rest)."""
    counts: Counter[str] = Counter()
    for p in problems:
        for kind, needle in PROBLEM_KINDS:
            if p.startswith(needle) and (needle[-1] != " " or " has no image" in p):
                counts[kind] += 1
                break
        else:
            counts["other"] += 1
    return dict(counts)


def index_problems(ds: Any) -> tuple[dict[str, int], Optional[str]]:
    """What ``data check`` finds without reading a pixel (the loader's index), as counts and one line.

    ``run`` prints the line as a warning: the run goes on (affected samples become error rows),
    and ``mattebench data check`` lists every problem.
    """
    problems = list(getattr(ds, "problems", []) or [])
    if not problems:
        return {}, None
    counts = problem_counts(problems)
    name = getattr(getattr(ds, "card", None), "name", "dataset")
    root = getattr(ds, "root", None)
    where = f" --data-root {root}" if root is not None else ""
    text = ", ".join(f"{n} {kind}" for kind, n in counts.items())
    return counts, f"{name}{f' at {root}' if root is not None else ''}: {text}; `mattebench data check {name}{where}` lists them"
