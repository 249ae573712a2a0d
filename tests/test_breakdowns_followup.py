"""Issue 24 follow-up: the breakdown columns in `compare` (paired, never a verdict) and its --json; a foreground
predicted in a method host (a plug-in run by name, with and without --jobs); the true foreground of the synthetic
set and of a Composition-1k tree scored for a method that predicts one and for the labelled estimate."""

from __future__ import annotations

import csv
import json
import math
import statistics

import numpy as np
import pytest
from PIL import Image

from _fake_trees import make_comp1k
from _trust_kit import cli, install_plugin
from mattebench.commands.cli import main
from mattebench.data.comp1k import Composition1k
from mattebench.data.synthetic import SyntheticDataset
from mattebench.metrics import stats
from mattebench.metrics.foreground import ESTIMATOR
from mattebench.metrics.regions import REGION_COLUMNS
from mattebench.runs.runner import evaluate
from mattebench.types import MethodCard


def _rows(run_dir) -> dict[str, dict[str, str]]:
    with open(run_dir / "samples.csv", newline="") as f:
        return {r["id"]: r for r in csv.DictReader(f)}


def _rvm_fgr(pred_fgr: np.ndarray, true_fgr_u8: np.ndarray, true_alpha: np.ndarray) -> tuple[float, float]:
    """RVM evaluate_lr.py, written out: over pixels with true alpha > 0, all three channels, colours in [0, 1]."""
    total_abs, total_sq, count = 0.0, 0.0, 0
    h, w = true_alpha.shape
    for y in range(h):
        for x in range(w):
            if true_alpha[y, x] > 0:
                for c in range(3):
                    d = float(pred_fgr[y, x, c]) - true_fgr_u8[y, x, c] / 255.0
                    total_abs += abs(d)
                    total_sq += d * d
                    count += 1
    return total_abs / count, total_sq / count


def _midpoint(trimap: np.ndarray) -> np.ndarray:
    a = np.full(trimap.shape, 0.5, np.float32)
    a[trimap == 0], a[trimap == 255] = 0.0, 1.0
    return a


