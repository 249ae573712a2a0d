"""`mattebench robustness`: the grid, its resumption, the paired table model, the figure, the reports."""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

import pytest

from mattebench.commands.cli import main
from mattebench.data import corrupt as C
from mattebench.data.condition import CLEAN, Condition
from mattebench.errors import MattebenchError
from mattebench.report.leaderboard import render_dataset
from mattebench.report.robustness import (
    StoredRun,
    build_table,
    condition_of,
    figure_panels,
    is_variant_run,
    load_tables,
    render_markdown,
    series_name,
    trimap_panels,
    write_figure,
)
from mattebench.report.site import write_site
from mattebench.runs.runner import evaluate
from mattebench.runs.store import load_summaries, read_rows
from mattebench.tracks.robustness import parse_kinds, parse_severities, plan

GRID = ["--kinds", "gaussian-noise", "downscale", "--severities", "1,4", "--limit", "3"]


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    """A small closed-form grid: 2 kinds x 2 severities + clean, 3 samples each."""
    base = tmp_path_factory.mktemp("grid")
    runs, report = base / "runs", base / "report"
    rc = main(["robustness", "--method", "closed-form", "--dataset", "synthetic", *GRID, "--out", str(runs),
               "--report", str(report), "--quiet"])
    return rc, runs, report


def test_grid_writes_every_cell_as_an_ordinary_run(grid):
    rc, runs, _ = grid
    assert rc == 0
    names = sorted(p.name for p in (runs / "synthetic").iterdir())
    assert names == sorted(["closed-form", "closed-form@corrupt-gaussian-noise-1", "closed-form@corrupt-gaussian-noise-4",
                            "closed-form@corrupt-downscale-1", "closed-form@corrupt-downscale-4"])
    for s in load_summaries(runs):
        assert s.counts.ok == 3 and s.complete
        assert is_variant_run(s) == ("@" in Path(s.run_dir).name)


def test_table_and_figure_are_written_and_values_are_the_stored_means(grid):
    _, runs, report = grid
    md = (report / "synthetic.md").read_text()
    png = report / "robustness-synthetic.png"
    assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| sev 1" in md and "| sev 4" in md and "gaussian-noise" in md and "downscale" in md and "mean rel. degr." in md
    (t,) = load_tables(runs)
    # recompute one cell and its degradation by hand from the samples.csv files
    clean = {r["id"]: r["mse_whole"] for r in read_rows(runs / "synthetic" / "closed-form" / "samples.csv")}
    noisy = {r["id"]: r["mse_whole"] for r in read_rows(runs / "synthetic" / "closed-form@corrupt-gaussian-noise-4" / "samples.csv")}
    cell = t.cell("closed-form", "gaussian-noise", 4)
    assert cell is not None and cell.paired and cell.n == 3
    assert math.isclose(cell.values["mse_whole"], statistics.fmean(noisy.values()), rel_tol=1e-12)
    assert math.isclose(cell.clean["mse_whole"], statistics.fmean(clean.values()), rel_tol=1e-12)
    expected = (statistics.fmean(noisy.values()) - statistics.fmean(clean.values())) / statistics.fmean(clean.values())
    assert math.isclose(cell.degradation("mse_whole"), expected, rel_tol=1e-9)
    assert f"{100 * expected:+.0f}%" in md or f"{100 * t.mean_degradation('closed-form', 'mse_whole', 'gaussian-noise'):+.0f}%" in md
    assert t.kinds == ("gaussian-noise", "downscale") and t.severities == (1, 4)


def test_rerun_resumes_without_recomputation(grid, capsys):
    _, runs, report = grid
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in runs.rglob("*") if p.is_file()}
    rc = main(["robustness", "--method", "closed-form", "--dataset", "synthetic", *GRID, "--out", str(runs),
               "--report", str(report), "--quiet"])
    assert rc == 0
    err = capsys.readouterr().err
    assert err.count("(stored)") == 5 and "(ran)" not in err
    after = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in runs.rglob("*") if p.is_file()}
    assert after == before  # no row, summary or settings file was touched


def test_a_full_clean_run_is_reused_and_not_truncated(tmp_path):
    evaluate("trimap-midpoint", "synthetic", out=tmp_path, limit=5)
    rc = main(["robustness", "--method", "trimap-midpoint", "--dataset", "synthetic", "--kinds", "jpeg", "--severities", "2",
               "--limit", "3", "--out", str(tmp_path), "--report", str(tmp_path / "rep"), "--quiet"])
    assert rc == 0
    clean = json.loads((tmp_path / "synthetic" / "trimap-midpoint" / "summary.json").read_text())
    assert clean["counts"]["total"] == 5  # the grid's --limit 3 did not overwrite the 5-sample summary
    (t,) = load_tables(tmp_path)
    assert t.cell("trimap-midpoint", "jpeg", 2).n == 3  # paired on the 3 samples both runs scored


