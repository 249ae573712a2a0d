"""The "Where it fails" section of the boards and the site: the breakdown columns of stored runs (regions of the
trimap, boundaries, the whole image, the foreground colour, the dataset's sample groups), never ranked and never
mixed into the ranked columns. Reads the runs' records and, for the groups, their rows.

Definitions: ``docs/breakdowns.md``; the metrics are :mod:`mattebench.metrics.regions`, ``.boundary``,
``.foreground`` and ``fast.*_whole``. A section appears only when a run has the columns, so boards of runs
scored before them render as they did.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional, Sequence, Union

import jinja2
from tabulate import tabulate

from mattebench.metrics.fast import METRICS
from mattebench.names import escaped, fold
from mattebench.report import groups as G
from mattebench.report.board import run_label
from mattebench.report.markdown_safe import md_text
from mattebench.report.out_paths import anchor
from mattebench.runs.record import RunRecord, as_record
from mattebench.runs.store import StoredRowsError, load_stored_rows

RecordLike = Union[RunRecord, Mapping[str, Any]]

__all__ = ["TITLE", "Table", "breakdown_tables", "render_markdown", "render_html"]

TITLE = "Where it fails (not ranked)"
INTRO = ("The same predictions broken down: by region of the trimap (fg == 255, bg == 0, transition == 128; "
         "datasets without trimaps use the generated recipe named in each run's provenance), at the boundary, over the "
         "whole image, in the foreground colour and by sample group. None of these columns enters the ranking above. "
         "Error in fg/bg is a wrong person/background decision (semantics); error in the transition is detail (hair, "
         "soft edges). Definitions and sources: docs/breakdowns.md.")
_REGION = (("sad_fg", "SAD fg (/1000)"), ("sad_bg", "SAD bg (/1000)"), ("sad_transition", "SAD transition (/1000)"),
           ("mad_fg", "MAD fg"), ("mad_bg", "MAD bg"), ("mad_transition", "MAD transition"))
_BOUNDARY = (("biou", "Boundary IoU (higher is better)"), ("mba", "mBA (higher is better)"))
_WHOLE = ("sad_whole", "mse_whole", "mad_whole", "grad_whole", "conn_whole")
_FGR = (("fgr_mad", "fgr MAD (x1e3)", 1e3), ("fgr_mse", "fgr MSE (x1e3)", 1e3))


@dataclass(frozen=True)
class Table:
    """One table of the section: a title, a note, headers and rows of text (rendered as markdown or HTML)."""

    title: str
    note: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


def _labels(records: Sequence[RunRecord]) -> dict[int, str]:
    """Each run's name as the ranked board prints it: escaped where another shown run's name looks the same
    (:func:`mattebench.names.fold`), so that two look-alike runs are never two identical rows here either."""
    folded = Counter(fold(run_label(r)) for r in records)
    return {id(r): escaped(run_label(r)) if folded[fold(run_label(r))] > 1 else run_label(r) for r in records}


def _g(v: Optional[float], scale: float = 1.0) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    v *= scale
    return f"{v:.4g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.3e}"


def _cell(r: RunRecord, key: str, scale: float = 1.0) -> str:
    """The mean with the half width of its 95 % interval (from the record)."""
    m, ci = r.mean(key), r.ci.get(key)
    if m is None or ci is None:
        return _g(m, scale)
    return f"{_g(m, scale)} ±{_g(max(m - ci[0], ci[1] - m), scale)}"


def _share(r: RunRecord) -> str:
    """Share of the SAD outside the transition: how much of the error is a wrong fg/bg decision."""
    parts = [r.mean(k) for k in ("sad_fg", "sad_bg", "sad_transition")]
    if any(p is None for p in parts) or sum(parts) <= 0:  # type: ignore[arg-type]
        return "–"
    known = (parts[0] + parts[1]) / sum(parts)  # type: ignore[operator]
    return f"{100 * known:.0f}% ({'semantics' if known > 0.5 else 'detail'})"


def _metric_table(records: Sequence[RunRecord], title: str, note: str, cols: Sequence[tuple[str, str, float]],
                  extra: Optional[tuple[str, Callable[[RunRecord], str]]] = None) -> Optional[Table]:
    runs = sorted((r for r in records if any(r.mean(k) is not None for k, _, _ in cols)), key=run_label)
    if not runs:
        return None
    headers = ("Method", *[h for _, h, _ in cols], *((extra[0],) if extra else ()))
    label = _labels(records)
    rows = tuple((label[id(r)], *[_cell(r, k, s) for k, _, s in cols], *((extra[1](r),) if extra else ())) for r in runs)
    return Table(title, note, headers, rows)


def _fgr_note(records: Sequence[RunRecord]) -> str:
    sources = sorted({str((r.breakdowns or {}).get("foreground")) for r in records if r.mean("fgr_mad") is not None})
    return ("RobustVideoMatting's fgr MAD/MSE over the pixels with true alpha > 0, colours in [0, 1], shown x1e3 as RVM "
            "prints them; foreground: " + "; ".join(sources) + ".")


def _group_tables(records: Sequence[RunRecord]) -> list[Table]:
    with_groups = [r for r in records if r.groups]
    if not with_groups:
        return []
    mapping = G.mapping_of(with_groups[0])
    assert mapping is not None
    metric = G.group_metric(with_groups[0])
    values: dict[str, Mapping[str, float]] = {}
    problems: list[str] = []
    names = _labels(with_groups)
    for r in sorted(with_groups, key=run_label):
        try:
            values[names[id(r)]] = load_stored_rows(r).values.get(metric, {})
        except StoredRowsError as exc:
            problems.append(str(exc))
    label = METRICS[metric].unit if metric in METRICS else metric
    tables: list[Table] = []
    for column in mapping.columns:
        tables += _one_group_column(values, mapping, column, label, mapping.source, problems)
    return tables


def _summary_text(s: G.GroupSummary) -> str:
    if s.mean is None:
        return f"– (n = {s.n})"
    if s.lo is None:
        return f"{_g(s.mean)} (n = {s.n}; {s.note})"
    return f"{_g(s.mean)} [{_g(s.lo)}, {_g(s.hi)}] (n = {s.n})"


def _pair_text(p: G.GroupPair) -> str:
    if p.diff is None:
        return f"– ({p.note})"
    if p.lo is None:
        return f"{_g(p.diff)} (n = {p.n}; {p.note})"
    return f"{_g(p.diff)} [{_g(p.lo)}, {_g(p.hi)}] (n = {p.n})"


def _one_group_column(values: Mapping[str, Mapping[str, float]], mapping: Any, column: str, label: str, source: str,
                      problems: Sequence[str]) -> list[Table]:
    runs = list(values)
    if not runs:
        return [Table(f"Groups: {column}", "; ".join(problems), ("Group",), ())]
    per_run = {n: G.group_means(values[n], mapping, column) for n in runs}
    groups = [s.group for s in per_run[runs[0]]]
    rows = [(g, *[_summary_text(per_run[n][i]) for n in runs]) for i, g in enumerate(groups)]
    rows.append(("Avg. (unweighted mean of the group means)", *[_g(G.macro_mean(per_run[n])) for n in runs]))
    note = (f"{label} per group (source: {source}): mean [95% bootstrap interval] (n); a group of fewer than "
            f"{G.MIN_N_FOR_INTERVAL} samples has no interval. " + " ".join(problems))
    tables = [Table(f"Groups: {column}", note.strip(), ("Group", *runs), tuple(rows))]
    if len(runs) > 1:
        best = min(runs, key=lambda n: math.fsum(values[n].values()) / max(1, len(values[n])))
        others = [n for n in runs if n != best]
        pairs = {n: G.paired_in_group(values[n], values[best], mapping, column) for n in others}
        prow = tuple((g, *[_pair_text(pairs[n][i]) for n in others]) for i, g in enumerate(groups))
        tables.append(Table(f"Groups: {column}, paired with {best}",
                            f"{label}: mean paired difference run - {best} on the samples of the group both scored, "
                            "[95% bootstrap interval] (as `mattebench compare`); below 0 is better.",
                            ("Group", *others), prow))
    return tables


def breakdown_tables(summaries: Sequence[RecordLike]) -> list[Table]:
    """Every table of the section ([] when no run has breakdown columns)."""
    records = [as_record(s) for s in summaries]
    whole = [(k, METRICS[k].unit, 1.0) for k in _WHOLE]
    found = [
        _metric_table(records, "Regions of the trimap",
                      "Per-sample SAD over each region (/1000) and MAD (mean over the region's pixels), mean ± the half "
                      "width of the 95% interval; the last column is the share of the SAD in fg + bg.",
                      [(k, h, 1.0) for k, h in _REGION], ("fg+bg share of SAD", _share)),
        _metric_table(records, "Boundaries",
                      "Boundary IoU (Cheng et al. 2021, reference code: band d = max(1, round(0.02·diagonal)) px) and "
                      "mBA (BiRefNet/CascadePSP), mattes binarised at 8-bit value > 128.",
                      [(k, h, 1.0) for k, h in _BOUNDARY]),
        _metric_table(records, "Whole image: all five metrics",
                      "Every pixel counts: the DIM definitions with U = the image (SAD/Grad/Conn /1000, float prediction).",
                      whole) if any(r.mean("sad_whole") is not None for r in records) else None,
        _metric_table(records, "Foreground colour", _fgr_note(records), _FGR),
    ]
    return [t for t in found if t is not None] + _group_tables(records)


def render_markdown(summaries: Sequence[RecordLike]) -> list[str]:
    """Markdown lines of the section; [] when no run has breakdown columns."""
    tables = breakdown_tables(summaries)
    if not tables:
        return []
    lines = [f"## {TITLE}", "", INTRO, ""]
    for t in tables:
        rows = [[md_text(c) for c in row] for row in t.rows]
        lines += [f"### {md_text(t.title)}", "", md_text(t.note), "",
                  tabulate(rows, headers=[md_text(h) for h in t.headers], tablefmt="github", disable_numparse=True), ""]
    return lines


_HTML = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
    """<section class="breakdowns" aria-labelledby="{{ anchor }}-h">
<h3 id="{{ anchor }}-h">{{ title }}</h3>
<p class="note">{{ intro }}</p>
{% for t in tables %}<h4>{{ t.title }}</h4>
<p class="note">{{ t.note }}</p>
<div class="table-wrap"><table class="breakdown-table">
<thead><tr>{% for h in t.headers %}<th scope="col">{{ h }}</th>{% endfor %}</tr></thead>
<tbody>{% for row in t.rows %}<tr><th scope="row">{{ row[0] }}</th>{% for v in row[1:] %}<td class="num">{{ v }}</td>{% endfor %}</tr>{% endfor %}</tbody>
</table></div>
{% endfor %}</section>"""
)


def render_html(dataset: str, summaries: Sequence[RecordLike]) -> str:
    """The section as HTML for the site ("" when no run has breakdown columns)."""
    tables = breakdown_tables(summaries)
    if not tables:
        return ""
    return _HTML.render(anchor="where-" + anchor(dataset), title=TITLE, intro=INTRO, tables=tables)
