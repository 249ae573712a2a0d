"""The local worker pool (`run --jobs N`, `--timeout S`): same rows as a serial run, resume,
Ctrl-C, and methods that exit, crash or hang in a worker.

Workers are spawned interpreters that import tests/process_plugins.py by themselves (it
registered the test methods); images are tiny so the file runs in well under a minute.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import process_plugins  # noqa: F401 - registers pool-misbehaving, pool-tiny, pool-tiny-video
import pytest
from _row_compare import assert_same_values, csv_ids, run_args
from _trust_kit import interruptible, wait_for
from conftest import TinyDataset

from mattebench.commands import run as run_cmd
from mattebench.commands._options import OptionError
from mattebench.errors import RegistryError
from mattebench.methods.registry import create_method, method_card
from mattebench.runs.executors import process
from mattebench.runs.executors.process import (
    ProcessExecutor,
    ProcessExecutorError,
    default_jobs,
    describe_exit,
    pool_for,
)
from mattebench.runs.runner import evaluate
from mattebench.types import MethodCard

TESTS = Path(__file__).resolve().parent
METRICS = ["mse_whole", "mad_whole", "sad", "mse", "grad", "conn"]
VIDEO_METRICS = METRICS + ["dtssd", "messddt"]
SMALL = {"n": 4, "size": 64}  # synthetic: 4 images of 64x80


def _by_id(rows: list[dict]) -> dict[str, dict]:
    return {r["id"]: r for r in rows}


# -- identical rows ----------------------------------------------------------------------------
def test_pool_rows_equal_serial_rows_bit_for_bit_classical_on_synthetic(same_thread_settings):
    serial, _ = evaluate("closed-form", "synthetic", dataset_options=SMALL)
    ex = ProcessExecutor(jobs=2)
    pooled, summary = evaluate("closed-form", "synthetic", dataset_options=SMALL, executor=ex)
    assert_same_values(serial, pooled, METRICS)
    assert len(ex.stats["pids"]) == 2 and os.getpid() not in ex.stats["pids"]  # really two other processes
    assert summary.provenance.executor == "process" and summary.provenance.workers == 2
    assert any("2 local worker processes" in n for n in summary.provenance.notes)


def test_pool_rows_equal_serial_rows_on_a_video_dataset(same_thread_settings):
    opts = {"n": 3, "frames": 3}
    serial, _ = evaluate("closed-form", "pool-tiny-video", dataset_options=opts)
    pooled, _ = evaluate("closed-form", "pool-tiny-video", dataset_options=opts, executor=ProcessExecutor(jobs=2))
    assert_same_values(serial, pooled, VIDEO_METRICS)
    assert all(r["frames"] == 3 for r in pooled)  # a clip is one unit: scored whole in one worker


# -- resume and interrupt ----------------------------------------------------------------------
class _InterruptAfter:
    """Wraps an executor; raises KeyboardInterrupt in the driver after k rows (Ctrl-C)."""

    def __init__(self, inner: Any, k: int) -> None:
        self.inner, self.k, self.name, self.remote = inner, k, inner.name, True

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


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_interrupted_pool_run_loses_nothing_and_resumes_without_recomputation(tmp_path, same_thread_settings):
    log = tmp_path / "log"
    opts = {"log": str(log), "slow_s": 0.2}
    run_dir = tmp_path / "runs" / "pool-tiny" / "pool-misbehaving"
    inner = ProcessExecutor(jobs=2)
    with pytest.raises(KeyboardInterrupt):
        evaluate("pool-misbehaving", "pool-tiny", method_options=opts, out=tmp_path / "runs", executor=_InterruptAfter(inner, 2))
    first = csv_ids(run_dir)
    assert len(first) == 2
    assert json.loads((run_dir / "summary.json").read_text())["complete"] is False
    wait_for(lambda: not any(_alive(p) for p in inner.stats["pids"]), what="the workers to stop with the run")
    log.unlink()
    rows, summary = evaluate("pool-misbehaving", "pool-tiny", method_options=opts, out=tmp_path / "runs", executor=ProcessExecutor(jobs=2))
    seen_again = {line.split()[1] for line in log.read_text().splitlines()}
    assert seen_again == {f"s{i:02d}" for i in range(6)} - set(first)  # written rows are not recomputed
    ids = csv_ids(run_dir)
    assert sorted(ids) == [f"s{i:02d}" for i in range(6)] and ids[:2] == first  # no duplicates
    assert summary.complete is True
    serial, _ = evaluate("trimap-midpoint", "pool-tiny")  # pool-misbehaving predicts the trimap midpoint
    assert_same_values(serial, rows, METRICS)


def test_ctrl_c_on_the_cli_stops_the_workers_and_exits_130(tmp_path):
    """A real SIGINT to the whole process group, as a terminal sends it."""
    log = tmp_path / "log"
    code = ("import sys, process_plugins; from mattebench.commands.cli import main; sys.exit(main(sys.argv[1:]))")
    argv = [sys.executable, "-c", code, "run", "--method", "pool-misbehaving", "--dataset", "pool-tiny", "-d", "n=40",
            "-m", f"log={log}", "-m", "slow_s=0.3", "--jobs", "2", "--out", str(tmp_path / "runs"), "--quiet"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                            preexec_fn=interruptible)
    wait_for(lambda: log.exists() and len(log.read_text().splitlines()) >= 6, what="6 samples started")
    worker_pids = {int(line.split()[0]) for line in log.read_text().splitlines()}
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err.decode()
    assert "Traceback" not in err.decode() and "interrupted" in err.decode()
    assert len(worker_pids) == 2
    wait_for(lambda: not any(_alive(p) for p in worker_pids), what="the workers to stop with the CLI")
    written = csv_ids(tmp_path / "runs" / "pool-tiny" / "pool-misbehaving")
    assert 3 <= len(written) < 40 and len(set(written)) == len(written)


# -- methods that misbehave ----------------------------------------------------------------------
def test_exit_segfault_hang_sys_exit_in_workers_give_error_rows_and_the_run_goes_on(tmp_path, same_thread_settings):
    """One pool run, every kind of misbehaviour on its own sample; the others are scored as usual. The hung worker
    is killed, not waited for: its sleep never ends (no "slept" line) and it is gone when the run returns."""
    log = tmp_path / "log"
    opts = {"exit_on": ["s01"], "segv_on": ["s03"], "sleep_on": ["s02"], "sleep_s": 120.0, "sysexit_on": ["s04"], "odd_on": ["s05"],
            "log": str(log)}
    ex = ProcessExecutor(jobs=2, timeout=4.0)
    rows, summary = evaluate("pool-misbehaving", "pool-tiny", method_options=opts, dataset_options={"n": 8},
                             out=tmp_path / "runs", executor=ex)
    lines = [line.split() for line in log.read_text().splitlines()]
    (hung,) = [int(words[0]) for words in lines if words[1:] == ["s02"]]
    assert not _alive(hung)  # killed, not left running
    assert ["s02", "slept"] not in [words[1:] for words in lines]  # nor waited for
    assert summary.counts.to_json() == {"total": 8, "ok": 3, "error": 5, "pending": 0}
    by = _by_id(rows)
    assert "worker died: exit code 3" in by["s01"]["error"]
    assert "worker died: killed by signal SIGSEGV" in by["s03"]["error"]
    assert "timed out after 4 s" in by["s02"]["error"]
    assert "sys.exit(4)" in by["s04"]["error"]
    assert "Odd" in by["s05"]["error"] and "odd s05" in by["s05"]["error"]
    assert ex.stats["deaths"] == 2 and ex.stats["timeouts"] == 1 and ex.stats["started"] == 5  # each replaced once
    assert any("--timeout 4 s" in n for n in summary.provenance.notes)
    serial, _ = evaluate("trimap-midpoint", "pool-tiny", dataset_options={"n": 8})
    ok = [r for r in rows if r["status"] == "ok"]
    assert_same_values([r for r in serial if r["id"] in _by_id(ok)], ok, METRICS)
    assert sorted(csv_ids(tmp_path / "runs" / "pool-tiny" / "pool-misbehaving")) == [f"s{i:02d}" for i in range(8)]


def test_timeout_with_one_job_still_uses_a_worker_process():
    ex = pool_for("pool-misbehaving", method_card("pool-misbehaving"), None, 1, 30.0)
    assert isinstance(ex, ProcessExecutor) and ex.jobs == 1
    rows, _ = evaluate("pool-misbehaving", "pool-tiny", method_options={"sleep_on": ["s00"], "sleep_s": 60.0},
                       dataset_options={"n": 2}, executor=ProcessExecutor(jobs=1, timeout=2.0))
    assert "timed out" in _by_id(rows)["s00"]["error"] and _by_id(rows)["s01"]["status"] == "ok"


def test_sys_exit_or_a_base_exception_in_predict_is_an_error_row_in_a_serial_run():
    rows, summary = evaluate("pool-misbehaving", "pool-tiny", method_options={"sysexit_on": ["s01"], "odd_on": ["s04"]})
    assert summary.counts.ok == 4 and summary.counts.error == 2
    by = _by_id(rows)
    assert "sys.exit(4)" in by["s01"]["error"]
    assert "Odd" in by["s04"]["error"] and "odd s04" in by["s04"]["error"]


# -- settings ----------------------------------------------------------------------------------
def test_method_object_falls_back_to_serial_with_a_note():
    method = create_method("trimap-midpoint")
    ex = ProcessExecutor(jobs=2)
    with pytest.warns(UserWarning, match="cannot be rebuilt in a worker process"):
        rows, summary = evaluate(method, TinyDataset(), executor=ex)
    assert summary.counts.ok == 6
    assert summary.provenance.executor == "local" and summary.provenance.workers == 1
    assert any("scored serially" in n for n in summary.provenance.notes)


def test_worker_that_cannot_build_stops_the_run_with_the_methods_own_error(tmp_path):
    # as a serial run raises it: the registry names the method and the factory's own TypeError
    with pytest.raises(RegistryError, match="unexpected keyword argument 'no_such'"):
        evaluate("pool-misbehaving", "pool-tiny", method_options={"no_such": 1}, out=tmp_path, executor=ProcessExecutor(jobs=2))
    assert csv_ids(tmp_path / "pool-tiny" / "pool-misbehaving") == []  # no per-sample error rows


def test_job_counts_and_option_checks(monkeypatch):
    cpu = MethodCard(name="x")
    for cores in (1, 3):  # whatever this machine has: the cores the process may use
        monkeypatch.setattr(process, "cpu_count", lambda: cores)
        assert default_jobs(cpu, None) == default_jobs(cpu, "cpu") == cores
    assert default_jobs(cpu, "cuda:1") == 1
    assert default_jobs(MethodCard(name="x", process_safe=False), None) == 1
    unsafe = MethodCard(name="x", process_safe=False)
    with pytest.raises(ProcessExecutorError, match="not safe to run in several processes"):
        pool_for("x", unsafe, None, 2, None)
    assert isinstance(pool_for("x", unsafe, None, None, 10.0), ProcessExecutor)  # one worker, still killable
    assert pool_for("trimap-midpoint", cpu, None, 1, None) is None  # one job, no timeout: in this process
    with pytest.raises(ProcessExecutorError, match="at least 1"):
        pool_for("x", cpu, None, 0, None)
    with pytest.raises(ProcessExecutorError, match="positive"):
        pool_for("x", cpu, None, 2, -1.0)
    with pytest.raises(OptionError, match="--jobs are for local runs"):
        run_cmd.make_executor(run_args(["--method", "m", "--dataset", "d", "--executor", "ray", "--jobs", "2"]))
    assert describe_exit(-signal.SIGSEGV) == "killed by signal SIGSEGV" and describe_exit(2) == "exit code 2"
    assert "out of memory" in describe_exit(-signal.SIGKILL)


def test_cli_jobs_refused_before_any_sample(tmp_path, capsys):
    from mattebench.commands.cli import main

    code = main(["run", "--method", "trimap-midpoint", "--dataset", "synthetic", "--jobs", "0", "--out", str(tmp_path)])
    assert code == 2 and "--jobs must be at least 1" in capsys.readouterr().err
    assert not (tmp_path / "synthetic").exists()


def test_the_default_pool_is_only_for_names_fresh_workers_know(monkeypatch):
    """Without --jobs/--timeout, a method or dataset registered in code (here, by process_plugins) stays in this
    process: a fresh worker would not know the name. Entry-point names get the default pool (one worker per core:
    the test sets the core count rather than reading this machine's)."""
    monkeypatch.setattr(process, "cpu_count", lambda: 2)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # no thread advice: this test is not about it
    card = method_card("pool-misbehaving")
    assert pool_for("pool-misbehaving", card, None, None, None, dataset="pool-tiny") is None
    assert pool_for("trimap-midpoint", method_card("trimap-midpoint"), None, None, None, dataset="pool-tiny") is None
    default = pool_for("trimap-midpoint", method_card("trimap-midpoint"), None, None, None, dataset="synthetic")
    assert isinstance(default, ProcessExecutor) and default.jobs == 2
    monkeypatch.setattr(process, "cpu_count", lambda: 1)  # one core: serial, in this process
    assert pool_for("trimap-midpoint", method_card("trimap-midpoint"), None, None, None, dataset="synthetic") is None
    monkeypatch.setattr(process, "cpu_count", lambda: 2)  # --jobs up to the core count (more is capped: test_trust_low_ones)
    # an explicit --jobs is honoured as asked (the workers import the registering module)
    assert isinstance(pool_for("pool-misbehaving", card, None, 2, None, dataset="pool-tiny"), ProcessExecutor)


def test_a_pool_of_a_hosted_method_loads_and_scores_in_its_workers(tmp_path, monkeypatch, same_thread_settings):
    """`run --jobs N` for a method that predicts in a host: each of N workers has a host of its own; the worker loads
    the sample, asks its host and scores (mattebench.runs.executors.paired). The driver decodes no file at all, every
    sample is predicted once by a host that is no worker, and the rows equal a serial run's (which loads and scores in
    the driver)."""
    from mattebench.data import io

    log = tmp_path / "predicted.log"
    opts = {"log": str(log)}
    serial, _ = evaluate("pool-misbehaving", "pool-tiny", method_options=opts, dataset_options={"n": 6})
    log.unlink()
    decoded: list[str] = []
    real_open = io._open
    monkeypatch.setattr(io, "_open", lambda p: decoded.append(str(p)) or real_open(p))
    ex = ProcessExecutor(jobs=2)
    pooled, _ = evaluate("pool-misbehaving", "pool-tiny", method_options=opts, dataset_options={"n": 6}, executor=ex)
    assert decoded == []  # nothing was read here: loading happened in the workers
    assert_same_values(serial, pooled, METRICS)
    lines = [line.split() for line in log.read_text().splitlines()]
    assert sorted(sid for _, sid in lines) == [f"s{i:02d}" for i in range(6)]  # each sample predicted once
    host_pids = {int(pid) for pid, _ in lines}
    assert host_pids.isdisjoint(ex.stats["pids"]) and os.getpid() not in host_pids  # hosts are neither workers nor here
    assert "method process of its own" in ex.notes[0]
