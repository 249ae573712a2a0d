"""Figure 6 from bench results and the visual comparisons (from the alphas the runs stored)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import TinyDataset
from PIL import Image

from mattebench.data.io import quantise16
from mattebench.methods.registry import (
    load_dataset,
    register_dataset,
    register_method,
    unregister_dataset,
    unregister_method,
)
from mattebench.report.figures import (
    BenchPoint,
    bench_point,
    choose_samples,
    collect_comparison,
    differs,
    figure6,
    link_figure,
    load_bench,
    speed_section,
    write_comparison_figures,
)
from mattebench.runs.runner import evaluate
from mattebench.types import FAMILY_FREE, MethodCard


# -- bench results and Figure 6 ----------------------------------------------------------------------
def _bench_files(root: Path) -> None:
    """Records as `mattebench bench --json` writes them (one, or several in one file), plus broken files."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "modnet-cuda-512.json").write_text(json.dumps({
        "method": "modnet", "params": 6487075, "gmacs": 15.47, "size": 512, "device": "cuda", "device_name": "NVIDIA H100",
        "precision": "fp16", "batch": 1, "latency_ms": 2.5, "p10_ms": 2.4, "p90_ms": 2.7, "e2e_ms": 4.0, "threads": 16}))
    (root / "modnet-cuda-512-b4.json").write_text(json.dumps({
        "method": "modnet", "params": 6487075, "size": 512, "device": "cuda", "device_name": "NVIDIA H100",
        "precision": "fp16", "batch": 4, "latency_ms": 6.0, "p10_ms": 5.6, "p90_ms": 6.4, "e2e_ms": 4.1}))
    (root / "closed-form-cpu-512.json").write_text(json.dumps({
        "method": "closed-form", "params": None, "size": 512, "device": "cpu", "device_name": "x86_64",
        "precision": "fp32", "batch": 1, "latency_ms": None, "p10_ms": None, "p90_ms": None, "e2e_ms": 1300.0}))
    (root / "several.json").write_text(json.dumps({"results": [
        {"method": "fdmpa", "params": 26000, "size": 512, "device": "cuda", "device_name": "NVIDIA H100",
         "precision": "fp16", "batch": 1, "latency_ms": 0.9, "p10_ms": None, "p90_ms": None},
        {"method": "dim", "params": 130550000, "size": 1024, "device": "cuda", "device_name": "NVIDIA H100",
         "precision": "fp16", "batch": 1, "latency_ms": 30.0, "p10_ms": None, "p90_ms": None},
        {"method": "modnet", "params": 6487075, "size": 512, "device": "cpu", "device_name": "x86_64", "precision": "fp32",
         "batch": 1, "latency_ms": 180.0, "p10_ms": None, "p90_ms": None},
    ]}))
    (root / "broken.json").write_text("{not json")
    (root / "no-time.json").write_text(json.dumps({"method": "knn"}))


def test_load_bench_normalises_records(tmp_path):
    _bench_files(tmp_path / "bench")
    with pytest.warns(UserWarning, match="broken.json"):
        pts = load_bench(tmp_path / "bench")
    by = {(p.method, p.device, p.batch): p for p in pts}
    assert len(pts) == 6  # the broken file and the record without a time are skipped
    m = by[("modnet", "cuda", 1)]
    assert (m.params, m.model_ms, m.model_spread, m.e2e_ms, m.size, m.precision) == (6487075, 2.5, (2.4, 2.7), 4.0, 512, "fp16")
    assert m.extra["gmacs"] == 15.47
    b4 = by[("modnet", "cuda", 4)]
    assert (b4.model_ms, b4.model_spread, b4.e2e_ms) == (1.5, (1.4, 1.6), 4.1)  # per image: batch time / 4
    cf = by[("closed-form", "cpu", 1)]
    assert cf.model_ms is None and cf.e2e_ms == 1300.0 and cf.params is None
    assert by[("fdmpa", "cuda", 1)].size == 512 and by[("fdmpa", "cuda", 1)].model_ms == 0.9
    assert by[("dim", "cuda", 1)].size == 1024
    assert by[("modnet", "cpu", 1)].precision == "fp32"  # as recorded
    assert bench_point({"method": "x"}) is None


