"""Throughput of serial scoring against the local worker pool (``run --jobs``) and Ray, for a
CPU-bound method, in one run.

    python benchmarks/scale.py                                  # closed-form, 12 synthetic images at 320 px
    python benchmarks/scale.py --method knn --n 16 --size 400 --jobs 1 2 --workers 1 2

Every configuration scores the same samples of the embedded ``synthetic`` dataset (nothing is
written: ``out=None``). Each pool configuration starts its own worker processes (each builds
the method once; the forkserver that they fork from is started by the first one, untimed, in a
warm-up), and that start-up is in the wall time. One local Ray instance with as many CPUs as the largest worker count is
shared by the Ray configurations; its start is not timed, but each configuration starts its own
actors (each builds the method once), and that start-up *is* in the wall time, as it is in a real
run. Reported per configuration: wall time, samples/s, the time until the first row came back
(start-up), the steady rate after it, and whether every per-sample value equals the local run's.

Each Ray worker uses the driver's thread settings (for identical numbers), so with 2 workers on 2
cores and no OMP_NUM_THREADS the machine is oversubscribed; ``OMP_NUM_THREADS=1 python
benchmarks/scale.py`` compares one-thread processes. On a shared machine the numbers move with the load of other processes: compare them only within
one invocation.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import time
import warnings
from typing import Any, Iterator, Optional

from tabulate import tabulate

from mattebench.runs.runner import Executor, LocalExecutor, evaluate

# Every per-sample value must be bit-identical (a column may be given a tolerance here if a metric
# ever stops being reproducible across processes).
RTOL: dict[str, float] = {}


class Timed:
    """Wraps an executor and records when each row reached the driver."""

    def __init__(self, inner: Executor) -> None:
        self.inner, self.name = inner, inner.name
        self.remote = getattr(inner, "remote", False)  # the runner then leaves building to the workers
        self.arrivals: list[float] = []
        self.t0 = 0.0

    @property
    def workers(self) -> int:
        return self.inner.workers

    @property
    def notes(self) -> list[str]:
        return list(getattr(self.inner, "notes", []))

    def run(self, scorer: Any, spec: Any, ids: list[str]) -> Iterator[dict[str, Any]]:
        self.t0 = time.perf_counter()
        for row in self.inner.run(scorer, spec, ids):
            self.arrivals.append(time.perf_counter() - self.t0)
            yield row


def same(a: list[dict[str, Any]], b: list[dict[str, Any]], columns: list[str]) -> tuple[bool, float]:
    """(all values equal within RTOL, largest relative difference seen)."""
    by_id = {r["id"]: r for r in b}
    ok, worst = True, 0.0
    for r in a:
        s = by_id.get(r["id"])
        if s is None or s["status"] != r["status"]:
            return False, math.inf
        for c in columns:
            x, y = r.get(c), s.get(c)
            if x is None or y is None or (isinstance(x, float) and math.isnan(x) and math.isnan(y)):
                ok = ok and (x is None) == (y is None)
                continue
            rel = abs(x - y) / max(abs(x), abs(y), 1e-300)
            worst = max(worst, rel)
            ok = ok and rel <= RTOL.get(c, 0.0)
    return ok, worst


Result = tuple[str, float, Timed, list[dict[str, Any]]]  # (configuration, wall seconds, its executor, its rows)


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--method", default="closed-form", help="a CPU-bound method (closed-form, knn, ...)")
    ap.add_argument("--n", type=int, default=12, help="synthetic test images")
    ap.add_argument("--size", type=int, default=320, help="image size in pixels (synthetic's size option)")
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="local pool sizes to time (run --jobs N)")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="Ray worker counts to time (none: --workers 0)")
    return ap.parse_args(argv)


def timed(label: str, method: str, dopts: dict[str, Any], executor: Executor) -> tuple[Result, dict[str, Any]]:
    """One configuration: its result and the run summary."""
    t = Timed(executor)
    start = time.perf_counter()
    rows, summary = evaluate(method, "synthetic", dataset_options=dopts, executor=t)
    return (label, time.perf_counter() - start, t, rows), summary


def time_pools(method: str, dopts: dict[str, Any], jobs: list[int]) -> list[Result]:
    from mattebench.runs.executors.process import ProcessExecutor

    evaluate(method, "synthetic", dataset_options=dopts, limit=1, executor=ProcessExecutor(jobs=1))  # starts the forkserver
    return [timed(f"local pool, --jobs {j}", method, dopts, ProcessExecutor(jobs=j))[0] for j in jobs]


def time_ray(method: str, dopts: dict[str, Any], workers: list[int]) -> list[Result]:
    """One shared local Ray instance (its start untimed), each worker count with its own actors."""
    if not workers:
        return []
    import ray

    from mattebench.runs.executors.ray import RayExecutor

    ray.init(address="local", num_cpus=max(workers), include_dashboard=False, logging_level=logging.WARNING)
    try:
        return [timed(f"ray, {w} worker{'s' if w > 1 else ''}", method, dopts, RayExecutor(workers=w))[0] for w in workers]
    finally:
        ray.shutdown()


def report(args: argparse.Namespace, results: list[Result], base_rows: list[dict[str, Any]], columns: list[str]) -> None:
    table = []
    for name, wall, t, rows in results:
        first = t.arrivals[0] if t.arrivals else math.nan
        steady = (len(t.arrivals) - 1) / (t.arrivals[-1] - first) if len(t.arrivals) > 1 and t.arrivals[-1] > first else math.nan
        ok, worst = same(base_rows, rows, columns)
        table.append([name, f"{wall:.1f}", f"{args.n / wall:.3f}", f"{first:.1f}", f"{steady:.3f}",
                      "yes" if ok else "NO", f"{worst:.1e}"])
    from mattebench.runs.executors.ray import worker_thread_settings

    env, torch_threads = worker_thread_settings()
    print(f"{args.method} on {args.n} synthetic images of {args.size} px; {os.cpu_count()} CPUs; "
          f"threads per process (driver and each worker): {env}, torch {torch_threads}; "
          f"load average {os.getloadavg()[0]:.1f} at the end")
    print(tabulate(table, headers=["executor", "wall s", "samples/s", "first row s", "steady samples/s",
                                   "same values", "max rel diff"], tablefmt="github"))


def main(argv: Optional[list[str]] = None) -> int:
    args = parse_args(argv)
    warnings.simplefilter("ignore")
    dopts = {"n": args.n, "size": args.size}

    # Warm-up in the driver: the first pymatting call compiles with numba (cached on disk, which
    # the Ray workers then reuse), and the first synthetic render fills caches.
    evaluate(args.method, "synthetic", dataset_options=dopts, limit=1)

    local, base = timed("local (1 process)", args.method, dopts, LocalExecutor())
    base_rows = local[3]
    columns = [c for c in base.means if c != "predict_ms"]
    results = [local, *time_pools(args.method, dopts, args.jobs)]
    results += time_ray(args.method, dopts, [w for w in args.workers if w > 0])
    report(args, results, base_rows, columns)
    return 0 if all(same(base_rows, r, columns)[0] for *_, r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