def test_several_methods_give_one_panel_per_kind(tmp_path):
    rc = main(["robustness", "--method", "trimap-midpoint", "--method", "knn", "--dataset", "synthetic", "--kinds", "jpeg,low-light",
               "--severities", "1-2", "--limit", "2", "--out", str(tmp_path), "--report", str(tmp_path / "rep"), "--quiet"])
    assert rc == 0
    (t,) = load_tables(tmp_path)
    assert t.series == ("knn", "trimap-midpoint")
    panels = figure_panels(t)
    assert [p.title for p in panels] == ["jpeg", "low-light"]
    assert [lab for lab, _, _ in panels[0].lines] == ["knn", "trimap-midpoint"]
    single = build_table([StoredRun.from_summary(s) for s in load_summaries(tmp_path)], "synthetic", series=["trimap-midpoint"])
    (panel,) = figure_panels(single)
    assert [lab for lab, _, _ in panel.lines] == ["jpeg", "low-light"]
    assert all(xs == (0, 1, 2) for _, xs, _ in panel.lines)
    assert write_figure(single, tmp_path / "one.png").is_file()


def _summary(method: str, run_dir: str, variant: dict | None, means: dict) -> dict:
    s = {"dataset": "toy", "method": method, "tag": None, "run_dir": run_dir, "means": means, "counts": {"ok": 4, "total": 4},
         "method_card": {"name": method, "family": "trimap-based"}, "dataset_card": {"primary_metric": "mse_whole"},
         "settings": {"dataset_options": {}}}
    if variant:
        s["dataset_variant"] = variant
        s["tag"] = "corrupt-jpeg-1"
    return s


def test_table_is_paired_on_common_samples_by_hand():
    clean = StoredRun(_summary("m", "/x/m", None, {"mse_whole": 2.5}),
                      {i: {"id": i, "status": "ok", "mse_whole": v} for i, v in zip("abcd", [1.0, 2.0, 3.0, 4.0])})
    jpeg = {"corrupt": {"kind": "jpeg", "severity": 1, "params": {"quality": 25}, "table": C.TABLE_VERSION}}
    cell = StoredRun(_summary("m", "/x/m@corrupt-jpeg-1", jpeg, {"mse_whole": 3.0}),
                     {i: {"id": i, "status": "ok", "mse_whole": v} for i, v in zip("ab", [2.0, 4.0])})
    t = build_table([clean, cell], "toy")
    c = t.cell("m", "jpeg", 1)
    assert (c.values["mse_whole"], c.clean["mse_whole"], c.n, c.paired) == (3.0, 1.5, 2, True)
    assert c.degradation("mse_whole") == 1.0  # (3 - 1.5) / 1.5
    assert t.mean_degradation("m", "mse_whole") == 1.0
    unpaired = build_table([StoredRun(clean.record), StoredRun(cell.record)], "toy").cell("m", "jpeg", 1)
    assert (unpaired.values["mse_whole"], unpaired.clean["mse_whole"], unpaired.paired) == (3.0, 2.5, False)
    assert "†" in render_markdown(build_table([StoredRun(clean.record), StoredRun(cell.record)], "toy"))


def test_conditions_and_series_names():
    s = _summary("modnet", "/r/modnet@sps_corrupt-jpeg-1", {"corrupt": {"kind": "jpeg", "severity": 1}}, {})
    s["tag"] = "sps_corrupt-jpeg-1"
    assert condition_of(s) == Condition("jpeg", 1) and series_name(s) == "modnet@sps"
    assert condition_of(_summary("m", "/r/m", None, {})) == Condition(CLEAN)
    legacy = _summary("m", "/r/m@x", None, {})
    legacy["settings"]["dataset_options"] = {"trimap_adjust": "+4"}  # a summary without dataset_variant
    assert is_variant_run(legacy) and condition_of(legacy) == Condition("trimap-adjust", 4)


def test_leaderboard_and_site_keep_variant_runs_out_of_clean_tables(grid, tmp_path):
    _, runs, _ = grid
    summaries = load_summaries(runs)
    md = render_dataset("synthetic", summaries)
    clean_part, robust_part = md.split("## Robustness", 1)
    assert "corrupt-" not in clean_part and "closed-form" in clean_part
    assert "gaussian-noise" in robust_part.split("## Provenance")[0]
    index = write_site(runs, tmp_path / "lb")
    html = index.read_text()
    assert 'href="robustness.html"' in html and "corrupt-" not in html
    page = (index.parent / "robustness.html").read_text()
    assert "gaussian-noise" in page and "figures/robustness-synthetic.png" in page and "Hendrycks" in page
    assert (index.parent / "figures" / "robustness-synthetic.png").is_file()


@pytest.mark.parametrize("args", [["--kinds", "fog"], ["--severities", "0"], ["--severities", "6"], ["--severities", "1-6"],
                                  ["--severities", "a"], ["-d", "corrupt=jpeg:2"], ["--trimap-adjust", "0"], ["--limit", "0"],
                                  ["--metric", "nope", "--limit", "1", "--kinds", "jpeg", "--severities", "1"]])
