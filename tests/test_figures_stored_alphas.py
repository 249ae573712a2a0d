"""Figures read only stored results: the comparison figure from `run --save-alphas` PNGs, with the method
uninstalled; bench records in exactly the format `mattebench bench --json` writes."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from PIL import Image

import mattebench.methods.registry as registry
from mattebench.commands.cli import main
from mattebench.errors import RegistryError
from mattebench.methods.registry import load_dataset, register_method, unregister_method
from mattebench.report.figures import (
    bench_point,
    bench_problem,
    choose_samples,
    collect_comparison,
    load_bench,
)
from mattebench.runs.alphas import rerun_command, stored_alphas
from mattebench.runs.record import RunRecord
from mattebench.runs.store import load_summaries
from mattebench.types import FAMILY_FREE, MethodCard

CARD = MethodCard(name="figure-probe", needs_trimap=False, family=FAMILY_FREE)


class Probe:
    """A plug-in whose prediction depends on the image (so a panel shows this method's own output)."""

    card = CARD

    def predict(self, image, trimap=None):
        return (image[..., 1].astype(np.float32) / 255.0) ** 2


@pytest.fixture()
def probe_runs(tmp_path):
    """`mattebench run --save-alphas` of the plug-in and of a built-in method on the synthetic set."""
    register_method("figure-probe", lambda: Probe(), card=CARD)
    runs = tmp_path / "runs"
    try:
        for m, save in (("figure-probe", "all"), ("trimap-midpoint", "all")):
            rc = main(["run", "--method", m, "--dataset", "synthetic", "--limit", "3", "--out", str(runs), "--quiet",
                       "--save-alphas", save])
            assert rc == 0
    finally:
        unregister_method("figure-probe")
    return runs


def _uninstall(monkeypatch):
    """No method can be built any more: a figure that tried would fail."""
    def refuse(name, /, **options):
        raise RegistryError(f"method {name!r} is not installed")

    monkeypatch.setattr(registry, "create_method", refuse)
    monkeypatch.setattr(registry, "method_entry", refuse)


def test_comparison_renders_from_stored_alphas_with_the_method_uninstalled(probe_runs, tmp_path, monkeypatch):
    _uninstall(monkeypatch)
    out = tmp_path / "boards"
    assert main(["leaderboard", "--runs", str(probe_runs), "--out", str(out), "--figures"]) == 0
    png = out / "figures" / "synthetic-comparison.png"
    with Image.open(png) as im:
        assert im.format == "PNG" and im.size[0] > 300
    assert "figures/synthetic-comparison.png" in (out / "synthetic.md").read_text()

    records = load_summaries(probe_runs)
    comp = collect_comparison("synthetic", records, open_dataset=load_dataset)
    assert [row[0].run for row in comp.panels] == ["figure-probe", "trimap-midpoint"]
    assert not comp.skipped
    probe_dir = probe_runs / "synthetic" / "figure-probe" / "alphas"
    for smp, panel in zip(comp.samples, comp.panels[0]):
        stored = cv2.imread(str(probe_dir / f"{smp.id}.png"), cv2.IMREAD_UNCHANGED)
        assert stored.dtype == np.uint16
        np.testing.assert_array_equal(panel.alpha, stored.astype(np.float32) / np.float32(65535))  # the PNG, exactly
        assert panel.mse == pytest.approx(panel.stored_mse, rel=1e-9, abs=1e-12)  # and what the run scored


def test_a_panel_is_the_stored_png_even_when_the_method_would_now_predict_otherwise(probe_runs, monkeypatch):
    """Replacing the stored file changes the panel (proof the figure reads it) and is flagged as differing."""
    _uninstall(monkeypatch)
    records = load_summaries(probe_runs)
    sid = choose_samples(records, n=1)[0]
    f = probe_runs / "synthetic" / "figure-probe" / "alphas" / f"{sid}.png"
    h, w = cv2.imread(str(f), cv2.IMREAD_UNCHANGED).shape
    cv2.imwrite(str(f), np.full((h, w), 65535, np.uint16))
    comp = collect_comparison("synthetic", records, sample_ids=[sid], open_dataset=load_dataset)
    panel = comp.panels[0][0]
    assert np.all(panel.alpha == 1.0)
    assert panel.mse != pytest.approx(panel.stored_mse)


def test_placeholders_say_why_a_stored_alpha_is_missing(probe_runs):
    records = [r if isinstance(r, RunRecord) else RunRecord.from_json(r) for r in load_summaries(probe_runs)]
    probe = next(r for r in records if r.method == "figure-probe")
    store = stored_alphas(probe)
    ids = sorted(p.stem for p in store.folder.glob("*.png"))
    assert "the image 1x1" in store.load(ids[0], (1, 1)).reason  # another size than the image
    assert "is missing" in store.load("not-a-sample").reason
    assert store.path("../../summary") is None and store.path("/etc/passwd") is None  # never outside the folder
    (store.folder / f"{ids[1]}.png").write_bytes(b"not a png")
    assert "unreadable" in store.load(ids[1]).reason


def test_a_record_naming_alphas_outside_its_run_is_not_read(probe_runs):
    [d] = [r for r in load_summaries(probe_runs) if (r["method"] if isinstance(r, dict) else r.method) == "figure-probe"]
    d = d.to_json() if isinstance(d, RunRecord) else dict(d)
    for bad in ("../trimap-midpoint/alphas", "/tmp", ""):
        d["provenance"] = {**d["provenance"], "saved_alphas": {"dir": bad, "ids": "all"}}
        assert stored_alphas(d) is None


def test_rerun_command_stores_the_ids_and_starts_fresh():
    d = {"dataset": "ppm100", "method": "modnet", "tag": "sps", "run_dir": "/r/runs/ppm100/modnet@sps",
         "settings": {"method_options": {"checkpoint": "a b.ckpt", "device": "cuda"}, "dataset_options": {"split": "test"},
                      "data_root": "/data/PPM", "limit": 5}}
    cmd = rerun_command(d, ["p1", "p2"])
    assert cmd.startswith("mattebench run --method modnet --dataset ppm100 --data-root /data/PPM")
    assert "-m 'checkpoint=a b.ckpt'" in cmd and "--device cuda" in cmd and "-d split=test" in cmd and "--limit 5" in cmd
    assert cmd.endswith("--tag sps --out /r/runs --save-alphas p1,p2 --fresh")


def test_choose_samples_prefers_ids_every_run_stored(tmp_path):
    """Among the ids every run scored, the ones with a stored alpha in every run that stored any."""
    import csv

    recs = []
    for name, scores, kept in (("a", {"s1": 0.9, "s2": 0.0}, ["s2"]), ("b", {"s1": 0.0, "s2": 0.1}, None)):
        run = tmp_path / "d" / name
        (run / "alphas").mkdir(parents=True)
        with open(run / "samples.csv", "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=["id", "status", "mse_whole"])
            w.writeheader()
            w.writerows({"id": i, "status": "ok", "mse_whole": v} for i, v in scores.items())
        for i in kept or []:
            cv2.imwrite(str(run / "alphas" / f"{i}.png"), np.zeros((2, 2), np.uint16))
        prov = {"saved_alphas": {"dir": "alphas", "ids": kept}} if kept else {}
        recs.append({"dataset": "d", "method": name, "run_dir": str(run), "provenance": prov})
    assert choose_samples(recs, n=1) == ["s2"]  # s1 disagrees more, but only s2 can be pictured
    recs[0]["provenance"] = {}
    assert choose_samples(recs, n=1) == ["s1"]  # no run stored alphas: the largest disagreement


# -- bench records: exactly the format of `mattebench bench --json` ---------------------------------------
BENCH = {"method": "modnet", "options": {}, "size": 512, "batch": 2, "precision": "fp32", "device": "cpu",
         "threads": 2, "device_name": "x86_64", "params": 6487075, "gmacs": 15.5, "latency_ms": 10.0,
         "p10_ms": 9.0, "p90_ms": 12.0, "fps": 200.0, "iters": 5, "e2e_ms": 30.0}


def test_bench_point_reads_the_bench_json_record():
    p = bench_point(dict(BENCH))
    assert (p.method, p.params, p.model_ms, p.model_spread, p.e2e_ms, p.size, p.batch) == (
        "modnet", 6487075, 5.0, (4.5, 6.0), 30.0, 512, 2)
    no_e2e = {k: v for k, v in BENCH.items() if k != "e2e_ms"}  # `bench --no-e2e`
    assert bench_point(no_e2e).e2e_ms is None


@pytest.mark.parametrize("change, reason", [
    ({"latency_ms": None, "model": {"median_ms": 1.0}}, None),  # a nested spelling is not read (no time: None)
    ({"size": [512, 512]}, "'size'"),
    ({"size": "512x512"}, "'size'"),
    ({"batch": True}, "'batch'"),
    ({"params": "6M"}, "'params'"),
    ({"e2e_ms": "fast"}, "'e2e_ms'"),
])
def test_bench_point_refuses_other_spellings(change, reason):
    d = {**BENCH, **change}
    if reason is None:
        d.pop("e2e_ms")
        assert bench_problem(d) is None and bench_point(d) is None
    else:
        assert reason in bench_problem(d) and bench_point(d) is None


@pytest.mark.parametrize("missing", ["method", "size", "batch", "precision", "device", "latency_ms"])
def test_bench_record_without_a_key_is_skipped_with_a_warning(tmp_path, missing):
    d = {k: v for k, v in BENCH.items() if k != missing}
    (tmp_path / "x.json").write_text(json.dumps(d))
    with pytest.warns(UserWarning, match=rf"x.json: no '{missing}' key"):
        assert load_bench(tmp_path) == []


def test_bench_file_with_the_record_on_its_last_line(tmp_path):
    """`bench --json` prints its record on the last line; a file with a line before it is still read."""
    (tmp_path / "m.json").write_text("modnet at 512x512 ...\n" + json.dumps(BENCH) + "\n")
    [p] = load_bench(tmp_path)
    assert p.model_ms == 5.0
