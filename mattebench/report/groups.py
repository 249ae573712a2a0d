"""Per-group statistics of stored runs: each group's mean with its interval, and the paired comparison within
the group (the machinery of :mod:`mattebench.report.compare` and :mod:`mattebench.metrics.stats`).

The groups are what the run recorded (``summary.json``: ``groups``, read from the dataset's own lists by
:mod:`mattebench.data.groups`); the values are the run's rows (``samples.csv``). AIM groups each image's
whole-image SAD (AIM core/test.py:177-180, 215-216): ``sad_whole`` is the default metric here too, else the
dataset's primary metric. A group's interval is :func:`mattebench.metrics.stats.mean_ci` (95 %, percentile
bootstrap); below :data:`MIN_N_FOR_INTERVAL` samples it has none and says so: a percentile bootstrap of n
values has only C(2n-1, n) distinct resamples (126 at n = 5), and 10 keeps AIM-500's smallest official group
(fruit, 10 images) in. The AIM README's "Avg." is the unweighted mean of the group means (:func:`macro_mean`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

from mattebench.data.groups import GroupMapping
from mattebench.metrics import stats
from mattebench.runs.record import RunRecord

__all__ = ["MIN_N_FOR_INTERVAL", "TOO_SMALL", "GroupSummary", "GroupPair", "group_means", "macro_mean",
           "paired_in_group", "group_metric", "mapping_of"]

MIN_N_FOR_INTERVAL = 10
TOO_SMALL = f"too small for an interval (n < {MIN_N_FOR_INTERVAL})"


@dataclass(frozen=True)
class GroupSummary:
    """One group's mean over its samples with a finite value; ``lo``/``hi`` None with ``note`` below
    MIN_N_FOR_INTERVAL or without values."""

    group: str
    n: int
    mean: Optional[float]
    lo: Optional[float]
    hi: Optional[float]
    note: str = ""


@dataclass(frozen=True)
class GroupPair:
    """Run - reference within one group, on the samples of the group both scored: mean paired difference and its
    95 % bootstrap interval (None below MIN_N_FOR_INTERVAL)."""

    group: str
    n: int
    diff: Optional[float]
    lo: Optional[float]
    hi: Optional[float]
    note: str = ""


def mapping_of(record: RunRecord) -> Optional[GroupMapping]:
    """The groups a run recorded, or None."""
    return GroupMapping.from_json(record.groups) if record.groups else None


def group_metric(record: RunRecord) -> str:
    """The metric the group tables show: AIM's whole-image SAD when the run has it, else the primary metric."""
    return "sad_whole" if "sad_whole" in record.means else record.dataset_card.primary_metric


def _summary(group: str, vals: Sequence[float]) -> GroupSummary:
    if not vals:
        return GroupSummary(group, 0, None, None, None, "no values")
    mean = math.fsum(vals) / len(vals)
    if len(vals) < MIN_N_FOR_INTERVAL:
        return GroupSummary(group, len(vals), mean, None, None, TOO_SMALL)
    ci = stats.mean_ci(vals)
    return GroupSummary(group, len(vals), ci.mean, ci.lo, ci.hi)


def _buckets(values: Mapping[str, float], mapping: GroupMapping, column: str) -> dict[str, list[str]]:
    col = mapping.columns.get(column, {})
    out: dict[str, list[str]] = {g: [] for g in mapping.orders.get(column, ())}
    for sid in sorted(values):
        if sid in col:
            out.setdefault(col[sid], []).append(sid)
    return out


def group_means(values: Mapping[str, float], mapping: GroupMapping, column: str) -> tuple[GroupSummary, ...]:
    """Per-group means of per-sample ``values`` (id -> finite value) in the mapping's order; groups without a sample
    are listed with n = 0 (AIM would divide by zero); samples without a group are left out."""
    return tuple(_summary(g, [values[i] for i in ids]) for g, ids in _buckets(values, mapping, column).items())


def macro_mean(summaries: Sequence[GroupSummary]) -> float:
    """The AIM README's "Avg.": the unweighted mean of the group means (NaN if a group has none)."""
    means = [s.mean for s in summaries]
    if not means or any(m is None for m in means):
        return math.nan
    return math.fsum(means) / len(means)  # type: ignore[arg-type]


def paired_in_group(a: Mapping[str, float], b: Mapping[str, float], mapping: GroupMapping,
                    column: str) -> tuple[GroupPair, ...]:
    """A - B per group on the ids both scored (``stats.paired_difference``, as ``mattebench compare``)."""
    common = {i: a[i] for i in a if i in b}
    out = []
    for g, ids in _buckets(common, mapping, column).items():
        if len(ids) < MIN_N_FOR_INTERVAL:
            diff = math.fsum(a[i] - b[i] for i in ids) / len(ids) if ids else None
            out.append(GroupPair(g, len(ids), diff, None, None, TOO_SMALL if ids else "no paired sample"))
            continue
        d = stats.paired_difference([a[i] for i in ids], [b[i] for i in ids])
        out.append(GroupPair(g, d.n, d.mean_diff, d.lo, d.hi))
    return tuple(out)
