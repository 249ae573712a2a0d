"""The robustness track per group: each condition's mean within every group the dataset declares.

When the clean run of a series recorded the dataset's sample groups (``summary.json: groups``, from
:mod:`mattebench.data.groups`: AIM-500's types and categories, P3M-500's sets, a user's ``groups.csv``), the
robustness report adds, per group column, one row per group: the clean mean over the group's samples, then for
every condition (corruption at a severity, trimap change) the mean over the group's samples scored both in that
cell and in the clean run (paired, as the main table), and the mean relative degradation over the corruption
cells. Values come from the stored rows only (``samples.csv``); a run whose rows cannot be read has no group
row. The group order is the dataset's (``groups.orders``), then any other group in sorted order.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional, Sequence

from mattebench.data.condition import CLEAN, Condition
from mattebench.data.groups import GroupMapping


@dataclass(frozen=True)
class GroupCell:
    """One (series, group column, group, condition): paired means over the group's samples (``condition`` CLEAN:
    the clean run over all of the group's samples it scored, ``clean`` equal to ``values``)."""

    series: str
    column: str
    group: str
    condition: Condition
    n: int
    values: Mapping[str, Optional[float]]
    clean: Mapping[str, Optional[float]]


def _finite(row: Mapping[str, Any], m: str) -> Optional[float]:
    v = row.get(m)
    return float(v) if isinstance(v, (int, float)) and math.isfinite(float(v)) else None


def _means(cell_rows: Mapping[str, Mapping[str, Any]], clean_rows: Mapping[str, Mapping[str, Any]],
           ids: Sequence[str], metrics: Sequence[str]) -> tuple[dict[str, Optional[float]], dict[str, Optional[float]]]:
    vals: dict[str, Optional[float]] = {}
    ref: dict[str, Optional[float]] = {}
    for m in metrics:
        pairs = [(a, b) for i in ids for a, b in [(_finite(cell_rows[i], m), _finite(clean_rows[i], m))]
                 if a is not None and b is not None]
        vals[m] = float(statistics.fmean(a for a, _ in pairs)) if pairs else None
        ref[m] = float(statistics.fmean(b for _, b in pairs)) if pairs else None
    return vals, ref


def _group_ids(mapping: GroupMapping, column: str, scored: Sequence[str]) -> dict[str, list[str]]:
    """Group -> the scored ids in it, in the dataset's order of groups (then the rest, sorted)."""
    col = mapping.columns.get(column, {})
    present = {col[i] for i in scored if i in col}
    order = [g for g in mapping.orders.get(column, ()) if g in present] + sorted(present - set(mapping.orders.get(column, ())))
    return {g: [i for i in scored if col.get(i) == g] for g in order}


def group_cells(by_key: Mapping[tuple[str, Condition], Any], series: Sequence[str],
                metrics: Sequence[str]) -> tuple[GroupCell, ...]:
    """Every group cell of the series whose clean run recorded groups; ``by_key``: (series, condition) -> a stored
    run with ``record`` and ``rows`` (:class:`mattebench.report.robustness.StoredRun`)."""
    out: list[GroupCell] = []
    for s in series:
        clean = by_key.get((s, Condition(CLEAN)))
        if clean is None or clean.rows is None or not clean.record.groups:
            continue
        mapping = GroupMapping.from_json(clean.record.groups)
        conds = sorted((c for (name, c) in by_key if name == s and c.kind != CLEAN), key=lambda c: (c.kind, c.level))
        for column in mapping.columns:
            for g, ids in _group_ids(mapping, column, sorted(clean.rows)).items():
                v, _ = _means(clean.rows, clean.rows, ids, metrics)
                out.append(GroupCell(s, column, g, Condition(CLEAN), len(ids), v, v))
                for c in conds:
                    cell = by_key[(s, c)]
                    if cell.rows is None:
                        continue
                    paired = [i for i in ids if i in cell.rows]
                    vals, ref = _means(cell.rows, clean.rows, paired, metrics)
                    out.append(GroupCell(s, column, g, c, len(paired), vals, ref))
    return tuple(out)


def _degradation(c: GroupCell, metric: str, higher_is_better: bool) -> Optional[float]:
    v, r = c.values.get(metric), c.clean.get(metric)
    if v is None or r is None or r == 0:
        return None
    d = (v - r) / abs(r)
    return -d if higher_is_better else d


def _label(c: Condition) -> str:
    return c.spec().tag() or c.kind


def group_rows(cells: Sequence[GroupCell], column: str, metric: str, fmt: Callable[[Optional[float], str], str],
               higher_is_better: bool = False, name: Callable[[str], str] = str) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of one group column's table on ``metric``: per (series, group) the clean mean, each
    condition's paired mean, and the mean relative degradation over the corruption cells."""
    mine = [c for c in cells if c.column == column]
    conds = list(dict.fromkeys(c.condition for c in mine if c.condition.kind != CLEAN))
    headers = ["Method", column, "n", "clean", *[_label(c) for c in conds], "mean rel. degr."]
    rows = []
    for s, g in dict.fromkeys((c.series, c.group) for c in mine):
        by_cond = {c.condition: c for c in mine if c.series == s and c.group == g}
        clean = by_cond.get(Condition(CLEAN))
        degr = [d for c in conds if c.is_corruption and c in by_cond
                for d in [_degradation(by_cond[c], metric, higher_is_better)] if d is not None]
        mean = f"{100.0 * statistics.fmean(degr):+.0f}%" if degr else "–"
        rows.append([name(s), name(g), str(clean.n if clean else 0), fmt(clean.values.get(metric) if clean else None, metric),
                     *[fmt(by_cond[c].values.get(metric), metric) if c in by_cond else "–" for c in conds], mean])
    return headers, rows


def group_columns(cells: Sequence[GroupCell]) -> list[str]:
    return list(dict.fromkeys(c.column for c in cells))
