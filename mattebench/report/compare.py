"""Paired comparison of two stored runs on the samples both scored (the engine of ``mattebench compare``).

For each metric: the units (samples, or clips for video) that both runs scored ok with a finite value,
the mean of the paired difference A - B with its 95% bootstrap interval, the Wilcoxon signed-rank
p-value with Holm's correction across the metrics compared (whether the runs differ at all), and the
verdict on how much: "better", "worse", "equivalent" or "inconclusive" against a margin, by default
the metric's resolution for the two runs' inputs (:mod:`mattebench.report.resolution`), from the position
of the 90% bootstrap interval (:func:`mattebench.metrics.stats.equivalence`), its p-value Holm-corrected
across the metrics. Two runs are only compared when their numbers mean the same thing: the same
dataset fingerprint, protocols, trimap recipe and quantisation; otherwise :class:`NotComparable`
says what differs.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

from mattebench.errors import MattebenchError, NotComparable, RunNotFound
from mattebench.metrics import stats
from mattebench.metrics.fast import METRICS
from mattebench.report.compare_breakdowns import BreakdownComparison, compare_breakdowns
from mattebench.report.resolution import Resolution, comparison_resolution
from mattebench.runs.record import RecordError, RunRecord, as_record
from mattebench.runs.store import SAMPLES, SUMMARY, StoredRowsError, load_stored_rows


@dataclass(frozen=True)
class StoredRun:
    path: Path
    label: str  # dataset/method[@tag]
    record: RunRecord


@dataclass(frozen=True)
class MetricComparison:
    metric: str
    n: int
    mean_a: float
    mean_b: float
    mean_diff: float  # mean of A - B over the n paired units
    ci: tuple[float, float]
    p_value: float  # Wilcoxon signed-rank, two-sided: is there a difference at all
    p_holm: float
    lower_is_better: bool
    better: Optional[str]  # "A" (verdict "better"), "B" (verdict "worse") or None
    verdict: str  # one of stats.VERDICTS, for A against B
    resolution: float  # of this metric for the two runs' inputs (mattebench.report.resolution)
    grid: str  # the grid it comes from: "8-bit", "16-bit" or "float32" predictions
    margin: float  # the margin the verdict was tested against (the resolution unless --margin set more)
    margin_source: str  # "resolution", "--margin", or "--margin, raised to the resolution"
    ci_tost: tuple[float, float]  # 90% bootstrap interval of A - B: its position decides the verdict
    p_better: float  # one-sided p: A better than B by more than the margin
    p_worse: float
    p_tost: float  # two one-sided tests: |A - B| < margin
    p_verdict_holm: float  # the verdict's p-value (the smallest of the three), Holm-corrected across metrics
    statement: str  # the verdict in one line with the numbers that decide it

    def as_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["ci"] = list(self.ci)
        d["ci_tost"] = list(self.ci_tost)
        return d


@dataclass(frozen=True)
class Comparison:
    a: str
    b: str
    results: tuple[MetricComparison, ...]
    skipped: tuple[str, ...]  # metrics with no paired units, named with the reason
    ci_method: Mapping[str, Any]
    n_a: int  # units A scored ok
    n_b: int
    # the unranked breakdown columns both runs stored: paired statistics, no verdict (report/compare_breakdowns.py)
    breakdowns: tuple[BreakdownComparison, ...] = ()


def resolve_run(spec: str, runs: str | os.PathLike[str] = "runs") -> StoredRun:
    """A run folder given by path, or as ``dataset/method[@tag]`` under ``runs``."""
    candidates = [Path(spec), Path(runs) / spec]
    for folder in candidates:
        f = folder / SUMMARY
        if f.is_file():
            try:
                summary = json.loads(f.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise RunNotFound(f"{f} cannot be read ({exc}); rerun the run to rewrite it") from exc
            if isinstance(summary, dict):
                summary = {**summary, "run_dir": str(folder)}  # the folder it is in now, not where it was written
            try:
                record = RunRecord.from_json(summary)
            except RecordError as exc:
                raise RunNotFound(f"{f} is not a run record this mattebench can read: {exc}") from exc
            return StoredRun(folder, f"{record.dataset}/{record.name}", record)
    raise RunNotFound(f"no run {spec!r}: neither {candidates[0] / SUMMARY} nor {candidates[1] / SUMMARY} exists "
                      "(give a run folder, or dataset/method[@tag] with --runs DIR)")


# -- is a record a result? -------------------------------------------------------------------------------
RESULT, UNTRAINED, NOT_RUN, UNSUPPORTED = "result", "untrained", "not run", "unsupported"
# Metrics whose values lie in [0, 1] by definition (a mean of squared or absolute alpha differences).
UNIT_RANGE = frozenset({"mse_whole", "mad_whole", "mse"})


@dataclass(frozen=True)
class Standing:
    """What a run record may be shown as: a ranked result, or why not (``kind`` and a reason for the reader)."""

    kind: str  # RESULT, UNTRAINED, NOT_RUN or UNSUPPORTED
    reason: str = ""

    @property
    def ranked(self) -> bool:
        return self.kind == RESULT


def _count_problems(r: RunRecord) -> list[str]:
    c = r.counts
    out = []
    if min(c.total, c.ok, c.error, c.pending) < 0:
        out.append(f"negative counts ({c.to_json()})")
    if c.ok + c.error + c.pending != c.total:
        out.append(f"counts do not add up: {c.ok} ok + {c.error} failed + {c.pending} pending != {c.total} asked for")
    if r.n_dataset and c.total > r.n_dataset:
        out.append(f"{c.total} samples asked for of a dataset of {r.n_dataset}")
    return out


def _mean_problems(r: RunRecord) -> list[str]:
    out = []
    for k, v in r.means.items():
        if v is None or k not in METRICS:
            continue
        if not math.isfinite(v) or v < 0 or (k in UNIT_RANGE and v > 1):
            bound = "[0, 1]" if k in UNIT_RANGE else "[0, inf)"
            out.append(f"mean {k} = {v!r} is outside {bound}, where every value of that metric lies")
    return out


def standing(record: RunRecord | Mapping[str, Any]) -> Standing:
    """Whether a stored run is a result a board, the site, the paper tables or ``compare`` may rank (one rule for
    all of them). It is not when it never scored a sample (ok + failed = 0), or every sample failed; when it ran
    without trained weights (``untrained``); when its counts or means are impossible; or when its
    ``samples.csv`` exists and disagrees with its record (:func:`~mattebench.runs.store.load_stored_rows`, the
    check paired statistics already make). A record without a run folder (built in memory) is checked on its own.
    """
    r = as_record(record)
    c = r.counts
    if c.ok + c.error == 0 and c.total >= 0:
        stopped = r.provenance.extra.get("stopped")
        why = f"stopped by {stopped}" if isinstance(stopped, str) and stopped else \
            "rerun its command (provenance.command in its summary.json) to see why"
        return Standing(NOT_RUN, f"stopped before scoring any of its {c.total} samples: {why}")
    if c.ok == 0 and c.error > 0 and not _count_problems(r):
        first = r.errors[0].error if r.errors else "see samples.csv"
        return Standing(NOT_RUN, f"every one of its {c.error} samples failed (first: {first[:200]})")
    if r.is_untrained:
        return Standing(UNTRAINED, "scored without trained weights (run --allow-untrained): its numbers are no result")
    problems = _count_problems(r) + _mean_problems(r)
    if not problems and r.run_dir and (Path(r.run_dir) / SAMPLES).is_file():
        try:
            load_stored_rows(r)
        except StoredRowsError as exc:
            problems.append(str(exc))
    if problems:
        return Standing(UNSUPPORTED, "its summary.json is not supported by its rows: " + "; ".join(problems))
    return Standing(RESULT)


def _trimap_facts(s: RunRecord) -> Any:
    opts = s.settings.dataset_options
    return {"recipe": s.provenance.trimap_recipe,
            "options": {k: v for k, v in sorted(opts.items()) if "trimap" in k}}


def why_not_comparable(a: RunRecord | Mapping[str, Any], b: RunRecord | Mapping[str, Any]) -> list[str]:
    """The reasons two runs' numbers cannot be paired (empty when they can); records or their JSON objects."""
    a, b = as_record(a), as_record(b)
    reasons = []
    pa, pb = a.provenance, b.provenance
    if pa.dataset_fingerprint != pb.dataset_fingerprint:
        reasons.append(f"different dataset fingerprints ({str(pa.dataset_fingerprint)[:12]} vs "
                       f"{str(pb.dataset_fingerprint)[:12]}): the runs scored different data")
    proto_a = list(a.dataset_card.protocols)
    proto_b = list(b.dataset_card.protocols)
    if proto_a != proto_b:
        reasons.append(f"different protocols ({', '.join(proto_a) or 'none'} vs {', '.join(proto_b) or 'none'})")
    ta, tb = _trimap_facts(a), _trimap_facts(b)
    if ta["recipe"] is None or tb["recipe"] is None:  # a run that read no trimap is comparable with any recipe
        ta, tb = ta["options"], tb["options"]
    if ta != tb:
        reasons.append(f"different trimap recipes ({json.dumps(ta, sort_keys=True)} vs {json.dumps(tb, sort_keys=True)}): "
                       "the unknown region, hence every unknown-protocol metric, differs")
    if pa.quantisation != pb.quantisation:
        reasons.append(f"different quantisation ({pa.quantisation!r} vs {pb.quantisation!r})")
    return reasons


