"""VideoMatte240K as RobustVideoMatting composites it: ``videomatte-512x288`` and ``videomatte-1920x1080``.

Layout (PeterL1n/RobustVideoMatting@53d74c6: the generators write ``<i:04d>/{fgr,pha,com,bgr}/<t:04d>.png``,
``evaluation/evaluate_lr.py`` L109-137 reads ``<dir>/<subset>/<clip>/{pha,fgr}/<frame>``)::

    videomatte_512x288/                     (the data root, or its parent)
      videomatte_motion/0000/com/0000.png   the composite: what a method sees
                             pha/0000.png   ground-truth alpha (8-bit)
                             fgr/0000.png   ground-truth foreground
                             bgr/0000.png   background (static clips: one image, links to it)
      videomatte_static/...

The 1920x1080 set ships JPEG (RVM training.md L156; the GT alpha is ``<stem>.jpg``, MatAnyone2 eval_hr.py
L123), so its mattes are lossy. Every frame is annotated. Each item is a :class:`~mattebench.types.Clip`
with id ``<subset>/<clip>`` (``videomatte_motion/0000``); ``fgs`` hold the GT foreground, trimaps are made
from the GT with the shared recipe (:mod:`mattebench.data.trimap`) for mattebench's unknown-region metrics
and MESSDdt (no flow ships: it is estimated). The official protocol is the ``rvm-lr`` / ``rvm-hr``
convention (:mod:`mattebench.metrics.conventions.video_rvm`), scored on every run of these datasets.

:class:`LayoutVideoDataset` is the loader shared with YouTubeMatte (:mod:`.youtubematte`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar, Optional

from mattebench.data.base import FileRef, LazyFrames, LazyMaps, RealDataset, find_dir, not_found
from mattebench.data.io import read_alpha, read_alpha_u8, read_image
from mattebench.data.sample_notes import NOTES
from mattebench.data.trimap import RECIPE_NAME, trimap_from_alpha
from mattebench.data.video_layouts import (
    VIDEOMATTE_512x288,
    VIDEOMATTE_1920x1080,
    ClipFrames,
    FolderLayout,
    Scan,
    scan_folder_layout,
)
from mattebench.errors import SampleError
from mattebench.types import Clip, DatasetCard

_LICENCE = "no licence stated for the composites (VideoMatte240K: BGMv2 project): research use only, do not redistribute"


def generated_trimap(path: Path) -> Any:
    """The shared recipe's trimap of a GT alpha file (the benchmarks ship no trimaps)."""
    return trimap_from_alpha(read_alpha_u8(path))


class LayoutVideoDataset(RealDataset):
    """A benchmark in ``<root>/<subset>/<clip>/<role>/<frame>`` (:class:`~.video_layouts.FolderLayout`)."""

    layout: ClassVar[FolderLayout]
    parents: ClassVar[tuple[str, ...]] = ()  # folders between a given root and the layout's own folder

    def __init__(self, root: Optional[str | os.PathLike[str]] = None) -> None:
        super().__init__(root)
        lay = self.layout
        candidates = ("", lay.name, *(f"{p}/{lay.name}" for p in self.parents))
        base = next((b for b in (find_dir(self.root, (c,), [s]) for c in candidates for s in lay.subsets) if b is not None), None)
        if base is None:
            raise not_found(self.card, self.root, f"no {' or '.join(s + '/' for s in lay.subsets)} folder ({lay.name})")
        self.base = base
        self.scan: Scan = scan_folder_layout(lay, base)
        for p in self.scan.problems:
            text = f"{p.clip}: {p.message}" if p.clip else p.message
            (self.problems if p.severity == "error" else self.notes).append(text)
        self._clips: dict[str, ClipFrames] = {c.key: c for c in self.scan.clips}
        self._ids = list(self._clips)
        if not self._ids:
            raise not_found(self.card, self.root, f"no usable clip ({'; '.join(self.problems[:3]) or 'empty subsets'})")
        self.notes.append(f"{len(self._ids)} clips, {sum(len(c.frames) for c in self._clips.values())} frames")
        if lay.clips_per_subset is not None:
            # Fewer clips than published with every one usable: a partial tree, marked as a subset; the scan's own
            # count notes stay (they say which subset is short). YouTubeMatte publishes no count: notes only.
            self._check_count(len(self._ids), "clips")

    @property
    def expected_count(self) -> Optional[int]:  # type: ignore[override]
        lay = self.layout
        return None if lay.clips_per_subset is None else lay.clips_per_subset * len(lay.subsets)

    def counts(self) -> dict[str, int]:
        return {"clips": len(self._ids), "frames": sum(len(self._clips[i].frames) for i in self._ids)}

    def files(self, id: str) -> list[FileRef]:
        c = self._clips[id]
        return [FileRef(role, p, group="video") for role, paths in c.files if role in self._used_roles() for p in paths]

    def _used_roles(self) -> tuple[str, ...]:
        lay = self.layout
        return tuple(r for r in (lay.input_role, lay.alpha_role, lay.foreground_role) if r)

    def fingerprint_extra(self) -> dict[str, Any]:
        return {"layout": self.layout.name, "trimap_recipe": RECIPE_NAME}

    def load(self, id: str) -> Clip:
        self._require(id)
        c, lay = self._clips[id], self.layout
        used = {r: c.role(r) for r in self._used_roles()}
        for paths in used.values():
            for p in paths:
                if not p.is_file():
                    raise SampleError("file not found (deleted after the dataset was opened?)", path=str(p), sample_id=id)
        alphas = dict(enumerate(used[lay.alpha_role]))
        fgs = dict(enumerate(used[lay.foreground_role])) if lay.foreground_role else {}
        return Clip(
            id=id,
            frames=LazyFrames(used[lay.input_role]),
            alphas=LazyMaps(alphas, read_alpha),  # type: ignore[arg-type]
            trimaps=LazyMaps(alphas, generated_trimap),  # type: ignore[arg-type]
            fgs=LazyMaps(fgs, read_image),  # type: ignore[arg-type]
            metadata={
                NOTES: [],
                "path": str(self.base / id),
                "frame_names": [p.name for p in used[lay.alpha_role]],
                "annotated": "every frame",
                "trimap_source": "generated:" + RECIPE_NAME,
                "layout": lay.name,
            },
        )


