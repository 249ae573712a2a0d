"""mattebench.metrics.stats against hand-worked cases, and the intervals stored in every run record.

The expected values are worked out by hand here (the Wilcoxon null distribution by counting
subsets, Holm by its definition, the bootstrap of two points by enumeration), not read back from
the implementation.
"""

from __future__ import annotations

import hashlib
import math
from itertools import combinations
from typing import Optional

import numpy as np
import pytest
from conftest import TinyDataset, disc_sample

from mattebench.data.trimap import trimap_from_alpha
from mattebench.metrics import stats as S
from mattebench.runs.record import RunRecord
from mattebench.runs.runner import evaluate
from mattebench.runs.store import read_rows
from mattebench.types import Clip, DatasetCard


def exact_signed_rank_p(d: list[float]) -> float:
    """Two-sided exact Wilcoxon p by enumerating every sign pattern of the ranks (distinct |d|, no zeros)."""
    ranks = {v: i + 1 for i, v in enumerate(sorted(abs(x) for x in d))}
    w_plus = sum(ranks[abs(x)] for x in d if x > 0)
    n = len(d)
    sums = [sum(c) for k in range(n + 1) for c in combinations(range(1, n + 1), k)]
    lo = sum(s <= w_plus for s in sums) / len(sums)
    hi = sum(s >= w_plus for s in sums) / len(sums)
    return min(1.0, 2 * min(lo, hi))


# -- paired differences and the Wilcoxon test ---------------------------------------------------------
def test_identical_values_give_zero_difference_and_p_one():
    x = np.random.default_rng(3).normal(size=40)
    d = S.paired_difference(x, x.copy())
    assert d.mean_diff == 0.0 and (d.lo, d.hi) == (0.0, 0.0)
    assert d.p_value == 1.0 and d.n == 40 and d.n_nonzero == 0


def test_differences_at_float_noise_count_as_ties():
    x = np.random.default_rng(4).uniform(0.001, 0.01, size=30)
    y = x * (1 + 1e-15)  # another summation order, not another method
    assert S.paired_difference(x, y).p_value == 1.0


def test_uniformly_worse_method_is_far_below_001():
    rng = np.random.default_rng(5)
    good = rng.uniform(0.001, 0.01, size=30)
    worse = good + rng.uniform(1e-4, 1e-3, size=30)  # worse on every sample, by varying amounts
    d = S.paired_difference(worse, good)
    assert d.mean_diff > 0 and d.lo > 0
    # every difference positive: the exact two-sided p is 2 / 2**30
    assert d.p_value == pytest.approx(2 / 2 ** 30, rel=1e-6)
    assert d.p_value < 1e-6


def test_constant_shift_gives_the_shift_and_a_collapsed_interval():
    b = np.random.default_rng(6).uniform(0, 1, size=50)
    d = S.paired_difference(b + 0.25, b)
    assert d.mean_diff == pytest.approx(0.25, abs=1e-12)
    assert d.lo == pytest.approx(0.25, abs=1e-12) and d.hi == pytest.approx(0.25, abs=1e-12)


@pytest.mark.parametrize("d", [[1, 2, 3, 4, 5], [1, -2, 3, 4, 5], [-1, -2, 3.5, -4, 6, 7.25, -8.5]])
def test_wilcoxon_matches_enumerated_null_distribution(d):
    assert S.wilcoxon_p(d) == pytest.approx(exact_signed_rank_p(d), rel=1e-9)


def test_wilcoxon_hand_values_and_zero_handling():
    assert S.wilcoxon_p([1, 2, 3, 4, 5]) == pytest.approx(2 / 32)  # W- = 0: 1 pattern of 32, two-sided
    assert S.wilcoxon_p([1, -2, 3, 4, 5]) == pytest.approx(6 / 32)  # W- = 2: {}, {1}, {2} have sum <= 2
    # zeros are dropped: the test is the one on the non-zero differences
    assert S.wilcoxon_p([0, 0, 1, 2, 3]) == pytest.approx(S.wilcoxon_p([1, 2, 3])) == pytest.approx(2 / 8)
    assert S.wilcoxon_p([0.0] * 12) == 1.0  # no difference anywhere: no evidence
    assert S.wilcoxon_p([0, 0, 0, 0.3]) == 1.0  # one non-zero difference cannot be significant


