"""Saved predictions against PPM-100 at its real resolutions: mattebench against the 20-line script it replaces.

    python benchmarks/real_scale.py [--work DIR] [--scale 1.0] [--limit N] [--repeat K]

**The data.** The 41 pairs of ``../shared/realdata/ppm100-dev`` are downscaled (longer side 1024 px). Each is
upscaled (``cv2.INTER_LINEAR``, photo and matte alike) to one of PPM-100's sizes, cycling through 1920x1080
(three times), 2560x1440, 3840x2160 (twice) and 6000x4000: 7.2 megapixels on average, as PPM-100's 7.1. The
size is turned to the photo's orientation (portrait photos get 1080x1920, ...), which stretches the aspect
ratio a little: that changes no timing. Photos and mattes are saved as JPEG (quality 95) in the PPM-100 layout,
as PPM-100 ships them. Each prediction is the upscaled matte as decoded, blurred (Gaussian, sigma 4 px) and
saved as an 8-bit PNG. Everything goes to ``--work`` (a temporary folder by default; kept with ``--work``).

**The two sides**, each in a fresh child process, timed as wall time from the process start to its exit
(interpreter start-up and imports included):
- the script (``SCRIPT`` below, written from the protocol: read both files with OpenCV, convert to float32 in
  [0, 1], mean squared and mean absolute difference in float64), serially and with a 2-thread pool;
- ``mattebench run --predictions DIR --name N --dataset ppm100 --no-breakdowns --jobs 1`` and ``--jobs 2`` with
  every guard on (``--no-breakdowns``: the whole-image protocol the script computes, without issue 24's unranked
  region/boundary/whole-image SAD-Grad-Conn columns, which a default run adds at several times the cost)
  (run identity and lock, input hashing, prediction checks, fsynced rows), into a fresh ``--out``; where Ray is
  installed also ``--executor ray --workers 2`` (its time includes starting Ray), whose rows must equal serial's.

**Repetitions** (``--repeat K``): every side runs K times, the sides in turn, and the report gives the median time, the largest peak memory and the median cores busy; every repetition must give the same per-sample values. **Cores busy**: the CPU seconds the whole machine spent busy during a child, from /proc/stat, over its wall time (on a quiet machine: the child's process tree); a serial mattebench run keeps more than one core busy (OpenCV converts 8-bit maps on its own threads), which bounds what two workers can add on two cores. **Peak memory**: the largest sum of resident set sizes over the child and all its descendants (its worker
processes, the fork server), sampled from /proc every 20 ms. **Per-sample values**: the rows of ``samples.csv``
against the script's, compared exactly. **Per-stage times**: one more serial mattebench run in a child
process, with timers wrapped around the functions of each stage (decode: every file read and decoded, by kind;
trimap: generation; predict: the row's ``predict_ms``, which is the prediction file's read; score: the metric
functions; store: the fsynced row write). **Time to first row**: ``--jobs 2`` in a child process, from the
executor's start to its first row, against a serial executor's; the child starts the pool's fork server before
its imports, as ``mattebench run`` does. **Steady state**: the time from the first row to the last in the same child,
for a pool of one worker and a pool of two: how two workers scale once started, which the whole-run ratio hides
when start-up is a large part of a short run.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Optional

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MATTEBENCH_SHARED", REPO / ".." / "shared")).resolve()
SOURCE = SHARED / "realdata" / "ppm100-dev" / "PPM-100"
SIZES = ((1920, 1080), (2560, 1440), (1920, 1080), (3840, 2160), (1920, 1080), (6000, 4000), (3840, 2160))
BLUR_SIGMA = 4.0

# The script a matting repository ships, written from the protocol; run as `python -c SCRIPT pred matte out threads`.
SCRIPT = r'''
import json, sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
import cv2
import numpy as np

pred_dir, matte_dir, out, threads = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])

def score_one(stem):  # alpha = float32 k/255, as the protocol reads 8-bit files; means in float64
    p = cv2.imread(str(pred_dir / f"{stem}.png"), cv2.IMREAD_GRAYSCALE).astype(np.float32) / np.float32(255)
    g = cv2.imread(str(matte_dir / f"{stem}.jpg"), cv2.IMREAD_GRAYSCALE).astype(np.float32) / np.float32(255)
    d = (p - g).astype(np.float64)
    return stem, float(np.mean(d * d)), float(np.mean(np.abs(d)))

stems = sorted(f.stem for f in pred_dir.glob("*.png"))
if threads == 1:
    rows = [score_one(s) for s in stems]
else:
    with ThreadPoolExecutor(threads) as ex:
        rows = list(ex.map(score_one, stems))
json.dump({s: [mse, mad] for s, mse, mad in rows}, open(out, "w"))
'''


# -- the data ------------------------------------------------------------------------------------
def build(work: Path, scale: float, limit: Optional[int]) -> Path:
    """The upscaled PPM-100 tree and the predictions under ``work``; files already there are kept."""
    stems = sorted(f.stem for f in (SOURCE / "image").iterdir())[:limit]
    for folder in ("PPM-100/image", "PPM-100/matte", "preds"):
        (work / folder).mkdir(parents=True, exist_ok=True)
    for k, stem in enumerate(stems):
        pred = work / "preds" / f"{stem}.png"
        if pred.exists():
            continue
        photo = cv2.imread(str(SOURCE / "image" / f"{stem}.jpg"), cv2.IMREAD_COLOR)
        matte = cv2.imread(str(SOURCE / "matte" / f"{stem}.jpg"), cv2.IMREAD_GRAYSCALE)
        w, h = SIZES[k % len(SIZES)]
        if photo.shape[0] > photo.shape[1]:
            w, h = h, w
        w, h = max(16, round(w * scale)), max(16, round(h * scale))
        big_photo = cv2.resize(photo, (w, h), interpolation=cv2.INTER_LINEAR)
        big_matte = cv2.resize(matte, (w, h), interpolation=cv2.INTER_LINEAR)
        quality = [cv2.IMWRITE_JPEG_QUALITY, 95]
        assert cv2.imwrite(str(work / "PPM-100/image" / f"{stem}.jpg"), big_photo, quality)
        matte_file = work / "PPM-100/matte" / f"{stem}.jpg"
        assert cv2.imwrite(str(matte_file), big_matte, quality)
        decoded = cv2.imread(str(matte_file), cv2.IMREAD_GRAYSCALE)
        assert cv2.imwrite(str(pred), cv2.GaussianBlur(decoded, (0, 0), BLUR_SIGMA))
    return work


# -- running a child and watching its memory -------------------------------------------------------
def _tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and every descendant, from /proc."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue
    return total


def _busy_cpu_s() -> float:
    """CPU seconds this machine has spent busy (every core, every process) since boot, from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return float("nan")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def timed_child(cmd: list[str], env: Optional[dict[str, str]] = None) -> dict[str, Any]:
    """Run ``cmd``; its wall time, the peak of its process tree's summed RSS, and the cores the machine kept busy
    meanwhile (busy CPU seconds / wall seconds, every process counted: on a quiet machine, the child's tree)."""
    peak = [0]
    busy0 = _busy_cpu_s()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _tree_rss(proc.pid))
            done.wait(0.02)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    cores = (_busy_cpu_s() - busy0) / wall
    done.set()
    watcher.join()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:6])} ... exited {proc.returncode}:\n{out[-2000:]}\n{err[-4000:]}")
    return {"seconds": wall, "peak_rss_gb": peak[0] / 1e9, "cores_busy": cores, "stdout": out, "stderr": err}


