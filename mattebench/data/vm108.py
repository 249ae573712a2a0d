"""VideoMatting108 (TCVOM, ACM MM 2021): ``vm108``, the 28 validation videos.

Layout after unpacking (yunkezhang/TCVOM@f5fa07a README.md L27-45; ``dataset/VMD.py`` L21-25, L168-185,
L225-229; ``calc_metric.py`` L62-70)::

    <root>/FG_done/<video>/<frame>.png        RGBA: RGB = GT foreground, A = GT alpha
    <root>/BG_done/<bg video>/<frame>.jpg     backgrounds (``.png`` when no ``.jpg``)
    <root>/flow_png/<video>/flow_<a>_<b>.png  GT flow a -> b (shipped as flow_png_val: rename it)
    <root>/frame_corr.json                    "<video>/<frame>.png" -> background frame
    <root>/val_videos.txt                     the videos scored

Each item is a :class:`~mattebench.types.Clip` per video: frames = the sorted ``frame_corr.json`` keys of
that video. The method sees ``round(F a + B (1 - a))`` in 8 bits (TCVOM composites in float on the fly,
models/model.py L82-88; a method here takes 8-bit frames, so the composite is rounded: the one departure,
recorded in each clip's notes). Trimaps are TCVOM's ``medium`` ones (pred_vmn.py L70-75, model.py L54-64):
the unknown band is the square dilation, radius 12, of {0 < alpha < 1}; 255 on alpha = 1 outside it, 0
elsewhere. The official protocol is the ``tcvom`` convention (:mod:`mattebench.metrics.conventions.tcvom`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Optional, Sequence

import cv2
import numpy as np

from mattebench.data.base import FileRef, LazyMaps, RealDataset, not_found
from mattebench.data.sample_notes import NOTES
from mattebench.data.video_layouts import VM108, ClipFrames, scan_vm108
from mattebench.errors import SampleError
from mattebench.types import Clip, DatasetCard

TCVOM_TRIMAP = "tcvom-medium: unknown = square dilation (radius 12, 25x25) of 0 < alpha < 1 (pred_vmn.py L70-75)"
COMPOSITE = "round(F a + B (1 - a)) to 8 bits (TCVOM composites in float on the fly, models/model.py L82-88)"


def _read(path: Path, flags: int, sample_id: str) -> np.ndarray:
    img = cv2.imread(str(path), flags)
    if img is None:
        raise SampleError("cannot read the file (missing, truncated or not an image)", path=str(path), sample_id=sample_id)
    return img


def read_rgba(path: Path, sample_id: str = "") -> tuple[np.ndarray, np.ndarray]:
    """(foreground HxWx3 uint8 RGB, alpha HxW uint8) of an ``FG_done`` RGBA PNG."""
    img = _read(path, cv2.IMREAD_UNCHANGED, sample_id)
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 4:
        raise SampleError(f"expected an 8-bit RGBA PNG (alpha = GT matte), got {img.dtype} {img.shape}", path=str(path), sample_id=sample_id)
    return np.ascontiguousarray(img[..., 2::-1]), np.ascontiguousarray(img[..., 3])


def decode_flow_png(x: np.ndarray) -> np.ndarray:
    """A TCVOM ``flow_png`` as cv2.imread(IMREAD_UNCHANGED) returns it (HxWx3 uint16) -> HxWx2 float32 flow in
    pixels, NaN where channel 2 is 0 (calc_metric.py L64-70: int16 bit patterns / 100)."""
    a = np.asarray(x)
    if a.dtype != np.uint16 or a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"flow png: dtype {a.dtype} shape {a.shape}; expected HxWx3 uint16 (cv2.IMREAD_UNCHANGED)")
    flow = np.ascontiguousarray(a[..., :2]).view(np.int16).astype(np.float32)
    flow[a[..., 2] == 0] = np.nan
    return flow / np.float32(100.0)


def tcvom_trimap(alpha_u8: np.ndarray, radius: int = 12) -> np.ndarray:
    """TCVOM's evaluation trimap: 128 on the square dilation of {0 < alpha < 255}, 255 on alpha == 255 outside
    it, 0 elsewhere (only the unknown band is scored)."""
    k = np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)
    unknown = cv2.dilate(((alpha_u8 > 0) & (alpha_u8 < 255)).astype(np.uint8), k) > 0
    out = np.where(alpha_u8 == 255, 255, 0).astype(np.uint8)
    out[unknown] = 128
    return out


class _Composites(Sequence[np.ndarray]):
    """The frames a method sees, composited on access (a 1080p clip never sits in memory at once)."""

    def __init__(self, fg: Sequence[Path], bg: Sequence[Path], sample_id: str):
        self.fg, self.bg, self.sample_id = list(fg), list(bg), sample_id

    def __len__(self) -> int:
        return len(self.fg)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        f, a = read_rgba(self.fg[i], self.sample_id)
        b = _read(self.bg[i], cv2.IMREAD_COLOR, self.sample_id)[..., ::-1]
        if b.shape[:2] != a.shape:
            raise SampleError(f"background is {b.shape[1]}x{b.shape[0]}, the foreground {a.shape[1]}x{a.shape[0]} "
                              f"({self.fg[i]}); TCVOM's resize rule is not confirmed, so it is not guessed", path=str(self.bg[i]),
                              sample_id=self.sample_id)
        w = a.astype(np.float64)[..., None] / 255.0
        return np.clip(np.round(f * w + b * (1.0 - w)), 0, 255).astype(np.uint8)


class VM108Val(RealDataset):
    expected_count = 28
    card = DatasetCard(
        name="vm108", kind="video", protocols=("whole", "unknown", "tcvom"), primary_metric="MSE@tcvom",
        paper="Zhang et al. Attention-guided Temporally Coherent Video Object Matting. ACM MM 2021",
        url="https://github.com/yunkezhang/TCVOM (VideoMatting108, README: download links)",
        licence="academic and non-commercial use only (TCVOM README): do not redistribute",
        layout="FG_done/<video>/<frame>.png  (RGBA: foreground + alpha)\nBG_done/<bg>/<frame>.jpg\n"
        "flow_png/<video>/flow_<a>_<b>.png\nframe_corr.json\nval_videos.txt",
        notes="28 validation videos at 1920x1080, every frame annotated. Official protocol: tcvom (calc_metric.py: mSAD, "
        "MSE, SSDA, dtSSD, MESSDdt over the medium trimap's unknown band; mean per video, then over videos); mattebench's "
        "whole/unknown metrics beside it. Composites rounded to 8 bits for the method.",
    )

    def __init__(self, root: Optional[str | os.PathLike[str]] = None) -> None:
        super().__init__(root)
        base = next((self.root / c for c in ("", "VideoMatting108") if (self.root / c / "frame_corr.json").is_file()), None)
        if base is None:
            raise not_found(self.card, self.root, "no frame_corr.json (VideoMatting108 root)")
        self.base = base
        scan = scan_vm108(VM108, base)
        for p in scan.problems:
            text = f"{p.clip}: {p.message}" if p.clip else p.message
            (self.problems if p.severity == "error" else self.notes).append(text)
        self._clips: dict[str, ClipFrames] = {c.key: c for c in scan.clips}
        self._ids = list(self._clips)
        if not self._ids:
            raise not_found(self.card, self.root, f"no usable video ({'; '.join(self.problems[:3]) or 'empty split'})")
        self._check_count(len(self._ids), "videos")
        keys = sorted(json.loads((base / "frame_corr.json").read_text(encoding="utf-8")))
        self._last_video = os.path.dirname(keys[-1]) if keys else ""

    def counts(self) -> dict[str, int]:
        return {"videos": len(self._ids), "frames": sum(len(self._clips[i].frames) for i in self._ids)}

    def files(self, id: str) -> list[FileRef]:
        return [FileRef(role, p, group="video") for role, paths in self._clips[id].files for p in paths]

    def fingerprint_extra(self) -> dict[str, Any]:
        return {"trimap_recipe": TCVOM_TRIMAP, "composite": COMPOSITE}

    def load(self, id: str) -> Clip:
        self._require(id)
        c = self._clips[id]
        roles = dict(c.files)
        for paths in roles.values():
            for p in paths:
                if not p.is_file():
                    raise SampleError("file not found (deleted after the dataset was opened?)", path=str(p), sample_id=id)
        fg = dict(enumerate(roles["fgr_pha"]))
        notes = [f"composite_rounded: {id}: the method saw {COMPOSITE}"]
        if id == self._last_video:  # calc_metric.py L142-154 appends a video only when the next one starts
            notes.append(f"tcvom_last_video: {id}: calc_metric.py never scores the last video in frame_corr.json key order "
                         "(L142-154); the official number leaves this row out")
        flows = LazyMaps(dict(enumerate(roles["flow"])), lambda p: decode_flow_png(_read(p, cv2.IMREAD_UNCHANGED, id))) \
            if "flow" in roles else {}
        return Clip(
            id=id,
            frames=_Composites(roles["fgr_pha"], roles["bgr"], id),
            alphas=LazyMaps(fg, lambda p: read_rgba(p, id)[1].astype(np.float32) / np.float32(255.0)),  # type: ignore[arg-type]
            trimaps=LazyMaps(fg, lambda p: tcvom_trimap(read_rgba(p, id)[1])),  # type: ignore[arg-type]
            flows=flows,  # type: ignore[arg-type]
            fgs=LazyMaps(fg, lambda p: read_rgba(p, id)[0]),  # type: ignore[arg-type]
            metadata={NOTES: notes, "path": str(self.base / "FG_done" / id), "frame_names": [f"{s}.png" for s in c.frames],
                      "annotated": "every frame", "trimap_source": TCVOM_TRIMAP, "layout": "vm108"},
        )
