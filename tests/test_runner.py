import json
import math

import numpy as np
import pytest
from conftest import TinyDataset

from mattebench.errors import RunConflict
from mattebench.runs.runner import SampleFailed, evaluate
from mattebench.runs.store import read_rows
from mattebench.types import MethodCard


class Counting:
    card = MethodCard(name="counting", needs_trimap=True)

    def __init__(self, behaviour=None):
        self.calls = []
        self.behaviour = behaviour or {}

    def predict(self, image, trimap=None):
        self.calls.append(image.shape)
        n = len(self.calls)
        kind = self.behaviour.get(n)
        if kind == "raise":
            raise RuntimeError("CUDA out of cheese")
        if kind == "nan":
            return np.full(image.shape[:2], np.nan, np.float32)
        if kind == "shape":
            return np.zeros((3, 3), np.float32)
        if kind == "range":
            return np.full(image.shape[:2], 255.0, np.float32)
        if kind == "interrupt":
            raise KeyboardInterrupt
        out = np.full(trimap.shape, 0.5, np.float32)
        out[trimap == 0] = 0
        out[trimap == 255] = 1
        return out


def test_gt_echo_scores_zero_everywhere():
    rows, summary = evaluate("gt-echo", TinyDataset(n=3))
    assert summary.counts.to_json() == {"total": 3, "ok": 3, "error": 0, "pending": 0}
    for k in ["mse_whole", "mad_whole", "sad", "mse", "grad", "conn"]:
        assert summary.means[k] == pytest.approx(0.0, abs=1e-12), k


def test_midpoint_whole_metrics_match_hand_computation():
    ds = TinyDataset(n=2)
    rows, summary = evaluate("trimap-midpoint", ds)
    mses, mads = [], []
    for i in ds.ids():
        s = ds.load(i)
        p = np.where(s.trimap == 0, 0.0, np.where(s.trimap == 255, 1.0, 0.5))
        d = p - s.alpha.astype(np.float64)
        mses.append(np.mean(d * d))
        mads.append(np.mean(np.abs(d)))
        # SAD (unknown) by the definition: sum over trimap==128 of |p8 - g8| / 255 / 1000
        p8 = np.clip(np.round(p * 255), 0, 255)
        g8 = np.round(s.alpha.astype(np.float64) * 255)
        u = s.trimap == 128
        row = next(r for r in rows if r["id"] == i)
        assert row["sad"] == pytest.approx(np.abs(p8 - g8)[u].sum() / 255 / 1000, rel=1e-9)
    assert summary.means["mse_whole"] == pytest.approx(np.mean(mses), rel=1e-6)
    assert summary.means["mad_whole"] == pytest.approx(np.mean(mads), rel=1e-6)


@pytest.mark.parametrize("kind,needle", [("raise", "RuntimeError: CUDA out of cheese"), ("nan", "NaN"), ("shape", "shape (3, 3)"), ("range", "expected alpha in [0, 1]")])
def test_bad_predictions_are_recorded_and_run_goes_on(tmp_path, kind, needle):
    m = Counting({2: kind})
    rows, summary = evaluate(m, TinyDataset(n=4), out=tmp_path, method_name="counting")
    assert summary.counts.ok == 3 and summary.counts.error == 1
    bad = [r for r in rows if r["status"] == "error"]
    assert len(bad) == 1 and needle in bad[0]["error"] and bad[0]["id"] == "s01"
    stored = read_rows(tmp_path / "tiny" / "counting" / "samples.csv")
    assert [r["status"] for r in stored] == ["ok", "error", "ok", "ok"]
    assert json.loads((tmp_path / "tiny" / "counting" / "summary.json").read_text())["errors"][0]["id"] == "s01"


@pytest.mark.parametrize("kind,needle", [("corrupt", "/fake/image/s01.png: cannot decode"), ("missing-alpha", "no ground-truth alpha"), ("mismatch", "alpha is")])
def test_bad_input_files_are_recorded_with_path(tmp_path, kind, needle):
    ds = TinyDataset(n=3, bad={"s01": kind})
    rows, summary = evaluate("trimap-midpoint", ds, out=tmp_path)
    assert summary.counts.error == 1
    err = next(r for r in rows if r["id"] == "s01")
    assert err["status"] == "error" and needle in err["error"]
    assert "/fake/image/s01.png" in err["error"]


