"""Statistics that say how much, not only whether (issue 20 §3): resolution, equivalence (TOST), verdicts.

- the TOST and one-sided p-values of :func:`mattebench.metrics.stats.equivalence` against a literal computation
  (the same bootstrap written out), a hand-computed two-unit case and the t-test TOST on normal data;
- the resolution rule (:mod:`mattebench.report.resolution`) against the metric functions themselves;
- hand-made pairs of runs: a run against its own 8-bit re-save is "equivalent", a uniform shift by
  several resolutions is "worse"/"better", a small noisy sample is "inconclusive".
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Optional

import cv2
import numpy as np
import pytest
from conftest import TinyDataset

from mattebench.commands.cli import main
from mattebench.data.trimap import keep_known
from mattebench.errors import MattebenchError
from mattebench.metrics import fast as M
from mattebench.metrics import stats as S
from mattebench.report.compare import compare_runs, parse_margins, resolve_run
from mattebench.report.resolution import (
    GRID_8BIT,
    GRID_16BIT,
    GRID_FLOAT32,
    comparison_resolution,
    metric_resolution,
    prediction_grid,
)
from mattebench.runs.record import Provenance, RunRecord
from mattebench.runs.runner import evaluate
from mattebench.types import FAMILY_TRIMAP, MethodCard

Q8 = 1.0 / 255.0


# -- the test itself -------------------------------------------------------------------------------
def _literal(d: np.ndarray, margin: float, B: int = S.RESAMPLES, seed: int = S.SEED) -> dict[str, float]:
    """The bootstrap TOST written out: B resamples of the n differences (numpy default_rng(seed)), their
    means, and (1 + count on the null side) / (B + 1) for each one-sided hypothesis."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, d.size, size=(B, d.size))
    means = d[idx].mean(axis=1)
    p = lambda k: (1 + int(k)) / (B + 1)  # noqa: E731
    return {"below": p((means >= -margin).sum()), "above": p((means <= margin).sum()),
            "tost": max(p((means <= -margin).sum()), p((means >= margin).sum())),
            "lo": float(np.quantile(means, 0.05)), "hi": float(np.quantile(means, 0.95))}


@pytest.mark.parametrize("shift", [0.0, 0.4, 1.2, -2.0])
def test_equivalence_matches_the_literal_bootstrap(shift):
    rng = np.random.default_rng(7)
    b = rng.uniform(0.0, 1.0, size=25)
    a = b + shift + rng.normal(0.0, 1.0, size=25)
    eq = S.equivalence(a, b, 1.0)
    ref = _literal(a - b, 1.0)
    assert (eq.p_below, eq.p_above, eq.p_tost) == pytest.approx((ref["below"], ref["above"], ref["tost"]), abs=1e-12)
    assert (eq.lo, eq.hi) == pytest.approx((ref["lo"], ref["hi"]), abs=1e-12)
    assert eq.mean_diff == pytest.approx(float(np.mean(a - b)))


def test_two_units_by_hand():
    # differences {0, 4}: resampled means are 0, 2, 4 with probabilities 1/4, 1/2, 1/4
    eq = S.equivalence([0.0, 4.0], [0.0, 0.0], 3.0)
    assert eq.p_tost == pytest.approx(0.25, abs=0.015)  # P(mean >= 3) = P(mean = 4)
    assert eq.p_above == pytest.approx(0.75, abs=0.015)  # P(mean <= 3)
    assert eq.p_below == pytest.approx(1.0, abs=1e-3)
    assert (eq.lo, eq.hi) == (0.0, 4.0) and eq.position() == "unsettled"


def test_agrees_with_the_t_test_tost_on_normal_data():
    from scipy import stats as st

    rng = np.random.default_rng(3)
    d = rng.normal(0.1, 1.0, size=400)
    m = 0.2
    eq = S.equivalence(d, np.zeros_like(d), m)
    p_t = max(st.ttest_1samp(d, -m, alternative="greater").pvalue, st.ttest_1samp(d, m, alternative="less").pvalue)
    assert 0.005 < p_t < 0.5  # a case where the p-value is neither 0 nor 1
    assert eq.p_tost == pytest.approx(p_t, abs=0.02)
    assert eq.p_above == pytest.approx(st.ttest_1samp(d, m, alternative="greater").pvalue, abs=0.02)


