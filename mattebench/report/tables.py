"""The MODNet paper's Tables 1-5 regenerated from stored runs, each measured value beside the paper's.

Input: the run summaries under a runs folder (``<runs>/<dataset>/<method>[@tag]/summary.json``) and,
for Figure 6, ``mattebench bench`` results. Output: one markdown document.

Per table:
- the paper's rows, in the paper's order: the paper's MSE and MAD exactly as printed, the measured
  ``mse_whole`` / ``mad_whole`` of the run that fills the row (see :mod:`.table_spec`), the difference
  ``measured - paper``, and a footnote with the run's provenance; ``— not run`` where no run exists;
- rows not in the paper (official v1 checkpoint, classical methods) when they have runs;
- other runs of the table's methods on its dataset that match no row (shown, never hidden);
- a separate section for runs on the embedded synthetic set: *measured on synthetic, not comparable*.

Nothing here computes a metric: every measured number is read from a summary.json.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any, Optional, Sequence

from tabulate import tabulate

from ..store import load_summaries
from .leaderboard import provenance_note
from .visibility import published
from .paper_values import TABLES, PaperRow, PaperTable
from .table_spec import (
    EXTRA_TRIMAP,
    EXTRAS_FOR_TABLE,
    OFFICIAL_CHECKPOINT_VAR,
    PLAN_VARIABLES,
    ROW_SPECS,
    TRAIN_CONFIGS,
    RowSpec,
    bench_command,
    bench_targets,
    extra_command,
    proxy_dataset,
    required_training,
    row_spec,
    unsupported,
)

NOT_RUN = "— not run"
NOT_AVAILABLE = "— not in mattebench"
NO_VALUE = "—"
MSE_KEY, MAD_KEY = "mse_whole", "mad_whole"

RunKey = tuple[str, str, Optional[str]]  # (dataset, method, tag)


# -- formatting ----------------------------------------------------------------------------------
def fmt_value(v: Optional[float]) -> str:
    """Four decimals like the paper; values too small for that keep three significant digits."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return NO_VALUE
    if v != 0 and abs(v) < 5e-5:
        return f"{v:.2e}"
    return f"{v:.4f}"


def fmt_diff(measured: Optional[float], paper: Optional[float]) -> str:
    """``measured - paper`` with its sign (negative: mattebench measured a lower error)."""
    if measured is None or paper is None or (isinstance(measured, float) and math.isnan(measured)):
        return ""
    d = measured - paper
    if d != 0 and abs(d) < 5e-5:
        return f"{d:+.2e}"
    return f"{d:+.4f}"


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


# -- runs ----------------------------------------------------------------------------------------
def index_runs(summaries: Sequence[dict[str, Any]]) -> dict[RunKey, dict[str, Any]]:
    return {(s.get("dataset", ""), s.get("method", ""), s.get("tag") or None): s for s in published(summaries)}


def _means(s: dict[str, Any]) -> tuple[Optional[float], Optional[float]]:
    m = s.get("means", {}) or {}
    return m.get(MSE_KEY), m.get(MAD_KEY)


def _marks(s: dict[str, Any], spec: Optional[RowSpec]) -> list[str]:
    """Why a measured value may not be what it seems (shown next to the numbers)."""
    out = []
    if s.get("subset"):
        out.append("subset*")
    if not s.get("complete", True):
        c = s.get("counts", {})
        out.append(f"incomplete {c.get('ok', 0)}/{c.get('total', 0)}")
    if (s.get("counts", {}) or {}).get("error"):
        out.append(f"{s['counts']['error']} failed")
    needs_weights = (spec is not None and spec.checkpoint) or (s.get("method_card", {}) or {}).get("trainable")
    if needs_weights and not (s.get("provenance", {}) or {}).get("checkpoint_sha256"):
        out.append("no checkpoint: untrained weights")
    return out