def test_real_bench_record_is_understood(tmp_path):
    """A record from the real `mattebench bench` (tiny size, few calls: no time is asserted)."""
    bench_mod = pytest.importorskip("mattebench.tracks.bench")
    with pytest.warns(UserWarning, match="UNTRAINED"):
        record = bench_mod.bench("modnet", size=64, device="cpu", warmup=1, iters=2, max_seconds=5.0)
    (tmp_path / "modnet.json").write_text(json.dumps(record))
    [p] = load_bench(tmp_path)
    assert p.method == "modnet" and p.params == record["params"] and p.size == 64 and p.batch == 1
    assert p.model_ms == record["latency_ms"] and p.e2e_ms == record["e2e_ms"]
    assert figure6([p], tmp_path / "figs", size=64)


def test_figure6_one_png_per_device_at_512(tmp_path):
    _bench_files(tmp_path / "bench")
    with pytest.warns(UserWarning):
        pts = load_bench(tmp_path / "bench")
    figs = figure6(pts, tmp_path / "figs")
    names = sorted(f.name for f in figs)
    assert names == ["figure6-nvidia-h100-fp16-b1.png", "figure6-nvidia-h100-fp16-b4.png", "figure6-x86-64-fp32-b1.png"]
    for f in figs:
        with Image.open(f) as im:
            assert im.format == "PNG" and im.size[0] > 300
    text = speed_section(pts, figs, tmp_path)
    assert "14.9 ms" in text and "31 fps" in text and "GTX 1080Ti" in text
    assert "(figs/figure6-nvidia-h100-fp16-b1.png)" in text
    rows = [ln for ln in text.splitlines() if ln.startswith("| modnet ")]
    assert any("2.50" in r and "| 400 " in r and "4.00" in r and "NVIDIA H100" in r and "6.487" in r and "15.47" in r for r in rows)  # fps = 1000/2.5
    assert any(ln.startswith("| closed-form ") and "1300.00" in ln for ln in text.splitlines())
    assert not any(ln.startswith("| dim ") for ln in text.splitlines())  # measured at 1024, not 512


def test_speed_section_without_results_says_how_to_get_them(tmp_path):
    text = speed_section([], [], tmp_path)
    assert "No bench results" in text and "mattebench bench" in text


# -- visual comparisons ------------------------------------------------------------------------------
class Flat:
    """Trimap-free test method: alpha = 0.25 everywhere (cheap, deterministic)."""

    card = MethodCard(name="flat-quarter", needs_trimap=False, family=FAMILY_FREE)

    def predict(self, image, trimap=None):
        return np.full(image.shape[:2], 0.25, np.float32)


def flat_quarter():
    return Flat()


flat_quarter.card = Flat.card


@pytest.fixture()
def registered():
    register_method("flat-quarter", flat_quarter, card=Flat.card)
    register_dataset("tiny-figures", TinyDataset, card=TinyDataset.card)
    yield
    unregister_method("flat-quarter")
    unregister_dataset("tiny-figures")


def _runs(tmp_path: Path) -> Path:
    runs = tmp_path / "runs"
    for m in ("trimap-midpoint", "flat-quarter"):
        evaluate(m, "tiny-figures", dataset_options={"n": 4}, out=runs, save_alphas="all")
    return runs


def test_choose_samples_picks_largest_disagreement(tmp_path, registered):
    runs = _runs(tmp_path)
    summaries = [json.loads(f.read_text()) for f in sorted(runs.glob("*/*/summary.json"))]
    per = {}
    for s in summaries:
        with open(Path(s["run_dir"]) / "samples.csv") as f:
            per[s["method"]] = {r["id"]: float(r["mse_whole"]) for r in csv.DictReader(f)}
    spread = {i: abs(per["trimap-midpoint"][i] - per["flat-quarter"][i]) for i in per["flat-quarter"]}
    expected = sorted(spread, key=lambda i: (-spread[i], i))[:2]
    assert choose_samples(summaries, n=2) == expected


