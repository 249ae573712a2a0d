"""Scoring a 1920x1080 clip folder of saved predictions: mattebench against a transcription of RVM's evaluate_hr.py.

    python benchmarks/video_scoring.py [--clips 2] [--frames 4] [--workers 2] [--keep DIR]

Builds a tree in VideoMatte240K's 1920x1080 layout (JPEG ground truth; blob mattes, random colours, composited the
way RVM's generators do) and a folder of predictions in RVM's own output layout (``<subset>/<clip>/pha/`` and
``fgr/``, PNG: the ground truth perturbed), then times two things on the same files with the same number of workers:

- mattebench: ``mattebench run --predictions DIR --dataset videomatte-1920x1080 --jobs W`` (W worker processes): the
  official protocol ``rvm-hr`` (MAD, MSE, Grad, dtSSD, fgr MSE) AND every mattebench metric: whole MSE/MAD, the
  unknown-region SAD/MSE/Grad/Conn on generated trimaps, dtSSD and MESSDdt with flow estimated on the ground truth
  (OpenCV DIS), file hashing, the run folder.
- the official script transcribed: evaluate_hr.py's metric classes (PeterL1n/RobustVideoMatting@53d74c6 L141-249:
  torch float32, replicate pad + conv2d for kornia's filter2D) on the CPU, the clips spread over a
  ``ThreadPoolExecutor(W)`` as the script does (``--num-workers``), reading the same files with cv2.

It prints both times, frames per second, and the largest relative difference of the five official values (the
run's means over clips against the workbook value of the transcription). The official script runs on CUDA; here
both run on the CPU, which is the comparison this machine allows (say so when quoting the figures).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np

W, H = 1920, 1080
SUBSETS = ("videomatte_motion", "videomatte_static")


def _alpha(rng: np.random.Generator, t: int) -> np.ndarray:
    """A soft ellipse drifting with t plus hair-like noise at its edge (uint8)."""
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    cy, cx = H * 0.55 + 6 * t, W * 0.5 + 9 * t
    r = np.sqrt(((yy - cy) / (0.38 * H)) ** 2 + ((xx - cx) / (0.22 * W)) ** 2)
    a = np.clip((1.08 - r) * 12 + rng.normal(0, 0.4, (H, W)).astype(np.float32) * (np.abs(1 - r) < 0.08), 0, 1)
    return (a * 255).astype(np.uint8)


def build(root: Path, clips: int, frames: int, seed: int = 0) -> tuple[Path, Path]:
    """(ground-truth root, predictions root)."""
    rng = np.random.default_rng(seed)
    gt, pred = root / "videomatte_1920x1080", root / "pred"
    for sub in SUBSETS:
        for c in range(clips):
            bg = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
            for t in range(frames):
                pha, fgr = _alpha(rng, t + c), rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
                a = pha.astype(np.float64)[..., None] / 255
                com = np.uint8(fgr * a + bg * (1 - a))
                d, pd = gt / sub / f"{c:04d}", pred / sub / f"{c:04d}"
                for role, img in (("pha", pha), ("fgr", fgr), ("com", com), ("bgr", bg)):
                    (d / role).mkdir(parents=True, exist_ok=True)
                    cv2.imwrite(str(d / role / f"{t:04d}.jpg"), img)
                for role, img in (("pha", pha), ("fgr", fgr)):
                    (pd / role).mkdir(parents=True, exist_ok=True)
                    noisy = np.clip(img.astype(np.int16) + rng.integers(-20, 21, img.shape, dtype=np.int16), 0, 255).astype(np.uint8)
                    cv2.imwrite(str(pd / role / f"{t:04d}.png"), noisy)
    return gt, pred


# -- the transcription of evaluate_hr.py (CPU) ------------------------------------------------------------------

def _gauss_filter(sigma: float = 1.4, eps: float = 1e-2) -> tuple[np.ndarray, np.ndarray]:
    half = np.ceil(sigma * np.sqrt(-2 * np.log(np.sqrt(2 * np.pi) * sigma * eps)))
    size = int(2 * half + 1)
    g = lambda x: np.exp(-x ** 2 / (2 * sigma ** 2)) / (sigma * np.sqrt(2 * np.pi))  # noqa: E731
    fx = np.zeros((size, size))
    for i in range(size):
        for j in range(size):
            x = j - half
            fx[i, j] = g(i - half) * (-x * g(x) / sigma ** 2)
    fx = fx / np.sqrt((fx ** 2).sum())
    return fx, fx.T


def _official_clip(pred_clip: Path, true_clip: Path) -> dict[str, list[float]]:
    """evaluate_hr.py's evaluate_worker for one clip: per-frame values of its default keys."""
    import torch
    import torch.nn.functional as F

    fx, fy = (torch.from_numpy(k).float()[None, None] for k in _gauss_filter())

    def grad_mag(x):
        xp = F.pad(x[None, None], (4, 4, 4, 4), mode="replicate")
        return (F.conv2d(xp, fx) ** 2 + F.conv2d(xp, fy) ** 2).sqrt()[0, 0]

    out = {k: [] for k in ("pha_mad", "pha_mse", "pha_grad", "pha_dtssd", "fgr_mse")}
    pm1 = tm1 = None
    for i, name in enumerate(sorted(os.listdir(pred_clip / "pha"))):
        stem = os.path.splitext(name)[0]
        p = torch.from_numpy(cv2.imread(str(pred_clip / "pha" / name), cv2.IMREAD_GRAYSCALE)).float().div_(255)
        t = torch.from_numpy(cv2.imread(str(true_clip / "pha" / f"{stem}.jpg"), cv2.IMREAD_GRAYSCALE)).float().div_(255)
        out["pha_mad"].append(float((p - t).abs().mean() * 1e3))
        out["pha_mse"].append(float(((p - t) ** 2).mean() * 1e3))
        out["pha_grad"].append(float(((grad_mag(t) - grad_mag(p)) ** 2).sum() / 1000))
        out["pha_dtssd"].append(0.0 if i == 0 else float(((((p - pm1) - (t - tm1)) ** 2).sum() / t.numel()).sqrt() * 1e2))
        pm1, tm1 = p, t
        pf = torch.from_numpy(cv2.imread(str(pred_clip / "fgr" / name), cv2.IMREAD_COLOR)).float().div_(255)
        tf = torch.from_numpy(cv2.imread(str(true_clip / "fgr" / f"{stem}.jpg"), cv2.IMREAD_COLOR)).float().div_(255)
        m = (t > 0)[..., None].expand_as(tf)
        out["fgr_mse"].append(float(((pf[m] - tf[m]) ** 2).mean() * 1e3))
    return out


