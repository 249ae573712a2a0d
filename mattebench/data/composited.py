"""Datasets rebuilt from foregrounds, alphas and a background list (Composition-1k, AMD subset, D646).

Foreground ``i`` (line ``i`` of the fg list, 0-based) is composited onto background lines
``per_fg * i .. per_fg * i + per_fg - 1`` of the bg list with the official rule
(:mod:`mattebench.data.compose`); composite ``k`` of a foreground has id ``<fg stem>_<k>``.
Ids are sorted by name; the pairing follows the lists, never the sort.

Nothing is checked on disk per sample at construction (lazy): a missing foreground, alpha,
background or trimap raises SampleError naming the file when that sample loads, and
``mattebench data check`` lists every one of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from mattebench.data.base import (
    FileRef,
    RealDataset,
    check_matte_levels,
    not_found,
    rel,
)
from mattebench.data.compose import RULE_NAME, composite_arrays, foreground_array
from mattebench.data.io import open_image, read_alpha_u8
from mattebench.data.sample_notes import NOTES
from mattebench.data.trimap_values import read_checked_trimap
from mattebench.errors import DatasetNotFound, SampleError
from mattebench.types import Sample

# Where a VOC2012 (or COCO) image folder usually lands under a data root.
BACKGROUND_CANDIDATES = (
    "VOCdevkit/VOC2012/JPEGImages",
    "VOC2012/JPEGImages",
    "VOCtrainval_11-May-2012/VOCdevkit/VOC2012/JPEGImages",
    "JPEGImages",
    "bg",
)
COCO_CANDIDATES = ("train2014", "coco/train2014", "COCO/train2014", "train2017", "coco/train2017", "bg")


def find_background_dir(root: Path, candidates: Sequence[str] = BACKGROUND_CANDIDATES, pattern: str = "JPEGImages") -> Optional[Path]:
    """A background folder under ``root``: known places first, then ``*/<pattern>`` up to 3 levels."""
    for cand in candidates:
        if (root / cand).is_dir():
            return root / cand
    for depth in ("*", "*/*", "*/*/*"):
        hits = sorted(p for p in root.glob(f"{depth}/{pattern}") if p.is_dir())
        if hits:
            return hits[0]
    return None


@dataclass(frozen=True)
class Entry:
    """One composite: which foreground (line ``fg_index`` of the list), which background."""

    id: str
    fg_index: int
    k: int
    fg_name: str
    fg_path: Path
    alpha_path: Path
    bg_index: int
    bg_name: str
    trimap_path: Optional[Path]


class CompositeDataset(RealDataset):
    """Shared machinery; subclasses locate the folders and lists, then call :meth:`_build`."""

    def _background_dir(self, bg_dir: Optional[str], split: str) -> Path:
        """``bg_dir`` when given, else VOC JPEGImages (test) or COCO train2014 (train) found under the root."""
        if bg_dir is not None:
            bgd = Path(bg_dir).expanduser()
            if not bgd.is_dir():
                raise DatasetNotFound(f"{self.card.name}: the background folder {bgd} (-d bg_dir) does not exist")
            return bgd
        found = find_background_dir(self.root, BACKGROUND_CANDIDATES if split == "test" else COCO_CANDIDATES,
                                    "JPEGImages" if split == "test" else "train2014")
        if found is None:
            what = "PASCAL VOC 2012 JPEGImages" if split == "test" else "MS COCO train2014"
            raise not_found(
                self.card,
                self.root,
                f"no {what} background folder (looked for {', '.join(BACKGROUND_CANDIDATES[:3])} and */JPEGImages); "
                f"download it and put it there, or pass -d bg_dir=PATH",
            )
        return found

    def _build(
        self,
        fg_names: list[str],
        bg_names: list[str],
        fg_dirs: Sequence[Path],
        alpha_dirs: Sequence[Path],
        bg_dir: Path,
        per_fg: int,
        trimap_dir: Optional[Path] = None,
        keep_fgs: Optional[Sequence[str]] = None,
        use_per_fg: Optional[int] = None,
    ) -> None:
        self.fg_names, self.bg_names = fg_names, bg_names
        self.fg_dirs, self.alpha_dirs = list(fg_dirs), list(alpha_dirs)
        self.bg_dir, self.trimap_dir, self.per_fg = bg_dir, trimap_dir, per_fg
        self._last: Optional[tuple[str, np.ndarray, np.ndarray]] = None
        if len(bg_names) != per_fg * len(fg_names):
            self.problems.append(
                f"the background list has {len(bg_names)} names but {len(fg_names)} foregrounds x {per_fg} need "
                f"{per_fg * len(fg_names)}: the list file is truncated or is not the official one"
            )
        n_use = use_per_fg if use_per_fg is not None else per_fg
        wanted = None if keep_fgs is None else set(keep_fgs)
        if wanted is not None:
            missing = sorted(wanted - set(fg_names))
            for name in missing:
                self.problems.append(f"foreground {name} is not in the foreground list (the list is not the official one)")
        entries: dict[str, Entry] = {}
        for i, name in enumerate(fg_names):
            if wanted is not None and name not in wanted:
                continue
            stem = Path(name).stem
            fg_path = self._find(name, self.fg_dirs)
            alpha_path = self._find(name, self.alpha_dirs)
            for k in range(n_use):
                j = per_fg * i + k
                if j >= len(bg_names):
                    break  # reported above as a short list
                sid = f"{stem}_{k}"
                if sid in entries:
                    self.problems.append(f"foreground {name} appears twice in the foreground list")
                    break
                trimap = trimap_dir / f"{sid}.png" if trimap_dir is not None else None
                entries[sid] = Entry(sid, i, k, name, fg_path, alpha_path, j, bg_names[j], trimap)
        self._entries = entries
        self._ids = sorted(entries)

    @staticmethod
    def _find(name: str, dirs: Sequence[Path]) -> Path:
        for d in dirs:
            if (d / name).is_file():
                return d / name
        return dirs[0] / name  # missing: the load and the check name this path

    def bg_path(self, entry: Entry) -> Path:
        p = self.bg_dir / entry.bg_name
        if not p.exists() and entry.bg_name.startswith("COCO_train2014_"):
            alt = self.bg_dir / entry.bg_name[len("COCO_train2014_") :]  # COCO train2017 names
            if alt.exists():
                return alt
        return p

    def entry(self, id: str) -> Entry:
        self._require(id)
        return self._entries[id]

    # -- files -------------------------------------------------------------------------------------
    def files(self, id: str) -> list[FileRef]:
        e = self._entries[id]
        refs = [FileRef("fg", e.fg_path), FileRef("alpha", e.alpha_path), FileRef("background", self.bg_path(e), group="")]
        if e.trimap_path is not None:
            refs.append(FileRef("trimap", e.trimap_path))
        return refs

    def counts(self) -> dict[str, int]:
        fgs = {e.fg_name for e in self._entries.values()}
        out = {"samples": len(self._ids), "foregrounds": len(fgs), "backgrounds": len({e.bg_name for e in self._entries.values()})}
        if self.trimap_dir is not None:
            out["trimaps"] = len(self._ids)
        return out

    def fingerprint_extra(self) -> dict[str, Any]:
        return {
            "composite_rule": RULE_NAME,
            "pairs": [(e.id, e.fg_name, e.bg_name) for e in (self._entries[i] for i in self._ids)],
        }

    # -- loading -----------------------------------------------------------------------------------
    def _fg_alpha(self, e: Entry) -> tuple[np.ndarray, np.ndarray]:
        """Decoded foreground and alpha, kept for the next composites of the same foreground.

        Sorted ids put the 20 composites of a foreground together, so one slot is enough. The slot
        is replaced by one assignment (safe under threads, and the dataset stays picklable).
        """
        last = self._last
        if last is not None and last[0] == e.fg_name:
            return last[1], last[2]
        fg = foreground_array(open_image(e.fg_path))
        alpha = read_alpha_u8(e.alpha_path)
        check_matte_levels(alpha, e.alpha_path)
        self._last = (e.fg_name, fg, alpha)
        return fg, alpha

    def trimap_for(self, e: Entry, alpha_u8: np.ndarray) -> tuple[Optional[np.ndarray], dict[str, Any]]:
        """The official trimap file; subclasses without one override this."""
        if e.trimap_path is None:
            return None, {}
        trimap, snapped = read_checked_trimap(e.trimap_path, self.trimap_snap, sample_id=e.id)
        if trimap.shape != alpha_u8.shape:
            raise SampleError(
                f"trimap is {trimap.shape[1]}x{trimap.shape[0]} but the alpha {e.alpha_path} is {alpha_u8.shape[1]}x{alpha_u8.shape[0]}",
                path=str(e.trimap_path),
                sample_id=e.id,
            )
        return trimap, {"trimap_path": str(e.trimap_path), "trimap_source": "official", **({NOTES: [snapped]} if snapped else {})}

    def load(self, id: str) -> Sample:
        e = self.entry(id)
        fg, alpha_u8 = self._fg_alpha(e)
        bg_path = self.bg_path(e)
        image, fg, bg, alpha_u8 = composite_arrays(fg, alpha_u8, bg_path, e.fg_path, e.alpha_path, sample_id=id)
        trimap, tmeta = self.trimap_for(e, alpha_u8)
        metadata: dict[str, Any] = {
            "image_path": f"{e.fg_path} over {bg_path}",
            "fg_path": str(e.fg_path),
            "alpha_path": str(e.alpha_path),
            "bg_path": str(bg_path),
            "bg_name": e.bg_name,
            "bg_index": e.bg_index,
            "fg_index": e.fg_index,
            "composite_rule": RULE_NAME,
            **tmeta,
        }
        alpha = alpha_u8.astype(np.float32) / np.float32(255.0)
        # fg (and a shared generated trimap) come from the one-foreground slot: hand out copies so a
        # caller that edits its sample in place cannot change the next composites.
        if trimap is not None and not tmeta.get("trimap_path"):
            trimap = trimap.copy()
        return Sample(id=id, image=image, alpha=alpha, trimap=trimap, fg=fg.copy(), bg=bg, metadata=metadata)

    def describe_lists(self, fg_list: Optional[Path], bg_list: Path) -> None:
        src = f"order from {rel(fg_list, self.root)}" if fg_list is not None else "natural name order (no foreground list found)"
        self.notes.append(f"foregrounds: {len(self.fg_names)} ({src}); backgrounds: {len(self.bg_names)} from {rel(bg_list, self.root)} in {self.bg_dir}")
