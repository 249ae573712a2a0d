"""The speed paths of issue 23's follow-up hold the same values and leave the process as they found it:
one OpenCV thread inside the unknown-region metrics (restored after nested and concurrent calls), the whole-image
pair computed with one check per map, 8-bit mattes converted by a table, glibc's allocator tuned only where the
user did not tune it, and a `run` command line that parses without importing the runner (so that a pool's fork
server starts before the driver's own imports)."""

from __future__ import annotations

import subprocess
import sys
import threading

import cv2
import numpy as np
import pytest

from mattebench import environment
from mattebench.data.io import alpha_from_8bit
from mattebench.metrics import fast as M
from mattebench.types import ALPHA_OF_8BIT


def _pair(seed: int, h: int = 90, w: int = 70) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    g = cv2.GaussianBlur(rng.integers(0, 256, (h, w), dtype=np.uint8), (0, 0), 3)
    p = np.clip(g.astype(np.int16) + rng.integers(-20, 21, (h, w)), 0, 255).astype(np.uint8)
    t = np.where(rng.random((h, w)) < 0.5, 128, 255).astype(np.uint8)
    return p, g, t


def test_metrics_restore_opencv_threads_after_nested_and_concurrent_calls():
    before = cv2.getNumThreads()
    cv2.setNumThreads(2)
    try:
        p, g, t = _pair(0)
        with M.opencv_single_threaded():
            assert cv2.getNumThreads() == 1
            M.unknown_metrics(p, g, t)  # nested: still one thread after it returns
            assert cv2.getNumThreads() == 1
        assert cv2.getNumThreads() == 2
        errors: list[BaseException] = []

        def work() -> None:
            try:
                for _ in range(20):
                    M.unknown_metrics(p, g, t)
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert not errors and cv2.getNumThreads() == 2
    finally:
        cv2.setNumThreads(before)


@pytest.mark.parametrize("seed", range(4))
def test_values_do_not_depend_on_opencv_threads(seed):
    p, g, t = _pair(seed, 300, 260)
    before = cv2.getNumThreads()
    try:
        cv2.setNumThreads(1)
        one = M.unknown_metrics(p, g, t)
        cv2.setNumThreads(4)
        many = M.unknown_metrics(p, g, t)
    finally:
        cv2.setNumThreads(before)
    assert one == many


@pytest.mark.parametrize("dtype", ["uint8", "float32", "float64", "mixed"])
def test_whole_metrics_equal_the_single_functions(dtype):
    p, g, _ = _pair(7)
    if dtype == "float32":
        p, g = alpha_from_8bit(p), alpha_from_8bit(g)
    elif dtype == "float64":
        p, g = p / 255.0, g / 255.0
    elif dtype == "mixed":
        p = alpha_from_8bit(p)
    both = M.whole_metrics(p, g)
    assert both == {"mse_whole": M.mse_whole(p, g), "mad_whole": M.mad_whole(p, g)}


def test_uint8_sad_and_mse_are_the_exact_integer_sums():
    for seed in range(20):
        p, g, t = _pair(seed, 37 + seed, 53)
        d = p.astype(np.int64) - g.astype(np.int64)
        u = t == 128
        got = M.unknown_metrics(p, g, t, ("sad", "mse"))
        assert got["sad"] == float(np.abs(d[u]).sum()) / 255.0 / 1000.0
        assert got["mse"] == float((d[u] ** 2).sum()) / 65025.0 / u.sum()


def test_alpha_from_8bit_is_k_over_255_in_float32():
    a = np.arange(256, dtype=np.uint8).reshape(16, 16)
    want = a.astype(np.float32) / np.float32(255.0)
    for x in (a, a[:, ::2], a[:1, :1], np.zeros((0, 3), np.uint8)):  # contiguous, strided, tiny, empty
        got = alpha_from_8bit(x)
        assert got.dtype == np.float32 and np.array_equal(got, x.astype(np.float32) / np.float32(255.0))
    assert np.array_equal(alpha_from_8bit(a), want) and np.array_equal(ALPHA_OF_8BIT, want.ravel())


def test_allocator_is_left_alone_where_the_user_tuned_it(monkeypatch):
    environment.reuse_freed_memory.cache_clear()
    try:
        monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "0")
        assert environment.reuse_freed_memory() is False
    finally:
        environment.reuse_freed_memory.cache_clear()


def test_allocator_tuning_answers_without_raising():
    # True on glibc Linux, False elsewhere (musl, macOS, Windows): never an error
    assert environment.reuse_freed_memory() in (True, False)


def test_run_command_line_parses_without_the_runner_or_numpy():
    code = ("import sys; from mattebench.commands import cli; cli.build_parser(['run']); "
            "import mattebench.runs.executors.forkserver; "
            "print(sorted(m for m in ('mattebench.runs.runner', 'numpy', 'cv2') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


@pytest.mark.parametrize("cores", [1, 8])
def test_early_fork_server_only_for_local_runs_that_may_use_a_pool(monkeypatch, cores):
    from argparse import Namespace

    from mattebench.commands import run as run_cmd
    from mattebench.commands.run import may_use_pool

    monkeypatch.setattr(run_cmd.os, "cpu_" + "count", lambda: cores)  # the default pool follows the cores

    base = dict(executor="local", save_alphas=None, jobs=None, timeout=None)
    assert may_use_pool(Namespace(**{**base, "jobs": 2}))
    assert may_use_pool(Namespace(**{**base, "jobs": 1, "timeout": 5.0}))
    assert not may_use_pool(Namespace(**{**base, "jobs": 1}))
    assert not may_use_pool(Namespace(**{**base, "jobs": 4, "executor": "ray"}))
    assert not may_use_pool(Namespace(**{**base, "jobs": 4, "save_alphas": "all"}))
    assert may_use_pool(Namespace(**base)) == (cores > 1)


def test_pools_hand_out_the_largest_samples_first(tmp_path):
    from mattebench.runs.executors.process import largest_first

    class Ref:
        def __init__(self, path):
            self.path = path

    class Folder:
        def files(self, sample_id):
            return [Ref(tmp_path / f"{sample_id}.png"), Ref(tmp_path / f"{sample_id}.jpg")]

    for name, size in (("a", 10), ("b", 3000), ("c", 10), ("d", 700)):
        (tmp_path / f"{name}.png").write_bytes(b"x" * size)
        (tmp_path / f"{name}.jpg").write_bytes(b"y" * 5)
    ids = ["a", "b", "c", "d", "missing"]
    # the smallest first (a first row soon), then largest first; ties and unreadable keep their order
    assert largest_first(Folder(), ids) == ["missing", "b", "d", "a", "c"]
    assert largest_first(object(), ids) == ids  # a dataset that lists no files
    assert largest_first(Folder(), ["c", "b"]) == ["c", "b"]  # too few to matter