def run_script(work: Path, threads: int) -> tuple[dict[str, Any], dict[str, tuple[float, float]]]:
    out = work / f"script-{threads}.json"
    res = timed_child([sys.executable, "-c", SCRIPT, str(work / "preds"), str(work / "PPM-100/matte"), str(out), str(threads)])
    return res, {k: tuple(v) for k, v in json.loads(out.read_text()).items()}


def run_mattebench(work: Path, jobs: int, ray: bool = False) -> tuple[dict[str, Any], dict[str, tuple[float, float]]]:
    out = Path(tempfile.mkdtemp(prefix=f"runs-{jobs}-", dir=work))
    cmd = [sys.executable, "-m", "mattebench", "run", "--predictions", str(work / "preds"), "--name", "blurred-gt",
           "--dataset", "ppm100", "--data-root", str(work), "--out", str(out), "--quiet", "--no-breakdowns"]
    cmd += ["--executor", "ray", "--workers", str(jobs)] if ray else ["--jobs", str(jobs)]
    res = timed_child(cmd, env={**os.environ, "PYTHONPATH": str(REPO)})
    (samples,) = out.glob("*/*/samples.csv")
    with open(samples, newline="") as f:
        rows = list(csv.DictReader(f))
    bad = [r for r in rows if r["status"] != "ok"]
    if bad:
        raise SystemExit(f"mattebench --jobs {jobs}: {len(bad)} error rows, first: {bad[0]['error']}")
    return res, {r["id"]: (float(r["mse_whole"]), float(r["mad_whole"])) for r in rows}