def test_positions_and_verdicts():
    base = np.linspace(0.0, 1.0, 20)
    r = 1e-3
    same = S.equivalence(base, base, r)
    assert same.position() == "within" and S.verdict(same.position(), True) == "equivalent"
    worse = S.equivalence(base + 5 * r, base, r)  # a uniform shift by five resolutions, A higher
    assert worse.position() == "above" and worse.p_above == pytest.approx(1 / (S.RESAMPLES + 1))
    assert S.verdict(worse.position(), lower_is_better=True) == "worse"
    assert S.verdict(worse.position(), lower_is_better=False) == "better"
    assert S.verdict(S.equivalence(base - 5 * r, base, r).position(), True) == "better"
    # a small noisy sample: the interval spans both sides of the margin
    noisy = S.equivalence(base[:4] + np.array([6 * r, -5 * r, 7 * r, -4 * r]), base[:4], r)
    assert noisy.lo < -r and noisy.hi > r and S.verdict(noisy.position(), True) == "inconclusive"
    # inside the margin but not significantly so after a correction: no claim
    assert S.verdict(same.position(p=0.2), True) == "inconclusive"


def test_degenerate_inputs():
    one = S.equivalence([5.0], [0.0], 1.0)  # one unit: no spread, no claim
    assert (one.p_below, one.p_above, one.p_tost) == (1.0, 1.0, 1.0) and one.position() == "unsettled"
    zero = S.equivalence([1.0, 2.0], [1.0, 2.0], 0.0)  # a margin of 0 leaves no room to be equivalent
    assert zero.position() == "unsettled"
    with pytest.raises(ValueError, match="margin"):
        S.equivalence([1.0], [1.0], -1.0)
    with pytest.raises(ValueError, match="margin"):
        S.equivalence([1.0], [1.0], float("nan"))


# -- the resolution --------------------------------------------------------------------------------
def test_resolution_values():
    assert metric_resolution("mad_whole", Q8) == pytest.approx(Q8 / 2)
    assert metric_resolution("mse_whole", Q8) == pytest.approx(Q8 ** 2 / 4)
    assert metric_resolution("mse_whole", Q8, mad=0.1) == pytest.approx(0.1 * Q8 + Q8 ** 2 / 4)
    assert metric_resolution("mse", Q8) == pytest.approx(Q8 ** 2 / 4)
    assert metric_resolution("sad", Q8) == pytest.approx(Q8 / 1000)
    assert metric_resolution("conn", Q8) == pytest.approx(Q8 / 1000)
    assert metric_resolution("grad", Q8) == pytest.approx(Q8 ** 2 / 1000)
    assert metric_resolution("dtssd", Q8) == pytest.approx(100 * Q8)
    assert metric_resolution("messddt", Q8) == pytest.approx(Q8 ** 2)
    assert metric_resolution("mad_whole", 1 / 65535) == pytest.approx(0.5 / 65535)
    assert set(M.METRICS) <= {k for k in M.METRICS if metric_resolution(k, Q8) > 0}


def test_resolution_is_what_the_metric_functions_give_a_half_step_or_one_level():
    rng = np.random.default_rng(0)
    gt8 = rng.integers(0, 256, size=(30, 40)).astype(np.uint8)
    gt = gt8.astype(np.float64) / 255
    half = np.clip(gt + np.where(gt8 < 255, Q8 / 2, -Q8 / 2), 0, 1)  # half a step at every pixel
    assert M.mad_whole(half, gt) == pytest.approx(metric_resolution("mad_whole", Q8), rel=1e-6)
    assert M.mse_whole(half, gt) == pytest.approx(metric_resolution("mse_whole", Q8), rel=1e-6)
    trimap = np.full(gt8.shape, 128, np.uint8)
    one = gt8.copy()
    one[5, 7] = gt8[5, 7] + 1 if gt8[5, 7] < 255 else 254  # one level at one pixel
    assert M.sad(one, gt8, trimap) == pytest.approx(metric_resolution("sad", Q8), rel=1e-6)
    # re-saving a float prediction on the 8-bit grid moves MAD by at most the resolution
    pred = rng.uniform(0, 1, size=gt.shape)
    resaved = M.quantize(pred).astype(np.float64) / 255
    assert abs(M.mad_whole(resaved, gt) - M.mad_whole(pred, gt)) <= metric_resolution("mad_whole", Q8)
    # ... and MSE by at most q * MAD + q^2/4, even when the rounding error is the same at every pixel
    # (a constant 0.5 is 0.50196 once saved): there q^2/4 alone would call the re-save a difference
    for p in (pred, np.full(gt.shape, 0.5)):
        p8 = M.quantize(p).astype(np.float64) / 255
        moved = abs(M.mse_whole(p8, gt) - M.mse_whole(p, gt))
        assert moved <= metric_resolution("mse_whole", Q8, mad=M.mad_whole(p, gt))
    assert moved > metric_resolution("mse_whole", Q8)