def test_bad_grid_arguments_are_usage_errors(args, tmp_path, capsys):
    rc = main(["robustness", "--method", "trimap-midpoint", "--dataset", "synthetic", *args, "--out", str(tmp_path / "r"),
               "--report", str(tmp_path / "rep"), "--quiet"])
    assert rc == 2
    assert capsys.readouterr().err.startswith("error:")


def test_parsers_and_plan():
    assert parse_severities("1-5") == (1, 2, 3, 4, 5) and parse_severities("5,1,3") == (1, 3, 5)
    assert parse_kinds(None) == C.KINDS and parse_kinds(["color-cast,jpeg"]) == ("jpeg", "colour-cast")
    with pytest.raises(MattebenchError):
        parse_severities("2-7")
    cells = plan(["a", "b"], ["jpeg"], [1, 2], trimap_adjust=[-3, 3], tag="x")
    assert [c.tag for c in cells if c.method == "a"] == ["x", "x_corrupt-jpeg-1", "x_corrupt-jpeg-2", "x_trimap-3", "x_trimap+3"]
    assert len(cells) == 10


def test_trimap_curve_cells_appear_in_their_own_table(tmp_path):
    rc = main(["robustness", "--method", "trimap-midpoint", "--dataset", "synthetic", "--kinds", "jpeg", "--severities", "1",
               "--trimap-adjust=-2,4", "--trimap-radius", "3", "--limit", "2", "--out", str(tmp_path), "--report", str(tmp_path / "rep"), "--quiet"])
    assert rc == 0
    (t,) = load_tables(tmp_path)
    assert sorted((c.condition.kind, c.condition.level) for c in t.trimap) == [("trimap-adjust", -2), ("trimap-adjust", 4), ("trimap-radius", 3)]
    md = (tmp_path / "rep" / "synthetic.md").read_text()
    assert "## Trimap width" in md and "band +4 px" in md and "generated, r = 3" in md
    # a wider band makes the midpoint guess wrong on more pixels: whole-image error grows with the band
    wide = next(c for c in t.trimap if c.condition == Condition("trimap-adjust", 4))
    narrow = next(c for c in t.trimap if c.condition == Condition("trimap-adjust", -2))
    assert wide.values["mse_whole"] > t.clean["trimap-midpoint"]["mse_whole"] > narrow.values["mse_whole"]


def test_paper_tables_never_take_a_variant_run_whatever_its_tag():
    from mattebench.report.tables import index_runs
    from mattebench.runs.record import as_record

    clean = _summary("modnet", "/r/modnet@sps", None, {"mse_whole": 0.01})
    clean["tag"] = "sps"
    noisy = _summary("modnet", "/r/modnet@sps2", {"corrupt": {"kind": "jpeg", "severity": 5}}, {"mse_whole": 0.05})
    noisy["tag"] = "sps"  # the user gave --tag sps to a corrupted run
    clean, noisy = as_record(clean), as_record(noisy)
    assert index_runs([clean, noisy])[("toy", "modnet", "sps")] is clean
    assert index_runs([noisy]) == {}


def test_trimap_only_grid_draws_the_trimap_curve(tmp_path):
    rc = main(["robustness", "--method", "trimap-midpoint", "--dataset", "synthetic", "--kinds", "none",
               "--trimap-adjust=-2,3", "--limit", "2", "--out", str(tmp_path), "--report", str(tmp_path / "rep"), "--quiet"])
    assert rc == 0
    assert sorted(p.name for p in (tmp_path / "synthetic").iterdir()) == ["trimap-midpoint", "trimap-midpoint@trimap+3", "trimap-midpoint@trimap-2"]
    rep = tmp_path / "rep"
    assert (rep / "robustness-synthetic-trimap.png").is_file() and not (rep / "robustness-synthetic.png").exists()
    (t,) = load_tables(tmp_path)
    (panel,) = trimap_panels(t)
    (label, xs, ys) = panel.lines[0]
    assert label == "trimap-midpoint" and xs == (-2, 0, 3)
    assert ys[1] == t.clean["trimap-midpoint"]["mse_whole"]
    md = (rep / "synthetic.md").read_text()
    assert "robustness-synthetic-trimap.png" in md and "by corruption and severity" not in md
    index = write_site(tmp_path, tmp_path / "lb")
    page = (index.parent / "robustness.html").read_text()
    assert "figures/robustness-synthetic-trimap.png" in page and "by corruption and severity" not in page


def test_leaderboard_command_also_writes_the_robustness_report(grid, tmp_path):
    _, runs, _ = grid
    assert main(["leaderboard", "--runs", str(runs), "--out", str(tmp_path)]) == 0
    assert (tmp_path / "robustness" / "synthetic.md").is_file() and (tmp_path / "robustness" / "robustness-synthetic.png").is_file()
    assert "## Robustness" in (tmp_path / "synthetic.md").read_text()