_LAYOUT_TEXT = ("{name}/<subset>/<clip>/com/<frame>   composite (the input)\n"
                "{name}/<subset>/<clip>/pha/<frame>   ground-truth alpha\n"
                "{name}/<subset>/<clip>/fgr/<frame>   ground-truth foreground\n"
                "{name}/<subset>/<clip>/bgr/<frame>   background\n"
                "subsets videomatte_motion, videomatte_static; clips 0000..; frames 0000.. ({ext})")
_NOTES = ("VideoMatte240K test foregrounds (5) composited by RVM over {what}; {n} clips x 100 frames as published. "
          "Official protocol: {proto} (RVM evaluation/{script}), whole frame, mean per clip then over clips; "
          "mattebench's whole/unknown metrics beside it (trimaps generated from the GT; MESSDdt with estimated flow).")


class VideoMatte512(LayoutVideoDataset):
    layout = VIDEOMATTE_512x288
    card = DatasetCard(
        name="videomatte-512x288", kind="video", protocols=("whole", "unknown", "rvm-lr"), primary_metric="mad@rvm-lr",
        paper="Lin et al. Robust High-Resolution Video Matting with Temporal Guidance. WACV 2022 (VideoMatte240K: Lin et al. CVPR 2021)",
        url="https://github.com/PeterL1n/RobustVideoMatting/blob/master/documentation/training.md (videomatte_512x288.tar)",
        licence=_LICENCE, layout=_LAYOUT_TEXT.format(name="videomatte_512x288", ext="PNG"),
        notes=_NOTES.format(what="backgrounds (static images and DVM videos)", n=50, proto="rvm-lr", script="evaluate_lr.py"),
    )


class VideoMatte1080(LayoutVideoDataset):
    layout = VIDEOMATTE_1920x1080
    card = DatasetCard(
        name="videomatte-1920x1080", kind="video", protocols=("whole", "unknown", "rvm-hr"), primary_metric="mad@rvm-hr",
        paper="Lin et al. Robust High-Resolution Video Matting with Temporal Guidance. WACV 2022 (VideoMatte240K: Lin et al. CVPR 2021)",
        url="https://github.com/PeterL1n/RobustVideoMatting/blob/master/documentation/training.md (videomatte_1920x1080.tar)",
        licence=_LICENCE, layout=_LAYOUT_TEXT.format(name="videomatte_1920x1080", ext="JPEG"),
        notes=_NOTES.format(what="backgrounds (static images and DVM videos)", n=50, proto="rvm-hr", script="evaluate_hr.py")
        + " JPEG ground truth: never exactly 0 or 1, so the generated trimaps' unknown band is wide.",
    )
