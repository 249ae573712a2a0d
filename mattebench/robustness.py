"""The robustness track's engine: the grid of runs, and the table model read back from stored runs.

A *grid* is, for each method, one clean run and one run per (corruption kind, severity), plus, when
asked, one run per trimap band adjustment (``trimap_adjust``) or generated-trimap radius
(``trimap_radius``). Every cell is an ordinary run through :func:`mattebench.runner.evaluate`, stored in
its own folder (``<out>/<dataset>/<method>@corrupt-jpeg-3``; the clean cell is the ordinary
``<out>/<dataset>/<method>``), so a grid resumes like any run, and a cell whose rows are all stored is
not started again (nor is its ``summary.json`` rewritten: a full clean run stays full when a grid
uses ``--limit``).

The *table model* (:class:`RobustnessTable`) is built from stored records only (``summary.json`` and
``samples.csv`` of each run folder). Values are **paired**: a cell's mean and its clean reference are
taken over the same samples (ok in both runs, finite in both), so a clean run over 100 samples and a
cell over 10 compare on those 10. Where a run's ``samples.csv`` is absent (summaries passed in memory),
the summaries' means are used and the table says "unpaired".

Relative degradation of a cell on a metric = (cell - clean) / clean for an error metric (lower is
better; the sign flips for a higher-is-better metric), so 0.5 means 50 % more error than on clean
inputs. The mean relative degradation of a method is the mean over its cells (kinds x severities) of
a corruption; ImageNet-C's mCE normalises by AlexNet's errors instead, which has no counterpart in
matting, so each method is normalised by its own clean run (as ImageNet-C's "relative" variant does
with the clean error).
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

from . import metrics as M
from .data import corrupt as C
from .data.variant import VariantSpec, variant_tag
from .errors import MattebenchError
from .record import RunRecord, as_record
from .store import SAMPLES, SETTINGS, load_summaries, read_rows, run_dir

CLEAN = "clean"
TRIMAP_ADJUST = "trimap-adjust"
TRIMAP_RADIUS = "trimap-radius"


class GridError(MattebenchError):
    """A grid that cannot be run as asked (no methods, a bad severity list)."""


# -- conditions ------------------------------------------------------------------------------------
@dataclass(frozen=True, order=True)
class Condition:
    """What a run changed: ``clean``, a corruption kind at a severity, or a trimap change of ``level`` px."""

    kind: str
    level: int = 0

    @property
    def is_corruption(self) -> bool:
        return self.kind in C.KINDS

    @property
    def is_trimap(self) -> bool:
        return self.kind in (TRIMAP_ADJUST, TRIMAP_RADIUS)

    def spec(self) -> VariantSpec:
        if self.is_corruption:
            return VariantSpec(corrupt=C.Corruption(self.kind, self.level))
        if self.kind == TRIMAP_ADJUST:
            return VariantSpec(trimap_adjust=self.level)
        if self.kind == TRIMAP_RADIUS:
            return VariantSpec(trimap_radius=self.level)
        return VariantSpec()

    def dataset_options(self) -> dict[str, Any]:
        if self.is_corruption:
            return {"corrupt": f"{self.kind}:{self.level}"}
        if self.kind == TRIMAP_ADJUST:
            return {"trimap_adjust": self.level}
        if self.kind == TRIMAP_RADIUS:
            return {"trimap_radius": self.level}
        return {}


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
    v = variant_record(summary)
    if not v:
        return Condition(CLEAN)
    if set(v) == {"corrupt"}:
        return Condition(str(v["corrupt"]["kind"]), int(v["corrupt"]["severity"]))
    if set(v) == {"trimap_adjust"}:
        return Condition(TRIMAP_ADJUST, int(v["trimap_adjust"]))
    if set(v) == {"trimap_radius"}:
        return Condition(TRIMAP_RADIUS, int(v["trimap_radius"]))
    return None


# -- the grid ------------------------------------------------------------------------------------
def parse_severities(text: str | Sequence[int]) -> tuple[int, ...]:
    """``"1-5"``, ``"1,3,5"`` or a sequence -> sorted severities; CorruptionError outside 1..5."""
    if not isinstance(text, str):
        values = [int(v) for v in text]
    else:
        values = []
        for part in [p.strip() for p in text.split(",") if p.strip()]:
            if "-" in part[1:]:
                lo, hi = part.split("-", 1) if not part.startswith("-") else (part, "")
                try:
                    values += list(range(int(lo), int(hi) + 1))
                except ValueError as exc:
                    raise C.CorruptionError(f"severities {text!r}: give a range like 1-5 or a list like 1,3,5") from exc
            else:
                try:
                    values.append(int(part))
                except ValueError as exc:
                    raise C.CorruptionError(f"severities {text!r}: give a range like 1-5 or a list like 1,3,5") from exc
    for v in values:
        if v not in C.SEVERITIES:
            raise C.CorruptionError(f"severity {v} is outside 1..5 (in {text!r})")
    if not values:
        raise C.CorruptionError(f"severities {text!r}: none given")
    return tuple(sorted(set(values)))


def parse_kinds(items: Optional[Iterable[str]]) -> tuple[str, ...]:
    """Kind names (comma lists allowed; ``all`` or nothing = every kind; ``none`` = no corruption, for a
    trimap-only grid), canonical and in table order."""
    names = [n.strip() for item in (items or ()) for n in str(item).split(",") if n.strip()]
    if not names or names == ["all"]:
        return C.KINDS
    if names == ["none"]:
        return ()
    chosen = {C.kind(n).name for n in names}
    return tuple(k for k in C.KINDS if k in chosen)


@dataclass(frozen=True)
class Cell:
    """One run of a grid: a method (and its options) under one condition, in one run folder."""

    method: str
    condition: Condition
    tag: Optional[str]
    method_options: Mapping[str, Any] = field(default_factory=dict)


def plan(methods: Sequence[str], kinds: Sequence[str], severities: Sequence[int], *,
         trimap_adjust: Sequence[int] = (), trimap_radius: Sequence[int] = (), tag: Optional[str] = None,
         method_options: Optional[Mapping[str, Any]] = None) -> list[Cell]:
    """Every cell of the grid, clean cells first. ``tag`` prefixes every cell's tag (``sps_corrupt-jpeg-3``)."""
    if not methods:
        raise GridError("give at least one --method")
    conditions = [Condition(CLEAN)]
    conditions += [Condition(k, s) for k in kinds for s in severities]
    conditions += [Condition(TRIMAP_ADJUST, int(r)) for r in trimap_adjust]
    conditions += [Condition(TRIMAP_RADIUS, int(r)) for r in trimap_radius]
    for c in conditions:  # validates kinds, severities and trimap values before any run starts
        VariantSpec.from_options(c.dataset_options())
    cells = []
    for m in dict.fromkeys(methods):
        for c in conditions:
            auto = c.spec().tag()
            t = "_".join(x for x in (tag, auto) if x) or None
            cells.append(Cell(m, c, t, dict(method_options or {})))
    return cells