class _Notes:
    """Footnotes shared by the whole document (one per run, numbered in order of first use)."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.by_dir: dict[str, int] = {}

    def ref(self, s: dict[str, Any]) -> str:
        key = str(s.get("run_dir") or (s.get("dataset"), s.get("method"), s.get("tag")))
        if key not in self.by_dir:
            self.items.append(f"`{s.get('run_dir', '?')}`: {provenance_note(s)}")
            self.by_dir[key] = len(self.items)
        return f"[^{self.by_dir[key]}]"


@dataclass
class Cell:
    """One paper row on one dataset with no run yet: what `--plan` must produce."""

    table: int
    row: PaperRow
    spec: RowSpec
    dataset: str


def _measured(s: Optional[dict[str, Any]], spec: Optional[RowSpec], notes: _Notes, row: Optional[PaperRow]) -> list[str]:
    """[measured MSE, measured MAD, Δ MSE, Δ MAD, run]."""
    if spec is not None and not spec.available:
        return [NOT_AVAILABLE, "", "", "", spec.note]
    if s is None:
        return [NOT_RUN, "", "", "", ""]
    mse, mad = _means(s)
    marks = _marks(s, spec)
    suffix = f" ({', '.join(marks)})" if marks else ""
    run = f"`{_run_name(s)}` {notes.ref(s)}"
    return [
        fmt_value(mse) + suffix,
        fmt_value(mad),
        fmt_diff(mse, row.mse if row else None),
        fmt_diff(mad, row.mad if row else None),
        run,
    ]


def _run_name(s: dict[str, Any]) -> str:
    return s.get("method", "?") + (f"@{s['tag']}" if s.get("tag") else "")


def _row_head(table: PaperTable, row: PaperRow) -> list[str]:
    if table.columns == ("trimap",):
        return [row.label, _yes(row.trimap)]
    flags = row.ablation or {}
    return [row.label, *["x" if flags.get(c) else "" for c in table.columns]]


def _headers(table: PaperTable) -> list[str]:
    first = ["Method", "Trimap"] if table.columns == ("trimap",) else ["Row", *table.columns]
    return [*first, "Paper MSE", "Paper MAD", "Measured MSE", "Measured MAD", "Δ MSE", "Δ MAD", "Run"]


def _table_methods(table: PaperTable) -> set[str]:
    methods = {row_spec(r.key).method for r in table.rows}
    methods |= {e.method for e in EXTRAS_FOR_TABLE.get(table.number, ())}
    return methods


def render_table(table: PaperTable, runs: dict[RunKey, dict[str, Any]], notes: _Notes) -> tuple[str, list[Cell]]:
    """The markdown of one table and the cells that still need a run."""
    lines = [f"## Table {table.number}: {table.title}", ""]
    lines += [f"Dataset: `{table.dataset}`. {table.notes}".rstrip(), ""]
    body: list[list[str]] = []
    missing: list[Cell] = []
    used: set[RunKey] = set()
    for row in table.rows:
        spec = row_spec(row.key)
        key = (table.dataset, spec.method, spec.tag)
        s = runs.get(key) if spec.available else None
        if s is not None:
            used.add(key)
        elif spec.available:
            missing.append(Cell(table.number, row, spec, table.dataset))
        body.append([*_row_head(table, row), row.mse_text, row.mad_text, *_measured(s, spec, notes, row)])
    lines += [tabulate(body, headers=_headers(table), tablefmt="github", disable_numparse=True), ""]

    extras = []
    for e in EXTRAS_FOR_TABLE.get(table.number, ()):
        key = (table.dataset, e.method, e.tag)
        if key in runs:
            used.add(key)
            label = e.run_name + (f" ({e.note})" if e.note else "")
            trimap = "yes" if e.method in EXTRA_TRIMAP else "no"
            mse, mad, _, _, run = _measured(runs[key], None, notes, None)
            extras.append([label, trimap, mse, mad, run])
    if extras:
        lines += ["Not in the paper, measured here:", ""]
        lines += [tabulate(extras, headers=["Method", "Trimap", "Measured MSE", "Measured MAD", "Run"], tablefmt="github", disable_numparse=True), ""]

    methods = _table_methods(table)
    others = [s for k, s in sorted(runs.items(), key=lambda kv: str(kv[0])) if k[0] == table.dataset and k[1] in methods and k not in used]
    if others:
        lines += [f"Other runs of these methods on `{table.dataset}` (their tag matches no row of this table):", ""]
        lines += [_plain_table(others, notes), ""]

    proxy = proxy_dataset(table)
    synth = [s for k, s in sorted(runs.items(), key=lambda kv: str(kv[0])) if k[0] == proxy and k[1] in methods]
    lines += [f"### Measured on `{proxy}`, not comparable with the paper's numbers", ""]
    if synth:
        lines += [
            f"The embedded `{proxy}` set is not {table.dataset}: these rows show what the same methods do on "
            "mattebench's procedurally generated portraits (trained on it where training applies). "
            "Compare them with each other only.",
            "",
            _plain_table(synth, notes, table),
            "",
        ]
    else:
        lines += [f"No runs on `{proxy}` yet (`mattebench tables --plan` lists them).", ""]
    return "\n".join(lines), missing


def _stands_for(s: dict[str, Any], table: Optional[PaperTable]) -> str:
    if table is None:
        return ""
    for row in table.rows:
        spec = ROW_SPECS.get(row.key)
        if spec is not None and spec.method == s.get("method") and spec.tag == (s.get("tag") or None):
            return row.label
    for e in EXTRAS_FOR_TABLE.get(table.number, ()):
        if e.method == s.get("method") and e.tag == (s.get("tag") or None):
            return "(not in the paper; trimap-based)" if e.method in EXTRA_TRIMAP else "(not in the paper)"
    # Same method as exactly one row, other settings (an embedded-set run is trained differently): say which
    # row it resembles without claiming it reproduces it.
    same = [row for row in table.rows if (spec := ROW_SPECS.get(row.key)) is not None and spec.method == s.get("method")]
    if len(same) == 1:
        row = same[0]
        return f"same method as {row.label} ({'trimap' if row.trimap else 'no trimap'}); other training"
    return "(no paper row)"


def _plain_table(summaries: list[dict[str, Any]], notes: _Notes, table: Optional[PaperTable] = None) -> str:
    rows = []
    for s in summaries:
        mse, mad = _means(s)
        marks = _marks(s, None)
        c = s.get("counts", {})
        ck = (s.get("provenance", {}) or {}).get("checkpoint")
        rows.append([
            f"`{_run_name(s)}`",
            _stands_for(s, table),
            fmt_value(mse) + (f" ({', '.join(marks)})" if marks else ""),
            fmt_value(mad),
            f"{c.get('ok', 0)}/{c.get('total', 0)}" + (f" of {s.get('n_dataset')}" if s.get("subset") else ""),
            f"`{os.path.basename(str(ck))}`" if ck else "none",
            notes.ref(s),
        ])
    headers = ["Run", "Stands for", "MSE", "MAD", "Samples", "Checkpoint", "Provenance"]
    if table is None:
        headers.pop(1)
        rows = [r[:1] + r[2:] for r in rows]
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)


# -- the document ----------------------------------------------------------------------------------
def render_document(
    runs_dir: str | os.PathLike[str],
    *,
    summaries: Optional[Sequence[dict[str, Any]]] = None,
    speed_section: Optional[str] = None,
    tables: Sequence[PaperTable] = TABLES,
) -> tuple[str, list[Cell]]:
    """The whole markdown (Tables 1-5, Figure 6 section, provenance) and the cells without a run."""
    runs = index_runs(summaries if summaries is not None else load_summaries(runs_dir))
    notes = _Notes()
    out = [
        "# The MODNet paper's Tables 1-5, regenerated by mattebench",
        "",
        "Paper values are as printed in Ke et al., *MODNet: Real-Time Trimap-Free Portrait Matting via Objective "
        "Decomposition*, AAAI 2022. Measured values are read from the runs under "
        f"`{runs_dir}` (`mse_whole`, `mad_whole`: every pixel, alpha in [0, 1]); Δ = measured − paper "
        "(negative: lower error measured here). "
        f"`{NOT_RUN}`: no run yet (`mattebench tables --plan` prints the commands). † = backbone pre-trained on SPS. "
        "The paper's models were trained on a private set of ~3,000 portraits: a measured value is only as "
        "close to the paper's as the training data and checkpoint behind it (see each run's footnote).",
        "",
    ]
    all_missing: list[Cell] = []
    for t in tables:
        text, missing = render_table(t, runs, notes)
        out += [text]
        all_missing += missing
    if speed_section:
        out += [speed_section, ""]
    subset = any(s.get("subset") for s in runs.values())
    if subset:
        out += ["\\* `subset`: evaluated on the first samples only (`--limit`); not the full set.", ""]
    if notes.items:
        out += ["## Provenance", ""]
        out += [f"[^{i}]: {n}" for i, n in enumerate(notes.items, 1)]
        out += [""]
    return "\n".join(out), all_missing


# -- the plan --------------------------------------------------------------------------------------
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
            gaps = cfg.gaps() + (TRAIN_CONFIGS[cfg.start_from].gaps() if cfg.start_from else [])
            lines += _step(indent, cfg.command(), gaps, guard=f'[ -f "{cfg.checkpoint}" ] || ')
        lines.append("")
    lines.append(f"{indent}# evaluation ({len(cells)} runs)")
    for c in cells:
        nums = sorted({x.table for x in all_cells if (x.dataset, x.spec.method, x.spec.tag) == (c.dataset, c.spec.method, c.spec.tag)})
        label = c.row.label + (" (trimap)" if c.row.trimap else "")
        lines.append(f"{indent}# Table {', '.join(map(str, nums))}: {label}")
        lines += _step(indent, c.spec.run_command(c.dataset), c.spec.gaps())
    return lines


def build_plan(runs_dir: str | os.PathLike[str], *, summaries: Optional[Sequence[dict[str, Any]]] = None,
               tables: Sequence[PaperTable] = TABLES, bench: Optional[Sequence[Any]] = None) -> str:
    """A bash script with every command still needed to fill the tables (paper datasets first, then synthetic,
    optional extras, then the bench runs of Figure 6 missing from ``bench``, a list of figures.BenchPoint)."""
    runs = index_runs(summaries if summaries is not None else load_summaries(runs_dir))
    missing: list[Cell] = []
    synth_missing: list[Cell] = []
    unavailable: list[tuple[int, PaperRow, RowSpec]] = []
    for t in tables:
        proxy = proxy_dataset(t)
        for row in t.rows:
            spec = row_spec(row.key)
            if not spec.available:
                unavailable.append((t.number, row, spec))
                continue
            if (t.dataset, spec.method, spec.tag) not in runs:
                missing.append(Cell(t.number, row, spec, t.dataset))
            if (proxy, spec.method, spec.tag) not in runs:
                synth_missing.append(Cell(t.number, row, spec, proxy))
    lines = [
        "#!/usr/bin/env bash",
        "# Commands still needed to fill the MODNet paper's Tables 1-5 (written by `mattebench tables --plan`).",
        f"# Runs already stored under {runs_dir}/ are left out; rerun `mattebench tables --plan` after a partial run.",
        "# Every command resumes where it stopped, so this script can be rerun after an interruption. A failed",
        "# command (missing data, missing weights) is reported and the script goes on with the others.",
        "set -uo pipefail",
        "FAILED=0",
        'step() { "$@" || { echo "FAILED ($?): $*" >&2; FAILED=$((FAILED + 1)); }; }',
        "",
    ]
    for name, default, what in (*PLAN_VARIABLES, OFFICIAL_CHECKPOINT_VAR):
        lines.append(f'{name}="${{{name}:-{default}}}"  # {what}')
    lines.append("")
    if unavailable:
        for num, row, spec in unavailable:
            lines.append(f"# Table {num}, {row.label}: {spec.note} (the cell keeps the paper's value only)")
        lines.append("")
    trained: set[str] = set()
    lines.append(f"# == the paper's datasets ({len(_unique_cells(missing))} runs missing) ==")
    if missing:
        lines += _plan_block(missing, trained=trained)
    else:
        lines.append("# every cell on the paper's datasets has a run")
    lines += ["", f"# == the embedded synthetic sets, no downloads ({len(_unique_cells(synth_missing))} runs missing; "
              "not comparable with the paper) ==", 'if [ "${WITH_SYNTHETIC:-1}" = 1 ]; then']
    if synth_missing:
        lines += _plan_block(synth_missing, indent="  ", trained=trained)
    else:
        lines.append("  :  # every row has a synthetic run")
    lines += ["fi", ""]
    extras = _extra_commands(tables, runs)
    if extras:
        lines += ["# == optional: rows not in the paper (official v1 checkpoint, classical methods) ==",
                  'if [ "${WITH_EXTRAS:-0}" = 1 ]; then', *["  " + e for e in extras], "fi", ""]
    benched = {(p.method, tuple(sorted(((p.extra.get("options") or {})).items()))) for p in (bench or []) if p.size in (None, 512)}
    todo = [(m, o) for m, o in bench_targets() if (m, tuple(sorted(o.items()))) not in benched]
    lines.append(f"# == Figure 6: parameters and latency at 512x512 ({len(todo)} methods without a bench result) ==")
    if todo:
        lines.append('mkdir -p "$RUNS/bench"')
        for m, o in todo:
            lines += _step("", bench_command(m, o), unsupported(m, o))
    lines += ["", 'mattebench tables --runs "$RUNS"', 'echo "$FAILED command(s) failed" >&2', '[ "$FAILED" = 0 ]', ""]
    return "\n".join(lines)


def _extra_commands(tables: Sequence[PaperTable], runs: dict[RunKey, dict[str, Any]]) -> list[str]:
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


__all__ = [
    "Cell",
    "NOT_RUN",
    "build_plan",
    "fmt_diff",
    "fmt_value",
    "index_runs",
    "render_document",
    "render_table",
]
