"""Speed and exactness of mattebench.metrics.fast against the slow literal SciPy reference and mmeval.

    python benchmarks/metrics.py [--size 2048] [--repeat 5] [--threads 1]

Builds a deterministic pair (a soft disc as ground truth, a shifted, differently blurred disc
with pixel noise as prediction, both 8-bit as the runner scores them) and a trimap whose
unknown band holds ~300k pixels at 2048x2048, then times each unknown-region metric in the
straightforward SciPy version (``mattebench/metrics/definitions.py``) and in mattebench, and prints
the per-metric times, the total speed-up and the largest relative difference. Two predictions
are scored: ``noisy`` (per-pixel noise: the hardest case for the connectivity error, whose
top-threshold mask breaks into tens of thousands of components) and ``smooth``.

Then the same comparison on a 1920x1080 pair (a soft ellipse, a ~370k-pixel unknown band) adds
mmeval 0.2.1 (the metric code mmagic uses; optional, skipped with a note when absent. Install it with
``pip install --no-deps mmeval==0.2.1 plum-dispatch==1.7.4 rich``: its own requirement
``opencv-python`` would overwrite the files of ``opencv-python-headless``), fed as mmagic feeds it: float64 alphas in [0, 1], SAD and MSE
on maps masked to the unknown region (mmeval's SAD and MSE sum over the whole map). The masking
and the conversions are not timed, which favours mmeval. mmeval thresholds the connectivity
error in float64 where the reference (and mattebench) use single precision, so its Conn can
differ slightly; the table shows each value.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from typing import Callable

import numpy as np

from mattebench.metrics import definitions as R
from mattebench.metrics import fast as M

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


def best_time(fn: Callable[[], object], repeat: int) -> tuple[float, float, object]:
    """Fastest wall-clock and fastest CPU time (all threads) over ``repeat`` runs, and the value.

    On a shared machine the wall clock includes waiting for a core; the CPU time does not, but it
    sums OpenCV's threads, so its ratio is the conservative one for mattebench."""
    walls, cpus, value = [], [], None
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        value = fn()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return min(walls), min(cpus), value


def rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-300)


