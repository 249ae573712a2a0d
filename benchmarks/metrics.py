"""Speed and exactness of mattebench.metrics against the slow literal SciPy reference.

    python benchmarks/metrics.py [--size 2048] [--repeat 5]

Builds a deterministic pair (a soft disc as ground truth, a shifted, differently blurred disc
with pixel noise as prediction, both 8-bit as the runner scores them) and a trimap whose
unknown band holds ~300k pixels at 2048x2048, then times each unknown-region metric in the
straightforward SciPy version (``tests/reference_metrics.py``) and in mattebench, and prints
the per-metric times, the total speed-up and the largest relative difference. Two predictions
are scored: ``noisy`` (per-pixel noise: the hardest case for the connectivity error, whose
top-threshold mask breaks into tens of thousands of components) and ``smooth``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from typing import Callable

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

import reference_metrics as R  # noqa: E402

from mattebench import metrics as M  # noqa: E402

KEYS = ("sad", "mse", "grad", "conn")


def soft_disc(size: int, cy: float, cx: float, radius: float, ramp: float) -> np.ndarray:
    """alpha = 1 inside, 0 outside, a linear ramp of ``ramp`` pixels across the edge."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    r = np.hypot(yy - cy, xx - cx)
    return np.clip((radius - r) / ramp + 0.5, 0.0, 1.0)


def make_case(size: int, noisy: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(2048)
    c = size / 2
    radius = size * 700 / 2048
    gt = soft_disc(size, c, c, radius, ramp=size * 40 / 2048)
    pred = soft_disc(size, c + 3.5, c - 2.0, radius + 2.5, ramp=size * 55 / 2048)
    # a smooth, low-frequency error, as a real matting network makes
    yy, xx = np.mgrid[0:size, 0:size] / size
    pred = pred + 0.04 * np.sin(9 * xx) * np.cos(7 * yy) * (pred > 0) * (pred < 1)
    if noisy:
        pred = pred + rng.normal(0.0, 6.0 / 255.0, pred.shape)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    r = np.hypot(yy - c, xx - c)
    band = size * 34 / 2048
    trimap = np.where(np.abs(r - radius) < band, 128, np.where(r < radius, 255, 0)).astype(np.uint8)
    return M.quantize(np.clip(pred, 0, 1)), M.quantize(gt), trimap


def best_time(fn: Callable[[], float], repeat: int) -> tuple[float, float]:
    times, value = [], float("nan")
    for _ in range(repeat):
        t0 = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t0)
    return min(times), value


def rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-300)


def run_case(name: str, pred: np.ndarray, gt: np.ndarray, trimap: np.ndarray, repeat: int) -> float:
    n_unknown = int((trimap == 128).sum())
    print(f"\n== {name}: {pred.shape[1]}x{pred.shape[0]} uint8, {n_unknown} unknown pixels ==")
    print(f"{'metric':<8}{'reference s':>13}{'mattebench ms':>15}{'speed-up':>10}{'value':>16}{'rel. diff':>11}")
    ref_total = fast_total = 0.0
    worst = 0.0
    for k in KEYS:
        t_ref, v_ref = best_time(lambda: R.REFERENCE[k](pred, gt, trimap), max(1, repeat // 3))
        fn = getattr(M, k)
        t_fast, v_fast = best_time(lambda: fn(pred, gt, trimap), repeat)
        d = rel(v_fast, v_ref)
        worst = max(worst, d)
        ref_total += t_ref
        fast_total += t_fast
        print(f"{k:<8}{t_ref:>13.3f}{t_fast * 1e3:>15.1f}{t_ref / t_fast:>9.1f}x{v_fast:>16.8g}{d:>11.1e}")
    print(f"{'total':<8}{ref_total:>13.3f}{fast_total * 1e3:>15.1f}{ref_total / fast_total:>9.1f}x{'':>16}{worst:>11.1e}")
    t_all, _ = best_time(lambda: sum(M.unknown_metrics(pred, gt, trimap).values()), repeat)
    print(f"unknown_metrics() (all four, shared checks): {t_all * 1e3:.1f} ms = {ref_total / t_all:.1f}x")
    pf, gf = pred.astype(np.float32) / np.float32(255), gt.astype(np.float32) / np.float32(255)
    t_f, vals = best_time(lambda: M.unknown_metrics(pf, gf, trimap), repeat)  # type: ignore[arg-type,return-value]
    same = max(rel(vals[k], M.unknown_metrics(pred, gt, trimap)[k]) for k in KEYS)  # type: ignore[index]
    print(f"float32 inputs k/255: {t_f * 1e3:.1f} ms, max rel. diff to uint8 inputs {same:.1e}")
    return ref_total / fast_total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=2048)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    import cv2

    print(f"numpy {np.__version__}, opencv {cv2.__version__} ({cv2.getNumThreads()} threads), {os.cpu_count()} CPUs")
    ratios = [run_case(name, *make_case(args.size, noisy), args.repeat) for name, noisy in (("noisy", True), ("smooth", False))]
    print("\nspeed-up of the four metrics together: " + ", ".join(f"{r:.1f}x" for r in ratios))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
