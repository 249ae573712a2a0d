"""CRGNN-R, the real-world human video set of Wang et al. (ICCV 2021, VideoMatting-CRGNN).

Layout of the ``real_human_data`` folder (Dropbox), the data root or its parent::

    image_allframe/<video>/frameNNNNN.png   every frame (the model sees all of them, in order)
    alpha/<video>/frameNNNNN.png            ground truth every 10th frame: frame00001, frame00011, ...
    trimap/<video>/frameNNNNN.png           {0, 128, 255} for the annotated frames
    image/<video>/frameNNNNN.png            the annotated frames alone (not needed for scoring)

Each item is a :class:`~mattebench.types.Clip`: ``frames`` are all of ``image_allframe/<video>``
in frame-number order (read lazily), ``alphas``/``trimaps`` map a frame index to its annotation.
An annotation is placed at the index of the frame with the same file name in ``image_allframe``
(frame00001 -> 0, frame00011 -> 10, ...). Metrics per annotated frame, dtSSD between consecutive
annotated frames, averaged per video then over videos (the runner).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Optional

from mattebench.data.base import (
    FileRef,
    LazyFrames,
    LazyMaps,
    RealDataset,
    find_dir,
    natural_key,
    not_found,
)
from mattebench.data.io import listed_file, read_alpha
from mattebench.data.sample_notes import NOTES
from mattebench.data.trimap_values import read_checked_trimap
from mattebench.errors import SampleError
from mattebench.types import Clip, DatasetCard

FOLDERS = ("image_allframe", "alpha", "trimap", "image")


def _frames(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    files = [p for p in folder.iterdir() if listed_file(p)]  # a dangling link stays: its frame fails, named
    return sorted(files, key=lambda p: natural_key(p.name))


def _number(name: str) -> Optional[int]:
    m = re.search(r"(\d+)(?=\.[^.]+$)", name)
    return int(m.group(1)) if m else None


class CRGNNReal(RealDataset):
    card = DatasetCard(
        name="crgnn-r",
        kind="video",
        protocols=("whole", "unknown"),
        primary_metric="mse_whole",
        paper="Wang et al. Video Matting via Consistency-Regularized Graph Neural Networks. ICCV 2021.",
        url="https://github.com/TiantianWang/VideoMatting-CRGNN (Dropbox folder real_human_data)",
        licence="no data licence stated: research use only, do not redistribute",
        layout="image_allframe/<video>/frameNNNNN.png\nalpha/<video>/frameNNNNN.png   (every 10th frame)\n"
        "trimap/<video>/frameNNNNN.png\nimage/<video>/frameNNNNN.png",
        notes="Real 1080p human videos; every frame is predicted in order, the annotated ones (every 10th) are scored: "
        "MSE/MAD whole (the MODNet table), unknown-region metrics with the official trimaps, dtSSD between consecutive "
        "annotated frames; mean per video, then over videos.",
    )

    def __init__(self, root: Optional[str | os.PathLike[str]] = None, trimap_snap: bool = False) -> None:
        super().__init__(root)
        self.set_trimap_snap(trimap_snap)
        base = find_dir(self.root, ("", "real_human_data", "CRGNN-R"), ["image_allframe", "alpha"])
        if base is None:
            raise not_found(self.card, self.root, "no image_allframe/ and alpha/ folders (real_human_data)")
        self.base = base
        self._clips: dict[str, tuple[list[Path], dict[int, Path], dict[int, Path]]] = {}
        videos = sorted({p.name for p in (base / "alpha").iterdir() if p.is_dir()} | {p.name for p in (base / "image_allframe").iterdir() if p.is_dir()})
        for v in videos:
            self._index_video(v)
        self._ids = [v for v in videos if v in self._clips]
        self.notes.append(f"{len(self._ids)} videos, {sum(len(c[0]) for c in self._clips.values())} frames, "
                          f"{sum(len(c[1]) for c in self._clips.values())} annotated")
        if not self._ids:
            raise not_found(self.card, self.root, "no video folders under alpha/ and image_allframe/")

    def _index_video(self, v: str) -> None:
        frames = _frames(self.base / "image_allframe" / v)
        alphas = _frames(self.base / "alpha" / v)
        trimaps = {p.name: p for p in _frames(self.base / "trimap" / v)}
        if not frames:
            self.problems.append(f"video {v}: no frames in {self.base / 'image_allframe' / v}")
            return
        if not alphas:
            self.problems.append(f"video {v}: no ground truth in {self.base / 'alpha' / v}")
            return
        position = {p.name: i for i, p in enumerate(frames)}
        first = _number(frames[0].name)
        a_map: dict[int, Path] = {}
        t_map: dict[int, Path] = {}
        for a in alphas:
            idx = position.get(a.name)
            if idx is None:
                self.problems.append(f"video {v}: ground truth {a} has no frame of that name in image_allframe/{v}")
                continue
            n = _number(a.name)
            if n is not None and first is not None and idx != n - first:
                self.problems.append(f"video {v}: frame numbers have gaps (frame {a.name} is at index {idx}, not {n - first})")
            a_map[idx] = a
            t = trimaps.get(a.name)
            if t is None:
                self.problems.append(f"video {v}: missing trimap {self.base / 'trimap' / v / a.name}")
            else:
                t_map[idx] = t
        self._clips[v] = (frames, a_map, t_map)

    def counts(self) -> dict[str, int]:
        return {
            "videos": len(self._ids),
            "frames": sum(len(self._clips[v][0]) for v in self._ids),
            "annotated": sum(len(self._clips[v][1]) for v in self._ids),
            "trimaps": sum(len(self._clips[v][2]) for v in self._ids),
        }

    def files(self, id: str) -> list[FileRef]:
        frames, a_map, t_map = self._clips[id]
        refs = [FileRef("frame", p, group="video") for p in frames]
        refs += [FileRef("alpha", p, group="video") for p in a_map.values()]
        refs += [FileRef("trimap", p, group="video") for p in t_map.values()]
        return refs

    def load(self, id: str) -> Clip:
        self._require(id)
        frames, a_map, t_map = self._clips[id]
        for p in [*frames, *a_map.values(), *t_map.values()]:
            if not p.is_file():
                raise SampleError("file not found (deleted after the dataset was opened?)", path=str(p), sample_id=id)
        missing_t = sorted(set(a_map) - set(t_map))
        if missing_t:
            raise SampleError(
                f"{len(missing_t)} annotated frames have no trimap (first: index {missing_t[0]}, {a_map[missing_t[0]].name})",
                path=str(self.base / "trimap" / id),
                sample_id=id,
            )
        notes: list[str] = []  # filled as trimaps are read (lazily, while the clip is scored)

        def trimap_reader(path: Path):
            trimap, snapped = read_checked_trimap(path, self.trimap_snap, sample_id=id)
            if snapped and snapped not in notes:
                notes.append(snapped)
            return trimap

        return Clip(
            id=id,
            frames=LazyFrames(frames),
            alphas=LazyMaps(a_map, read_alpha),  # type: ignore[arg-type]
            trimaps=LazyMaps(t_map, trimap_reader),  # type: ignore[arg-type]
            metadata={
                NOTES: notes,
                "path": str(self.base / "image_allframe" / id),
                "frame_names": [p.name for p in frames],
                "annotated": {i: p.name for i, p in a_map.items()},
                "trimap_source": "official",
            },
        )