def run_case(name: str, pred: np.ndarray, gt: np.ndarray, trimap: np.ndarray, repeat: int) -> tuple[float, float]:
    n_unknown = int((trimap == 128).sum())
    print(f"\n== {name}: {pred.shape[1]}x{pred.shape[0]} uint8, {n_unknown} unknown pixels ==")
    print(f"{'metric':<7}{'reference s':>13}{'mattebench ms':>16}{'speed-up':>15}{'value':>15}{'rel. diff':>11}")
    print(f"{'':<7}{'wall / cpu':>13}{'wall / cpu':>16}{'wall / cpu':>15}")
    ref_w = ref_c = fast_w = fast_c = 0.0
    worst = 0.0
    for k in KEYS:
        rw, rc, v_ref = best_time(lambda: R.REFERENCE[k](pred, gt, trimap), max(1, (repeat + 1) // 2))
        fn = getattr(M, k)
        fw, fc, v_fast = best_time(lambda: fn(pred, gt, trimap), repeat)
        d = rel(float(v_fast), float(v_ref))  # type: ignore[arg-type]
        worst = max(worst, d)
        ref_w, ref_c, fast_w, fast_c = ref_w + rw, ref_c + rc, fast_w + fw, fast_c + fc
        print(f"{k:<7}{rw:>7.3f} /{rc:>5.2f}{fw * 1e3:>9.1f} /{fc * 1e3:>5.0f}{rw / fw:>8.1f}x /{rc / fc:>4.0f}x{float(v_fast):>15.8g}{d:>11.1e}")  # type: ignore[arg-type]
    print(f"{'total':<7}{ref_w:>7.3f} /{ref_c:>5.2f}{fast_w * 1e3:>9.1f} /{fast_c * 1e3:>5.0f}{ref_w / fast_w:>8.1f}x /{ref_c / fast_c:>4.0f}x{'':>15}{worst:>11.1e}")
    aw, ac, _ = best_time(lambda: M.unknown_metrics(pred, gt, trimap), repeat)
    print(f"unknown_metrics() (all four, one input check): {aw * 1e3:.1f} ms wall, {ac * 1e3:.0f} ms cpu = {ref_w / aw:.1f}x / {ref_c / ac:.0f}x")
    pf, gf = pred.astype(np.float32) / np.float32(255), gt.astype(np.float32) / np.float32(255)
    fw, fc, vals = best_time(lambda: M.unknown_metrics(pf, gf, trimap), repeat)
    base = M.unknown_metrics(pred, gt, trimap)
    same = max(rel(vals[k], base[k]) for k in KEYS)  # type: ignore[index]
    print(f"float32 inputs k/255: {fw * 1e3:.1f} ms wall, {fc * 1e3:.0f} ms cpu; max rel. diff to uint8 inputs {same:.1e}")
    return ref_w / fast_w, ref_c / fast_c


def make_hd_case(noisy: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """1920x1080: a soft ellipse, a shifted and softer prediction, a band of ~370k unknown pixels."""
    h, w = 1080, 1920
    rng = np.random.default_rng(1080)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)

    def ellipse(cy: float, cx: float, ry: float, rx: float, ramp: float) -> tuple[np.ndarray, np.ndarray]:
        r = np.hypot((yy - cy) / ry, (xx - cx) / rx)
        return np.clip((1 - r) * min(ry, rx) / ramp + 0.5, 0, 1), r

    gt, r = ellipse(560, 960, 430, 380, 30)
    pred, _ = ellipse(563, 957, 432, 383, 42)
    pred = pred + 0.04 * np.sin(9 * xx / w) * np.cos(7 * yy / w) * (pred > 0) * (pred < 1)
    if noisy:
        pred = pred + rng.normal(0.0, 6.0 / 255.0, pred.shape)
    trimap = np.where(np.abs(r - 1) < 0.18, 128, np.where(r < 1, 255, 0)).astype(np.uint8)
    return M.quantize(np.clip(pred, 0, 1)), M.quantize(gt), trimap


def mmeval_functions() -> "dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], float]] | None":
    """mmeval's four metrics as (pred, gt, trimap) -> value on 8-bit maps, or None if absent."""
    try:
        import warnings

        warnings.simplefilter("ignore", DeprecationWarning)
        from mmeval import (
            ConnectivityError,
            GradientError,
            MattingMeanSquaredError,
            SumAbsoluteDifferences,
        )
    except ImportError:
        return None
    return {
        "sad": lambda p, g, t: SumAbsoluteDifferences()([p * (t == 128)], [g * (t == 128)])["sad"],
        "mse": lambda p, g, t: MattingMeanSquaredError()([p * (t == 128)], [g * (t == 128)], [t])["matting_mse"],
        "grad": lambda p, g, t: GradientError()([p], [g], [t])["gradient_error"],
        "conn": lambda p, g, t: ConnectivityError()([p], [g], [t])["connectivity_error"],
    }


def run_hd_case(name: str, pred: np.ndarray, gt: np.ndarray, trimap: np.ndarray, repeat: int) -> None:
    n_unknown = int((trimap == 128).sum())
    print(f"\n== {name}: {pred.shape[1]}x{pred.shape[0]} uint8, {n_unknown} unknown pixels ==")
    mm = mmeval_functions()
    if mm is None:
        print("(mmeval is not installed: pip install mmeval==0.2.1 to time it here)")
    pf, gf = pred.astype(np.float64) / 255.0, gt.astype(np.float64) / 255.0  # as mmagic passes them
    # mmeval's SAD and MSE sum over the whole map: mmagic masks the maps first (not timed here)
    pm, gm = pf * (trimap == 128), gf * (trimap == 128)
    print(f"{'metric':<7}{'mattebench ms':>15}{'mmeval ms':>11}{'literal ms':>12}{'mattebench':>16}{'mmeval':>16}{'literal':>16}")
    tot = {"ours": 0.0, "mm": 0.0, "ref": 0.0}
    for k in KEYS:
        fw, _, v = best_time(lambda: getattr(M, k)(pred, gt, trimap), repeat)
        rw, _, v_ref = best_time(lambda: R.REFERENCE[k](pred, gt, trimap), 1)
        mw, v_mm = math.nan, math.nan
        if mm is not None:
            args = (pm, gm, trimap) if k in ("sad", "mse") else (pf, gf, trimap)
            mw, _, v_mm = best_time(lambda: mm[k](*args), max(1, repeat // 2))
            tot["mm"] += mw
        tot["ours"] += fw
        tot["ref"] += rw
        print(f"{k:<7}{fw * 1e3:>15.1f}{mw * 1e3:>11.1f}{rw * 1e3:>12.0f}{float(v):>16.10g}{float(v_mm):>16.10g}{float(v_ref):>16.10g}")  # type: ignore[arg-type]
    aw, ac, _ = best_time(lambda: M.unknown_metrics(pred, gt, trimap), repeat)
    print(f"{'total':<7}{tot['ours'] * 1e3:>15.1f}{tot['mm'] * 1e3:>11.1f}{tot['ref'] * 1e3:>12.0f}   (wall clock, best of runs)")
    ratio = f"{tot['mm'] / aw:.1f}x less than mmeval, " if mm is not None else ""
    print(f"unknown_metrics() (all four at once): {aw * 1e3:.1f} ms wall = {ratio}{tot['ref'] / aw:.0f}x less than the literal reference")
    if mm is not None:
        args = {k: (pm, gm, trimap) if k in ("sad", "mse") else (pf, gf, trimap) for k in KEYS}
        _, mc, _ = best_time(lambda: [mm[k](*args[k]) for k in KEYS], max(1, repeat // 2))
        print(f"CPU time (less sensitive to other processes' load): mattebench {ac * 1e3:.1f} ms, mmeval {mc * 1e3:.1f} ms = {mc / ac:.1f}x")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=2048)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None, help="OpenCV threads (default: OpenCV's own choice)")
    ap.add_argument("--hd-only", action="store_true", help="only the 1920x1080 comparison with mmeval")
    args = ap.parse_args()
    import cv2

    if args.threads is not None:
        cv2.setNumThreads(args.threads)
    print(f"numpy {np.__version__}, opencv {cv2.__version__} ({cv2.getNumThreads()} threads), {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    if not args.hd_only:
        for name, noisy in (("noisy", True), ("smooth", False)):
            wall, cpu = run_case(name, *make_case(args.size, noisy), args.repeat)
            print(f"-> {name}: the four metrics {wall:.1f}x faster (wall clock), {cpu:.1f}x (CPU time)")
    for name, noisy in (("1080p smooth", False), ("1080p noisy", True)):
        run_hd_case(name, *make_hd_case(noisy), args.repeat)
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end (a shared machine: compare figures within one run)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