# -- Holm ---------------------------------------------------------------------------------------
def test_holm_hand_worked_example():
    # sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> monotone: 0.06
    assert S.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx((0.03, 0.06, 0.06, 0.02))
    assert S.holm([0.5, 0.6]) == pytest.approx((1.0, 1.0))  # capped at 1, kept monotone
    assert S.holm([0.2]) == (0.2,)
    assert S.holm([]) == ()
    with pytest.raises(ValueError):
        S.holm([float("nan")])


# -- the bootstrap interval ---------------------------------------------------------------------
def test_two_point_bootstrap_by_enumeration():
    # resampled means of {0, 1}: 0 (1/4), 0.5 (1/2), 1 (1/4): the 2.5% and 97.5% quantiles are 0 and 1
    r = S.mean_ci([0.0, 1.0])
    assert (r.mean, r.lo, r.hi, r.n) == (0.5, 0.0, 1.0, 2)


def test_degenerate_and_invalid_inputs():
    assert S.mean_ci([0.7]) == S.MeanCI(0.7, 0.7, 0.7, 1)
    assert S.mean_ci([2.0] * 9).lo == 2.0
    with pytest.raises(ValueError, match="no values"):
        S.mean_ci([])
    with pytest.raises(ValueError, match="finite"):
        S.mean_ci([1.0, float("nan")])
    ci, how = S.record_intervals({"a": [1.0, 2.0], "b": [], "c": [1.0, float("inf")]})
    assert ci["a"] is not None and ci["b"] is None and ci["c"] is None and how["resamples"] == S.RESAMPLES
    with pytest.raises(ValueError, match="same length"):
        S.paired_difference([1.0, 2.0], [1.0])


def test_bootstrap_is_deterministic_under_a_seed():
    x = np.random.default_rng(7).exponential(size=60)
    a, b = S.mean_ci(x), S.mean_ci(x)
    assert a == b
    other = S.mean_ci(x, S.BootstrapSpec(seed=1))
    assert (other.lo, other.hi) != (a.lo, a.hi)
    assert other.mean == a.mean
    assert abs(other.lo - a.lo) < 0.1 * (a.hi - a.lo)  # another seed moves the ends a little, not a lot


def test_interval_matches_normal_theory_on_a_large_sample():
    x = np.random.default_rng(8).normal(10.0, 2.0, size=2000)
    r = S.mean_ci(x)
    se = x.std(ddof=1) / math.sqrt(x.size)
    assert r.lo == pytest.approx(x.mean() - 1.96 * se, abs=0.1 * se)
    assert r.hi == pytest.approx(x.mean() + 1.96 * se, abs=0.1 * se)


def test_coverage_of_a_known_normal_mean():
    rng = np.random.default_rng(9)
    spec = S.BootstrapSpec(resamples=1000)
    trials, n = 300, 40
    covered = 0
    for _ in range(trials):
        r = S.mean_ci(rng.normal(0.0, 1.0, size=n), spec)
        covered += r.lo <= 0.0 <= r.hi
    # nominal 95%; the percentile interval runs a little short at n = 40 (about 93-94%). The
    # binomial sd of the share over 300 trials is 1.3 points.
    assert 0.89 <= covered / trials <= 0.985