def _metrics_to_compare(a: RunRecord, b: RunRecord, wanted: Optional[Sequence[str]]) -> list[str]:
    common = [k for k in METRICS if k in a.means and k in b.means]
    if not wanted:
        return common
    unknown = [m for m in wanted if m not in common]
    if unknown:
        raise MattebenchError(f"metric {', '.join(unknown)} is not in both runs; choose from {', '.join(common) or 'none'}")
    return list(dict.fromkeys(wanted))


def _g(v: float) -> str:
    return f"{v:.4g}" if v == 0 or 1e-3 <= abs(v) < 1e5 else f"{v:.2e}"


def _margin(metric: str, res: Resolution, margins: Mapping[str, float]) -> tuple[float, str]:
    """The margin for ``metric``: the user's (``--margin``), never below the resolution the inputs can express."""
    given = margins.get(metric, margins.get("*"))
    if given is None:
        return res.value, "resolution"
    if given < res.value:
        return res.value, "--margin, raised to the resolution"
    return float(given), "--margin"


def _statement(metric: str, verdict: str, eq: stats.Equivalence, margin_text: str, p_adj: float) -> str:
    label = METRICS[metric].unit if metric in METRICS else metric
    numbers = (f"A - B = {_g(eq.mean_diff)}, 90% CI [{_g(eq.lo)}, {_g(eq.hi)}], {margin_text}; "
               f"p = {_g(eq.p_decisive)}, Holm {_g(p_adj)}, n = {eq.n}")
    if verdict in ("better", "worse"):
        side = "A" if verdict == "better" else "B"
        return f"{label}: {side} is better by more than the margin ({numbers})"
    if verdict == "equivalent":
        within = "within resolution" if margin_text.startswith("resolution") else "within the margin"
        return f"{label}: equivalent {within} ({numbers})"
    return f"{label}: inconclusive, neither beyond nor inside the margin at 0.05 ({numbers})"


