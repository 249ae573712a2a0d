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

from mattebench.report.board import APART_TEXT, shipped_weights
from mattebench.report.compare import Standing, standing
from mattebench.report.leaderboard import provenance_note
from mattebench.report.markdown_safe import md_code, md_text
from mattebench.report.paper import (
    EXTRA_TRIMAP,
    EXTRAS_FOR_TABLE,
    ROW_SPECS,
    TABLES,
    PaperRow,
    PaperTable,
    RowSpec,
    proxy_dataset,
    row_spec,
)
from mattebench.report.published import published
from mattebench.runs.record import RunRecord, as_record
from mattebench.runs.store import load_summaries

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
def index_runs(summaries: Sequence[RunRecord | dict[str, Any]]) -> dict[RunKey, RunRecord]:
    """Published runs that are results (:func:`mattebench.report.compare.standing`, the boards' rule) by (dataset, method,
    tag); records, or their JSON objects."""
    # A corrupted or trimap-changed run (robustness track) never stands in for a paper row, whatever its tag.
    return {(s.dataset, s.method, s.tag or None): s for s in map(as_record, published(summaries)) if standing(s).ranked}


def left_out(summaries: Sequence[RunRecord | dict[str, Any]]) -> list[tuple[RunRecord, Standing]]:
    """Published runs that are no result (never ran, untrained, unsupported by their rows), with the reason."""
    pairs = [(s, standing(s)) for s in map(as_record, published(summaries))]
    return sorted(((s, st) for s, st in pairs if not st.ranked), key=lambda p: (p[0].dataset, p[0].name))


def _left_out_section(pairs: list[tuple[RunRecord, Standing]]) -> list[str]:
    if not pairs:
        return []
    rows = [[f"`{md_text(s.dataset)}/{md_text(s.name)}`", APART_TEXT.get(st.kind, st.kind), md_text(st.reason)] for s, st in pairs]
    return ["## Runs left out of these tables", "",
            tabulate(rows, headers=["Run", "Status", "Why"], tablefmt="github", disable_numparse=True), ""]


def _paper_run(s: Optional[RunRecord]) -> Optional[RunRecord]:
    """``s`` when it may fill a paper row: a run of a checkpoint shipped with mattebench is ours, not the paper's
    model, so it never sits beside the paper's values (it is listed with the other runs, named for its weights)."""
    return None if s is None or shipped_weights(s) else s


def _means(s: RunRecord) -> tuple[Optional[float], Optional[float]]:
    return s.means.get(MSE_KEY), s.means.get(MAD_KEY)


def _marks(s: RunRecord, spec: Optional[RowSpec]) -> list[str]:
    """Why a measured value may not be what it seems (shown next to the numbers)."""
    out = []
    if s.subset:
        out.append("subset*")
    if not s.complete:
        out.append(f"incomplete {s.counts.ok}/{s.counts.total}")
    if s.counts.error:
        out.append(f"{s.counts.error} failed")
    needs_weights = (spec is not None and spec.checkpoint) or s.method_card.trainable
    if needs_weights and not s.provenance.checkpoint_sha256:
        out.append("no checkpoint: untrained weights")
    return out