def official(pred: Path, gt: Path, workers: int) -> dict[str, float]:
    """The workbook value (column means over clips, then their mean) with the clips on ``workers`` threads."""
    clips = [(pred / s / c, gt / s / c) for s in sorted(os.listdir(pred)) for c in sorted(os.listdir(pred / s))]
    with ThreadPoolExecutor(max_workers=workers) as ex:
        rows = list(ex.map(lambda pc: _official_clip(*pc), clips))
    n = len(rows[0]["pha_mad"])
    return {k: float(np.mean([np.mean([r[k][j] for r in rows]) for j in range(n)])) for k in rows[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clips", type=int, default=2, help="clips per subset")
    ap.add_argument("--frames", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--keep", type=Path, default=None, help="build the tree here (default: a temporary folder)")
    args = ap.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="video_scoring_"))
    gt, pred = build(root, args.clips, args.frames)
    n_frames = 2 * args.clips * args.frames
    from mattebench.commands.cli import main as cli

    t0 = time.perf_counter()
    rc = cli(["run", "--predictions", str(pred), "--name", "noisy", "--dataset", "videomatte-1920x1080", "--data-root", str(gt),
              "--out", str(root / "runs"), "--jobs", str(args.workers), "--fresh", "--quiet"])
    t_mb = time.perf_counter() - t0
    means = json.loads(next((root / "runs").rglob("summary.json")).read_text())["means"]
    t0 = time.perf_counter()
    ref = official(pred, gt, args.workers)
    t_off = time.perf_counter() - t0
    pairs = {"pha_mad": "mad@rvm-hr", "pha_mse": "mse@rvm-hr", "pha_grad": "grad@rvm-hr", "pha_dtssd": "dtssd@rvm-hr",
             "fgr_mse": "fgr_mse@rvm-hr"}
    worst = max(abs(means[v] - ref[k]) / max(abs(ref[k]), 1e-12) for k, v in pairs.items())
    load = os.getloadavg()[0]
    print(f"{n_frames} frames at {W}x{H} ({2 * args.clips} clips), {args.workers} workers, load average {load:.1f}, rc {rc}")
    print(f"mattebench run (rvm-hr + every mattebench metric, MESSDdt with estimated flow): {t_mb:6.2f} s  "
          f"{n_frames / t_mb:5.2f} frames/s")
    print(f"evaluate_hr.py transcription (its 5 metrics, CPU torch):                      {t_off:6.2f} s  "
          f"{n_frames / t_off:5.2f} frames/s")
    for k, v in pairs.items():
        print(f"  {k:10s} official {ref[k]:.7g}  mattebench {means[v]:.7g}")
    print(f"largest relative difference of the official values: {worst:.2e}" + ("" if math.isfinite(worst) else " (!)"))


if __name__ == "__main__":
    main()
