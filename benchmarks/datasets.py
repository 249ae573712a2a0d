"""Benchmark: loading and compositing Composition-1k samples (``Composition1k.load``).

Builds a fake Composition-1k tree at realistic sizes in a temporary folder (never real data):
50 foregrounds of about 1000x800 px (smooth photo-like content, PNG), their alphas, 20 trimaps
per foreground, and 1000 VOC-like 500x375 JPEG backgrounds, so every composite takes the PIL
bicubic upscale path as most real Composition-1k samples do. Then it times ``load(id)`` over the
sorted ids (the runner's order: the 20 composites of a foreground come together, so its decoded
foreground and alpha are reused). Wall time and CPU time (process time) are both reported: on a
shared machine the wall time grows with the load of other processes, the CPU time much less.

    python benchmarks/datasets.py                # all 1000 samples
    python benchmarks/datasets.py --n 200        # a subset; the total is extrapolated to 1000

Prints the time per sample and the extrapolated time for the 1000 samples.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from mattebench.data.comp1k import Composition1k


def _smooth(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Photo-like RGB: a low-resolution random field upscaled, plus mild noise (compresses like a photo)."""
    small = rng.integers(0, 256, size=(max(2, h // 40), max(2, w // 40), 3), dtype=np.uint8)
    img = np.asarray(Image.fromarray(small).resize((w, h), Image.BICUBIC)).astype(np.int16)
    img += rng.integers(-6, 7, size=img.shape, dtype=np.int16)
    return np.clip(img, 0, 255).astype(np.uint8)


def _alpha(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = np.hypot((yy - h * 0.55) / (h * 0.45), (xx - w / 2) / (w * 0.3))
    wobble = 0.05 * np.sin(xx / 7.0) * np.cos(yy / 11.0)
    a = np.clip((1.0 - r + wobble) / 0.08, 0.0, 1.0)
    return np.round(a * 255).astype(np.uint8)


def build_tree(root: Path, n_fg: int = 50, per_fg: int = 20, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    test = root / "Combined_Dataset" / "Test_set"
    adobe = test / "Adobe-licensed images"
    for d in ("fg", "alpha", "trimaps"):
        (adobe / d).mkdir(parents=True, exist_ok=True)
    voc = root / "VOCdevkit" / "VOC2012" / "JPEGImages"
    voc.mkdir(parents=True, exist_ok=True)
    fg_names = [f"fg-{i:02d}_1920.png" for i in range(n_fg)]
    bg_names = [f"2008_{j:06d}.jpg" for j in range(n_fg * per_fg)]
    (test / "test_fg_names.txt").write_text("\n".join(fg_names) + "\n")
    (test / "test_bg_names.txt").write_text("\n".join(bg_names) + "\n")
    for i, name in enumerate(fg_names):
        h, w = 800 + (i % 5) * 40, 1000 + (i % 7) * 30  # 1000x800 .. 1180x960
        Image.fromarray(_smooth(rng, h, w)).save(adobe / "fg" / name)
        a = _alpha(rng, h, w)
        Image.fromarray(a).save(adobe / "alpha" / name)
        for k in range(per_fg):
            tri = np.where(a == 0, 0, np.where(a == 255, 255, 128)).astype(np.uint8)
            band = 10 + k  # the official trimaps differ between the 20 composites
            tri[band:band + 5] = 128
            Image.fromarray(tri).save(adobe / "trimaps" / f"{Path(name).stem}_{k}.png")
    for j, name in enumerate(bg_names):
        Image.fromarray(_smooth(rng, 375, 500)).save(voc / name, quality=90)


def time_loads(ds: Composition1k, ids: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) to load every id."""
    t0, c0 = time.perf_counter(), time.process_time()
    for i in ids:
        s = ds.load(i)
        assert s.image.shape[:2] == s.alpha.shape
    return time.perf_counter() - t0, time.process_time() - c0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1000, help="samples to time (default all 1000)")
    ap.add_argument("--keep", default=None, help="build the tree here and keep it (default: a temp dir, removed)")
    args = ap.parse_args()
    tmp = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="mattebench-bench-comp1k-"))
    try:
        t0 = time.perf_counter()
        if not (tmp / "Combined_Dataset").is_dir():
            build_tree(tmp)
        print(f"fake tree built in {time.perf_counter() - t0:.1f} s at {tmp}")
        t0 = time.perf_counter()
        ds = Composition1k(root=tmp)
        t_index = time.perf_counter() - t0
        ids = ds.ids()[: args.n]
        n = len(ids)
        print(f"index (lazy, no pixels): {t_index * 1000:.1f} ms for {len(ds)} ids")
        load_before = os.getloadavg()[0]
        t, c = time_loads(ds, ids)
        print(f"load+composite: {n} samples in {t:.1f} s wall, {c:.1f} s CPU "
              f"= {t / n * 1000:.1f} ms/sample wall, {c / n * 1000:.1f} ms/sample CPU"
              f" (1-min load average {load_before:.1f} -> {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
        if n < 1000:
            print(f"extrapolated to 1000 samples: {t / n * 1000:.0f} s wall, {c / n * 1000:.0f} s CPU")
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
