"""One writer per run folder, tested with two real `mattebench run` processes."""

from __future__ import annotations

import json
import os
import signal
import socket

import pytest
from _trust_kit import cli, folder_dataset, start_cli, trust_site, wait_for
from conftest import TinyDataset

from mattebench.errors import RunLocked
from mattebench.runs.lock import LOCK_NAME, RunLock, StaleLockWarning
from mattebench.runs.runner import evaluate
from mattebench.runs.store import read_rows


def _args(data, out, *extra):
    return ["run", "--quiet", "--method", "slow-matte", "--dataset", "folder", "--data-root", str(data),
            "--out", str(out), *extra]


def test_second_run_is_refused_naming_the_holder_and_fresh_too(tmp_path):
    data = folder_dataset(tmp_path / "data", [f"p{i:02d}" for i in range(40)])
    site = trust_site(tmp_path)
    out = tmp_path / "r"
    run = out / "folder" / "slow-matte"
    first = start_cli(_args(data, out), site, TRUST_DELAY="2")  # 80 s in all: killed long before
    try:
        wait_for(lambda: (run / "samples.csv").exists() and len((run / "samples.csv").read_text().splitlines()) >= 2, what="first rows")
        assert first.poll() is None
        holder = json.loads((run / LOCK_NAME).read_text())
        assert holder["pid"] == first.pid and holder["host"] == socket.gethostname() and "slow-matte" in holder["command"]
        second = cli(_args(data, out), site, TRUST_DELAY="0")
        assert second.returncode == 2, second.stderr
        assert f"pid {first.pid}" in second.stderr and "in use" in second.stderr and "Traceback" not in second.stderr
        rows_before = len(read_rows(run / "samples.csv"))
        fresh = cli(_args(data, out, "--fresh"), site, TRUST_DELAY="0")
        assert fresh.returncode == 2 and f"pid {first.pid}" in fresh.stderr
        assert len(read_rows(run / "samples.csv")) >= rows_before  # --fresh deleted nothing
    finally:
        first.send_signal(signal.SIGKILL)  # dies without releasing anything: its lock goes stale
        first.wait(timeout=60)
    assert (run / LOCK_NAME).exists()
    done = {r["id"] for r in read_rows(run / "samples.csv")}
    third = cli(_args(data, out, "-m", "delay=0"), site, TRUST_DELAY="0")
    # -m delay=0 changes the options: refused as another run, not as a locked folder
    assert third.returncode == 2 and "delay" in third.stderr and "in use" not in third.stderr
    assert "stale lock" in third.stderr and f"pid {first.pid}" in third.stderr  # it took the dead run's lock first
    resumed = cli(_args(data, out), site, TRUST_DELAY="0")
    assert resumed.returncode == 0, resumed.stderr
    rows = read_rows(run / "samples.csv")
    assert len(rows) == 40 and len({r["id"] for r in rows}) == 40 and done <= {r["id"] for r in rows}
    assert not (run / LOCK_NAME).exists()


def test_lock_in_process_refuses_and_releases(tmp_path):
    with RunLock(tmp_path, "first") as lock:
        assert lock.held
        other = RunLock(tmp_path, "second")
        # flock is per open file description: a second open in this process conflicts too
        with pytest.raises(RunLocked, match=f"pid {os.getpid()}"):
            other.acquire()
    assert not (tmp_path / LOCK_NAME).exists()
    with RunLock(tmp_path, "again"):
        pass


def test_stale_lock_of_a_dead_pid_is_taken_over_with_a_warning(tmp_path):
    run = tmp_path / "tiny" / "trimap-midpoint"
    run.mkdir(parents=True)
    (run / LOCK_NAME).write_text(json.dumps({"pid": 2 ** 22 + 12345, "host": socket.gethostname(), "started": "2020", "command": "old run"}))
    with pytest.warns(StaleLockWarning, match="old run"):
        _, s = evaluate("trimap-midpoint", TinyDataset(n=2), out=tmp_path)
    assert s.counts.ok == 2


def test_lock_from_another_host_is_not_taken_over(tmp_path):
    run = tmp_path / "tiny" / "trimap-midpoint"
    run.mkdir(parents=True)
    (run / LOCK_NAME).write_text(json.dumps({"pid": 1, "host": "elsewhere.example", "started": "2020", "command": "remote run"}))
    with pytest.raises(RunLocked, match="elsewhere.example"):
        evaluate("trimap-midpoint", TinyDataset(n=2), out=tmp_path)


def test_temporary_files_have_unique_names(tmp_path, monkeypatch):
    import tempfile

    names = []
    real = tempfile.mkstemp

    def spy(*a, **k):
        fd, name = real(*a, **k)
        names.append(name)
        return fd, name

    monkeypatch.setattr(tempfile, "mkstemp", spy)
    evaluate("trimap-midpoint", TinyDataset(n=2), out=tmp_path)
    assert names and len(set(names)) == len(names)
    run = tmp_path / "tiny" / "trimap-midpoint"
    assert not list(run.glob("*.tmp")) and not list(run.glob(".*.tmp"))


def test_file_system_without_flock_falls_back_to_the_pid(tmp_path, monkeypatch):
    import errno

    import mattebench.runs.lock as lock_mod

    class NoFlock:
        LOCK_EX = LOCK_NB = 0

        @staticmethod
        def flock(fd, op):
            raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(lock_mod, "fcntl", NoFlock)
    (tmp_path / LOCK_NAME).write_text(json.dumps({"pid": os.getppid(), "host": socket.gethostname(), "started": "x", "command": "live parent"}))
    with pytest.raises(RunLocked, match="live parent"):
        RunLock(tmp_path, "me").acquire()
    (tmp_path / LOCK_NAME).write_text(json.dumps({"pid": 2 ** 22 + 999, "host": socket.gethostname(), "started": "x", "command": "dead"}))
    with pytest.warns(StaleLockWarning):
        with RunLock(tmp_path, "me"):
            pass