# -- per-stage times and time to first row (run in a child: `real_scale.py --stages WORK`) ---------
def _wrap(owner: Any, name: str, key: Any, acc: dict[str, float]) -> None:
    real = getattr(owner, name)

    def timed(*a: Any, **k: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return real(*a, **k)
        finally:
            label = key(*a) if callable(key) else key
            acc[label] = acc.get(label, 0.0) + time.perf_counter() - t0

    setattr(owner, name, timed)


def stages(work: Path) -> dict[str, Any]:
    from mattebench.runs.executors.forkserver import start_early

    start_early("predictions", "ppm100")  # as `mattebench run` does before its own imports (the pool reuses it)
    from mattebench_baselines import saved_predictions
    from mattebench_baselines.saved_predictions import SavedPredictions

    from mattebench.data import io, trimap
    from mattebench.data.ppm100 import PPM100
    from mattebench.runs import store
    from mattebench.runs.executors.process import ProcessExecutor
    from mattebench.runs.runner import LocalExecutor, evaluate
    from mattebench.scoring import scorer

    first: dict[str, float] = {}
    after_first: dict[str, float] = {}  # from the first row to the last: the pool's steady state, start-up excluded
    for name, executor in (("serial", LocalExecutor()), ("pool of 1", ProcessExecutor(jobs=1)),
                           ("jobs2", ProcessExecutor(jobs=2))):
        real_run = executor.run

        def run(sc: Any, spec: Any, ids: list[str], _real: Any = real_run, _name: str = name) -> Any:
            t0 = time.perf_counter()
            for k, row in enumerate(_real(sc, spec, ids)):
                now = time.perf_counter()
                if k == 0:
                    first[_name] = now - t0
                after_first[_name] = now - t0 - first[_name]
                yield row

        executor.run = run  # type: ignore[method-assign]
        with tempfile.TemporaryDirectory(dir=work) as out:
            evaluate("predictions", "ppm100", method_options={"dir": str(work / "preds"), "name": "blurred-gt"},
                     data_root=str(work), out=out, executor=executor, breakdowns=False)
    # stages that may not run at all are listed with 0: what the run did not need, it did not do
    acc: dict[str, float] = {"decode photo": 0.0, "trimap": 0.0, "score unknown": 0.0}
    _wrap(io, "_open", lambda p: "decode " + {"image": "photo", "matte": "matte"}.get(Path(p).parent.name, "other"), acc)
    _wrap(saved_predictions, "read_prediction", "decode prediction (in predict)", acc)
    _wrap(trimap, "trimap_from_alpha", "trimap", acc)
    _wrap(scorer, "_whole_scores", "score whole", acc)
    _wrap(scorer, "_unknown_scores", "score unknown", acc)
    _wrap(store.RunStore, "write", "store", acc)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=work) as out:
        rows, _ = evaluate(SavedPredictions(work / "preds", name="blurred-gt"), PPM100(work), out=out, breakdowns=False)
    acc["total (evaluate, serial)"] = time.perf_counter() - t0
    acc["predict (rows' predict_ms)"] = sum(float(r["predict_ms"]) for r in rows) / 1000
    return {"first_row_s": first, "after_first_row_s": after_first, "stages_s": acc}


