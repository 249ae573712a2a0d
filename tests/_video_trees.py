"""Tiny fake trees in the exact published layouts of the video benchmarks, for tests (no real data ships).

Frames are small random images so that tests run in milliseconds. VideoMatte trees are composited the
way RVM's generators do it: ``com = uint8(fgr * a + bgr * (1 - a))``, a = pha / 255, float64, truncated
(generate_videomatte_with_background_image.py L76-78), static clips with one background repeated.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import cv2
import numpy as np

from mattebench.data.video_layouts import FolderLayout, VM108Layout

__all__ = ["build_folder_tree", "build_vm108_tree", "encode_flow_png", "random_alpha"]


def random_alpha(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """uint8 alpha with 0, 255 and in-between values (a blob plus noise), never constant."""
    yy, xx = np.mgrid[0:h, 0:w]
    cy, cx = rng.uniform(0.3, 0.7) * h, rng.uniform(0.3, 0.7) * w
    r = np.hypot(yy - cy, xx - cx) / (0.35 * max(h, w))
    a = np.clip(1.5 - r * 1.2 + rng.normal(0, 0.15, (h, w)), 0, 1)
    return (a * 255).astype(np.uint8)


def _write(path: Path, img: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), img):
        raise ValueError(f"could not write {path}")


def build_folder_tree(layout: FolderLayout, root: Path, *, clips: int = 2, frames: int = 3,
                      size: tuple[int, int] = (16, 9), seed: int = 0, subsets: Optional[tuple[str, ...]] = None) -> Path:
    """``root/<layout.name>/<subset>/<clip:04d>/<role>/<t:04d>.<ext>``; returns the layout root.

    ``size`` is (width, height). Every required and optional role is written with the layout's
    extension; static subsets reuse background frame 0 (RVM writes symlinks; copies read the same)."""
    rng = np.random.default_rng(seed)
    base = Path(root) / layout.name
    w, h = size
    for subset in subsets if subsets is not None else layout.subsets:
        for c in range(clips):
            static_bgr = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
            for t in range(frames):
                pha = random_alpha(rng, h, w)
                fgr = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
                bgr = static_bgr if subset.endswith("static") else rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
                a = pha.astype(np.float64)[:, :, None] / 255
                com = np.uint8(fgr * a + bgr * (1 - a))  # truncation, as the generators
                maps = {"pha": pha, "fgr": fgr, "bgr": bgr, "com": com, "har": com}
                for role in layout.roles + layout.optional_roles:
                    _write(base / subset / f"{c:04d}" / role / f"{t:04d}.{layout.ext_of(role)}", maps[role])
    return base


def encode_flow_png(flow: np.ndarray) -> np.ndarray:
    """HxWx2 float flow in pixels (NaN = none) -> the HxWx3 uint16 array cv2 writes for TCVOM's
    ``flow_png`` (calc_metric.py L64-70): ch0 = dx*100, ch1 = dy*100 as int16 bit patterns, ch2 = valid."""
    valid = np.isfinite(flow).all(axis=2)
    q = np.where(valid[..., None], np.round(np.nan_to_num(flow) * 100), 0).astype(np.int16)
    out = np.zeros(flow.shape[:2] + (3,), dtype=np.uint16)
    out[..., :2] = q.view(np.uint16)
    out[..., 2] = valid.astype(np.uint16) * 65535
    return out


def build_vm108_tree(layout: VM108Layout, root: Path, *, videos: tuple[str, ...] = ("clip_a", "clip_b"),
                     frames: int = 3, size: tuple[int, int] = (16, 9), seed: int = 0, with_flow: bool = True) -> Path:
    """``root/{FG_done,BG_done,flow_png}/<video>/...``, ``frame_corr.json``, ``val_videos.txt``.

    Frame names are ``00000.png`` (the real pattern is unverified). FG is RGBA PNG (A = GT alpha), BG JPG."""
    rng = np.random.default_rng(seed)
    base = Path(root)
    w, h = size
    corr = {}
    for v in videos:
        for t in range(frames):
            rgba = np.dstack([rng.integers(0, 256, (h, w, 3), dtype=np.uint8), random_alpha(rng, h, w)])
            _write(base / "FG_done" / v / f"{t:05d}.png", rgba)
            _write(base / "BG_done" / f"bg_{v}" / f"{t:05d}.jpg", rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
            corr[f"{v}/{t:05d}.png"] = f"bg_{v}/{t:05d}.jpg"
            if with_flow and t + 1 < frames:
                flow = rng.uniform(-2, 2, (h, w, 2)).astype(np.float32)
                flow[rng.random((h, w)) < 0.1] = np.nan
                _write(base / "flow_png" / v / f"flow_{t:05d}_{t + 1:05d}.png", encode_flow_png(flow))
    (base / "frame_corr.json").write_text(json.dumps(corr))
    (base / layout.split_file).write_text("".join(v + "\n" for v in videos))
    return base