# -- P(first) ----------------------------------------------------------------------------------
def test_prob_first_clear_winner_ties_and_direction():
    base = np.random.default_rng(10).uniform(0, 1, size=25)
    assert S.prob_first({"a": base, "b": base + 1.0}) == {"a": 1.0, "b": 0.0}
    assert S.prob_first({"a": base, "b": base + 1.0}, lower_is_better=False) == {"a": 0.0, "b": 1.0}
    tie = S.prob_first({"a": base, "b": base.copy(), "c": base + 0.5})
    assert tie == {"a": 0.5, "b": 0.5, "c": 0.0}
    assert S.prob_first({"only": base}) == {"only": 1.0}


def test_prob_first_close_contenders_share_and_sum_to_one():
    rng = np.random.default_rng(11)
    a = rng.normal(1.0, 1.0, size=30)
    b = a + rng.normal(0.05, 0.5, size=30)  # slightly worse on average, often better
    c = a + 3.0
    p = S.prob_first({"a": a, "b": b, "c": c})
    assert 0.0 < p["b"] < p["a"] < 1.0 and p["c"] == 0.0
    assert sum(p.values()) == pytest.approx(1.0)
    assert S.prob_first({"a": a, "b": b, "c": c}) == p  # seeded


# -- the run record ----------------------------------------------------------------------------
class TinyClips:
    card = DatasetCard(name="tiny-clips", kind="video", protocols=("whole",), needs_root=False)

    def ids(self) -> list[str]:
        return ["c0", "c1", "c2"]

    def fingerprint(self) -> str:
        return hashlib.sha256(b"tiny-clips").hexdigest()

    def load(self, id: str) -> Clip:
        c = int(id[1:])
        frames, alphas, trimaps = [], {}, {}
        for t in range(3):
            s = disc_sample(c + t, h=24, w=20)
            frames.append(s.image)
            alphas[t] = s.alpha
            trimaps[t] = trimap_from_alpha(np.round(s.alpha * 255).astype(np.uint8))
        return Clip(id=id, frames=frames, alphas=alphas, trimaps=trimaps)


class Flat:
    from mattebench.types import MethodCard

    card = MethodCard(name="flat")

    def predict(self, image: np.ndarray, trimap: Optional[np.ndarray] = None) -> np.ndarray:
        return np.full(image.shape[:2], 0.4, np.float32)


def _check_record(summary: RunRecord, rows: list[dict], unit: str) -> None:
    assert set(summary.ci) == set(summary.means)
    m = summary.ci_method
    assert (m["confidence"], m["resamples"], m["seed"], m["unit"]) == (0.95, S.RESAMPLES, S.SEED, unit)
    assert "percentile bootstrap" in m["method"] and str(S.RESAMPLES) in m["description"]
    ok = [r for r in rows if r["status"] == "ok"]
    for k, mean in summary.means.items():
        vals = [float(r[k]) for r in ok if isinstance(r.get(k), float) and not math.isnan(r[k])]
        if not vals:
            assert mean is None and summary.ci[k] is None
            continue
        expected = S.mean_ci(vals)  # recomputed from the stored rows
        assert summary.ci[k] == (expected.lo, expected.hi)
        assert summary.ci[k][0] <= mean <= summary.ci[k][1]


def test_every_mean_in_the_record_carries_its_interval(tmp_path):
    rows, s = evaluate("trimap-midpoint", TinyDataset(n=8), out=tmp_path)
    _check_record(s, read_rows(tmp_path / "tiny" / "trimap-midpoint" / "samples.csv"), "sample")
    assert s.ci["mse_whole"][0] < s.means["mse_whole"] < s.ci["mse_whole"][1]
    import json

    stored = json.loads((tmp_path / "tiny" / "trimap-midpoint" / "summary.json").read_text())
    assert stored["ci"] == s.to_json()["ci"] and stored["ci_method"] == s.ci_method


def test_video_record_intervals_are_over_clips(tmp_path):
    rows, s = evaluate(Flat(), TinyClips(), out=tmp_path)
    _check_record(s, read_rows(tmp_path / "tiny-clips" / "flat" / "samples.csv"), "clip")
    assert s.ci["dtssd"] is not None and len(rows) == 3
