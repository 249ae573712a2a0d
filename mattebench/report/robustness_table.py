"""The robustness track's table model, read back from stored runs: conditions, stored runs, the table.

A run's *condition* (:class:`Condition`) is what it changed: ``clean``, a corruption kind at a
severity, or a trimap change, read from its record's ``dataset_variant``. The *table model*
(:class:`RobustnessTable`) is built from stored records only (``summary.json`` and ``samples.csv`` of
each run folder). Values are **paired**: a cell's mean and its clean reference are taken over the same
samples (ok in both runs, finite in both), so a clean run over 100 samples and a cell over 10 compare on
those 10. Where a run's ``samples.csv`` is absent (summaries passed in memory), the summaries' means are
used and the table says "unpaired".

Relative degradation of a cell on a metric = (cell - clean) / clean for an error metric (lower is
better; the sign flips for a higher-is-better metric), so 0.5 means 50 % more error than on clean
inputs. The mean relative degradation of a method is the mean over its cells (kinds x severities) of
a corruption; ImageNet-C's mCE normalises by AlexNet's errors instead, which has no counterpart in
matting, so each method is normalised by its own clean run (as ImageNet-C's "relative" variant does
with the clean error).

This module is the report side of the track: it imports only the record, the store, metrics and data
(corruption kinds), never the runner; :mod:`mattebench.robustness` (the grid runner) imports it.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Union

from .. import metrics as M
from ..data import corrupt as C
from ..data.condition import CLEAN, Condition, condition_of_variant
from ..data.variant import variant_tag
from ..record import RunRecord, as_record
from ..store import SAMPLES, load_summaries, read_rows

Run = Union[RunRecord, Mapping[str, Any]]  # a run record, or its JSON object (upgraded as it is read)


def variant_record(summary: Run) -> dict[str, Any]:
    """A run's variant record (``dataset_variant``; a v1 file's is rebuilt from its dataset options when it is
    read, :func:`mattebench.record.upgrade_v1`), else ``{}``."""
    return dict(as_record(summary).dataset_variant or {})


def is_variant_run(summary: Run) -> bool:
    """True for a corrupted or trimap-changed run: such runs stay out of the clean leaderboard tables."""
    return as_record(summary).is_variant


def condition_of(summary: Run) -> Optional[Condition]:
    """The run's condition; None for a variant this track does not chart (two changes at once)."""
    return condition_of_variant(variant_record(summary))


# -- the table model -----------------------------------------------------------------------------
@dataclass(frozen=True)
class StoredRun:
    """A stored run as the table needs it: its record and, when on disk, its rows by id."""

    record: RunRecord
    rows: Optional[Mapping[str, Mapping[str, Any]]] = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "record", as_record(self.record))  # a JSON object is read as a record

    @classmethod
    def from_summary(cls, summary: Run) -> "StoredRun":
        """The run with its ok rows read from its folder (``run_dir``), when they can be read."""
        summary = as_record(summary)
        d = summary.run_dir
        f = Path(str(d)) / SAMPLES if d else None
        try:
            rows = {r["id"]: r for r in read_rows(f) if r.get("status") == "ok"} if f is not None and f.is_file() else None
        except (OSError, UnicodeError, ValueError):  # unreadable rows: the table falls back to the record's means
            rows = None
        return cls(summary, rows)


@dataclass(frozen=True)
class CellValue:
    """One (series, condition) of the table: paired means, the clean means over the same samples, n."""

    series: str
    condition: Condition
    values: Mapping[str, Optional[float]]
    clean: Mapping[str, Optional[float]]
    n: int
    paired: bool
    run: str

    def degradation(self, metric: str) -> Optional[float]:
        v, c = self.values.get(metric), self.clean.get(metric)
        if v is None or c is None or c == 0 or not math.isfinite(v) or not math.isfinite(c):
            return None
        d = (v - c) / abs(c)
        return -d if _higher_is_better(metric) else d


@dataclass(frozen=True)
class RobustnessTable:
    dataset: str
    primary: str
    metrics: tuple[str, ...]
    series: tuple[str, ...]
    kinds: tuple[str, ...]  # corruption kinds present, in table order
    severities: tuple[int, ...]
    cells: tuple[CellValue, ...]
    clean: Mapping[str, Mapping[str, Optional[float]]]  # series -> clean means over its own samples
    trimap: tuple[CellValue, ...] = ()

    def cell(self, series: str, kind: str, severity: int) -> Optional[CellValue]:
        for c in self.cells:
            if c.series == series and c.condition == Condition(kind, severity):
                return c
        return None

    def mean_degradation(self, series: str, metric: str, kind: Optional[str] = None) -> Optional[float]:
        """Mean relative degradation of ``series`` over its corruption cells (of ``kind`` when given)."""
        vals = [d for c in self.cells if c.series == series and (kind is None or c.condition.kind == kind)
                for d in [c.degradation(metric)] if d is not None]
        return float(statistics.fmean(vals)) if vals else None


