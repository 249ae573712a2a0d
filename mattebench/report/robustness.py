"""The robustness track as the report reads it: the table model from stored runs, then its rendering
(markdown tables, the metric-against-severity figure, the site page).

The robustness track's table model, read back from stored runs: conditions, stored runs, the table.

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
(corruption kinds), never the runner; :mod:`mattebench.tracks.robustness` (the grid runner) imports it.
"""

from __future__ import annotations

import math
import os
import statistics
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence, Union

from mattebench.data import corrupt as C
from mattebench.data.condition import CLEAN, Condition, condition_of_variant
from mattebench.data.variant import variant_tag
from mattebench.errors import MattebenchError
from mattebench.files import atomic_write_text, safe_folder
from mattebench.metrics import fast as M
from mattebench.report.board import format_value, metric_label
from mattebench.report.markdown_safe import md_text
from mattebench.report.out_paths import file_stem, save_figure
from mattebench.report.published import load_published
from mattebench.report.robustness_groups import GroupCell, group_cells, group_columns, group_rows
from mattebench.runs.record import RunRecord, as_record
from mattebench.runs.store import SAMPLES, load_summaries, read_rows

Run = Union[RunRecord, Mapping[str, Any]]  # a run record, or its JSON object (upgraded as it is read)


def variant_record(summary: Run) -> dict[str, Any]:
    """A run's variant record (``dataset_variant``; a v1 file's is rebuilt from its dataset options when it is
    read, :func:`mattebench.runs.record.upgrade_v1`), else ``{}``."""
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
    groups: tuple[GroupCell, ...] = ()  # per-group means of each condition, when the dataset declares groups

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
    return RobustnessTable(dataset, primary, metrics, names, kinds, sevs, tuple(cells), clean, tuple(trimap),
                           group_cells(by_key, names, metrics))


def load_tables(runs: str | Path, summaries: Optional[Sequence[Run]] = None) -> list[RobustnessTable]:
    """One table per dataset that has variant runs, from ``runs`` (or the given records or JSON objects)."""
    records = [StoredRun.from_summary(s) for s in (summaries if summaries is not None else load_summaries(runs))]
    out = []
    for d in sorted({r.record.dataset for r in records if r.record.is_variant}):
        t = build_table(records, d)
        if t is not None:
            out.append(t)
    return out


# ----------------------------------------------------------------------------------------------------
# Rendering of the robustness track: markdown tables, the metric-against-severity figure, the site page.
#
# Everything here renders a :class:`mattebench.report.robustness.RobustnessTable`, which is built from stored
# runs only (``summary.json`` and ``samples.csv``); nothing here builds a method or a dataset.
#
# - :func:`render_markdown`: per series and kind, the primary metric at each severity next to the clean
#   value (same samples), the mean relative degradation per kind; then the mean relative degradation on
#   every metric; then the trimap-band rows when there are any.
# - :func:`write_figure`: metric against severity (severity 0 = clean), one line per kind; with several
#   methods, one panel per kind and one line per method.
# - :func:`write_site_page`: ``<site>/robustness.html`` (Jinja2 template ``assets/robustness.html``) with
#   the tables and figures of every dataset, linked from the index.
# ----------------------------------------------------------------------------------------------------

FIGURE_NAME = "robustness-{dataset}.png"


def _pct(value: Optional[float]) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{100.0 * value:+.0f}%"


def _kind_label(kind: str) -> str:
    return kind


def _as_is(text: str) -> str:
    return text


