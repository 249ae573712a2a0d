"""The plan: a bash script with every train/adapt/run/bench command still needed to fill the paper's tables.

``mattebench tables --plan`` prints it. The cells come from :mod:`mattebench.report.paper` (which run
fills which row) and the stored runs (which exist); the script's fixed parts are the template
``mattebench/report/assets/plan.sh.j2``. Each command runs through ``step``, so a failure is counted and the
script goes on; a command this install cannot run yet is written commented out, with the reason.

The plan writes commands that run methods and checks each against the registry (:func:`unsupported`), so
it is not a report: it lives outside ``mattebench.report`` (the ``engines`` part of
:mod:`mattebench.architecture_rules`), and the report's tables never import the registry.
"""

from __future__ import annotations

import os
import re
import shlex
from typing import Any, Optional, Sequence

from jinja2 import Environment, PackageLoader, StrictUndefined

from mattebench.errors import MattebenchError, UsageError
from mattebench.methods.options import declared_options
from mattebench.methods.registry import method_entry
from mattebench.report.paper import (
    EXTRAS_FOR_TABLE,
    OFFICIAL_CHECKPOINT_VAR,
    PLAN_VARIABLES,
    TABLES,
    TRAIN_CONFIGS,
    PaperTable,
    RowSpec,
    TrainConfig,
    bench_command,
    bench_targets,
    extra_command,
    proxy_dataset,
    required_training,
    row_spec,
)
from mattebench.report.tables import Cell, RunKey, index_runs
from mattebench.runs.record import RunRecord
from mattebench.runs.store import load_summaries

_TEMPLATES = Environment(loader=PackageLoader("mattebench.report", "assets"), undefined=StrictUndefined,
                         keep_trailing_newline=True, autoescape=False)  # a shell script, not HTML


def unsupported(method: str, options: dict[str, Any]) -> list[str]:
    """Why this install cannot run ``method`` with ``options`` yet (empty: it can): the method is not
    registered, or its factory does not take some option. Read from the factory's signature, so a plan
    written after the option lands lists the command as runnable."""
    try:
        factory = method_entry(method).factory
    except MattebenchError:
        return [f"method {method!r} is not installed"]
    params = declared_options(factory)  # the same declaration `run` checks -m options against
    if params is None:  # the factory takes any option
        return []
    return [f"{method} does not accept {k}=" for k in options if k not in params]


def train_gaps(cfg: TrainConfig) -> list[str]:
    """What this install lacks to train (or adapt) ``cfg``."""
    return unsupported(cfg.method, {**cfg.arch_options, **cfg.train_options})


def row_gaps(spec: RowSpec) -> list[str]:
    """What this install lacks to fill the row (its training configuration's gaps included)."""
    out = unsupported(spec.method, spec.method_options)
    if spec.train:
        cfg = TRAIN_CONFIGS[spec.train]
        out += [g for g in train_gaps(cfg) if g not in out]
        if cfg.start_from:
            out += [g for g in train_gaps(TRAIN_CONFIGS[cfg.start_from]) if g not in out]
    return out


def _unique_cells(cells: Sequence[Cell]) -> list[Cell]:
    seen: set[RunKey] = set()
    out = []
    for c in cells:
        key = (c.dataset, c.spec.method, c.spec.tag)
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out


def _step(indent: str, command: str, gaps: Sequence[str], guard: str = "") -> list[str]:
    """One plan line: ``step CMD`` (a failure is counted, the script goes on), commented out with the reason
    when this install cannot run it yet."""
    line = f"{guard}step {command}"
    if gaps:
        return [f"{indent}# NOT YET RUNNABLE ({'; '.join(gaps)}):", f"{indent}# {line}"]
    return [indent + line]


def _plan_block(all_cells: Sequence[Cell], indent: str = "", trained: Optional[set[str]] = None) -> list[str]:
    """Training lines (each config once per script: ``trained`` collects them) then evaluation lines."""
    cells = _unique_cells(all_cells)
    lines: list[str] = []
    trained = trained if trained is not None else set()
    train = [cfg for cfg in required_training([c.spec.key for c in cells]) if cfg.name not in trained]
    trained.update(cfg.name for cfg in train)
    if train:
        lines.append(f"{indent}# training ({len(train)} models; a checkpoint that exists is not retrained)")
        for cfg in train:
            lines.append(f"{indent}# {cfg.description}")
            gaps = train_gaps(cfg) + (train_gaps(TRAIN_CONFIGS[cfg.start_from]) if cfg.start_from else [])
            lines += _step(indent, cfg.command(), gaps, guard=f'[ -f "{cfg.checkpoint}" ] || ')
        lines.append("")
    lines.append(f"{indent}# evaluation ({len(cells)} runs)")
    for c in cells:
        nums = sorted({x.table for x in all_cells if (x.dataset, x.spec.method, x.spec.tag) == (c.dataset, c.spec.method, c.spec.tag)})
        label = c.row.label + (" (trimap)" if c.row.trimap else "")
        lines.append(f"{indent}# Table {', '.join(map(str, nums))}: {label}")
        lines += _step(indent, c.spec.run_command(c.dataset), row_gaps(c.spec))
    return lines