def _higher_is_better(metric: str) -> bool:
    info = M.METRICS.get(metric)
    return info is not None and not getattr(info, "lower_is_better", True)


def series_name(summary: Run) -> str:
    """The method (and the base of its tag): ``modnet``, ``modnet@sps`` for ``modnet@sps_corrupt-jpeg-3``."""
    summary = as_record(summary)
    tag = summary.tag or ""
    variant = variant_record(summary)
    auto = variant_tag(variant) if variant and "unparsed" not in variant else None
    if auto and tag == auto:
        tag = ""
    elif auto and tag.endswith("_" + auto):
        tag = tag[: -len(auto) - 1]
    return f"{summary.method}@{tag}" if tag else summary.method


def _means(summary: RunRecord, metrics: Sequence[str]) -> dict[str, Optional[float]]:
    return {m: summary.mean(m) for m in metrics}


def _finite(row: Mapping[str, Any], m: str) -> Optional[float]:
    v = row.get(m)
    return float(v) if isinstance(v, (int, float)) and math.isfinite(float(v)) else None


def _paired(cell: StoredRun, clean: Optional[StoredRun], metrics: Sequence[str]) -> tuple[dict, dict, int, bool]:
    if clean is None:
        return _means(cell.record, metrics), {m: None for m in metrics}, cell.record.counts.ok, False
    if cell.rows is None or clean.rows is None:
        return _means(cell.record, metrics), _means(clean.record, metrics), cell.record.counts.ok, False
    ids = sorted(set(cell.rows) & set(clean.rows))
    vals: dict[str, Optional[float]] = {}
    ref: dict[str, Optional[float]] = {}
    for m in metrics:
        pairs = [(a, b) for i in ids for a, b in [(_finite(cell.rows[i], m), _finite(clean.rows[i], m))] if a is not None and b is not None]
        vals[m] = float(statistics.fmean(a for a, _ in pairs)) if pairs else None
        ref[m] = float(statistics.fmean(b for _, b in pairs)) if pairs else None
    return vals, ref, len(ids), True


def _metric_order(records: Sequence[StoredRun]) -> tuple[str, ...]:
    seen = {k for r in records for k in r.record.means if k in M.METRICS}
    return tuple(k for k in (*M.WHOLE_METRICS, *M.UNKNOWN_METRICS, *M.VIDEO_METRICS) if k in seen)


def build_table(records: Sequence[StoredRun], dataset: str, series: Optional[Sequence[str]] = None) -> Optional[RobustnessTable]:
    """The table of ``dataset`` from stored runs (None when it has no corrupted or trimap-changed run)."""
    mine = [r for r in records if r.record.dataset == dataset and r.record.method_card.on_leaderboard]
    mine.sort(key=lambda r: str(r.record.run_dir or ""))
    by_key: dict[tuple[str, Condition], StoredRun] = {}
    for r in mine:
        cond = condition_of(r.record)
        if cond is not None:
            by_key.setdefault((series_name(r.record), cond), r)
    variant_series = sorted({s for (s, c) in by_key if c.kind != CLEAN})
    names = tuple(s for s in (series or variant_series) if s in variant_series)
    if not names:
        return None
    used = [r for (s, _), r in by_key.items() if s in names]
    metrics = _metric_order(used)
    primary = used[0].record.dataset_card.primary_metric
    primary = primary if primary in metrics or not metrics else metrics[0]
    cells, trimap = [], []
    for (s, cond), r in sorted(by_key.items()):
        if s not in names or cond.kind == CLEAN:
            continue
        vals, ref, n, paired = _paired(r, by_key.get((s, Condition(CLEAN))), metrics)
        cv = CellValue(s, cond, vals, ref, n, paired, Path(str(r.record.run_dir or "")).name or s)
        (cells if cond.is_corruption else trimap).append(cv)
    clean = {s: _means(by_key[(s, Condition(CLEAN))].record, metrics) for s in names if (s, Condition(CLEAN)) in by_key}
    kinds = tuple(k for k in C.KINDS if any(c.condition.kind == k for c in cells))
    sevs = tuple(sorted({c.condition.level for c in cells}))
    return RobustnessTable(dataset, primary, metrics, names, kinds, sevs, tuple(cells), clean, tuple(trimap))


def load_tables(runs: str | Path, summaries: Optional[Sequence[Run]] = None) -> list[RobustnessTable]:
    """One table per dataset that has variant runs, from ``runs`` (or the given records or JSON objects)."""
    records = [StoredRun.from_summary(s) for s in (summaries if summaries is not None else load_summaries(runs))]
    out = []
    for d in sorted({r.record.dataset for r in records if r.record.is_variant}):
        t = build_table(records, d)
        if t is not None:
            out.append(t)
    return out
