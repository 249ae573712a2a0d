"""The robustness track: the grid of runs, and running it end to end (plan, run the missing cells, write
its tables and figure).

The robustness track's engine: the grid of runs.

A *grid* is, for each method, one clean run and one run per (corruption kind, severity), plus, when
asked, one run per trimap band adjustment (``trimap_adjust``) or generated-trimap radius
(``trimap_radius``). Every cell is an ordinary run through :func:`mattebench.runs.runner.evaluate`, stored in
its own folder (``<out>/<dataset>/<method>@corrupt-jpeg-3``; the clean cell is the ordinary
``<out>/<dataset>/<method>``), so a grid resumes like any run, and a cell whose rows are all stored is
not started again (nor is its ``summary.json`` rewritten: a full clean run stays full when a grid
uses ``--limit``).

A cell's :class:`~mattebench.data.condition.Condition` comes from the data part. The table model read back
from the stored runs (:class:`StoredRun`, :class:`RobustnessTable`, :func:`build_table`, :func:`load_tables`,
:func:`condition_of`) lives on the report side, in :mod:`mattebench.report.robustness`, so the report
never imports this runner-side module (nor this module the report).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence

from mattebench.data import corrupt as C
from mattebench.data import sample_inputs
from mattebench.data.condition import CLEAN, TRIMAP_ADJUST, TRIMAP_RADIUS, Condition
from mattebench.data.variant import VariantSpec
from mattebench.errors import GridError
from mattebench.runs.record import RunRecord
from mattebench.runs.store import SAMPLES, SETTINGS, read_rows, run_dir


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
              fingerprint: str, dataset: Any = None) -> bool:
    """True when ``path`` holds this cell's run (same options and data) with an ok row for every id; with
    ``dataset``, only while each of those rows' input files are still the ones it was scored from
    (mattebench.data.sample_inputs), else evaluate() resumes and recomputes the changed samples."""
    settings, summary = path / SETTINGS, path / "summary.json"
    if not (settings.is_file() and summary.is_file() and (path / SAMPLES).is_file()):
        return False
    try:
        stored = json.loads(settings.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if (stored.get("method_options") != _jsonable(method_options, drop=("device",)) or stored.get("dataset_fingerprint") != fingerprint
            or stored.get("dataset_options") != _jsonable(dataset_options)):
        return False  # evaluate() will say what differs (RunConflict)
    ok = {r["id"]: r for r in read_rows(path / SAMPLES) if r.get("status") == "ok"}
    if not all(i in ok for i in ids):
        return False
    return dataset is None or all(sample_inputs.why_changed(dataset, ok[i]) is None for i in ids)


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
    """Run every cell not yet stored, each through :func:`mattebench.runs.runner.evaluate`."""
    from mattebench.methods.registry import load_dataset
    from mattebench.runs.runner import evaluate

    base = dict(dataset_options or {})
    outcomes: list[CellOutcome] = []
    checked: dict[Condition, tuple[list[str], str, Any]] = {}
    for cell in cells:
        dopts = {**base, **cell.condition.dataset_options()}
        if cell.condition not in checked:
            ds = load_dataset(dataset, root=data_root, **dopts)
            ids = list(ds.ids())[: limit if limit is not None else None]
            checked[cell.condition] = (ids, ds.fingerprint(), ds)
        ids, fingerprint, ds = checked[cell.condition]
        path = run_dir(out, dataset, cell.method, cell.tag)
        if cell_done(path, ids, cell.method_options, dopts, fingerprint, ds):
            counts = RunRecord.from_json(json.loads((path / "summary.json").read_text(encoding="utf-8"))).counts.to_json()
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


# ----------------------------------------------------------------------------------------------------
# The robustness track end to end: plan the corruption grid, run every missing cell, write its tables and
# figures (the engine of `mattebench robustness`; the grid itself is :mod:`mattebench.tracks.robustness`).
# ----------------------------------------------------------------------------------------------------

# Dataset options the grid sets itself on every cell: a user value would be overwritten silently (the command refuses them).
RESERVED_DATASET_OPTIONS = ("corrupt", "trimap_radius", "trimap_adjust")


@dataclass(frozen=True)
class TrackJob:
    """The arguments of `mattebench robustness`."""

    methods: tuple[str, ...]
    dataset: str
    kinds: tuple[str, ...]
    severities: tuple[int, ...]
    trimap_adjust: tuple[int, ...] = ()
    trimap_radius: tuple[int, ...] = ()
    method_options: dict[str, Any] = field(default_factory=dict)
    dataset_options: dict[str, Any] = field(default_factory=dict)
    tag: Optional[str] = None
    limit: Optional[int] = None
    out: str = "runs"
    report: str = "leaderboards/robustness"
    metric: Optional[str] = None
    data_root: Optional[str] = None
    fail_fast: bool = False
    progress: bool = True
    command: Optional[str] = None


@dataclass(frozen=True)
class TrackOutcome:
    """Every cell's outcome, the report files written, and how many samples failed over all cells."""

    cells: tuple[CellOutcome, ...]
    written: tuple[Path, ...]
    failed: int


def run_track(job: TrackJob, on_cell: Callable[[int, int, CellOutcome], None] = lambda i, n, o: None) -> TrackOutcome:
    """Plan and run the grid (``on_cell(i, n, outcome)`` after each of the n cells), then write the reports."""
    cells = plan(job.methods, job.kinds, job.severities, trimap_adjust=job.trimap_adjust,
                 trimap_radius=job.trimap_radius, tag=job.tag, method_options=job.method_options)
    done = [0]

    def report(o: CellOutcome) -> None:
        done[0] += 1
        on_cell(done[0], len(cells), o)

    outcomes = run_grid(cells, job.dataset, out=job.out, data_root=job.data_root, dataset_options=job.dataset_options,
                        limit=job.limit, progress=job.progress, fail_fast=job.fail_fast, on_cell=report,
                        command=job.command)
    from mattebench.report.robustness import (
        write_reports,  # the report reads what the runs stored
    )

    written = write_reports(job.out, job.report, datasets=[job.dataset], metric=job.metric)
    failed = sum(int(o.counts.get("error", 0) or 0) for o in outcomes)
    return TrackOutcome(tuple(outcomes), tuple(written), failed)
