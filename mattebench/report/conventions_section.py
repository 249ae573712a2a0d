"""The "toolkit conventions" section of the leaderboards: the ``metric@convention`` columns of
stored runs, shown apart from the ranked tables, unranked, with how each convention differs from
the DIM MATLAB reference. Reads only the runs' summaries.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Optional, Sequence, Union

import jinja2
from tabulate import tabulate

from mattebench.metrics import conventions as C
from mattebench.report.board import run_label
from mattebench.report.markdown_safe import md_text
from mattebench.report.out_paths import anchor
from mattebench.runs.record import RunRecord, as_record

RecordLike = Union[RunRecord, Mapping[str, Any]]

__all__ = ["convention_columns", "render_markdown", "render_html"]

TITLE = "Toolkit conventions (not ranked; not comparable with the tables above)"
INTRO = (
    "What other toolkits' evaluation code would print for the same predictions, reproduced from their public code "
    "at a pinned commit (`mattebench run --conventions ...`). Each convention has its own region, quantisation, "
    "filters and scale (in the column header), so compare a column only with itself and with published numbers "
    "that used the same code. Rows are in name order, not ranked."
)


def convention_columns(summaries: Sequence[RecordLike]) -> list[str]:
    """The convention columns present in any run's means, in registry order."""
    present = {k for s in summaries for k in as_record(s).means if C.is_convention_column(k)}
    order = [c for n in C.CONVENTIONS for c in C.CONVENTIONS[n].columns(video=True)]
    return [c for c in order if c in present]


def _header(col: str) -> str:
    _, m = C.metric_of(col)
    return f"{m.label} ({m.scale})"


def _value(v: Optional[float]) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"{v:.4g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.3e}"


def _rows(records: Sequence[RunRecord], cols: list[str], name: Callable[[str], str] = str) -> list[list[str]]:
    runs = sorted((r for r in records if any(c in r.means for c in cols)), key=run_label)
    return [[name(run_label(r)), *[_value(r.means.get(c)) for c in cols]] for r in runs]


def _groups(records: Sequence[RunRecord], cols: list[str], name: Callable[[str], str] = str) -> list[dict[str, Any]]:
    """One table per convention: its columns' headers and one row per run that has them (``name`` renders a
    run's name: the markdown passes its escaper, the HTML template autoescapes)."""
    out = []
    for conv in C.CONVENTIONS.values():
        mine = [c for c in cols if c.partition("@")[2] == conv.name]
        if mine:
            out.append({"conv": conv, "headers": [_header(c) for c in mine], "rows": _rows(records, mine, name)})
    return out


def render_markdown(summaries: Sequence[RecordLike]) -> list[str]:
    """Markdown lines of the section (one table per convention); [] when no run has convention columns."""
    records = [as_record(s) for s in summaries]
    cols = convention_columns(records)
    if not cols:
        return []
    lines = [f"## {TITLE}", "", INTRO, ""]
    for grp in _groups(records, cols, md_text):
        conv = grp["conv"]
        lines += [f"### `{conv.name}`: {conv.toolkit} ({conv.repo} @ {conv.commit})", "", conv.description, "",
                  tabulate(grp["rows"], headers=["Method", *grp["headers"]], tablefmt="github", disable_numparse=True), ""]
    lines += ["`mattebench conventions` prints every metric's region, quantisation, thresholds and filters.", ""]
    return lines


_HTML = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
    """<section class="conventions" aria-labelledby="{{ anchor }}-h">
<h3 id="{{ anchor }}-h">{{ title }}</h3>
<p class="note">{{ intro }}</p>
{% for g in groups %}<h4><code>{{ g.conv.name }}</code>: {{ g.conv.toolkit }} ({{ g.conv.repo }} @ {{ g.conv.commit }})</h4>
<p class="note">{{ g.conv.description }}</p>
<div class="table-wrap"><table class="conventions-table">
<thead><tr><th scope="col">Method</th>{% for h in g.headers %}<th scope="col">{{ h }}</th>{% endfor %}</tr></thead>
<tbody>{% for row in g.rows %}<tr><th scope="row">{{ row[0] }}</th>{% for v in row[1:] %}<td class="num">{{ v }}</td>{% endfor %}</tr>{% endfor %}</tbody>
</table></div>
{% endfor %}</section>"""
)


def render_html(dataset: str, summaries: Sequence[RecordLike]) -> str:
    """The section as HTML for the site ("" when no run has convention columns)."""
    records = [as_record(s) for s in summaries]
    cols = convention_columns(records)
    if not cols:
        return ""
    return _HTML.render(anchor="conv-" + anchor(dataset), title=TITLE, intro=INTRO.replace("`", ""),
                        groups=_groups(records, cols))
