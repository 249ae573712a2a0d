"""What the leaderboards say about uncertainty: intervals, ties with the leader, P(ranked first).

Computed only from stored results: the interval of each mean is read from the run record
(``summary.json``: ``ci``, ``ci_method``); the paired tests and P(first) from the rows the runs wrote
(``samples.csv``, checked against the record by :mod:`mattebench.runs.store`). No method or dataset
is built. Within one ranked group (trimap-based or trimap-free methods on one dataset):

- the leader is the run with the best mean of the ranking metric (lower or higher as
  ``metrics.METRICS`` says);
- every other run gets a verdict against it on the samples both scored (:func:`mattebench.metrics.stats.equivalence`,
  the same test as ``mattebench compare``): the mean paired difference run - leader and the position
  of its 90% bootstrap interval against ± the metric's resolution for the two runs
  (:mod:`mattebench.report.resolution`): "worse" (or "better") beyond it, "equivalent" inside it (two
  one-sided tests at 0.05), "inconclusive" otherwise; the verdicts' p-values are Holm-corrected
  across the group;
- P(first) is the bootstrap probability of having the best mean, on the samples every run of the
  group scored (see :func:`mattebench.metrics.stats.prob_first`); it is only given when every ranked run of
  the group has its rows, since a probability among some of the contenders would mislead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping, Optional, Sequence, Union

from mattebench.metrics import stats
from mattebench.report.compare import why_not_comparable
from mattebench.report.resolution import comparison_resolution, formula, prediction_grid
from mattebench.runs.record import RunRecord, as_record
from mattebench.runs.store import StoredRows, StoredRowsError, load_stored_rows

TIE_MARK = "≈"
VS_TITLE = (f"mean paired difference from the best run of this group and its verdict: {TIE_MARK} (equiv.) when its 90% "
            "bootstrap interval lies inside ± the metric's resolution (two one-sided tests at 0.05), worse when it lies "
            "beyond, inconclusive otherwise; Holm-corrected across the group")
P_FIRST_TITLE = "bootstrap probability of having the best mean, on the samples every run of this group scored"


@dataclass(frozen=True)
class RunMark:
    """One run's standing against the leader of its group on the ranking metric."""

    is_leader: bool = False
    n: Optional[int] = None  # samples paired with the leader
    p_value: Optional[float] = None  # the verdict's p-value (stats.Equivalence.p_decisive)
    p_holm: Optional[float] = None  # the same, Holm-corrected across the group
    tied: Optional[bool] = None  # verdict "equivalent"; None: not tested
    p_first: Optional[float] = None
    reason: str = ""  # why it was not tested, when it was not
    verdict: Optional[str] = None  # stats.VERDICTS, of this run against the leader
    diff: Optional[float] = None  # mean of run - leader over the n paired samples
    ci: Optional[tuple[float, float]] = None  # its 90% bootstrap interval
    margin: Optional[float] = None  # the resolution it was tested against
    grid: str = ""  # where the resolution comes from ("8-bit", "16-bit", "float32" predictions)
    p_tost: Optional[float] = None


@dataclass(frozen=True)
class GroupStats:
    metric: str
    leader: Optional[str]
    marks: Mapping[str, RunMark]
    n_first: int  # samples P(first) was computed on (0: not computed)
    notes: tuple[str, ...]

    def mark(self, key: str) -> RunMark:
        return self.marks.get(key, RunMark(reason="not ranked"))


Run = Union[RunRecord, Mapping[str, Any]]  # the public functions take a record or its JSON object


def run_key(s: Run) -> str:
    return as_record(s).name


def _mean(s: RunRecord, metric: str) -> Optional[float]:
    v = s.means.get(metric)
    return None if v is None or math.isnan(v) else v


def _rows(group: Sequence[RunRecord]) -> tuple[dict[str, StoredRows], dict[str, str]]:
    rows, why = {}, {}
    for s in group:
        try:
            rows[run_key(s)] = load_stored_rows(s)
        except StoredRowsError as exc:
            why[run_key(s)] = str(exc)
    return rows, why


def _leader(group: Sequence[RunRecord], metric: str) -> Optional[str]:
    sign = 1.0 if stats.lower_is_better(metric) else -1.0
    ranked = [(sign * v, i, run_key(s)) for i, s in enumerate(group) if (v := _mean(s, metric)) is not None]
    return min(ranked)[2] if ranked else None