def _record(input_: Optional[dict] = None, saved_alphas: Optional[dict] = None) -> RunRecord:
    base = RunRecord.from_json({"dataset": "d", "method": "m", "means": {}, "counts": {"ok": 0, "total": 0}})
    return dataclasses.replace(base, provenance=Provenance(input=input_, saved_alphas=saved_alphas))


def test_prediction_grid_comes_from_the_record():
    method = _record()
    saved = _record(input_={"source": "scored from saved predictions", "predictions_dir": "/x"})
    sixteen = _record(saved_alphas={"dir": "alphas"})
    onnx = _record(input_={"source": "exported ONNX model"})
    assert prediction_grid(method, "mse_whole") == GRID_FLOAT32 and prediction_grid(onnx, "mad_whole") == GRID_FLOAT32
    assert prediction_grid(saved, "mse_whole") == GRID_8BIT and prediction_grid(sixteen, "dtssd") == GRID_16BIT
    for r in (method, saved, sixteen):  # the unknown protocol quantises every prediction to 8 bits
        assert all(prediction_grid(r, k) == GRID_8BIT for k in M.UNKNOWN_METRICS)
    # a comparison uses the coarser grid, in either order
    assert comparison_resolution(method, saved, "mad_whole").grid == GRID_8BIT
    assert comparison_resolution(saved, method, "mad_whole").value == pytest.approx(Q8 / 2)
    assert comparison_resolution(method, sixteen, "mse_whole").grid == GRID_16BIT
    # MSE (whole) grows with the error: the larger MAD of the two records, 1 (its largest) when none says
    assert comparison_resolution(method, method, "mse_whole").value == pytest.approx(2.0 ** -24 + 2.0 ** -50)
    good = dataclasses.replace(saved, means={"mad_whole": 0.01, "mse_whole": 0.001})
    fine = dataclasses.replace(method, means={"mad_whole": 0.02, "mse_whole": 0.002})
    assert comparison_resolution(good, fine, "mse_whole").value == pytest.approx(Q8 * 0.02 + Q8 ** 2 / 4)


# -- hand-made pairs of runs -----------------------------------------------------------------------
class Smooth:
    """A float prediction off the 8-bit grid: the ground truth's neighbourhood, slightly blurred and biased."""

    card = MethodCard(name="smooth", needs_trimap=True, family=FAMILY_TRIMAP)

    def predict(self, image: np.ndarray, trimap: Optional[np.ndarray] = None) -> np.ndarray:
        assert trimap is not None
        g = image[..., 2].astype(np.float32) / 255.0  # anything deterministic and fractional
        out = np.clip(0.5 + 0.37 * (g - 0.5) + 0.0013, 0.0, 1.0)
        return keep_known(out.astype(np.float32), trimap)


N = 12


def _resave(ds: TinyDataset, folder: Path, levels: int) -> Path:
    """The smooth method's predictions as 8-bit PNGs, shifted by ``levels`` grey levels (clipped)."""
    folder.mkdir(parents=True)
    m = Smooth()
    for i in ds.ids():
        s = ds.load(i)
        k = M.quantize(m.predict(s.image, s.trimap)).astype(np.int32) + levels
        cv2.imwrite(str(folder / f"{i}.png"), np.clip(k, 0, 255).astype(np.uint8))
    return folder


@pytest.fixture(scope="module")
def pairs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("equiv")
    runs, ds = tmp / "runs", TinyDataset(n=N)
    evaluate(Smooth(), ds, out=runs)
    for name, levels in (("resaved", 0), ("shifted", 6)):
        evaluate("predictions", ds, out=runs, method_options={"dir": str(_resave(ds, tmp / name, levels)),
                                                               "name": name, "family": "trimap-based"})
    return runs


def _objs(capsys, argv: list[str]) -> dict[str, dict]:
    assert main(argv) == 0
    return {o["metric"]: o for o in map(json.loads, capsys.readouterr().out.splitlines())}