def test_fail_fast_stops(tmp_path):
    with pytest.raises(SampleFailed, match="s01"):
        evaluate(Counting({2: "raise"}), TinyDataset(n=4), out=tmp_path, method_name="counting", fail_fast=True)
    assert len(read_rows(tmp_path / "tiny" / "counting" / "samples.csv")) == 2


def test_resume_does_not_recompute(tmp_path):
    m1 = Counting()
    evaluate(m1, TinyDataset(n=5), out=tmp_path, method_name="counting", limit=2)
    assert len(m1.calls) == 2
    m2 = Counting()
    rows, summary = evaluate(m2, TinyDataset(n=5), out=tmp_path, method_name="counting")
    assert len(m2.calls) == 3  # only the three new samples
    assert summary.counts.ok == 5 and summary.complete
    assert [r["id"] for r in read_rows(tmp_path / "tiny" / "counting" / "samples.csv")] == ["s00", "s01", "s02", "s03", "s04"]


def test_resume_retries_errors_once(tmp_path):
    evaluate(Counting({2: "raise"}), TinyDataset(n=3), out=tmp_path, method_name="counting")
    m = Counting()
    rows, summary = evaluate(m, TinyDataset(n=3), out=tmp_path, method_name="counting")
    assert len(m.calls) == 1 and summary.counts.error == 0
    ids = [r["id"] for r in read_rows(tmp_path / "tiny" / "counting" / "samples.csv")]
    assert sorted(ids) == ["s00", "s01", "s02"] and len(ids) == 3


def test_interrupt_keeps_written_rows_and_resumes(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        evaluate(Counting({3: "interrupt"}), TinyDataset(n=5), out=tmp_path, method_name="counting")
    run = tmp_path / "tiny" / "counting"
    assert len(read_rows(run / "samples.csv")) == 2
    assert json.loads((run / "summary.json").read_text())["complete"] is False
    m = Counting()
    _, summary = evaluate(m, TinyDataset(n=5), out=tmp_path, method_name="counting")
    assert len(m.calls) == 3 and summary.complete


def test_torn_last_line_is_dropped_and_recomputed(tmp_path):
    evaluate(Counting(), TinyDataset(n=3), out=tmp_path, method_name="counting")
    f = tmp_path / "tiny" / "counting" / "samples.csv"
    text = f.read_text()
    f.write_text(text[: len(text) - 7])  # killed in the middle of writing the last row
    m = Counting()
    evaluate(m, TinyDataset(n=3), out=tmp_path, method_name="counting")
    assert len(m.calls) == 1
    assert [r["id"] for r in read_rows(f)] == ["s00", "s01", "s02"]


def test_other_settings_conflict_unless_fresh(tmp_path):
    evaluate("trimap-midpoint", TinyDataset(n=2), out=tmp_path)
    with pytest.raises(RunConflict, match="--fresh"):
        evaluate("trimap-midpoint", TinyDataset(n=3), out=tmp_path)  # other fingerprint
    _, s = evaluate("trimap-midpoint", TinyDataset(n=3), out=tmp_path, fresh=True)
    assert s.counts.ok == 3


def test_summary_provenance_fields(tmp_path):
    _, s = evaluate("trimap-midpoint", TinyDataset(n=2), out=tmp_path, limit=1)
    p = s.provenance.to_json()
    for k in ["mattebench", "commit", "torch", "device", "dataset_fingerprint", "trimap_recipe", "quantisation", "executor", "started", "finished"]:
        assert k in p, k
    assert s.subset is True and s.counts.total == 1
    assert s.method_card.name == "trimap-midpoint"


def test_empty_unknown_region_is_excluded_not_fatal():
    class AllKnown(TinyDataset):
        def load(self, id):
            s = super().load(id)
            if id == "s00":
                s.trimap = np.where(s.alpha > 0.5, 255, 0).astype(np.uint8)
            return s

    rows, s = evaluate("trimap-midpoint", AllKnown(n=2))
    assert s.counts.ok == 2
    assert math.isnan(next(r for r in rows if r["id"] == "s00")["mse"])
    assert s.excluded["mse"] == 1
