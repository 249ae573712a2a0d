"""Uncertainty of benchmark means: bootstrap intervals, paired tests, Holm correction, P(ranked first).

Pure functions over per-unit values (one value per sample; per clip for video, since the frames of a
clip are not independent and a clip is what the run stores as one row). Nothing here reads files.

The conventions, written once (they are also stored in every run record, ``ci_method``):

- **Interval**: 95% percentile bootstrap of the mean (Efron & Tibshirani 1993, ch. 13): resample the
  units with replacement ``B`` times, take the mean of each resample, report the 2.5% and 97.5%
  quantiles of those means (``numpy.quantile``, linear interpolation).
- **B = 10000** resamples, not the often quoted 2000: the Monte-Carlo error of a 2.5% quantile
  endpoint is about 0.06 standard errors with B = 2000 and 0.027 with B = 10000, small enough not to
  move the second significant digit a table prints, and the cost is a few milliseconds for the
  sizes of matting test sets (100 to 1000 images).
- **Seed 0** (numpy ``default_rng``, PCG64): the same rows give the same interval, byte for byte.
  Resampling is joint for paired data (the same resampled units for both methods).
- **Paired test**: Wilcoxon signed-rank (``scipy.stats.wilcoxon``, two-sided). Zero differences are
  dropped (``zero_method="wilcox"``, the textbook rule: a tie carries no evidence for either side); a
  difference smaller than 1e-12 times the values' magnitude counts as zero (floating-point noise of a
  different summation order, not a difference between methods). When every difference is zero the
  p-value is 1 (no evidence of a difference), not scipy's NaN.
- **Multiple comparisons**: Holm's step-down correction (Holm 1979), which controls the family-wise
  error rate without assuming independence between the tests.
- **P(first)**: the share of joint bootstrap resamples (of the units every method scored) in which a
  method has the best mean, lower or higher as the metric says; a tie for first splits its credit.
- **How much, not only whether** (:func:`equivalence`): the mean paired difference ``A - B`` against a
  margin ``m`` (by default the metric's resolution, :mod:`mattebench.report.resolution`), from the same
  bootstrap resamples as the interval (seed 0, B = 10000). Three one-sided tests, each a percentile
  bootstrap p-value ``(1 + #{resampled means on the null side}) / (B + 1)`` (Davison & Hinkley 1997,
  eq. 4.11): ``p_below`` for "A - B < -m", ``p_above`` for "A - B > m", and the two one-sided tests
  (TOST, Schuirmann 1987) for "-m < A - B < m": ``p_tost = max`` of the two. At level 0.05 these
  are the positions of the 90% percentile interval: below -m, above m, or inside (-m, m). At most one
  of the three can be under 0.5, so the verdict's p-value is the smallest, and Holm's correction
  applies to it across a family as to any p-value. One unit gives no spread, hence no verdict (p = 1).
  See docs/statistics.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

import numpy as np

CONFIDENCE = 0.95
RESAMPLES = 10_000
SEED = 0
ZERO_TOLERANCE = 1e-12  # relative: |a - b| <= ZERO_TOLERANCE * max(|a|, |b|) is a tie
ALPHA = 0.05  # significance level of the leaderboards' and compare's verdicts
TOST_CONFIDENCE = 1.0 - 2.0 * ALPHA  # the interval whose position decides the verdicts: 90%
# The verdicts of compare and the leaderboards' vs #1, for A against B. "better"/"worse": A's mean is
# better/worse than B's by more than the margin; "equivalent": closer than the margin on both sides.
VERDICTS = ("better", "worse", "equivalent", "inconclusive")
_CHUNK = 4_000_000  # indices drawn per block, so a large set does not need B * n integers at once


@dataclass(frozen=True)
class BootstrapSpec:
    """How an interval was computed; stored in run records as ``ci_method``."""

    confidence: float = CONFIDENCE
    resamples: int = RESAMPLES
    seed: int = SEED

    def as_dict(self, unit: str = "sample") -> dict[str, object]:
        return {
            "method": "percentile bootstrap of the mean",
            "confidence": self.confidence,
            "resamples": self.resamples,
            "seed": self.seed,
            "unit": unit,
            "rng": "numpy.random.default_rng (PCG64)",
            "quantiles": "numpy.quantile, linear interpolation",
            "description": (
                f"{self.confidence:.0%} percentile bootstrap over {unit}s: {self.resamples} resamples with "
                f"replacement, seed {self.seed}; [lo, hi] = the {(1 - self.confidence) / 2:.1%} and "
                f"{(1 + self.confidence) / 2:.1%} quantiles of the resampled means"
            ),
        }


DEFAULT = BootstrapSpec()


@dataclass(frozen=True)
class MeanCI:
    mean: float
    lo: float
    hi: float
    n: int
    spec: BootstrapSpec = DEFAULT

    @property
    def half_width(self) -> float:
        """The larger distance from the mean to an end: a percentile interval need not be symmetric."""
        return max(self.mean - self.lo, self.hi - self.mean)


@dataclass(frozen=True)
class PairedDifference:
    """``a - b`` on paired units: its mean, bootstrap interval, and the Wilcoxon signed-rank p-value."""

    n: int
    mean_diff: float
    lo: float
    hi: float
    p_value: float
    n_nonzero: int
    spec: BootstrapSpec = DEFAULT


def _finite(values: Sequence[float]) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64).ravel()
    if arr.size and not np.isfinite(arr).all():
        raise ValueError("values must be finite (drop NaN rows before computing statistics)")
    return arr


def _resampled_means(columns: np.ndarray, spec: BootstrapSpec) -> np.ndarray:
    """Means of ``spec.resamples`` joint resamples of the rows of ``columns`` (n x k): a B x k array."""
    n, k = columns.shape
    rng = np.random.default_rng(spec.seed)
    out = np.empty((spec.resamples, k), dtype=np.float64)
    step = max(1, _CHUNK // max(n * k, 1))
    for start in range(0, spec.resamples, step):
        stop = min(spec.resamples, start + step)
        idx = rng.integers(0, n, size=(stop - start, n))
        out[start:stop] = columns[idx].mean(axis=1)
    return out


def _percentile(means: np.ndarray, spec: BootstrapSpec) -> tuple[float, float]:
    tail = (1.0 - spec.confidence) / 2.0
    lo, hi = np.quantile(means, [tail, 1.0 - tail])
    return float(lo), float(hi)


def mean_ci(values: Sequence[float], spec: BootstrapSpec = DEFAULT) -> MeanCI:
    """Mean of ``values`` with its percentile bootstrap interval. One value gives the degenerate [x, x]."""
    arr = _finite(values)
    if arr.size == 0:
        raise ValueError("no values: a mean and its interval need at least one unit")
    mean = float(arr.mean())
    if arr.size == 1 or np.all(arr == arr[0]):
        return MeanCI(mean, mean, mean, int(arr.size), spec)
    lo, hi = _percentile(_resampled_means(arr[:, None], spec)[:, 0], spec)
    # Rounding in a resample's mean can put an endpoint a few ulps past the mean of constant-ish data.
    return MeanCI(mean, min(lo, mean), max(hi, mean), int(arr.size), spec)


def _ties_to_zero(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = a - b
    scale = np.maximum(np.abs(a), np.abs(b))
    d[np.abs(d) <= ZERO_TOLERANCE * scale] = 0.0
    return d


def wilcoxon_p(differences: Sequence[float]) -> float:
    """Two-sided Wilcoxon signed-rank p-value of paired differences; zeros dropped; all zero -> 1."""
    d = _finite(differences)
    nonzero = d[d != 0.0]
    if nonzero.size == 0:
        return 1.0
    from scipy.stats import wilcoxon

    # "auto": the exact null distribution for small samples without ties, else the normal
    # approximation with tie correction; one non-zero difference gives p = 1.
    res = wilcoxon(nonzero, zero_method="wilcox", alternative="two-sided", method="auto")
    p = float(res.pvalue)
    return 1.0 if math.isnan(p) else min(1.0, p)


def paired_difference(a: Sequence[float], b: Sequence[float], spec: BootstrapSpec = DEFAULT) -> PairedDifference:
    """``a - b`` over units given in the same order (unit i of ``a`` is unit i of ``b``)."""
    x, y = _finite(a), _finite(b)
    if x.shape != y.shape:
        raise ValueError(f"paired values need the same length, got {x.size} and {y.size}")
    if x.size == 0:
        raise ValueError("no common units to compare")
    d = _ties_to_zero(x, y)
    ci = mean_ci(d, spec)
    return PairedDifference(int(d.size), ci.mean, ci.lo, ci.hi, wilcoxon_p(d), int(np.count_nonzero(d)), spec)


@dataclass(frozen=True)
class Equivalence:
    """``a - b`` on paired units against a margin: where its bootstrap distribution lies (see the module doc).

    ``lo, hi``: the 90% percentile interval; ``p_below``, ``p_above``, ``p_tost``: the one-sided p-values
    of "a - b < -margin", "a - b > margin" and "|a - b| < margin"."""

    n: int
    mean_diff: float
    lo: float
    hi: float
    margin: float
    p_below: float
    p_above: float
    p_tost: float
    spec: BootstrapSpec = DEFAULT

    @property
    def p_decisive(self) -> float:
        """The p-value of the one claim the data can support (the smallest of the three)."""
        return min(self.p_below, self.p_above, self.p_tost)

    def position(self, p: Optional[float] = None, alpha: float = ALPHA) -> str:
        """"below", "above" or "within" the margin when ``p`` (default :attr:`p_decisive`; pass a
        Holm-adjusted one) is under ``alpha``, else "unsettled"."""
        p = self.p_decisive if p is None else p
        if not p < alpha:
            return "unsettled"
        if self.p_decisive == self.p_below:
            return "below"
        return "above" if self.p_decisive == self.p_above else "within"


def verdict(position: str, lower_is_better: bool) -> str:
    """The word for A against B (:data:`VERDICTS`) from :meth:`Equivalence.position` and the metric's direction."""
    if position == "within":
        return "equivalent"
    if position in ("below", "above"):
        return "better" if (position == "below") == lower_is_better else "worse"
    return "inconclusive"