def test_comparison_reads_stored_alphas_and_checks_stored_scores(tmp_path, registered):
    runs = _runs(tmp_path)
    summaries = [json.loads(f.read_text()) for f in sorted(runs.glob("*/*/summary.json"))]
    comp = collect_comparison("tiny-figures", summaries, sample_ids=["s01", "s03", "nope"], open_dataset=load_dataset)
    assert [s.id for s in comp.samples] == ["s01", "s03"]  # unknown ids are dropped
    assert [row[0].run for row in comp.panels] == ["flat-quarter", "trimap-midpoint"]
    ds = TinyDataset(n=4)
    for sid, p_flat, p_mid in zip(["s01", "s03"], comp.panels[0], comp.panels[1]):
        s = ds.load(sid)
        gt = s.alpha.astype(np.float64)
        # the stored alpha is the prediction as scored: rounded to 16 bits (run --save-alphas)
        flat = quantise16(np.full(gt.shape, 0.25)).astype(np.float64)
        assert p_flat.mse == pytest.approx(np.mean((flat - gt) ** 2), abs=1e-12)
        mid = quantise16(np.where(s.trimap == 0, 0.0, np.where(s.trimap == 255, 1.0, 0.5))).astype(np.float64)
        assert p_mid.mse == pytest.approx(np.mean((mid - gt) ** 2), abs=1e-12)
        assert not differs(p_flat) and not differs(p_mid)  # the stored PNG reproduces the stored score
    # a stored score the re-run does not reproduce is flagged
    csv_path = runs / "tiny-figures" / "flat-quarter" / "samples.csv"
    rows = list(csv.DictReader(open(csv_path)))
    for r in rows:
        if r["id"] == "s01":
            r["mse_whole"] = "0.5"
    with open(csv_path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    comp = collect_comparison("tiny-figures", summaries, sample_ids=["s01"], open_dataset=load_dataset)
    assert differs(comp.panels[0][0]) and comp.panels[0][0].stored_mse == 0.5


def test_comparison_names_runs_without_stored_alphas(tmp_path, registered):
    """A run without stored alphas is left out with the command that stores them; a run that stored other
    ids gets a placeholder panel with the reason. Nothing is re-run."""
    runs = tmp_path / "runs"
    evaluate("trimap-midpoint", "tiny-figures", dataset_options={"n": 4}, out=runs)
    evaluate("flat-quarter", "tiny-figures", dataset_options={"n": 4}, out=runs, save_alphas="s01")
    summaries = [json.loads(f.read_text()) for f in sorted(runs.glob("*/*/summary.json"))]
    with pytest.warns(UserWarning, match=r"trimap-midpoint .*--save-alphas s00 --fresh"):
        comp = collect_comparison("tiny-figures", summaries, sample_ids=["s00"], open_dataset=load_dataset)
    assert comp.skipped and comp.skipped[0].startswith("trimap-midpoint")
    assert "--dataset tiny-figures" in comp.skipped[0] and "-d n=4" in comp.skipped[0]
    assert comp.panels[0][0].alpha is None and "only for s01, not s00" in comp.panels[0][0].error


def test_write_comparison_figures_links_png_from_leaderboard(tmp_path, registered):
    runs = _runs(tmp_path)
    out = tmp_path / "lb"
    out.mkdir()
    (out / "tiny-figures.md").write_text("# Leaderboard: tiny-figures\n")
    written = write_comparison_figures(runs, out, n=2, open_dataset=load_dataset)
    png = written["tiny-figures"]
    assert png == out / "figures" / "tiny-figures-comparison.png"
    with Image.open(png) as im:
        assert im.format == "PNG"
    md = (out / "tiny-figures.md").read_text()
    assert "![Visual comparison](figures/tiny-figures-comparison.png)" in md
    link_figure(out / "tiny-figures.md", png, "Visual comparison")  # idempotent
    assert (out / "tiny-figures.md").read_text().count("figures/tiny-figures-comparison.png") == 1


def test_bench_point_groups_by_device_precision_batch():
    a = BenchPoint("m", 1, 1.0, device="cuda", device_name="GPU", precision="fp16", batch=4)
    assert a.group == ("GPU", "fp16", 4)