def _tests(leader: str, others: list[str], rows: dict[str, StoredRows], metric: str,
           by_key: Mapping[str, RunRecord]) -> dict[str, RunMark]:
    lead = rows[leader].values.get(metric, {})
    tested: list[tuple[str, stats.Equivalence, str]] = []
    marks: dict[str, RunMark] = {}
    for k in others:
        mine = rows[k].values.get(metric, {})
        ids = sorted(set(mine) & set(lead))
        if not ids:
            marks[k] = RunMark(reason=f"no sample in common with the leader {leader}")
            continue
        res = comparison_resolution(by_key[k], by_key[leader], metric)
        eq = stats.equivalence([mine[i] for i in ids], [lead[i] for i in ids], res.value)
        tested.append((k, eq, res.grid.name))
    lower = stats.lower_is_better(metric)
    for (k, eq, grid), ph in zip(tested, stats.holm([eq.p_decisive for _, eq, _ in tested])):
        word = stats.verdict(eq.position(ph), lower)
        marks[k] = RunMark(n=eq.n, p_value=eq.p_decisive, p_holm=ph, tied=word == "equivalent", verdict=word,
                           diff=eq.mean_diff, ci=(eq.lo, eq.hi), margin=eq.margin, grid=grid, p_tost=eq.p_tost)
    return marks


def _first(keys: list[str], rows: dict[str, StoredRows], metric: str) -> tuple[dict[str, float], int]:
    common = set.intersection(*(set(rows[k].values.get(metric, {})) for k in keys)) if keys else set()
    if not common:
        return {}, 0
    ids = sorted(common)
    values = {k: [rows[k].values[metric][i] for i in ids] for k in keys}
    return stats.prob_first(values, stats.lower_is_better(metric)), len(ids)


def group_stats(group: Sequence[Run], metric: str) -> GroupStats:
    """Leader, ties with it and P(first) for one ranked group of runs (same dataset and family)."""
    ranked = [s for s in map(as_record, group) if _mean(s, metric) is not None]
    keys = [run_key(s) for s in ranked]
    leader = _leader(ranked, metric)
    if leader is None:
        return GroupStats(metric, None, {}, 0, ())
    rows, why = _rows(ranked)
    by_key = {run_key(s): s for s in ranked}
    for k in keys:  # a run on other data or other trimaps is never paired with the leader's rows
        reasons = why_not_comparable(by_key[leader], by_key[k]) if k != leader else []
        if reasons and k in rows:
            del rows[k]
            why[k] = f"{k} is not comparable with the leader {leader}: " + "; ".join(reasons)
    notes: list[str] = []
    others = [k for k in keys if k != leader]
    marks: dict[str, RunMark] = {}
    if leader in rows:
        marks.update(_tests(leader, [k for k in others if k in rows], rows, metric, by_key))
        for k in others:
            marks.setdefault(k, RunMark(reason=why.get(k, "")))
    else:
        notes.append(f"no significance marks: the leader's rows cannot be used ({why[leader]})")
        marks.update({k: RunMark(reason="the leader's rows are not stored") for k in others})
    missing = [k for k in keys if k not in rows]
    p_first, n_first = ({}, 0) if missing else _first(keys, rows, metric)
    if missing and len(keys) > 1:
        notes.append(f"no P(first): {', '.join(missing)} {'has' if len(missing) == 1 else 'have'} no rows usable here")
    elif len(keys) > 1 and not n_first:
        notes.append("no P(first): no sample was scored by every run of this group")
    if n_first and any(len(rows[k].values.get(metric, {})) != n_first for k in keys):
        notes.append(f"P(first) is computed on the {n_first} samples every run of this group scored")
    for k in missing:
        if k != leader and why.get(k):
            notes.append(why[k])
    final = {k: replace(marks.get(k, RunMark()), p_first=p_first.get(k)) for k in others}
    final[leader] = RunMark(is_leader=True, p_first=p_first.get(leader))
    return GroupStats(metric, leader, final, n_first, tuple(notes))


# -- cell texts (plain text; the markdown and HTML renderers escape as they need) -------------------
def interval(s: Run, metric: str) -> Optional[tuple[float, float]]:
    """The run record's interval of ``metric``, when it is present and brackets the stored mean."""
    s = as_record(s)
    ci = s.ci.get(metric)
    mean = _mean(s, metric)
    if mean is None or not isinstance(ci, (list, tuple)) or len(ci) != 2:
        return None
    try:
        lo, hi = float(ci[0]), float(ci[1])
    except (TypeError, ValueError):
        return None
    slack = 1e-12 * max(1.0, abs(mean))
    if not (math.isfinite(lo) and math.isfinite(hi) and lo - slack <= mean <= hi + slack):
        return None  # a record whose interval does not contain its mean is not shown as one
    return lo, hi


