"""The Ray executor: same numbers as a local run, bounded retries, resume, clips on one worker.

One local Ray instance (2 CPUs) is shared by the module; the first test, which checks that the
CLI starts and stops its own instance, runs before that fixture exists.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest
import ray_plugins  # noqa: F401 - registers ray-faulty, ray-tiny, ray-tiny-video (workers import it too)
from _row_compare import assert_same_values, csv_ids, run_args

from mattebench.commands import run as run_cmd
from mattebench.commands._options import OptionError
from mattebench.runs.runner import evaluate

HAVE_RAY = importlib.util.find_spec("ray") is not None
needs_ray = pytest.mark.skipif(not HAVE_RAY, reason="the ray extra is not installed (pip install 'mattebench[ray]')")
pytestmark = pytest.mark.ray

TESTS = str(Path(__file__).resolve().parent)
METRICS = ["mse_whole", "mad_whole", "sad", "mse", "grad", "conn"]


def _pythonpath() -> str:
    return os.pathsep.join(p for p in [TESTS, os.environ.get("PYTHONPATH", "")] if p)


def _ray_executor(**kw: Any):
    from mattebench.runs.executors import RayExecutor

    return RayExecutor(**kw)


# -- no Ray running yet ----------------------------------------------------------------------
def test_executor_arguments():
    assert run_cmd.make_executor(run_args(["--method", "m", "--dataset", "d"])) is None  # local: in this process
    with pytest.raises(OptionError, match="--workers need --executor ray"):
        run_cmd.make_executor(run_args(["--method", "m", "--dataset", "d", "--workers", "2"]))
    args = run_args(["--method", "m", "--dataset", "d", "--executor", "ray", "--ray-address", "auto",
                      "--workers", "3", "--gpus-per-worker", "0.5"])
    assert (args.ray_address, args.workers, args.gpus_per_worker) == ("auto", 3, 0.5)


def test_workers_get_the_drivers_thread_settings(monkeypatch):
    from mattebench.runs.executors.ray import worker_thread_settings

    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    env, _ = worker_thread_settings()
    assert env["OMP_NUM_THREADS"] == "3" and env["OPENBLAS_NUM_THREADS"] == "2"
    monkeypatch.delenv("OMP_NUM_THREADS")
    monkeypatch.delenv("OPENBLAS_NUM_THREADS")
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)  # 3 usable cores, here or not
    monkeypatch.setattr(os, "cpu_count", lambda: 3)
    env, torch_threads = worker_thread_settings()
    assert env["OMP_NUM_THREADS"] == "3"  # OpenBLAS's own default: every usable core
    import torch

    assert torch_threads == torch.get_num_threads()
    env, torch_threads = worker_thread_settings(threads=1)
    assert env == {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"} and torch_threads == 1


def test_missing_ray_gives_install_hint(monkeypatch, tmp_path):
    from mattebench.runs.executors.ray import RayNotInstalled

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    args = run_args(["--method", "ray-faulty", "--dataset", "ray-tiny", "--executor", "ray", "--out", str(tmp_path)])
    with pytest.raises(RayNotInstalled, match=r"pip install 'mattebench\[ray\]'"):
        run_cmd.run(args)
    assert not (tmp_path / "ray-tiny").exists()  # failed before any work


@needs_ray
def test_cli_starts_and_stops_its_own_local_instance(tmp_path, monkeypatch, capsys):
    import ray

    if ray.is_initialized():
        pytest.skip("a Ray instance is already running in this process")
    monkeypatch.setenv("PYTHONPATH", _pythonpath())  # the local instance's workers inherit it
    code = run_cmd.run(run_args(["--method", "ray-faulty", "--dataset", "ray-tiny", "--executor", "ray", "--workers", "2",
                                  "--out", str(tmp_path), "--quiet"]))
    assert code == 0, capsys.readouterr().err
    assert not ray.is_initialized()  # started for the run, shut down after it
    summary = json.loads((tmp_path / "ray-tiny" / "ray-faulty" / "summary.json").read_text())
    assert summary["provenance"]["executor"] == "ray"
    assert summary["provenance"]["workers"] == 2
    assert summary["counts"] == {"total": 6, "ok": 6, "error": 0, "pending": 0}


# -- one shared instance from here on --------------------------------------------------------
@pytest.fixture(scope="module")
def ray_instance():
    if not HAVE_RAY:
        pytest.skip("the ray extra is not installed")
    import logging

    import ray

    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level=logging.WARNING,
             runtime_env={"env_vars": {"PYTHONPATH": _pythonpath()}})
    yield ray
    ray.shutdown()


def test_ray_gives_identical_per_sample_values(ray_instance, tmp_path, same_thread_settings):
    local_rows, local_summary = evaluate("closed-form", "ray-tiny", out=tmp_path / "local")
    ex = _ray_executor(workers=2)
    ray_rows, ray_summary = evaluate("closed-form", "ray-tiny", out=tmp_path / "ray", executor=ex)
    assert_same_values(local_rows, ray_rows, METRICS)
    assert ray_summary.means == {**local_summary.means, "predict_ms": ray_summary.means["predict_ms"]}
    assert (local_summary.provenance.executor, local_summary.provenance.workers) == ("local", 1)
    assert (ray_summary.provenance.executor, ray_summary.provenance.workers) == ("ray", 2)
    assert len(ex.stats["pids"]) == 2 and os.getpid() not in ex.stats["pids"]  # both workers scored
    assert sorted(csv_ids(tmp_path / "ray" / "ray-tiny" / "closed-form")) == [f"s{i:02d}" for i in range(6)]  # each id once


def test_faults_are_retried_a_bounded_number_of_times_and_the_run_finishes(ray_instance, tmp_path, same_thread_settings):
    """One run, three faults: s00 kills its worker once (retried, succeeds), s02 kills its worker
    every time (given up after 1 + max_retries attempts, recorded as an error), and s04 raises a
    BaseException past the Scorer once (retried on the same, live worker)."""
    died, escaped, log = tmp_path / "died", tmp_path / "escaped", tmp_path / "log"
    opts = {"die_once": str(died), "die_once_id": "s00", "die_on": ["s02"], "escape_once": str(escaped),
            "escape_once_id": "s04", "log": str(log)}
    ex = _ray_executor(workers=2, max_retries=1)
    rows, summary = evaluate("ray-faulty", "ray-tiny", method_options=opts, out=tmp_path / "runs", executor=ex)
    assert died.exists() and escaped.exists()  # the faults really happened
    assert summary.counts.to_json() == {"total": 6, "ok": 5, "error": 1, "pending": 0}
    assert summary.complete is True
    assert ex.stats["worker_deaths"] == 3 and ex.stats["task_errors"] == 1
    (bad,) = [r for r in rows if r["status"] == "error"]
    assert bad["id"] == "s02"
    assert "gave up after 2 failed attempts" in bad["error"] and "worker died" in bad["error"]
    seen = [line.split() for line in log.read_text().splitlines()]
    assert sum(1 for _, i in seen if i == "s02") == 2  # first attempt + max_retries=1, no more
    assert sum(1 for _, i in seen if i == "s00") == 2 and sum(1 for _, i in seen if i == "s04") == 2
    assert len({pid for pid, _ in seen}) >= 3  # the dead workers were replaced
    local_rows, _ = evaluate("trimap-midpoint", "ray-tiny")  # ray-faulty predicts the trimap midpoint
    assert_same_values([r for r in local_rows if r["id"] != "s02"], [r for r in rows if r["id"] != "s02"], METRICS)
    assert sorted(csv_ids(tmp_path / "runs" / "ray-tiny" / "ray-faulty")) == [f"s{i:02d}" for i in range(6)]  # written once


def test_worker_that_cannot_build_stops_the_run_with_one_message(ray_instance, tmp_path):
    from mattebench.runs.executors.ray import RayExecutorError

    with pytest.raises(RayExecutorError, match="could not build method 'ray-faulty'.*checkpoint only exists"):
        evaluate("ray-faulty", "ray-tiny", method_options={"home_pid": os.getpid()}, out=tmp_path, executor=_ray_executor(workers=1))
    assert csv_ids(tmp_path / "ray-tiny" / "ray-faulty") == []  # no per-sample error rows


class _InterruptAfter:
    """Wraps an executor; raises KeyboardInterrupt in the driver after k rows (Ctrl-C)."""

    def __init__(self, inner: Any, k: int) -> None:
        self.inner, self.k, self.name = inner, k, inner.name

    @property
    def workers(self) -> int:
        return self.inner.workers

    def run(self, scorer: Any, spec: Any, ids: list[str]) -> Iterator[dict]:
        gen = self.inner.run(scorer, spec, ids)
        try:
            for n, row in enumerate(gen, 1):
                yield row
                if n == self.k:
                    raise KeyboardInterrupt
        finally:
            gen.close()


def test_interrupted_driver_resumes_without_duplicates_or_recomputation(ray_instance, tmp_path, same_thread_settings):
    log = tmp_path / "log"
    opts = {"log": str(log)}
    run_dir = tmp_path / "runs" / "ray-tiny" / "ray-faulty"
    with pytest.raises(KeyboardInterrupt):
        evaluate("ray-faulty", "ray-tiny", method_options=opts, out=tmp_path / "runs",
                 executor=_InterruptAfter(_ray_executor(workers=2, chunk_size=2), 3))
    first = csv_ids(run_dir)
    assert len(first) == 3
    assert json.loads((run_dir / "summary.json").read_text())["complete"] is False
    log.unlink()
    rows, summary = evaluate("ray-faulty", "ray-tiny", method_options=opts, out=tmp_path / "runs",
                             executor=_ray_executor(workers=2, chunk_size=2))
    seen_again = {line.split()[1] for line in log.read_text().splitlines()}
    assert seen_again == {f"s{i:02d}" for i in range(6)} - set(first)  # written rows are not recomputed
    ids = csv_ids(run_dir)
    assert sorted(ids) == [f"s{i:02d}" for i in range(6)] and ids[:3] == first  # no duplicates
    assert summary.complete is True
    local_rows, _ = evaluate("ray-faulty", "ray-tiny")
    assert_same_values(local_rows, rows, METRICS)


def test_clip_is_one_unit_of_work_with_frames_in_order(ray_instance, tmp_path, same_thread_settings):
    log = tmp_path / "log"
    ex = _ray_executor(workers=2, chunk_size=8)  # a chunk size never splits or groups clips
    rows, summary = evaluate("ray-faulty", "ray-tiny-video", method_options={"log": str(log)}, dataset_options={"n": 4}, executor=ex)
    assert summary.counts.ok == 4 and ex.stats["chunks"] == 4
    frames: dict[str, list[tuple[str, int]]] = {}
    for line in log.read_text().splitlines():
        parts = line.split()
        if len(parts) == 3:
            frames.setdefault(parts[1], []).append((parts[0], int(parts[2][len("frame"):])))
    assert sorted(frames) == [f"clip{c}" for c in range(4)]
    for clip, seq in frames.items():
        assert len({pid for pid, _ in seq}) == 1, clip  # one worker per clip
        assert [t for _, t in seq] == [0, 1, 2, 3], clip  # in order
    local_rows, _ = evaluate("ray-faulty", "ray-tiny-video", dataset_options={"n": 4})
    assert_same_values(local_rows, rows, METRICS + ["dtssd", "messddt"])