def _fgr_of(image: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The test methods' foreground: a function of the photo and of the alpha they were given."""
    return np.clip(image.astype(np.float32) / 255.0 * (0.5 + 0.5 * alpha[..., None]), 0.0, 1.0)


class ForegroundMidpoint:
    """Trimap midpoint alpha, and a foreground colour made from the photo and that alpha."""

    card = MethodCard(name="fg-midpoint", needs_trimap=True, family="trimap-based", weights_option="")

    def predict(self, image, trimap=None):
        return _midpoint(trimap)

    def predict_foreground(self, image, alpha):
        assert alpha.dtype == np.float32 and alpha.ndim == 2
        return _fgr_of(image, alpha)


# -- compare ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def synth_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    evaluate("trimap-midpoint", "synthetic", out=root, limit=5)
    evaluate(ForegroundMidpoint(), "synthetic", out=root, limit=5, method_name="fg-midpoint")
    return root


def test_compare_json_pairs_every_breakdown_column_without_a_verdict(synth_runs, capsys):
    rc = main(["compare", "synthetic/trimap-midpoint", "synthetic/fg-midpoint", "--runs", str(synth_runs), "--json"])
    objs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert rc == 0
    ranked = [o for o in objs if not o.get("breakdown")]
    broken = {o["metric"]: o for o in objs if o.get("breakdown")}
    assert {o["metric"] for o in ranked} >= {"sad", "sad_whole", "grad_whole", "conn_whole"}  # compared with a verdict
    assert all(o["verdict"] in stats.VERDICTS for o in ranked)
    assert set(broken) == {*REGION_COLUMNS, "biou", "mba"}  # fgr_*: only B scored a foreground
    assert all(o["verdict"] == "not ranked" and "better" not in o for o in broken.values())
    assert broken["biou"]["lower_is_better"] is False and broken["sad_fg"]["lower_is_better"] is True
    # the paired difference, recomputed from the two samples.csv files
    ra = _rows(synth_runs / "synthetic" / "trimap-midpoint")
    rb = _rows(synth_runs / "synthetic" / "fg-midpoint")
    for col in ("sad_transition", "mba"):
        d = [float(ra[i][col]) - float(rb[i][col]) for i in sorted(ra)]
        assert broken[col]["n"] == 5 and broken[col]["mean_diff"] == pytest.approx(sum(d) / 5, abs=1e-12)
    # Holm across the breakdown columns only (a family of their own)
    ps = [broken[k]["p_value"] for k in broken]
    assert [broken[k]["p_holm"] for k in broken] == list(stats.holm(ps))


def test_compare_names_one_breakdown_column_and_says_what_is_one_sided(synth_runs, capsys):
    rc = main(["compare", "synthetic/trimap-midpoint", "synthetic/fg-midpoint", "--runs", str(synth_runs),
               "--metric", "biou", "--json"])
    objs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert rc == 0 and [o["metric"] for o in objs] == ["biou"] and objs[0]["breakdown"] is True
    main(["compare", "synthetic/trimap-midpoint", "synthetic/fg-midpoint", "--runs", str(synth_runs)])
    text = capsys.readouterr().out
    assert "breakdown columns, not ranked" in text and "skipped fgr_mad: only B stored it" in text


# -- the true foreground ---------------------------------------------------------------------------------
def test_synthetic_foreground_predicted_and_estimated(tmp_path):
    ds = SyntheticDataset()
    rows, rec = evaluate(ForegroundMidpoint(), ds, out=tmp_path, limit=3, method_name="fg-midpoint")
    assert rec.breakdowns["foreground"] == "predicted by the method"
    for row in rows:
        s = ds.load(row["id"])
        mad, mse = _rvm_fgr(_fgr_of(s.image, _midpoint(s.trimap)), s.fg, s.alpha)
        assert row["fgr_mad"] == pytest.approx(mad, rel=1e-6) and row["fgr_mse"] == pytest.approx(mse, rel=1e-6)
    rows, rec = evaluate("trimap-midpoint", ds, out=tmp_path, limit=3, estimate_foreground=True)
    assert rec.breakdowns["foreground"] == ESTIMATOR and all(math.isfinite(r["fgr_mad"]) for r in rows)


def test_comp1k_tree_scores_the_fg_image_as_the_true_foreground(tmp_path, monkeypatch):
    monkeypatch.setattr(Composition1k, "expected_fg", 2)
    info = make_comp1k(tmp_path / "data", fg_names=["a.png", "b.png"])
    rows, rec = evaluate(ForegroundMidpoint(), "comp1k", data_root=str(tmp_path / "data"), out=tmp_path / "runs",
                         limit=4, method_name="fg-midpoint")
    ds = Composition1k(root=str(tmp_path / "data"))
    for row in rows:
        stem = row["id"].rsplit("_", 1)[0]
        fg = np.asarray(Image.open(info["adobe"] / "fg" / f"{stem}.png").convert("RGB"))  # the file, read here
        alpha = np.asarray(Image.open(info["adobe"] / "alpha" / f"{stem}.png"))
        s = ds.load(row["id"])
        mad, mse = _rvm_fgr(_fgr_of(s.image, _midpoint(s.trimap)), fg, alpha)
        assert row["status"] == "ok" and row["fgr_mad"] == pytest.approx(mad, rel=1e-6)
        assert row["fgr_mse"] == pytest.approx(mse, rel=1e-6)
    rows, rec = evaluate("trimap-midpoint", "comp1k", data_root=str(tmp_path / "data"), out=tmp_path / "runs",
                         limit=2, estimate_foreground=True)
    assert rec.breakdowns["foreground"] == ESTIMATOR and all(math.isfinite(r["fgr_mse"]) for r in rows)


# -- a plug-in that predicts a foreground, run by name in a method host -----------------------------------
PLUGIN = '''
import numpy as np
from mattebench.types import MethodCard


class HostedForeground:
    card = MethodCard(name="fg-hosted", needs_trimap=True, family="trimap-based", weights_option="")

    def predict(self, image, trimap=None):
        a = np.full(trimap.shape, 0.5, np.float32)
        a[trimap == 0], a[trimap == 255] = 0.0, 1.0
        return a

    def predict_foreground(self, image, alpha):
        assert alpha.dtype == np.float32 and alpha.ndim == 2
        return np.clip(image.astype(np.float32) / 255.0 * (0.5 + 0.5 * alpha[..., None]), 0.0, 1.0)
'''


@pytest.mark.parametrize("jobs", [None, "2"])
def test_plugin_foreground_is_scored_through_its_host(tmp_path, jobs):
    site = install_plugin(tmp_path / "site", "fghost", "1.0", PLUGIN, {"fg-hosted": "HostedForeground"})
    args = ["run", "--method", "fg-hosted", "--dataset", "synthetic", "--limit", "4", "--out", str(tmp_path / "runs")]
    r = cli(args + (["--jobs", jobs] if jobs else []), site=site)
    assert r.returncode == 0, r.stderr
    run = tmp_path / "runs" / "synthetic" / "fg-hosted"
    rec = json.loads((run / "summary.json").read_text())
    assert rec["breakdowns"]["foreground"] == "predicted by the method"
    assert rec["provenance"]["method_isolation"].startswith("method host")
    ds = SyntheticDataset()
    for sid, row in _rows(run).items():
        s = ds.load(sid)
        mad, mse = _rvm_fgr(_fgr_of(s.image, _midpoint(s.trimap)), s.fg, s.alpha)
        assert float(row["fgr_mad"]) == pytest.approx(mad, rel=1e-6)
        assert float(row["fgr_mse"]) == pytest.approx(mse, rel=1e-6)


# -- the robustness track per group ----------------------------------------------------------------------
class GreenAlpha:
    """Alpha = the photo's green channel: a corruption of the photo moves it."""

    card = MethodCard(name="green", family="trimap-free", weights_option="")

    def predict(self, image, trimap=None):
        return image[..., 1].astype(np.float32) / 255.0


def test_robustness_report_gives_each_condition_per_group(tmp_path):
    from _fake_trees import make_pairs
    from mattebench.report.robustness import load_tables, render_markdown

    root = tmp_path / "mine"
    stems = [f"img{i:02d}" for i in range(6)]
    make_pairs(root / "image", root / "alpha", stems, image_ext=".png")
    hair = {s: ("curly" if i % 3 == 0 else "straight") for i, s in enumerate(stems)}
    (root / "groups.csv").write_text("id,hair\n" + "".join(f"{s},{g}\n" for s, g in hair.items()))
    runs = tmp_path / "runs"
    evaluate(GreenAlpha(), "folder", data_root=str(root), out=runs, method_name="green")
    evaluate(GreenAlpha(), "folder", data_root=str(root), out=runs, method_name="green",
             dataset_options={"corrupt": "gaussian-noise:3"}, tag="corrupt-gaussian-noise-3")
    (t,) = load_tables(runs)
    clean = _rows(runs / "folder" / "green")
    noisy = _rows(runs / "folder" / "green@corrupt-gaussian-noise-3")
    md = render_markdown(t)
    assert "## MSE (whole) per group: hair" in md
    for g in ("curly", "straight"):
        ids = [s for s in stems if hair[s] == g]
        c = statistics.fmean(float(clean[i]["mse_whole"]) for i in ids)
        v = statistics.fmean(float(noisy[i]["mse_whole"]) for i in ids)
        cell = next(x for x in t.groups if x.group == g and x.condition.kind == "gaussian-noise")
        assert cell.n == len(ids) and cell.values["mse_whole"] == pytest.approx(v, rel=1e-12)
        assert cell.clean["mse_whole"] == pytest.approx(c, rel=1e-12)
        row = next(line for line in md.splitlines() if line.startswith("| green") and f"| {g} " in line)
        assert f"{100 * (v - c) / c:+.0f}%" in row


def make_foreground_midpoint() -> ForegroundMidpoint:
    return ForegroundMidpoint()


def make_unannotated():
    return ForegroundMidpoint()


def test_declares_foreground_reads_the_factory_without_calling_it():
    import functools

    from mattebench.contract import as_method_factory
    from mattebench.methods.host import declares_foreground

    assert declares_foreground(ForegroundMidpoint) and not declares_foreground(GreenAlpha)
    assert declares_foreground(make_foreground_midpoint)  # annotated with the class
    assert not declares_foreground(make_unannotated)  # not known before building: not asked
    assert declares_foreground(as_method_factory(functools.partial(ForegroundMidpoint), ForegroundMidpoint.card))


def test_undeclared_plugin_foreground_is_not_scored_and_the_run_says_why(tmp_path):
    source = PLUGIN + "\n\ndef make():\n    return HostedForeground()\n\n\nmake.card = HostedForeground.card\n"
    site = install_plugin(tmp_path / "site", "fgplain", "1.0", source, {"fg-plain": "make"})
    r = cli(["run", "--method", "fg-plain", "--dataset", "synthetic", "--limit", "2", "--out", str(tmp_path / "runs")],
            site=site)
    assert r.returncode == 0, r.stderr
    rec = json.loads((tmp_path / "runs" / "synthetic" / "fg-plain" / "summary.json").read_text())
    assert rec["breakdowns"]["foreground"] is None and "fgr_mad" not in rec["means"]
    assert "annotate the factory's return type" in r.stderr + r.stdout