def _share_p(count: int, resamples: int) -> float:
    return (1.0 + count) / (resamples + 1.0)


def equivalence(a: Sequence[float], b: Sequence[float], margin: float,
                spec: BootstrapSpec = DEFAULT) -> Equivalence:
    """``a - b`` over paired units against ``margin`` (>= 0, the metric's units): the 90% percentile
    interval and the three one-sided bootstrap p-values, from the resamples of :func:`paired_difference`."""
    x, y = _finite(a), _finite(b)
    if x.shape != y.shape:
        raise ValueError(f"paired values need the same length, got {x.size} and {y.size}")
    if x.size == 0:
        raise ValueError("no common units to compare")
    m = float(margin)
    if not (math.isfinite(m) and m >= 0):
        raise ValueError(f"the margin must be a finite number >= 0, got {margin!r}")
    d = _ties_to_zero(x, y)
    mean = float(d.mean())
    if d.size == 1:  # one unit: no spread to estimate, so no claim either way
        return Equivalence(1, mean, mean, mean, m, 1.0, 1.0, 1.0, spec)
    if np.all(d == d[0]):
        means = np.full(spec.resamples, mean)  # every resample of a constant has the same mean
    else:
        means = _resampled_means(d[:, None], spec)[:, 0]
    tail = (1.0 - TOST_CONFIDENCE) / 2.0
    lo, hi = (float(v) for v in np.quantile(means, [tail, 1.0 - tail]))
    B = spec.resamples
    p_below = _share_p(int(np.count_nonzero(means >= -m)), B)
    p_above = _share_p(int(np.count_nonzero(means <= m)), B)
    p_tost = max(_share_p(int(np.count_nonzero(means <= -m)), B), _share_p(int(np.count_nonzero(means >= m)), B))
    return Equivalence(int(d.size), mean, min(lo, mean), max(hi, mean), m, p_below, p_above, p_tost, spec)