def _extra_commands(tables: Sequence[PaperTable], runs: dict[RunKey, RunRecord]) -> list[str]:
    out: list[str] = []
    seen: set[RunKey] = set()
    for t in tables:
        for e in EXTRAS_FOR_TABLE.get(t.number, ()):
            key = (t.dataset, e.method, e.tag)
            if key in runs or key in seen:
                continue
            seen.add(key)
            guard = '[ ! -f "$MODNET_OFFICIAL" ] || ' if e.key == "modnet-official" else ""
            out += _step("", extra_command(e, t.dataset), unsupported(e.method, {}), guard=guard)
    return out


def _missing_cells(runs: dict[RunKey, RunRecord], tables: Sequence[PaperTable]) -> tuple[list[Cell], list[Cell], list[str]]:
    """Cells without a run on the paper's datasets, on the synthetic proxies, and the rows nobody can run."""
    missing: list[Cell] = []
    synth_missing: list[Cell] = []
    unavailable: list[str] = []
    for t in tables:
        proxy = proxy_dataset(t)
        for row in t.rows:
            spec = row_spec(row.key)
            if not spec.available:
                unavailable.append(f"# Table {t.number}, {row.label}: {spec.note} (the cell keeps the paper's value only)")
                continue
            if (t.dataset, spec.method, spec.tag) not in runs:
                missing.append(Cell(t.number, row, spec, t.dataset))
            if (proxy, spec.method, spec.tag) not in runs:
                synth_missing.append(Cell(t.number, row, spec, proxy))
    return missing, synth_missing, unavailable


def _bench_lines(bench: Optional[Sequence[Any]]) -> tuple[int, list[str]]:
    """Figure 6's bench commands (how many, the lines) for the methods without a result at 512 in ``bench``
    (a list of figures.BenchPoint)."""
    benched = {(p.method, tuple(sorted(((p.extra.get("options") or {})).items()))) for p in (bench or []) if p.size in (None, 512)}
    todo = [(m, o) for m, o in bench_targets() if (m, tuple(sorted(o.items()))) not in benched]
    lines: list[str] = []
    for m, o in todo:
        lines += _step("", bench_command(m, o), unsupported(m, o))
    return len(todo), lines


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def shell_word(value: str | os.PathLike[str], what: str) -> str:
    """``value`` as one bash word (:func:`shlex.quote`), for a user's string the script names. A control
    character (a newline ends a command, even in a comment) is refused: no quoting shows it in a readable
    script, and no sane path holds one."""
    text = os.fspath(value)
    bad = _CONTROL.search(text)
    if bad:
        raise UsageError(f"{what} {text!r} holds the control character {bad.group()!r}: the plan cannot name it in a "
                         f"shell script safely. Rename the folder (or use a symbolic link without it) and rerun.")
    return shlex.quote(text)


def build_plan(runs_dir: str | os.PathLike[str], *, summaries: Optional[Sequence[RunRecord | dict[str, Any]]] = None,
               tables: Sequence[PaperTable] = TABLES, bench: Optional[Sequence[Any]] = None) -> str:
    """A bash script with every command still needed to fill the tables (paper datasets first, then synthetic,
    optional extras, then the bench runs of Figure 6 missing from ``bench``, a list of figures.BenchPoint)."""
    runs_text = shell_word(runs_dir, "--runs")
    runs = index_runs(summaries if summaries is not None else load_summaries(runs_dir))
    missing, synth_missing, unavailable = _missing_cells(runs, tables)
    trained: set[str] = set()  # each training config once per script, across both sections
    paper_lines = _plan_block(missing, trained=trained) if missing else []
    synth_lines = _plan_block(synth_missing, indent="  ", trained=trained) if synth_missing else []
    n_bench, bench_lines = _bench_lines(bench)
    return _TEMPLATES.get_template("plan.sh.j2").render(
        runs_dir=runs_text, variables=(*PLAN_VARIABLES, OFFICIAL_CHECKPOINT_VAR), unavailable=unavailable,
        n_missing=len(_unique_cells(missing)), paper_lines=paper_lines,
        n_synth_missing=len(_unique_cells(synth_missing)), synth_lines=synth_lines,
        extras=["  " + e for e in _extra_commands(tables, runs)], n_bench=n_bench,
        bench_lines=bench_lines,
    )
