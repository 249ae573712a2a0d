"""Timing protocol and `mattebench bench` (structure and counting only: no timed assertions)."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from mattebench.commands.cli import main
from mattebench.tracks.bench import count_macs, count_parameters, summarize, time_calls


def test_summarize_percentiles_by_hand():
    s = summarize([float(v) for v in range(1, 11)])
    # linear interpolation: position q * (n - 1) in the sorted list
    assert s.median_ms == pytest.approx(5.5) and s.p10_ms == pytest.approx(1.9) and s.p90_ms == pytest.approx(9.1)
    assert s.mean_ms == pytest.approx(5.5) and s.min_ms == 1.0 and s.n == 10
    with pytest.raises(ValueError):
        summarize([])


class FakeClock:
    def __init__(self, step_s: float):
        self.now, self.step_s, self.calls = 0.0, step_s, 0

    def __call__(self) -> float:
        return self.now

    def work(self) -> None:
        self.calls += 1
        self.now += self.step_s


def test_time_calls_warms_up_then_times_each_call():
    clock = FakeClock(0.005)
    times = time_calls(clock.work, "cpu", warmup=4, iters=6, clock=clock)
    assert clock.calls == 10
    assert times == pytest.approx([5.0] * 6)


def test_time_calls_stops_at_the_time_budget_but_keeps_three_calls():
    clock = FakeClock(1.0)
    assert len(time_calls(clock.work, "cpu", warmup=0, iters=50, max_seconds=2.5, clock=clock)) == 3
    clock = FakeClock(10.0)
    assert len(time_calls(clock.work, "cpu", warmup=0, iters=50, max_seconds=1.0, clock=clock)) == 3


def test_count_macs_by_hand():
    conv = nn.Conv2d(3, 8, 3, padding=1)
    assert count_macs(conv, torch.zeros(1, 3, 10, 10)) == 8 * 3 * 9 * 100
    lin = nn.Linear(10, 5)
    assert count_macs(lin, torch.zeros(2, 10)) == 2 * 10 * 5
    assert count_parameters(conv) == 8 * 3 * 9 + 8


def _last_json(capsys) -> dict:
    out = capsys.readouterr().out.strip().splitlines()
    return json.loads(out[-1])


def test_bench_json_for_fdmpa(capsys):
    assert main(["bench", "--method", "fdmpa", "--size", "64", "--iters", "2", "--warmup", "1", "--threads", "1", "--json"]) == 0
    rec = _last_json(capsys)
    for key in ("params", "gmacs", "latency_ms", "p10_ms", "p90_ms", "fps", "device", "size", "batch", "precision", "torch", "threads", "e2e_ms"):
        assert key in rec
    assert rec["params"] == 26_099 and rec["size"] == 64 and rec["batch"] == 1 and rec["precision"] == "fp32" and rec["threads"] == 1
    # FDMPA at 64x64, by hand: conv 3->13 and the dense dilated convs and classifier at 32x32,
    # the feathering convs (11->8, 8->3) at 64x64
    macs = 32 * 32 * 9 * (3 * 13 + 16 * (16 + 32 + 48 + 64) + 80 * 2) + 64 * 64 * 9 * (11 * 8 + 8 * 3)
    assert rec["gmacs"] == pytest.approx(macs / 1e9, abs=1e-4)
    assert rec["fps"] == pytest.approx(1000.0 / rec["latency_ms"], rel=1e-2)
    assert rec["p10_ms"] <= rec["latency_ms"] <= rec["p90_ms"]


def test_bench_batch_and_method_options(capsys):
    assert main(["bench", "--method", "indexnet", "-m", "trimap=false", "--size", "32", "--batch", "2", "--iters", "1",
                 "--warmup", "0", "--no-e2e", "--json"]) == 0
    rec = _last_json(capsys)
    assert rec["batch"] == 2 and rec["options"] == {"trimap": False} and "e2e_ms" not in rec
    assert rec["fps"] == pytest.approx(2000.0 / rec["latency_ms"], rel=1e-2)


def test_bench_classical_method_has_only_end_to_end_time(capsys):
    assert main(["bench", "--method", "trimap-midpoint", "--size", "32", "--iters", "2", "--warmup", "0", "--json"]) == 0
    rec = _last_json(capsys)
    assert rec["params"] is None and rec["latency_ms"] is None and rec["e2e_ms"] >= 0


def test_bench_unknown_method_is_a_usage_error(capsys):
    assert main(["bench", "--method", "no-such-method", "--json"]) == 2
    assert "unknown method" in capsys.readouterr().err


def test_autocast_and_channels_last_are_checked_against_fp32():
    from mattebench.tracks.bench import bench

    plain = bench("fdmpa", size=64, warmup=1, iters=3, e2e=False)
    assert "max_abs_diff_vs_fp32" not in plain and plain["autocast"] is False
    fast = bench("fdmpa", size=64, precision="bf16", channels_last=True, warmup=1, iters=3, e2e=False)
    assert fast["autocast"] is True and fast["channels_last"] is True
    # bf16 keeps 8 bits of mantissa: a sigmoid alpha differs from fp32 by a few 1e-3 at most, never 0 exactly
    assert 0.0 < fast["max_abs_diff_vs_fp32"] < 0.05
    assert fast["latency_ms"] > 0 and fast["params"] == plain["params"]
    same = bench("fdmpa", size=64, channels_last=True, warmup=1, iters=3, e2e=False)
    assert same["max_abs_diff_vs_fp32"] < 1e-5  # a memory layout alone changes (almost) nothing


def _gpu_protocol():
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_protocol.py"
    spec = importlib.util.spec_from_file_location("gpu_protocol", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gpu_protocol_records_gains_failures_and_the_best_batch():
    gp = _gpu_protocol()
    settings = [("fp32", {}), ("bf16 autocast", {"precision": "bf16"}),
                ("bad", {"compile": True, "compile_mode": "no-such-mode"})]
    result = gp.run_protocol("fdmpa", size=32, device="cpu", iters=2, warmup=1, max_batch=2, settings=settings)
    by = {r["setting"]: r for r in result["latency"]}
    assert by["fp32"]["gain_vs_fp32"] == 1.0 and "max_abs_diff_vs_fp32" not in by["fp32"]
    assert by["bf16 autocast"]["max_abs_diff_vs_fp32"] > 0 and by["bf16 autocast"]["gain_vs_fp32"] > 0
    assert "compile-mode" in by["bad"]["error"] and by["bad"]["gain_vs_fp32"] is None
    assert [r["batch"] for r in result["throughput"]] == [1, 2]
    assert result["best"]["batch"] in (1, 2) and result["best"]["setting"] in ("fp32", "bf16 autocast")
    text = gp.render(result)
    assert "| bad | could not run: MattebenchError" in text and "Best: batch" in text and "1080Ti" in text