def holm(p_values: Sequence[float]) -> tuple[float, ...]:
    """Holm-adjusted p-values, in the order given: p_(i) * (m - i + 1) for the i-th smallest, made
    monotone non-decreasing and capped at 1. Reject hypothesis j at level a when adjusted_j <= a."""
    p = [float(v) for v in p_values]
    if any(math.isnan(v) or v < 0 or v > 1 for v in p):
        raise ValueError(f"p-values must lie in [0, 1], got {p}")
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return tuple(adjusted)


def prob_first(values: Mapping[str, Sequence[float]], lower_is_better: bool = True,
               spec: BootstrapSpec = DEFAULT) -> dict[str, float]:
    """Bootstrap probability that each method has the best mean, on units given in the same order
    for every method (unit i of one is unit i of all). Ties for first share the credit equally."""
    names = list(values)
    if not names:
        return {}
    arrays = [_finite(values[k]) for k in names]
    if len({a.size for a in arrays}) != 1:
        raise ValueError("every method needs a value for each common unit, in the same order")
    cols = np.stack(arrays, axis=1)
    if cols.shape[0] == 0:
        raise ValueError("no common units to rank")
    if len(names) == 1:
        return {names[0]: 1.0}
    means = _resampled_means(cols, spec)
    if not lower_is_better:
        means = -means
    best = means.min(axis=1, keepdims=True)
    winners = means <= best + ZERO_TOLERANCE * np.abs(best)
    credit = winners / winners.sum(axis=1, keepdims=True)
    share = credit.mean(axis=0)
    return {k: float(share[j]) for j, k in enumerate(names)}


def lower_is_better(metric: str) -> bool:
    """From ``mattebench.metrics.fast.METRICS``; an unknown column (a time) counts as lower is better."""
    from mattebench.metrics.fast import METRICS

    info = METRICS.get(metric)
    return True if info is None else bool(info.lower_is_better)


def record_intervals(values_by_metric: Mapping[str, Sequence[float]], unit: str = "sample",
                     spec: BootstrapSpec = DEFAULT) -> tuple[dict[str, Optional[list[float]]], dict[str, object]]:
    """The ``ci`` and ``ci_method`` entries of a run record: ``{metric: [lo, hi]}`` (None without values)."""
    ci: dict[str, Optional[list[float]]] = {}
    for k, vals in values_by_metric.items():
        arr = np.asarray(vals, dtype=np.float64).ravel()
        if arr.size == 0 or not np.isfinite(arr).all():
            ci[k] = None  # no values, or an infinite one: the mean itself is not a number to bound
            continue
        r = mean_ci(arr, spec)
        ci[k] = [r.lo, r.hi]
    return ci, spec.as_dict(unit)