def half_width_text(s: Run, metric: str) -> str:
    """``± h`` (h: the larger distance from the mean to an end of the interval, 2 significant digits)."""
    s = as_record(s)
    iv = interval(s, metric)
    mean = _mean(s, metric)
    if iv is None or mean is None:
        return ""
    h = max(mean - iv[0], iv[1] - mean)
    return f"± {h:.2g}" if h == 0 or h >= 1e-3 else f"± {h:.1e}"


def mean_cell(s: Run, metric: str, fmt: Callable[[Optional[float], str], str]) -> str:
    s = as_record(s)
    text = fmt(_mean(s, metric), metric)
    hw = half_width_text(s, metric)
    return f"{text} {hw}" if hw else text


def interval_title(s: Run, metric: str) -> str:
    iv = interval(s, metric)
    return "" if iv is None else f"95% CI [{iv[0]:.4g}, {iv[1]:.4g}]"


def size_text(d: float) -> str:
    """A signed difference in two significant digits, exponent without padding: ``+2.1e-3``, ``-0.0``."""
    if d == 0:
        return "0"
    mantissa, exp = f"{d:+.1e}".split("e")
    return f"{mantissa}e{int(exp)}"


def vs_leader_text(mark: RunMark) -> str:
    """The *vs #1* cell: ``best``, ``≈ (equiv.)``, ``worse +2.1e-3``, ``inconclusive (+4e-4)``, or – (not tested)."""
    if mark.is_leader:
        return "best"
    if mark.verdict is None or mark.diff is None:
        return "–"
    if mark.verdict == "equivalent":
        return f"{TIE_MARK} (equiv.)"
    if mark.verdict == "inconclusive":
        return f"inconclusive ({size_text(mark.diff)})"
    return f"{mark.verdict} {size_text(mark.diff)}"


def vs_leader_title(mark: RunMark) -> str:
    """The numbers behind the *vs #1* cell (the site shows them on hover)."""
    if mark.verdict is None or mark.diff is None or mark.ci is None:
        return mark.reason
    return (f"{mark.verdict}: run - best = {mark.diff:.3g}, 90% CI [{mark.ci[0]:.3g}, {mark.ci[1]:.3g}], "
            f"resolution ±{mark.margin:.2g} ({mark.grid} predictions); p = {mark.p_value:.2g}, "
            f"Holm {mark.p_holm:.2g}, n = {mark.n}")


def p_first_text(mark: RunMark) -> str:
    return "–" if mark.p_first is None else f"{mark.p_first:.2f}"


def method_text(s: Run) -> str:
    """How the interval was computed, from the record (the first run that says)."""
    m = as_record(s).ci_method or {}
    return str(m.get("description", ""))


def _resolutions_text(metric: str, summaries: Sequence[Run]) -> str:
    """The resolution of ``metric`` as a formula, with the grid steps of these runs' predictions."""
    grids = sorted({prediction_grid(s, metric) for s in summaries}, key=lambda g: g.step)
    steps = ", ".join(f"q = {g.step:.2g} for {g.name} predictions" for g in grids)
    mad = "; MAD the larger of the pair's mean MAD (whole)" if "MAD" in formula(metric) else ""
    return f"{formula(metric)}, with q the step of the coarser prediction grid of the pair: here {steps}{mad}"


def explanation(metric_label: str, summaries: Sequence[Run], metric: Optional[str] = None,
                escape: Callable[[str], str] = str) -> str:
    """The footnote under a leaderboard: how the ± and the marks were computed. The record's own text (its
    ``ci_method`` description) goes through ``escape``: the markdown passes its escaper, the site autoescapes."""
    how = escape(next((method_text(s) for s in summaries if method_text(s)), ""))
    ci = (f"± is the larger distance from the mean to an end of its 95% confidence interval ({how}); "
          "[lo, hi] is stored in each run's summary.json. " if how else
          "The runs' records carry no confidence intervals (written before mattebench stored them). ")
    res = _resolutions_text(metric, summaries) if metric and summaries else ""
    res = f" Resolution of {metric_label}: {res} (docs/statistics.md)." if res else ""
    return (ci + f"*vs #1*: the mean paired difference of each run minus the best run of its group on {metric_label}, "
            "on the n samples both scored, with a verdict from its 90% bootstrap interval: "
            f"{TIE_MARK} (equiv.) when the interval lies inside ± the resolution of {metric_label}, the smallest "
            "difference the runs' inputs can express (two one-sided tests at 0.05); "
            "worse (or better) with the difference when it lies beyond; inconclusive, with the difference, otherwise; "
            f"p-values Holm-corrected across the group.{res} *P(first)*: the share of {stats.RESAMPLES} joint "
            f"bootstrap resamples (seed {stats.SEED}) of the samples every run of the group scored in which the run "
            "has the best mean. Computed from the stored samples.csv of each run; – where a run's rows are not usable.")