def parse_margins(values: Sequence[str]) -> dict[str, float]:
    """``--margin`` values: ``METRIC=VALUE`` for one metric, or a bare ``VALUE`` for every metric ("*")."""
    out: dict[str, float] = {}
    for raw in values:
        key, sep, text = raw.rpartition("=")
        key = key.strip() if sep else "*"
        if sep and key not in METRICS:
            raise MattebenchError(f"--margin {raw!r}: unknown metric {key!r}; choose from {', '.join(METRICS)}")
        try:
            value = float(text)
        except ValueError:
            raise MattebenchError(f"--margin {raw!r}: {text.strip()!r} is not a number "
                                  "(give METRIC=VALUE or VALUE, in the metric's reported units)") from None
        if not (value >= 0 and value < float("inf")):
            raise MattebenchError(f"--margin {raw!r}: the margin must be a finite number >= 0")
        out[key] = value
    return out


def _pairs(a: StoredRun, b: StoredRun, keys: Sequence[str], spec: stats.BootstrapSpec,
           margins: Mapping[str, float]) -> tuple[list[tuple[Any, ...]], list[str]]:
    rows_a, rows_b = load_stored_rows(a.record, a.path), load_stored_rows(b.record, b.path)
    paired, skipped = [], []
    for k in keys:
        va, vb = rows_a.values.get(k, {}), rows_b.values.get(k, {})
        ids = sorted(set(va) & set(vb))
        if not ids:
            skipped.append(f"{k}: no sample scored with a finite value by both runs")
            continue
        xa, xb = [va[i] for i in ids], [vb[i] for i in ids]
        res = comparison_resolution(a.record, b.record, k)
        margin, source = _margin(k, res, margins)
        paired.append((k, stats.paired_difference(xa, xb, spec), stats.equivalence(xa, xb, margin, spec),
                       sum(xa) / len(xa), sum(xb) / len(xb), res, source))
    return paired, skipped