# -- the report ------------------------------------------------------------------------------------
def _compare(a: dict[str, tuple[float, float]], b: dict[str, tuple[float, float]], what: str) -> str:
    """Per metric: how many samples are equal to the last bit, and the largest relative difference."""
    if set(a) != set(b):
        raise SystemExit(f"{what}: different samples ({len(a)} vs {len(b)})")
    parts = []
    for m, name in enumerate(("MSE", "MAD")):
        same = sum(a[k][m] == b[k][m] for k in a)
        diff = max(abs(a[k][m] - b[k][m]) / max(abs(b[k][m]), 1e-300) for k in a)
        if diff > 1e-7:
            raise SystemExit(f"{what}: {name} differs by {diff:.3g} (relative) on some sample")
        parts.append(f"{name} bit-identical on {same}/{len(a)}, largest relative difference {diff:.2g}")
    return f"{what}: " + "; ".join(parts)


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, help="folder for the upscaled data and the runs (kept); default: a temporary one")
    ap.add_argument("--scale", type=float, default=1.0, help="scale PPM-100's sizes (for a quick check; 1.0 for the figures)")
    ap.add_argument("--limit", type=int, help="only the first N pairs")
    ap.add_argument("--repeat", type=int, default=1,
                    help="run every side K times, in turn (script, mattebench, script, ...), and report the median time "
                         "and the largest memory: a virtual machine's speed drifts between minutes")
    ap.add_argument("--stages", type=Path, help=argparse.SUPPRESS)  # internal: the per-stage child
    args = ap.parse_args(argv)
    if args.stages:
        print(json.dumps(stages(args.stages)))
        return 0
    if not SOURCE.is_dir():
        print(f"real data absent: {SOURCE} (set MATTEBENCH_SHARED)", file=sys.stderr)
        return 2
    work = args.work or Path(tempfile.mkdtemp(prefix="real-scale-"))
    t0 = time.perf_counter()
    build(work, args.scale, args.limit)
    mpx = np.mean([np.prod(cv2.imread(str(f), cv2.IMREAD_REDUCED_GRAYSCALE_8).shape) * 64 / 1e6
                   for f in (work / "PPM-100/matte").iterdir()])
    print(f"data: {len(list((work / 'preds').iterdir()))} pairs in {work}, ~{mpx:.1f} Mpx on average "
          f"(built in {time.perf_counter() - t0:.0f} s); load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    results, values = {}, {}
    runs: list[tuple[str, Any, int]] = [("script serial", run_script, 1), ("script 2 threads", run_script, 2),
                                        ("mattebench --jobs 1", run_mattebench, 1), ("mattebench --jobs 2", run_mattebench, 2)]
    if importlib.util.find_spec("ray") is not None:  # the rows must not depend on the executor
        runs.append(("mattebench Ray, 2", lambda w, n: run_mattebench(w, n, ray=True), 2))
    tries: dict[str, list[dict[str, Any]]] = {label: [] for label, _, _ in runs}
    for k in range(max(1, args.repeat)):
        for label, fn, n in runs:
            res, vals = fn(work, n)
            tries[label].append(res)
            if k == 0:
                values[label] = vals
            elif vals != values[label]:  # every repetition must give the same rows, to the last bit
                raise SystemExit(f"{label}: repetition {k + 1} gave other per-sample values than the first")
    for label, _, _ in runs:
        got = tries[label]
        results[label] = {"seconds": float(np.median([r["seconds"] for r in got])),
                          "peak_rss_gb": max(r["peak_rss_gb"] for r in got),
                          "cores_busy": float(np.median([r["cores_busy"] for r in got]))}
        spread = f" (of {len(got)}: {min(r['seconds'] for r in got):.2f} to {max(r['seconds'] for r in got):.2f} s)" if len(got) > 1 else ""
        print(f"  {label:<22} {results[label]['seconds']:6.2f} s{spread}   peak RSS {results[label]['peak_rss_gb']:.2f} GB"
              f"   cores busy {results[label]['cores_busy']:.2f}   (load {os.getloadavg()[0]:.2f})")
    s1, s2 = results["script serial"]["seconds"], results["script 2 threads"]["seconds"]
    m1, m2 = results["mattebench --jobs 1"]["seconds"], results["mattebench --jobs 2"]["seconds"]
    print(f"ratios: mattebench serial / script serial = {m1 / s1:.2f}; mattebench --jobs 2 / script 2 threads = {m2 / s2:.2f}; "
          f"mattebench --jobs 2 speed-up over --jobs 1 = {m1 / m2:.2f}x")
    # Why --jobs 2 cannot reach 2x --jobs 1 here: a serial run already keeps more than one core busy (OpenCV runs the
    # 8-bit-to-float conversion on its own threads), and its start-up and exit do not shrink with more workers.
    u1 = results["mattebench --jobs 1"]["cores_busy"]
    n_cpu = os.cpu_count() or 1
    print(f"cores: mattebench --jobs 1 keeps {u1:.2f} of {n_cpu} busy, --jobs 2 "
          f"{results['mattebench --jobs 2']['cores_busy']:.2f}: with no start-up at all, {n_cpu} cores could give at "
          f"most {min(2, n_cpu) / u1:.2f}x --jobs 1")
    print(f"memory: mattebench serial / script serial = "
          f"{results['mattebench --jobs 1']['peak_rss_gb'] / results['script serial']['peak_rss_gb']:.2f}")
    pairs = [("script 2 threads", "script serial"), ("mattebench --jobs 1", "script serial"),
             ("mattebench --jobs 2", "mattebench --jobs 1")]
    if "mattebench Ray, 2" in values:
        pairs.append(("mattebench Ray, 2", "mattebench --jobs 1"))
        print("  (the Ray time includes starting a local Ray instance)")
    for other, base in pairs:
        print("values: " + _compare(values[other], values[base], f"{other} vs {base}"))
    child = subprocess.run([sys.executable, __file__, "--stages", str(work)], capture_output=True, text=True,
                           env={**os.environ, "PYTHONPATH": str(REPO)})
    if child.returncode != 0:
        print(f"stage timing failed:\n{child.stderr[-3000:]}", file=sys.stderr)
        return 1
    st = json.loads(child.stdout.strip().splitlines()[-1])
    print("time to first row: " + ", ".join(f"{k} {v:.3f} s" for k, v in st["first_row_s"].items()))
    span = st["after_first_row_s"]
    print("rows after the first (start-up and imports excluded): " + ", ".join(f"{k} {v:.2f} s" for k, v in span.items())
          + f"; two workers / a pool of one = {span['pool of 1'] / span['jobs2']:.2f}x")
    print("per-stage time, one instrumented serial run (s): "
          + ", ".join(f"{k} {v:.2f}" for k, v in sorted(st["stages_s"].items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
