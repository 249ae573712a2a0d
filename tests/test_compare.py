"""`mattebench compare` and the leaderboards' significance marks, on runs written by `evaluate`.

The runs: the trimap midpoint; the same method stored twice (identical rows); a plug-in that adds
known Gaussian noise to the midpoint in the unknown region (so its MSE is worse on every sample by
about sigma^2 there); and one that differs from the midpoint on a single sample only.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from pathlib import Path
from typing import Optional

import numpy as np
import pytest
from conftest import TinyDataset
from test_site import parse

from mattebench.commands.cli import main
from mattebench.data.trimap import keep_known
from mattebench.metrics import stats as S
from mattebench.metrics.regions import REGION_COLUMNS
from mattebench.report import board_stats
from mattebench.report.board import format_value as _fmt
from mattebench.report.compare import NotComparable, compare_runs, resolve_run
from mattebench.report.leaderboard import render_dataset
from mattebench.report.site import write_site
from mattebench.runs.record import RunRecord
from mattebench.runs.runner import evaluate
from mattebench.runs.store import SUMMARY, load_summaries, read_rows
from mattebench.types import FAMILY_FREE, FAMILY_TRIMAP, MethodCard

N = 16


class NoisyMidpoint:
    """The trimap midpoint plus N(0, sigma) in the unknown region, seeded by the image bytes."""

    def __init__(self, sigma: float, only: Optional[int] = None):
        self.sigma, self.only, self.seen = sigma, only, 0
        self.card = MethodCard(name="noisy-midpoint", needs_trimap=True, family=FAMILY_TRIMAP)

    def predict(self, image: np.ndarray, trimap: Optional[np.ndarray] = None) -> np.ndarray:
        assert trimap is not None
        self.seen += 1
        seed = int.from_bytes(hashlib.sha256(image.tobytes()).digest()[:8], "little")
        noise = np.random.default_rng(seed).normal(0.0, self.sigma, size=trimap.shape)
        if self.only is not None and self.seen != self.only:
            noise[:] = 0.0
        out = np.clip(0.5 + noise, 0.0, 1.0).astype(np.float32)
        return keep_known(out, trimap)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("compare") / "runs"
    ds = TinyDataset(n=N)
    evaluate("trimap-midpoint", ds, out=root)
    evaluate("trimap-midpoint", ds, out=root, tag="again")
    evaluate(NoisyMidpoint(0.2), ds, out=root, method_name="noisy-midpoint", tag="s0.2")
    evaluate(NoisyMidpoint(0.2, only=3), ds, out=root, method_name="noisy-midpoint", tag="one")
    evaluate("trimap-midpoint", TinyDataset(n=N - 4), out=root.parent / "other")
    return root


def _json(capsys, argv: list[str]) -> tuple[int, list[dict]]:
    rc = main(argv)
    out = capsys.readouterr().out
    return rc, [json.loads(line) for line in out.splitlines() if line.strip()]


def test_identical_runs_differ_by_zero_with_p_one(runs, capsys):
    rc, objs = _json(capsys, ["compare", "tiny/trimap-midpoint", "tiny/trimap-midpoint@again", "--runs", str(runs), "--json"])
    assert rc == 0
    # the whole-image SAD/Grad/Conn (issue 24) are compared with a verdict; the region and boundary columns are paired
    # too, marked "breakdown" and never given a verdict (report/compare_breakdowns.py)
    ranked = [o for o in objs if not o.get("breakdown")]
    assert {o["metric"] for o in ranked} == {"mse_whole", "mad_whole", "sad", "mse", "grad", "conn", "sad_whole",
                                             "grad_whole", "conn_whole"}
    assert {o["metric"] for o in objs if o.get("breakdown")} == {*REGION_COLUMNS, "biou", "mba"}
    for o in objs:
        assert {"metric", "n", "mean_diff", "ci", "p_value", "p_holm"} <= set(o)
        assert o["mean_diff"] == 0.0 and o["ci"] == [0.0, 0.0]
        assert o["p_value"] == 1.0 and o["p_holm"] == 1.0 and o.get("better") is None
    assert all(o["n"] == N for o in ranked)


def test_uniformly_worse_method_is_significant(runs, capsys):
    rc, objs = _json(capsys, ["compare", str(runs / "tiny" / "noisy-midpoint@s0.2"), "tiny/trimap-midpoint",
                              "--runs", str(runs), "--json", "--metric", "mse_whole", "--metric", "mad_whole"])
    assert rc == 0 and [o["metric"] for o in objs] == ["mse_whole", "mad_whole"]
    noisy = {r["id"]: r for r in read_rows(runs / "tiny" / "noisy-midpoint@s0.2" / "samples.csv")}
    mid = {r["id"]: r for r in read_rows(runs / "tiny" / "trimap-midpoint" / "samples.csv")}
    diffs = [noisy[i]["mse_whole"] - mid[i]["mse_whole"] for i in mid]
    assert all(d > 0 for d in diffs)  # the construction: worse on every sample
    o = objs[0]
    assert o["mean_diff"] == pytest.approx(float(np.mean(diffs)), rel=1e-12)
    assert o["ci"][0] > 0
    assert o["p_value"] == pytest.approx(2 / 2 ** N, rel=1e-6) and o["p_value"] < 1e-3
    # Holm over the two metrics: the smaller p doubled, the larger kept (if it stays monotone)
    assert o["p_holm"] == pytest.approx(S.holm([o["p_value"], objs[1]["p_value"]])[0])
    # the verdict (issue 20 §3): a word for A against B, the sentence with its numbers in "statement"
    assert o["better"] == "B" and o["verdict"] == "worse" and "B is better" in o["statement"]


def test_text_output_names_runs_and_gives_a_verdict_per_metric(runs, capsys):
    assert main(["compare", "tiny/trimap-midpoint", "tiny/noisy-midpoint@s0.2", "--runs", str(runs)]) == 0
    out = capsys.readouterr().out
    assert f"A = tiny/trimap-midpoint ({N} samples scored)" in out and "B = tiny/noisy-midpoint@s0.2 (" in out
    assert "MSE (whole): A is better" in out and "percentile bootstrap" in out
    verdicts = [x for x in out.splitlines() if any(f": {w}" in x for w in ("A is better", "B is better", "equivalent",
                                                                          "inconclusive"))]
    assert len(verdicts) == 9


def test_one_differing_sample_is_not_significant(runs):
    c = compare_runs(resolve_run("tiny/noisy-midpoint@one", runs), resolve_run("tiny/trimap-midpoint", runs), ["mse_whole"])
    (r,) = c.results
    assert r.n == N and r.mean_diff > 0 and r.p_value == 1.0 and r.better is None


def _copy_run(runs: Path, name: str, dest: Path, edit) -> Path:
    shutil.copytree(runs / "tiny" / name, dest)
    s = json.loads((dest / SUMMARY).read_text())
    edit(s)
    (dest / SUMMARY).write_text(json.dumps(s))
    return dest


def test_refuses_different_fingerprints(runs, capsys):
    rc = main(["compare", str(runs / "tiny" / "trimap-midpoint"), str(runs.parent / "other" / "tiny" / "trimap-midpoint")])
    err = capsys.readouterr().err
    assert rc == 2 and "different dataset fingerprints" in err and "Traceback" not in err


def test_refuses_other_protocols_and_trimap_recipes(runs, tmp_path):
    a = resolve_run("tiny/trimap-midpoint", runs)
    proto = _copy_run(runs, "trimap-midpoint@again", tmp_path / "proto",
                      lambda s: s["dataset_card"].update(protocols=["whole"]))
    with pytest.raises(NotComparable, match="different protocols"):
        compare_runs(a, resolve_run(str(proto)))
    tri = _copy_run(runs, "trimap-midpoint@again", tmp_path / "tri",
                    lambda s: s["settings"]["dataset_options"].update(trimap_radius=7))
    with pytest.raises(NotComparable, match="different trimap recipes"):
        compare_runs(a, resolve_run(str(tri)))
    rule = _copy_run(runs, "trimap-midpoint@again", tmp_path / "rule",
                     lambda s: s["provenance"]["trimap_recipe"].update(rule="dilate by 10"))
    with pytest.raises(NotComparable, match="trimap"):
        compare_runs(a, resolve_run(str(rule)))


def test_missing_run_metric_and_tampered_rows_are_errors(runs, tmp_path, capsys):
    assert main(["compare", "tiny/nope", "tiny/trimap-midpoint", "--runs", str(runs)]) == 2
    assert "no run 'tiny/nope'" in capsys.readouterr().err
    assert main(["compare", "tiny/trimap-midpoint", "tiny/trimap-midpoint@again", "--runs", str(runs), "--metric", "dtssd"]) == 2
    assert "choose from" in capsys.readouterr().err
    cut = tmp_path / "cut"
    shutil.copytree(runs / "tiny" / "trimap-midpoint@again", cut)
    lines = (cut / "samples.csv").read_text().splitlines(keepends=True)
    (cut / "samples.csv").write_text("".join(lines[:-1]))
    assert main(["compare", "tiny/trimap-midpoint", str(cut), "--runs", str(runs)]) == 2
    assert "disagree" in capsys.readouterr().err


# -- leaderboard marks and P(first) ---------------------------------------------------------------
def _board(runs: Path, tmp_path: Path) -> tuple[list[dict], Path]:
    """The runs on tiny, plus a record with no samples.csv in the trimap-free group."""
    summaries = [s for s in load_summaries(runs) if s.dataset == "tiny"]
    lone = json.loads(json.dumps(summaries[0].to_json()))
    lone.update(method="rowless", tag=None, run_dir=str(tmp_path / "rowless"))
    lone["method_card"] = {**lone["method_card"], "name": "rowless", "family": FAMILY_FREE, "needs_trimap": False}
    return summaries + [RunRecord.from_json(lone)], tmp_path


def _md_rows(md: str, section: str) -> dict[str, dict[str, str]]:
    block = md.split(f"## {section}")[1].split("\n## ")[0]
    lines = [line for line in block.splitlines() if line.startswith("|")]
    heads = [h.strip() for h in lines[0].strip("|").split("|")]
    out = {}
    for line in lines[2:]:
        cells = dict(zip(heads, (c.strip() for c in line.strip("|").split("|"))))
        out[cells["Method"].replace(" (reference)", "").replace(" @", "@")] = cells
    return out


def test_leaderboard_marks_ties_with_the_leader_and_p_first(runs, tmp_path):
    summaries, _ = _board(runs, tmp_path)
    md = render_dataset("tiny", summaries)
    rows = _md_rows(md, "Trimap-based methods")
    assert set(rows) == {"trimap-midpoint", "trimap-midpoint@again", "noisy-midpoint@s0.2", "noisy-midpoint@one"}
    leader = "trimap-midpoint"  # equal means with @again; the board's first
    assert rows[leader]["vs #1"] == "best" and rows[leader]["#"] == "1"
    # Verdicts with their size (issue 20 §3). Identical rows: every difference zero, inside ± the resolution.
    assert rows["trimap-midpoint@again"]["vs #1"] == "≈ (equiv.)"
    mid = {r["id"]: r["mse_whole"] for r in read_rows(runs / "tiny" / "trimap-midpoint" / "samples.csv")}

    def diff(name: str) -> float:
        other = {r["id"]: r["mse_whole"] for r in read_rows(runs / "tiny" / name / "samples.csv")}
        return float(np.mean([other[i] - mid[i] for i in mid]))

    # one non-zero difference: a third of the resamples leave it out, so the interval reaches 0: no claim
    assert rows["noisy-midpoint@one"]["vs #1"] == f"inconclusive ({board_stats.size_text(diff('noisy-midpoint@one'))})"
    # worse on every sample, by far more than the resolution of float32 predictions
    assert rows["noisy-midpoint@s0.2"]["vs #1"] == f"worse {board_stats.size_text(diff('noisy-midpoint@s0.2'))}"
    assert "≈" not in rows["noisy-midpoint@s0.2"]["vs #1"]
    # P(first), worked out by hand: @one equals the midpoint except on one sample, where it is worse. A
    # resample without that sample (probability q = (15/16)^16) is a three-way tie for first (1/3 each);
    # one with it is a tie of the two identical midpoint runs (1/2 each).
    q = ((N - 1) / N) ** N
    assert float(rows["trimap-midpoint"]["P(first)"]) == pytest.approx(0.5 * (1 - q) + q / 3, abs=0.02)
    assert rows["trimap-midpoint@again"]["P(first)"] == rows["trimap-midpoint"]["P(first)"]
    assert float(rows["noisy-midpoint@one"]["P(first)"]) == pytest.approx(q / 3, abs=0.02)
    assert rows["noisy-midpoint@s0.2"]["P(first)"] == "0.00"
    # the record without rows: no test, no P(first), and a note says why
    free = _md_rows(md, "Trimap-free methods")
    assert free["rowless"]["vs #1"] == "best" and free["rowless"]["P(first)"] == "–"
    assert "90% bootstrap interval" in md and "resolution" in md and "Holm-corrected" in md and "10000" in md


def test_leaderboard_cells_show_the_stored_interval(runs, tmp_path):
    summaries, _ = _board(runs, tmp_path)
    rows = _md_rows(render_dataset("tiny", summaries), "Trimap-based methods")
    s = next(x for x in summaries if x.method == "noisy-midpoint" and x.tag == "s0.2")
    vals = [r["mse_whole"] for r in read_rows(Path(s.run_dir) / "samples.csv")]
    ci = S.mean_ci(vals)
    h = max(ci.mean - ci.lo, ci.hi - ci.mean)
    assert rows["noisy-midpoint@s0.2"]["MSE (whole)"] == f"{_fmt(s.means['mse_whole'], 'mse_whole')} ± {h:.2g}" \
        or rows["noisy-midpoint@s0.2"]["MSE (whole)"] == f"{_fmt(s.means['mse_whole'], 'mse_whole')} ± {h:.1e}"
    # an interval that does not contain its mean (a hand-edited record) is not shown
    bad = json.loads(json.dumps(s.to_json()))
    bad["ci"]["mse_whole"] = [bad["means"]["mse_whole"] + 1, bad["means"]["mse_whole"] + 2]
    assert board_stats.half_width_text(bad, "mse_whole") == ""


def test_marks_skip_runs_whose_rows_disagree_with_the_record(runs, tmp_path):
    summaries = [s for s in load_summaries(runs) if s.dataset == "tiny" and s.method == "trimap-midpoint"]
    edited = tmp_path / "again"
    shutil.copytree(Path(summaries[1].run_dir), edited)
    text = (edited / "samples.csv").read_text().splitlines(keepends=True)
    (edited / "samples.csv").write_text("".join(text[:-1]))  # one row gone: 15 rows, the record says 16
    summaries[1] = dataclasses.replace(summaries[1], run_dir=str(edited))
    g = board_stats.group_stats(summaries, "mse_whole")
    assert g.mark("trimap-midpoint@again").p_holm is None and "disagree" in g.mark("trimap-midpoint@again").reason
    assert g.mark("trimap-midpoint@again").p_first is None and any("no P(first)" in n for n in g.notes)


def test_site_shows_interval_marks_and_p_first(runs, tmp_path):
    summaries, _ = _board(runs, tmp_path)
    index = write_site(runs, tmp_path / "out", summaries=summaries)
    table = parse(index).find("table", id="t-tiny-whole")
    heads = [h.text().strip() for h in table.find("thead").find("tr").cells()]
    vs, pf = heads.index("vs #1"), heads.index("P(first)")
    by_run = {tr.attrs["data-run"]: tr.cells() for tr in table.find_all("tr") if "data-run" in tr.attrs}
    assert by_run["trimap-midpoint"][vs].text() == "best"
    assert by_run["trimap-midpoint@again"][vs].text() == "≈ (equiv.)"
    # the verdict with its size, and the numbers behind it on hover (issue 20 §3)
    worse = by_run["noisy-midpoint@s0.2"][vs]
    assert worse.text().startswith("worse +") and "90% CI [" in worse.attrs["title"]
    assert "resolution ±" in worse.attrs["title"] and "Holm" in worse.attrs["title"]
    assert "q·MAD + q²/4" in index.read_text()  # the legend: the ranking metric's resolution
    q = ((N - 1) / N) ** N
    assert float(by_run["trimap-midpoint"][pf].attrs["data-value"]) == pytest.approx(0.5 * (1 - q) + q / 3, abs=0.02)
    assert by_run["rowless"][pf].text() == "–"
    mse = heads.index(next(h for h in heads if h.startswith("MSE")))
    ci = by_run["noisy-midpoint@s0.2"][mse].find("span", class_="ci")
    s = next(x for x in summaries if x.tag == "s0.2")
    assert ci.text().startswith("± ") and ci.attrs["title"].startswith("95% CI [")
    assert float(by_run["noisy-midpoint@s0.2"][mse].attrs["data-value"]) == s.means["mse_whole"]
    assert "Holm-corrected" in index.read_text()
    page = (index.parent / "runs" / "tiny" / "noisy-midpoint@s0.2.html").read_text()
    lo, hi = s.ci["mse_whole"]
    assert f"[{_fmt(lo, 'mse_whole')}, {_fmt(hi, 'mse_whole')}]" in page and "95% CI" in page


def test_cli_end_to_end_on_synthetic(tmp_path, capsys):
    out = str(tmp_path / "runs")
    for tag in ("a", "b"):
        assert main(["run", "--method", "trimap-midpoint", "--dataset", "synthetic", "--limit", "3", "--out", out,
                     "--tag", tag, "--quiet"]) == 0
    capsys.readouterr()
    rc, objs = _json(capsys, ["compare", "synthetic/trimap-midpoint@a", "synthetic/trimap-midpoint@b", "--runs", out, "--json"])
    assert rc == 0 and objs and all(o["n"] == 3 and o["mean_diff"] == 0 and o["p_holm"] == 1.0 for o in objs)
    s = json.loads((tmp_path / "runs" / "synthetic" / "trimap-midpoint@a" / SUMMARY).read_text())
    assert s["ci_method"]["unit"] == "sample" and all(s["ci"][k] is not None for k in s["means"])


def test_marks_follow_a_runs_folder_that_moved(runs, tmp_path):
    moved = tmp_path / "moved"
    shutil.copytree(runs, moved)
    for f in moved.glob("*/*/summary.json"):  # as if written relative to another working directory
        s = json.loads(f.read_text())
        s["run_dir"] = "runs-elsewhere/" + f.parent.name
        f.write_text(json.dumps(s))
    rows = _md_rows(render_dataset("tiny", load_summaries(moved)), "Trimap-based methods")
    assert rows["trimap-midpoint"]["vs #1"] == "best"
    assert rows["trimap-midpoint@again"]["vs #1"].startswith("≈") and rows["noisy-midpoint@s0.2"]["P(first)"] == "0.00"


def test_runs_on_other_data_are_not_paired_with_the_leader(runs):
    tiny = [s for s in load_summaries(runs) if s.dataset == "tiny" and s.method == "trimap-midpoint"]
    other = load_summaries(runs.parent / "other")[0]  # 12 samples of another fingerprint, same ids s00..s11
    other = dataclasses.replace(other, tag="other-data")
    group = [*tiny, other]
    g = board_stats.group_stats(group, "mse_whole")
    fp = {board_stats.run_key(s): s.provenance.dataset_fingerprint for s in group}
    apart = [k for k in fp if k != g.leader and fp[k] != fp[g.leader]]
    together = [k for k in fp if k != g.leader and fp[k] == fp[g.leader]]
    assert apart
    for k in apart:
        m = g.mark(k)
        assert m.p_holm is None and m.p_first is None and "different dataset fingerprints" in m.reason
    for k in together:
        assert g.mark(k).p_holm is not None
    assert any("no P(first)" in n for n in g.notes)


def test_p_first_names_the_common_samples_when_runs_scored_different_sets(runs, tmp_path):
    summaries = [s for s in load_summaries(runs) if s.dataset == "tiny" and s.tag in (None, "s0.2")]
    short = tmp_path / "short"
    evaluate("trimap-midpoint", TinyDataset(n=N), out=short, limit=10)  # same data, a --limit subset
    sub = load_summaries(short)[0]
    sub = dataclasses.replace(sub, tag="first10")
    g = board_stats.group_stats([*summaries, sub], "mse_whole")
    assert g.n_first == 10 and any("on the 10 samples every run" in n for n in g.notes)
    # whichever of the two is not the leader was paired with it on the 10 samples both scored
    assert {g.mark(k).n for k in ("trimap-midpoint", "trimap-midpoint@first10") if k != g.leader} == {10}
    assert g.mark("noisy-midpoint@s0.2").n == (10 if g.leader == "trimap-midpoint@first10" else N)