def test_a_run_against_its_own_8bit_resave_is_equivalent(pairs, capsys):
    objs = _objs(capsys, ["compare", "tiny/smooth", "tiny/resaved", "--runs", str(pairs), "--json"])
    ranked = {k: o for k, o in objs.items() if not o.get("breakdown")}  # breakdown lines carry no verdict (issue 24)
    assert set(ranked) == {"mse_whole", "mad_whole", "sad", "mse", "grad", "conn", "sad_whole", "grad_whole", "conn_whole"}
    assert all(o["verdict"] == "not ranked" for k, o in objs.items() if k not in ranked)
    for o in ranked.values():
        assert o["verdict"] == "equivalent" and o["better"] is None, o
        assert o["grid"] == "8-bit" and o["margin"] == o["resolution"] > 0 and o["margin_source"] == "resolution"
        assert -o["margin"] < o["ci_tost"][0] <= o["mean_diff"] <= o["ci_tost"][1] < o["margin"]
        assert o["p_tost"] < S.ALPHA and o["p_verdict_holm"] < S.ALPHA
        assert "within resolution" in o["statement"]
    # the whole-image protocol scored the float prediction and its re-save differently: not a zero difference
    assert objs["mad_whole"]["mean_diff"] != 0
    # the existing keys are all still there
    assert {"metric", "n", "mean_a", "mean_b", "mean_diff", "ci", "p_value", "p_holm", "lower_is_better", "better",
            "verdict"} <= set(objs["mse_whole"])


def test_a_uniform_shift_by_several_resolutions_is_worse(pairs, capsys):
    objs = _objs(capsys, ["compare", "tiny/shifted", "tiny/smooth", "--runs", str(pairs), "--json",
                          "--metric", "mse_whole,mad_whole,sad"])
    for k in ("mad_whole", "sad"):
        o = objs[k]
        assert o["mean_diff"] > 3 * o["resolution"] and o["verdict"] == "worse" and o["better"] == "B", o
        assert o["ci_tost"][0] > o["margin"] and o["p_worse"] < S.ALPHA
    flipped = _objs(capsys, ["compare", "tiny/smooth", "tiny/shifted", "--runs", str(pairs), "--json", "--metric", "sad"])
    assert flipped["sad"]["verdict"] == "better" and flipped["sad"]["better"] == "A"


def test_a_margin_above_the_difference_makes_the_shift_equivalent_and_below_the_resolution_is_raised(pairs, capsys):
    a, b = resolve_run("tiny/shifted", pairs), resolve_run("tiny/smooth", pairs)
    big = compare_runs(a, b, ["sad"], margins=parse_margins(["sad=10"]))
    assert big.results[0].verdict == "equivalent" and big.results[0].margin == 10.0
    assert "within the margin" in big.results[0].statement
    tiny = compare_runs(a, b, ["mad_whole"], margins=parse_margins(["1e-12"]))
    r = tiny.results[0]
    assert r.margin == r.resolution and r.margin_source == "--margin, raised to the resolution"


def test_a_small_noisy_sample_is_inconclusive():
    # three samples whose SAD differences (in thousands) swing far beyond the resolution both ways
    r = metric_resolution("sad", Q8)
    eq = S.equivalence([0.30, 0.05, 0.41], [0.29, 0.09, 0.35], r)
    assert eq.lo < -r and eq.hi > r and eq.p_decisive >= S.ALPHA
    assert S.verdict(eq.position(), True) == "inconclusive"


@pytest.mark.parametrize("bad", ["mse_whole=abc", "nope=1", "-1", "inf", "sad=-0.5"])
def test_bad_margins_are_refused_with_the_reason(bad, pairs, capsys):
    with pytest.raises(MattebenchError, match="--margin"):
        parse_margins([bad])
    rc = main(["compare", "tiny/smooth", "tiny/resaved", "--runs", str(pairs), "--margin", bad])
    err = capsys.readouterr().err
    assert rc == 2 and "--margin" in err and "Traceback" not in err


def test_a_margin_for_a_metric_not_compared_is_refused(pairs, capsys):
    rc = main(["compare", "tiny/smooth", "tiny/resaved", "--runs", str(pairs), "--metric", "sad", "--margin", "mse_whole=1"])
    err = capsys.readouterr().err
    assert rc == 2 and "--margin names mse_whole" in err and "Traceback" not in err