def primary_rows(t: RobustnessTable, metric: Optional[str] = None,
                 name: Callable[[str], str] = _as_is) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of the per-kind table on ``metric`` (default: the dataset's primary); ``name`` renders a
    run's name (the markdown passes its escaper; the site page autoescapes)."""
    m = metric or t.primary
    headers = ["Method", "Corruption", "clean", *[f"sev {s}" for s in t.severities], "mean rel. degr."]
    rows = []
    for s in t.series:
        for k in t.kinds:
            cells = [t.cell(s, k, sev) for sev in t.severities]
            clean = next((c.clean.get(m) for c in cells if c is not None and c.clean.get(m) is not None), None)
            vals = [("–" if c is None else format_value(c.values.get(m), m) + ("" if c.paired else "†")) for c in cells]
            rows.append([name(s), _kind_label(k), format_value(clean, m), *vals, _pct(t.mean_degradation(s, m, k))])
        rows.append([name(s), "**all kinds**", "", *["" for _ in t.severities], f"**{_pct(t.mean_degradation(s, m))}**"])
    return headers, rows


def degradation_rows(t: RobustnessTable, name: Callable[[str], str] = _as_is) -> tuple[list[str], list[list[str]]]:
    """Mean relative degradation per kind, on every metric."""
    headers = ["Method", "Metric", *[_kind_label(k) for k in t.kinds], "mean"]
    rows = []
    for s in t.series:
        for m in t.metrics:
            rows.append([name(s), metric_label(m), *[_pct(t.mean_degradation(s, m, k)) for k in t.kinds], _pct(t.mean_degradation(s, m))])
    return headers, rows


def trimap_rows(t: RobustnessTable, name: Callable[[str], str] = _as_is) -> tuple[list[str], list[list[str]]]:
    headers = ["Method", "Trimap", "Samples", *[metric_label(m) for m in t.metrics]]
    rows = []
    for s in t.series:
        mine = sorted((c for c in t.trimap if c.series == s), key=lambda c: (c.condition.kind, c.condition.level))
        if mine and any(v is not None for v in mine[0].clean.values()):  # the clean run on the cells' samples
            rows.append([name(s), "dataset's own", str(mine[0].n), *[format_value(mine[0].clean.get(m), m) for m in t.metrics]])
        for c in mine:
            what = f"band {c.condition.level:+d} px" if c.condition.kind == "trimap-adjust" else f"generated, r = {c.condition.level}"
            rows.append([name(s), what, str(c.n), *[format_value(c.values.get(m), m) for m in t.metrics]])
    return headers, rows


def _md_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    from tabulate import tabulate

    return tabulate(rows, headers=list(headers), tablefmt="github", disable_numparse=True)


def render_markdown(t: RobustnessTable, figure: Optional[str] = None, metric: Optional[str] = None,
                    trimap_figure: Optional[str] = None) -> str:
    """The robustness report of one dataset as markdown (``figure``: a relative link to the PNG)."""
    m = metric or t.primary
    n = sorted({c.n for c in t.cells})
    lines = [f"# Robustness: {md_text(t.dataset)}", "",
             f"Each cell is an ordinary run on corrupted inputs (`-d corrupt=KIND:SEVERITY`, parameters in "
             f"docs/robustness.md, after ImageNet-C, Hendrycks & Dietterich 2019); only the input image is corrupted. "
             f"Values are means of {metric_label(m)} over the samples scored both in the cell and in the clean run "
             f"({', '.join(map(str, n))} samples); *mean rel. degr.* = mean over severities of (corrupted − clean) / clean. "
             "Lower is better.", ""]
    if figure:
        lines += [f"![{metric_label(m)} against severity on {md_text(t.dataset)}]({figure})", ""]
    if t.kinds:
        lines += [f"## {metric_label(m)} by corruption and severity", "", _md_table(*primary_rows(t, m, md_text)), ""]
        if any(not c.paired for c in t.cells):
            lines += ["† unpaired: the run's samples.csv was not available, the summary's mean is shown.", ""]
        lines += ["## Mean relative degradation, every metric", "", _md_table(*degradation_rows(t, md_text)), ""]
    if t.trimap:
        lines += ["## Trimap width", "", "Runs with the unknown band grown or shrunk (`-d trimap_adjust=±R`) or the generated "
                  "trimap's radius set (`-d trimap_radius=R`); unknown-region metrics are scored on each run's own band.", ""]
        if trimap_figure:
            lines += [f"![{metric_label(m)} against trimap width on {md_text(t.dataset)}]({trimap_figure})", ""]
        lines += [_md_table(*trimap_rows(t, md_text)), ""]
    return "\n".join(lines + _group_section(t, m))


def _group_section(t: RobustnessTable, m: str, level: str = "##") -> list[str]:
    """Per group column: each condition's mean within every group (report/robustness_groups.py); none without groups."""
    lines: list[str] = []
    for column in group_columns(t.groups):
        lines += [f"{level} {metric_label(m)} per group: {md_text(column)}", "",
                  "The dataset's sample groups (the clean run's `groups`): per group, the clean mean and each condition's "
                  "mean over the group's samples scored in both; *mean rel. degr.* over the corruption cells.", "",
                  _md_table(*group_rows(t.groups, column, m, format_value, _higher_is_better(m), md_text)), ""]
    return lines


def _pyplot():
    import matplotlib

    if not os.environ.get("MPLBACKEND"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _curve(t: RobustnessTable, series: str, kind: str, m: str) -> tuple[list[int], list[float]]:
    xs, ys = [], []
    clean = t.clean.get(series, {}).get(m)
    first = next((c for c in t.cells if c.series == series and c.condition.kind == kind and c.clean.get(m) is not None), None)
    ref = first.clean.get(m) if first is not None else clean  # the clean value over the cells' samples
    if ref is not None:
        xs.append(0)
        ys.append(ref)
    for sev in t.severities:
        c = t.cell(series, kind, sev)
        if c is not None and c.values.get(m) is not None:
            xs.append(sev)
            ys.append(float(c.values[m]))  # type: ignore[arg-type]
    return xs, ys


@dataclass(frozen=True)
class Panel:
    """One axes of the figure: its title and its lines, each (label, x = severities with 0 = clean, y)."""

    title: str
    lines: tuple[tuple[str, tuple[int, ...], tuple[float, ...]], ...]


def figure_panels(t: RobustnessTable, metric: Optional[str] = None) -> list[Panel]:
    """The figure's layout: one panel with a line per kind for one method; else a panel per kind, a line per method."""
    m = metric or t.primary

    def line(series: str, kind: str, label: str) -> tuple[str, tuple[int, ...], tuple[float, ...]]:
        xs, ys = _curve(t, series, kind, m)
        return label, tuple(xs), tuple(ys)

    if len(t.series) == 1:
        return [Panel(f"{t.series[0]} on {t.dataset}", tuple(line(t.series[0], k, k) for k in t.kinds))]
    return [Panel(k, tuple(line(s, k, s) for s in t.series)) for k in t.kinds]


def write_figure(t: RobustnessTable, path: str | os.PathLike[str], metric: Optional[str] = None) -> Path:
    """Metric against severity (0 = clean): one line per kind; with several methods one panel per kind."""
    plt = _pyplot()
    m = metric or t.primary
    path = Path(path)
    safe_folder(path.parent)  # --out or a folder below it that the caller checked
    panels = figure_panels(t, m)
    cols = min(4, len(panels))
    rows = int(math.ceil(len(panels) / cols))
    size = (6.4, 4.2) if len(panels) == 1 else (3.2 * cols, 2.8 * rows)
    fig, grid = plt.subplots(rows, cols, figsize=size, dpi=120, squeeze=False)
    axes = [a for row in grid for a in row]
    for ax, panel in zip(axes, panels):
        for label, xs, ys in panel.lines:
            ax.plot(xs, ys, marker="o", label=label)
        ax.set_title(panel.title, fontsize=10)
        ax.set_xticks([0, *t.severities])
        ax.set_xticklabels(["clean", *map(str, t.severities)], fontsize=8)
        ax.set_xlabel("severity", fontsize=8)
        ax.set_ylabel(metric_label(m), fontsize=8)
        ax.grid(alpha=0.3)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    axes[0].legend(fontsize=7)
    if len(panels) > 1:
        fig.suptitle(f"Robustness on {t.dataset}: {metric_label(m)} against severity")
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return path


TRIMAP_FIGURE_NAME = "robustness-{dataset}-trimap.png"


def trimap_panels(t: RobustnessTable, metric: Optional[str] = None) -> list[Panel]:
    """The trimap-width curve: one panel per trimap change present (band adjustment, with 0 = the dataset's
    own trimap; generated radius), one line per method, like alphamatting.com's small/large/user trimaps."""
    m = metric or t.primary
    panels = []
    for kind, title in (("trimap-adjust", "unknown band grown (+) / shrunk (−), px"), ("trimap-radius", "generated trimap radius r, px")):
        lines = []
        for s in t.series:
            cells = sorted((c for c in t.trimap if c.series == s and c.condition.kind == kind and c.values.get(m) is not None),
                           key=lambda c: c.condition.level)
            if not cells:
                continue
            pts = [(c.condition.level, float(c.values[m])) for c in cells]  # type: ignore[arg-type]
            ref = cells[0].clean.get(m)
            if kind == "trimap-adjust" and ref is not None:
                pts.append((0, float(ref)))
            pts.sort()
            lines.append((s, tuple(x for x, _ in pts), tuple(y for _, y in pts)))
        if lines:
            panels.append(Panel(title, tuple(lines)))
    return panels


def write_trimap_figure(t: RobustnessTable, path: str | os.PathLike[str], metric: Optional[str] = None) -> Optional[Path]:
    """Metric against trimap width (None when the table has no trimap runs)."""
    panels = trimap_panels(t, metric)
    if not panels:
        return None
    plt = _pyplot()
    m = metric or t.primary
    path = Path(path)
    safe_folder(path.parent)  # --out or a folder below it that the caller checked
    fig, grid = plt.subplots(1, len(panels), figsize=(4.8 * len(panels), 3.6), dpi=120, squeeze=False)
    for ax, panel in zip(grid[0], panels):
        for label, xs, ys in panel.lines:
            ax.plot(xs, ys, marker="o", label=label)
        ax.set_xlabel(panel.title, fontsize=8)
        ax.set_ylabel(metric_label(m), fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(f"Trimap width on {t.dataset}: {metric_label(m)}", fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return path


def write_reports(runs: str | os.PathLike[str], out: str | os.PathLike[str], *, datasets: Optional[Sequence[str]] = None,
                  metric: Optional[str] = None) -> list[Path]:
    """``<out>/<dataset>.md`` and ``<out>/robustness-<dataset>.png`` for each dataset with variant runs."""
    written = []
    # the published loader: a summary.json that cannot be read is warned about and skipped, never a crash
    for t in load_tables(runs, load_published(runs, warn=lambda _msg: None)):
        if datasets and t.dataset not in datasets:
            continue
        if metric is not None and metric not in t.metrics:
            raise MattebenchError(f"--metric {metric}: the runs on {t.dataset} have {', '.join(t.metrics)}")
        png = write_figure(t, Path(out) / FIGURE_NAME.format(dataset=file_stem(t.dataset)), metric) if t.kinds else None
        tri = write_trimap_figure(t, Path(out) / TRIMAP_FIGURE_NAME.format(dataset=file_stem(t.dataset)), metric)
        md = Path(out) / f"{file_stem(t.dataset)}.md"  # a summary's name never leaves --out
        atomic_write_text(md, render_markdown(t, figure=png.name if png else None, metric=metric,
                                              trimap_figure=tri.name if tri else None))
        written += [p for p in (md, png, tri) if p is not None]
    return written


# -- the site page ---------------------------------------------------------------------------------
def _template() -> Any:
    import jinja2

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    text = resources.files("mattebench.report").joinpath("assets", "robustness.html").read_text(encoding="utf-8")
    return env.from_string(text)


def render_site_page(tables: Sequence[RobustnessTable], figures: Mapping[str, str], css: str, version: str) -> str:
    """The HTML page (``figures``: dataset -> figure path relative to the page)."""
    sections = []
    for t in tables:
        h1, r1 = primary_rows(t) if t.kinds else ([], [])
        h2, r2 = degradation_rows(t) if t.kinds else ([], [])
        h3, r3 = trimap_rows(t) if t.trimap else ([], [])
        strip = lambda rows: [[c.replace("**", "") for c in row] for row in rows]  # noqa: E731 - markdown bold
        sections.append({"dataset": t.dataset, "metric": metric_label(t.primary), "figure": figures.get(t.dataset),
                         "trimap_figure": figures.get(t.dataset + "/trimap"),
                         "primary": {"headers": h1, "rows": strip(r1)}, "degradation": {"headers": h2, "rows": r2},
                         "trimap": {"headers": h3, "rows": r3}, "n": sorted({c.n for c in t.cells}),
                         "unpaired": any(not c.paired for c in t.cells)})
    return _template().render(sections=sections, css=css, version=version, kinds=[k.name for k in C.CORRUPTIONS],
                              table_version=C.TABLE_VERSION)


def write_site_page(site: Path, runs: str | os.PathLike[str], summaries: Optional[Sequence[Run]], css: str,
                    version: str) -> Optional[str]:
    """Write ``<site>/robustness.html`` (and its figures) when any run is a variant; returns its href."""
    tables = load_tables(runs, summaries)
    if not tables:
        return None
    figures: dict[str, str] = {}
    for t in tables:
        name = FIGURE_NAME.format(dataset=file_stem(t.dataset))
        if t.kinds:
            write_figure(t, site / "figures" / name)  # site: the build's own fresh folder
            figures[t.dataset] = f"figures/{name}"
        tri = TRIMAP_FIGURE_NAME.format(dataset=file_stem(t.dataset))
        if write_trimap_figure(t, site / "figures" / tri) is not None:
            figures[t.dataset + "/trimap"] = f"figures/{tri}"
    page = site / "robustness.html"
    atomic_write_text(page, render_site_page(tables, figures, css, version), root=site)
    return "robustness.html"


def render_section(dataset: str, summaries: Sequence[Run]) -> str:
    """The leaderboard's "Robustness" section: the per-kind table of the primary metric, never ranked
    (``summaries``: run records, or their JSON objects)."""
    pass  # (was an import from this module)

    t = build_table([StoredRun.from_summary(s) for s in summaries], dataset)
    lines = ["## Robustness", "",
             "Runs on corrupted inputs or with a changed trimap (robustness track, `mattebench robustness`); "
             "kept out of the tables above. Parameters: docs/robustness.md.", ""]
    if t is None:
        return "\n".join(lines + ["(no chartable variant runs)"])
    lines += [f"{metric_label(t.primary)} on the samples scored in both the corrupted and the clean run; "
              "*mean rel. degr.* = mean of (corrupted − clean) / clean.", ""]
    if t.kinds:
        lines += [_md_table(*primary_rows(t, name=md_text)), ""]
    if t.trimap:
        lines += [_md_table(*trimap_rows(t, md_text)), ""]
    return "\n".join(lines + _group_section(t, t.primary, "###"))