class _Notes:
    """Footnotes shared by the whole document (one per run, numbered in order of first use)."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.by_dir: dict[str, int] = {}

    def ref(self, s: RunRecord) -> str:
        key = str(s.run_dir or (s.dataset, s.method, s.tag))
        if key not in self.by_dir:
            # leaderboard.provenance_note is given the record's JSON object: it reads dicts (and records, once
            # the leaderboard reads records), so either version of it footnotes the run the same way.
            self.items.append(f"{md_code(s.run_dir if s.run_dir is not None else '?')}: {provenance_note(s.to_json())}")
            self.by_dir[key] = len(self.items)
        return f"[^{self.by_dir[key]}]"


@dataclass
class Cell:
    """One paper row on one dataset with no run yet: what `--plan` must produce."""

    table: int
    row: PaperRow
    spec: RowSpec
    dataset: str


def _measured(s: Optional[RunRecord], spec: Optional[RowSpec], notes: _Notes, row: Optional[PaperRow]) -> list[str]:
    """[measured MSE, measured MAD, Δ MSE, Δ MAD, run]."""
    if spec is not None and not spec.available:
        return [NOT_AVAILABLE, "", "", "", spec.note]
    if s is None:
        return [NOT_RUN, "", "", "", ""]
    mse, mad = _means(s)
    marks = _marks(s, spec)
    suffix = f" ({', '.join(marks)})" if marks else ""
    run = f"{md_code(s.name)} {notes.ref(s)}"
    return [
        fmt_value(mse) + suffix,
        fmt_value(mad),
        fmt_diff(mse, row.mse if row else None),
        fmt_diff(mad, row.mad if row else None),
        run,
    ]


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


def render_table(table: PaperTable, runs: dict[RunKey, RunRecord], notes: _Notes) -> tuple[str, list[Cell]]:
    """The markdown of one table and the cells that still need a run."""
    lines = [f"## Table {table.number}: {table.title}", ""]
    lines += [f"Dataset: `{table.dataset}`. {table.notes}".rstrip(), ""]
    body: list[list[str]] = []
    missing: list[Cell] = []
    used: set[RunKey] = set()
    for row in table.rows:
        spec = row_spec(row.key)
        key = (table.dataset, spec.method, spec.tag)
        s = _paper_run(runs.get(key)) if spec.available else None
        if s is not None:
            used.add(key)
        elif spec.available:
            missing.append(Cell(table.number, row, spec, table.dataset))
        body.append([*_row_head(table, row), row.mse_text, row.mad_text, *_measured(s, spec, notes, row)])
    lines += [tabulate(body, headers=_headers(table), tablefmt="github", disable_numparse=True), ""]

    extras = []
    for e in EXTRAS_FOR_TABLE.get(table.number, ()):
        key = (table.dataset, e.method, e.tag)
        if _paper_run(runs.get(key)) is not None:
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


def _stands_for(s: RunRecord, table: Optional[PaperTable]) -> str:
    if table is None:
        return ""
    for row in table.rows:
        spec = ROW_SPECS.get(row.key)
        if spec is not None and spec.method == s.method and spec.tag == (s.tag or None):
            return row.label
    for e in EXTRAS_FOR_TABLE.get(table.number, ()):
        if e.method == s.method and e.tag == (s.tag or None):
            return "(not in the paper; trimap-based)" if e.method in EXTRA_TRIMAP else "(not in the paper)"
    # Same method as exactly one row, other settings (an embedded-set run is trained differently): say which
    # row it resembles without claiming it reproduces it.
    same = [row for row in table.rows if (spec := ROW_SPECS.get(row.key)) is not None and spec.method == s.method]
    if len(same) == 1:
        row = same[0]
        return f"same method as {row.label} ({'trimap' if row.trimap else 'no trimap'}); other training"
    return "(no paper row)"


def _plain_table(summaries: list[RunRecord], notes: _Notes, table: Optional[PaperTable] = None) -> str:
    rows = []
    for s in summaries:
        mse, mad = _means(s)
        marks = _marks(s, None)
        c = s.counts
        ck = s.provenance.checkpoint
        weights = shipped_weights(s)
        rows.append([
            md_code(s.name) + (f" ({md_text(weights)})" if weights else ""),
            _stands_for(s, table),
            fmt_value(mse) + (f" ({', '.join(marks)})" if marks else ""),
            fmt_value(mad),
            f"{c.ok}/{c.total}" + (f" of {s.n_dataset}" if s.subset else ""),
            md_code(os.path.basename(str(ck))) if ck else "none",
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
    summaries: Optional[Sequence[RunRecord | dict[str, Any]]] = None,
    speed_section: Optional[str] = None,
    tables: Sequence[PaperTable] = TABLES,
) -> tuple[str, list[Cell]]:
    """The whole markdown (Tables 1-5, Figure 6 section, provenance) and the cells without a run."""
    given = summaries if summaries is not None else load_summaries(runs_dir)
    runs = index_runs(given)
    notes = _Notes()
    out = [
        "# The MODNet paper's Tables 1-5, regenerated by mattebench",
        "",
        "Paper values are as printed in Ke et al., *MODNet: Real-Time Trimap-Free Portrait Matting via Objective "
        "Decomposition*, AAAI 2022. Measured values are read from the runs under "
        f"{md_code(runs_dir)} (`mse_whole`, `mad_whole`: every pixel, alpha in [0, 1]); Δ = measured − paper "
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
    out += _left_out_section(left_out(given))
    if speed_section:
        out += [speed_section, ""]
    subset = any(s.subset for s in runs.values())
    if subset:
        out += ["\\* `subset`: evaluated on the first samples only (`--limit`); not the full set.", ""]
    if notes.items:
        out += ["## Provenance", ""]
        out += [f"[^{i}]: {n}" for i, n in enumerate(notes.items, 1)]
        out += [""]
    return "\n".join(out), all_missing


__all__ = [
    "Cell",
    "NOT_RUN",
    "fmt_diff",
    "fmt_value",
    "index_runs",
    "render_document",
    "render_table",
]