def compare_runs(a: StoredRun, b: StoredRun, metrics: Optional[Sequence[str]] = None,
                 spec: stats.BootstrapSpec = stats.DEFAULT, margins: Optional[Mapping[str, float]] = None) -> Comparison:
    """Paired comparison of A and B; raises :class:`NotComparable` when their numbers cannot be paired.

    ``margins``: metric -> margin in the metric's units ("*": every metric), as :func:`parse_margins`
    returns; a metric without one is tested against its resolution, and none is ever below it. Either run not being a
    result (:func:`standing`: untrained, never ran, or a record its rows do not support) is NotComparable too."""
    not_results = [f"{x.label} is {st.kind}: {st.reason}" for x in (a, b) if not (st := standing(x.record)).ranked]
    if not_results:
        raise NotComparable(f"{a.label} and {b.label} are not compared as results: " + "; ".join(not_results))
    reasons = why_not_comparable(a.record, b.record)
    if reasons:
        raise NotComparable(f"{a.label} and {b.label} cannot be compared: " + "; ".join(reasons))
    broken_down, bd_skipped = _breakdowns(a, b, metrics, spec)
    named_breakdowns = {x.metric for x in broken_down} | {s.split(":")[0] for s in bd_skipped}
    ranked_wanted = [m for m in metrics or [] if m not in named_breakdowns]
    keys = [] if metrics and not ranked_wanted else _metrics_to_compare(a.record, b.record, ranked_wanted)
    stray = sorted(set(margins or {}) - set(keys) - {"*"})
    if stray:
        raise MattebenchError(f"--margin names {', '.join(stray)}, which this comparison does not include "
                              f"(compared: {', '.join(keys)})")
    paired, skipped = _pairs(a, b, keys, spec, margins or {})
    if not paired and not broken_down:
        raise MattebenchError(f"{a.label} and {b.label} share no scored sample: nothing to compare")
    wilcoxon_holm = stats.holm([d.p_value for _, d, *_ in paired])
    verdict_holm = stats.holm([eq.p_decisive for _, _, eq, *_ in paired])
    results = []
    for (k, d, eq, ma, mb, res, source), ph, pv in zip(paired, wilcoxon_holm, verdict_holm):
        lower = stats.lower_is_better(k)
        word = stats.verdict(eq.position(pv), lower)
        better = {"better": "A", "worse": "B"}.get(word)
        p_better, p_worse = (eq.p_below, eq.p_above) if lower else (eq.p_above, eq.p_below)
        margin_text = (f"resolution ±{_g(eq.margin)} ({res.grid.name} predictions)" if source == "resolution"
                       else f"margin ±{_g(eq.margin)} ({source}; resolution {_g(res.value)})")
        results.append(MetricComparison(
            k, d.n, ma, mb, d.mean_diff, (d.lo, d.hi), d.p_value, ph, lower, better, word, res.value, res.grid.name,
            eq.margin, source, (eq.lo, eq.hi), p_better, p_worse, eq.p_tost, pv,
            _statement(k, word, eq, margin_text, pv)))
    unit = "clip" if a.record.dataset_card.kind == "video" else "sample"
    n_a, n_b = a.record.counts.ok, b.record.counts.ok
    return Comparison(a.label, b.label, tuple(results), tuple(skipped + bd_skipped), spec.as_dict(unit), n_a, n_b,
                      broken_down)


def _breakdowns(a: StoredRun, b: StoredRun, metrics: Optional[Sequence[str]],
                spec: stats.BootstrapSpec) -> tuple[tuple[BreakdownComparison, ...], list[str]]:
    """The breakdown columns both runs stored (those named in ``metrics``, when given): never a verdict."""
    if a.record.breakdowns is None or b.record.breakdowns is None:  # version-2 records: nothing to pair
        return (), []
    rows_a, rows_b = load_stored_rows(a.record, a.path), load_stored_rows(b.record, b.path)
    return compare_breakdowns(a.record, b.record, rows_a.values, rows_b.values, metrics or None, spec)