def _jsonable(options: Mapping[str, Any], drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """Options as the runner writes them into run.json (its ``_jsonable``): JSON values kept, others repr'd."""
    plain = (int, float, str, bool, type(None), list, dict)
    return {k: (v if isinstance(v, plain) else repr(v)) for k, v in sorted(options.items()) if k not in drop}


def cell_done(path: Path, ids: Sequence[str], method_options: Mapping[str, Any], dataset_options: Mapping[str, Any],
              fingerprint: str) -> bool:
    """True when ``path`` holds this cell's run (same options and data) with an ok row for every id."""
    settings, summary = path / SETTINGS, path / "summary.json"
    if not (settings.is_file() and summary.is_file() and (path / SAMPLES).is_file()):
        return False
    try:
        stored = json.loads(settings.read_text())
    except (OSError, ValueError):
        return False
    if (stored.get("method_options") != _jsonable(method_options, drop=("device",)) or stored.get("dataset_fingerprint") != fingerprint
            or stored.get("dataset_options") != _jsonable(dataset_options)):
        return False  # evaluate() will say what differs (RunConflict)
    ok = {r["id"] for r in read_rows(path / SAMPLES) if r.get("status") == "ok"}
    return all(i in ok for i in ids)


@dataclass(frozen=True)
class CellOutcome:
    cell: Cell
    run_dir: Path
    computed: bool  # False: every row was already stored, nothing ran
    counts: Mapping[str, int]  # the record's counts (Counts.to_json()): total, ok, error, pending


def run_grid(cells: Sequence[Cell], dataset: str, *, out: str | Path = "runs", data_root: Optional[str] = None,
             dataset_options: Optional[Mapping[str, Any]] = None, limit: Optional[int] = None,
             progress: bool = False, fail_fast: bool = False, command: Optional[str] = None,
             on_cell: Any = None) -> list[CellOutcome]:
    """Run every cell not yet stored, each through :func:`mattebench.runner.evaluate`."""
    from .registry import load_dataset
    from .runner import evaluate

    base = dict(dataset_options or {})
    outcomes: list[CellOutcome] = []
    checked: dict[Condition, tuple[list[str], str]] = {}
    for cell in cells:
        dopts = {**base, **cell.condition.dataset_options()}
        if cell.condition not in checked:
            ds = load_dataset(dataset, root=data_root, **dopts)
            ids = list(ds.ids())[: limit if limit is not None else None]
            checked[cell.condition] = (ids, ds.fingerprint())
        ids, fingerprint = checked[cell.condition]
        path = run_dir(out, dataset, cell.method, cell.tag)
        if cell_done(path, ids, cell.method_options, dopts, fingerprint):
            counts = RunRecord.from_json(json.loads((path / "summary.json").read_text())).counts.to_json()
            outcome = CellOutcome(cell, path, False, counts)
        else:
            _, summary = evaluate(cell.method, dataset, method_options=dict(cell.method_options), dataset_options=dopts,
                                  data_root=data_root, out=out, tag=cell.tag, limit=limit, progress=progress,
                                  fail_fast=fail_fast, command=command)
            outcome = CellOutcome(cell, path, True, summary.counts.to_json())
        outcomes.append(outcome)
        if on_cell is not None:
            on_cell(outcome)
    return outcomes


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
