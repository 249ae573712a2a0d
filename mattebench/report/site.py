"""A static leaderboard site, rendered only from stored runs (``<runs>/<dataset>/<method>/summary.json``).

``write_site(runs, out)`` writes ``<out>/site/index.html`` and, beside it, one provenance page per run
(``runs/<dataset>/<run>.html`` plus a copy of its ``summary.json``), one page per method card
(``methods/<method>.html``) and the figures it was given (``figures/``). Nothing is fetched from the
network: the CSS and JavaScript (``report/assets/``) are inlined into every page, and images are copied
beside them, so the folder opens from disk or publishes as is.

Layout decisions (the issue leaves them open):

- One table per dataset and protocol (``whole``, ``unknown``, and ``temporal`` for video); inside a table
  trimap-based and trimap-free methods are two row groups, ranked separately, as in the markdown
  leaderboard, because ranking a method that is given the trimap against one that is not says nothing.
  Sorting a column re-sorts each group on its own.
- The table is plain HTML, already sorted by the dataset's primary metric; with JavaScript on, the
  column headers become sort buttons and a filter (family, method name) appears. With JavaScript off the
  filter form stays hidden rather than offering controls that do nothing.
- The paper's values, when given, are printed under the measured value in the same cell ("paper 0.0044"),
  never in place of it; sorting uses the measured value only.
- The page carries no build timestamp (the same runs give the same bytes); it names the latest
  ``finished`` time among the runs instead.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
import shutil
from collections import defaultdict
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence, Union
from urllib.parse import quote

from .. import __version__
from .. import metrics as M
from ..types import FAMILY_FREE, FAMILY_REFERENCE, FAMILY_TRIMAP
from . import board_stats
from .conventions_section import render_html as render_conventions_html
from .leaderboard import SECTIONS, _fmt, _label, family_of, is_pretrained_run
from .markdown_safe import safe_url
from .out_paths import file_stem
from .site_manifest import remove_previous, write_manifest
from .summaries import load_published
from .visibility import published

# dataset -> run or method name -> metric -> the paper's value (a float, or the string as printed).
PaperValues = Mapping[str, Mapping[str, Mapping[str, Union[float, str]]]]

SITE_DIR = "site"
FIGURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".svg", ".webp", ".gif")
FAMILY_LABELS = {FAMILY_TRIMAP: "trimap-based", FAMILY_FREE: "trimap-free", FAMILY_REFERENCE: "reference"}


@dataclass(frozen=True)
class Protocol:
    key: str
    title: str
    description: str
    metrics: tuple[str, ...]


def protocols() -> tuple[Protocol, ...]:
    """The protocols a table can show, with the metric columns of each (order = column order)."""
    return (
        Protocol("whole", "Whole image", "every pixel, alpha in [0, 1] (the MODNet paper's protocol)", tuple(M.WHOLE_METRICS)),
        Protocol(
            "unknown",
            "Unknown region",
            "pixels where trimap == 128 only, prediction quantised to 8 bits; SAD, Grad and Conn divided by 1000 "
            "(the Deep Image Matting evaluation code)",
            tuple(M.UNKNOWN_METRICS),
        ),
        Protocol("temporal", "Temporal", "video clips: consistency of the matte from frame to frame", tuple(M.VIDEO_METRICS)),
    )


@dataclass(frozen=True)
class Figure:
    """An image shown in the site's figures section (copied beside the page)."""

    path: Path
    caption: str
    dataset: Optional[str] = None  # shown under that dataset's tables; None: in the figures section


# -- small helpers -------------------------------------------------------------------------------
def _e(value: Any) -> str:
    text = html.escape("" if value is None else str(value), quote=True)
    # A sample id is a file name and may hold bytes that are not UTF-8 (surrogateescape): show them as \xNN.
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def _file_name(text: str) -> str:
    """A file name that keeps method names readable (``closed-form``, ``modnet@sps``) and is safe: no separator,
    no ``..``, not too long, and distinct names never share a file (see :func:`.out_paths.file_stem`)."""
    return file_stem(text)


def _href(*parts: str) -> str:
    return "/".join(quote(p, safe="@+") for p in parts)


def _number(value: Any) -> Optional[float]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    v = float(value)
    return None if math.isnan(v) else v


def run_name(s: Mapping[str, Any]) -> str:
    """The run's folder name: ``method`` or ``method@tag``."""
    if s.get("run_dir"):
        return Path(str(s["run_dir"])).name
    return f"{s['method']}@{s['tag']}" if s.get("tag") else str(s["method"])


def _metric_info(key: str) -> Any:
    return M.METRICS.get(key)


def _header(key: str) -> tuple[str, str]:
    """Column header: the metric's label with its unit (from ``metrics.METRICS``), and its description."""
    info = _metric_info(key)
    label = _label(key)
    title = getattr(info, "description", "") if info is not None else ""
    unit = getattr(info, "unit", "") if info is not None else ""
    name = getattr(info, "label", "") if info is not None else ""
    if name and unit and name != unit and name not in unit:
        inner = f"{_e(name)} <span class=\"unit\">{_e(unit)}</span>"
    else:
        inner = _e(label)
    return inner, title


def _higher_is_better(key: str) -> bool:
    info = _metric_info(key)
    return info is not None and not getattr(info, "lower_is_better", True)


def _asset(name: str) -> str:
    return resources.files("mattebench.report").joinpath("assets", name).read_text(encoding="utf-8")


def _page(title: str, body: str, *, script: bool = False, depth: int = 0) -> str:
    js = f"<script>\n{_asset('site.js')}</script>\n" if script else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="mattebench {_e(__version__)}">\n'
        f"<title>{_e(title)}</title>\n<style>\n{_asset('site.css')}</style>\n</head>\n<body>\n"
        '<a class="skip" href="#main">Skip to content</a>\n'
        f'<div class="page">\n{body}\n'
        f'<footer><p>Rendered by mattebench {_e(__version__)} from stored runs only; '
        "this page loads nothing from the network.</p></footer>\n</div>\n"
        f"{js}</body>\n</html>\n"
    )


def _dl(items: Iterable[tuple[str, str]]) -> str:
    """A definition list; values are already-escaped HTML."""
    rows = "".join(f"<dt>{_e(k)}</dt><dd>{v}</dd>" for k, v in items if v not in ("", None))
    return f'<dl class="facts">{rows}</dl>'


def _code(value: Any) -> str:
    return f"<code>{_e(value)}</code>" if value not in (None, "") else ""


# -- index ---------------------------------------------------------------------------------------
def _shown(summaries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    # Robustness-track runs (corrupted inputs, changed trimaps) are shown on robustness.html only.
    return published(summaries)


def _paper_for(paper: Optional[PaperValues], dataset: str, s: Mapping[str, Any]) -> Mapping[str, Union[float, str]]:
    if not paper:
        return {}
    table = paper.get(dataset, {})
    return table.get(run_name(s)) or table.get(str(s.get("method"))) or {}


def _paper_text(value: Union[float, str], key: str) -> str:
    if isinstance(value, str):
        return value
    return _fmt(float(value), key)


def _sort_value(s: Mapping[str, Any], key: str) -> Optional[float]:
    if key == "predict_ms":
        return _number(s.get("predict_ms", {}).get("median"))
    return _number(s.get("means", {}).get(key))


def _ordered(group: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    sign = -1.0 if _higher_is_better(key) else 1.0

    def k(s: dict[str, Any]) -> tuple:
        v = _sort_value(s, key)
        return (v is None, sign * v if v is not None else 0.0, run_name(s))

    return sorted(group, key=k)


def _table(dataset: str, proto: Protocol, cols: list[str], primary: str, shown: list[dict[str, Any]],
           paper: Optional[PaperValues]) -> str:
    tid = f"t-{_slug(dataset)}-{proto.key}"
    heads = ['<th scope="col" class="rank">#</th>', '<th scope="col">Method</th>']
    for k in cols:
        inner, title = _header(k)
        sort = ' aria-sort="ascending"' if k == primary and not _higher_is_better(k) else ""
        sort = ' aria-sort="descending"' if k == primary and _higher_is_better(k) else sort
        t = f' title="{_e(title)}"' if title else ""
        heads.append(f'<th scope="col" class="num" data-sort="{_e(k)}"{sort}{t}>{inner}</th>')
    heads.append(f'<th scope="col" title="{_e(board_stats.VS_TITLE)}">vs #1</th>')
    heads.append(f'<th scope="col" class="num" data-sort="p_first" title="{_e(board_stats.P_FIRST_TITLE)}">P(first)</th>')
    heads.append('<th scope="col" class="num" data-sort="predict_ms" title="median prediction time per sample, '
                 'on the device named in the run\'s provenance">Time <span class="unit">ms / sample</span></th>')
    heads.append('<th scope="col" class="num">Samples</th>')
    heads.append('<th scope="col">Run</th>')
    ncols = len(heads)

    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for s in shown:
        groups[family_of(s)].append(s)
    bodies = []
    notes: list[str] = []
    for family, title in SECTIONS:
        group = _ordered(groups.get(family, []), primary)
        if not group:
            continue
        best = {}
        for k in [*cols, "predict_ms"]:
            vals = [v for v in (_sort_value(s, k) for s in group) if v is not None]
            if len(vals) > 1:
                best[k] = max(vals) if _higher_is_better(k) else min(vals)
        rows = [f'<tr class="group"><th scope="rowgroup" colspan="{ncols}">{_e(title)}</th></tr>']
        marks = board_stats.group_stats(group, primary)
        notes.extend(marks.notes)
        for rank, s in enumerate(group, 1):
            rows.append(_row(dataset, s, rank, cols, best, _paper_for(paper, dataset, s), marks.mark(board_stats.run_key(s))))
        bodies.append(f'<tbody data-family="{_e(family)}">\n' + "\n".join(rows) + "\n</tbody>")
    better = "higher" if _higher_is_better(primary) else "lower"
    # The caption names the table for screen readers; sighted readers get the heading and the note
    # above the scrolling box, so nothing is clipped on a phone.
    caption = f'<caption id="{tid}-caption" class="vh">{_e(dataset)}, {_e(proto.title.lower())} protocol</caption>'
    return (
        f'<div class="protocol" id="{tid}-block">\n<h3>{_e(proto.title)} protocol</h3>\n'
        f'<p class="note">{_e(proto.description)}. Sorted by {_e(_label(primary))}; {better} is better. '
        "Trimap-based and trimap-free methods are ranked separately.</p>\n"
        f'<div class="table-wrap" role="region" tabindex="0" aria-labelledby="{tid}-caption">\n'
        f'<table class="board" id="{tid}" data-dataset="{_e(dataset)}" data-protocol="{_e(proto.key)}">\n{caption}\n'
        f"<thead><tr>{''.join(heads)}</tr></thead>\n" + "\n".join(bodies) + "\n</table>\n</div>\n"
        '<p class="empty note" hidden>No run in this table matches the filter.</p>\n'
        + "".join(f'<p class="note stats">{_e(n)}</p>\n' for n in [board_stats.explanation(_label(primary), shown), *notes])
        + "</div>"
    )


def _row(dataset: str, s: dict[str, Any], rank: int, cols: list[str], best: dict[str, float],
         paper: Mapping[str, Union[float, str]], mark: board_stats.RunMark = board_stats.RunMark()) -> str:
    card = s.get("method_card", {})
    name = run_name(s)
    fam = card.get("family", FAMILY_FREE)
    dagger = ' <span title="pretrained variant">†</span>' if is_pretrained_run(s) else ""
    method_link = f'<a href="{_href("methods", _file_name(str(s["method"])) + ".html")}">{_e(s["method"])}</a>'
    tag = f' <span class="note">@{_e(s["tag"])}</span>' if s.get("tag") else ""
    source = str(((s.get("provenance") or {}).get("input") or {}).get("source", ""))
    if source:  # inputs users bring: "scored from saved predictions", "exported ONNX model"
        tag += f' <span class="note">({_e(source)})</span>'
    # The row group names the family (the method card page shows it as a badge).
    cells = [f'<td class="rank">{rank}</td>', f'<th scope="row">{method_link}{tag}{dagger}</th>']
    for k in [*cols, "predict_ms"]:
        v = _sort_value(s, k)
        if k == "predict_ms":
            text = "–" if v is None else f"{v:.0f}" if v >= 10 else f"{v:.2g}"
        else:
            text = _fmt(v, k)
        cls = "num best" if k in best and v == best[k] else "num"
        extra = ""
        if k != "predict_ms" and board_stats.half_width_text(s, k):
            extra = (f'<span class="ci" title="{_e(board_stats.interval_title(s, k))}">'
                     f'{_e(board_stats.half_width_text(s, k))}</span>')
        if k in paper:
            extra += f'<span class="paper">paper {_e(_paper_text(paper[k], k))}</span>'
        cells.append(f'<td class="{cls}" data-value="{"" if v is None else repr(v)}">{_e(text)}{extra}</td>')
        if k == cols[-1]:
            cells.append(f'<td class="vs">{_e(board_stats.vs_leader_text(mark))}</td>')
            pf = "" if mark.p_first is None else repr(mark.p_first)
            cells.append(f'<td class="num" data-value="{pf}">{_e(board_stats.p_first_text(mark))}</td>')
    c = s.get("counts", {})
    subset = s.get("subset")
    samples = f"{c.get('ok', 0)}/{c.get('total', 0)}"
    title = f"{c.get('ok', 0)} scored of {c.get('total', 0)}" + (f"; {s.get('subset_reason') or 'a subset of the ' + str(s.get('n_dataset')) + ' in the dataset'}" if subset else "")
    if c.get("error"):
        title += f"; {c['error']} failed"
    cells.append(f'<td class="num" title="{_e(title)}">{_e(samples)}{"*" if subset else ""}</td>')
    run_href = _href("runs", _file_name(dataset), _file_name(name) + ".html")
    cells.append(f'<td><a href="{run_href}" aria-label="provenance of {_e(name)} on {_e(dataset)}">provenance</a></td>')
    return (f'<tr data-method="{_e(s["method"])}" data-run="{_e(name)}" data-family="{_e(fam)}">'
            + "".join(cells) + "</tr>")


def _figure(f: Figure) -> str:
    src = _href("figures", f.path.name)
    return (f'<figure><a href="{src}"><img src="{src}" alt="{_e(f.caption)}" loading="lazy"></a>'
            f"<figcaption>{_e(f.caption)}</figcaption></figure>")


def _dataset_section(dataset: str, shown: list[dict[str, Any]], paper: Optional[PaperValues],
                     figures: Sequence[Figure] = ()) -> str:
    dcard = shown[0].get("dataset_card", {})
    parts = [f'<section id="ds-{_slug(dataset)}" aria-labelledby="ds-{_slug(dataset)}-h">',
             f'<h2 id="ds-{_slug(dataset)}-h">{_e(dataset)}</h2>']
    facts = []
    if dcard.get("notes"):
        facts.append(_e(dcard["notes"]))
    if dcard.get("paper") or dcard.get("url"):
        ref = _e(dcard.get("paper") or dcard.get("url"))
        facts.append(f'Source: <a href="{_e(dcard["url"])}">{ref}</a>' if safe_url(dcard.get("url")) else f"Source: {ref}")
    if dcard.get("licence") and dcard.get("licence") != "unknown":
        facts.append(f"Licence: {_e(dcard['licence'])}")
    if facts:  # folded, so the tables come first on a phone; <details> opens without JavaScript
        parts.append(f'<details class="about"><summary>About {_e(dataset)}</summary>'
                     + "".join(f'<p class="note">{f}</p>' for f in facts) + "</details>")
    primary = dcard.get("primary_metric", "mse_whole")
    present = {k for s in shown for k, v in s.get("means", {}).items() if k in M.METRICS}
    for proto in protocols():
        cols = [k for k in proto.metrics if k in present]
        if not cols:
            continue
        parts.append(_table(dataset, proto, cols, primary if primary in cols else cols[0], shown, paper))
    if any(s.get("subset") for s in shown):
        reasons = sorted({str(s.get("subset_reason")) for s in shown if s.get("subset") and s.get("subset_reason")})
        parts.append('<p class="note">* evaluated on a subset of the dataset (<code>--limit</code>, or a partial dataset tree'
                     + (": " + _e("; ".join(reasons)) if reasons else "") + "); compare such rows only with each other.</p>")
    if paper and paper.get(dataset):
        parts.append('<p class="note">“paper” values are the MODNet paper\'s own numbers, shown beside '
                     "what mattebench measured, never in place of it.</p>")
    parts.append(render_conventions_html(dataset, shown))  # toolkit conventions: apart, unranked
    parts.extend(_figure(f) for f in figures)
    parts.append("</section>")
    return "\n".join(parts)


def render_index(summaries: Sequence[dict[str, Any]], *, paper_values: Optional[PaperValues] = None,
                 figures: Sequence[Figure] = (), robustness_href: Optional[str] = None) -> str:
    """The site's front page (figures are linked as ``figures/<file name>``)."""
    shown = _shown(summaries)
    by_dataset: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for s in shown:
        by_dataset[s["dataset"]].append(s)
    finished = sorted(str(s.get("provenance", {}).get("finished", "")) for s in shown if s.get("provenance", {}).get("finished"))
    families = sorted({s.get("method_card", {}).get("family", FAMILY_FREE) for s in shown},
                      key=lambda f: list(FAMILY_LABELS).index(f) if f in FAMILY_LABELS else 9)
    body = ['<header>', "<h1>mattebench leaderboard</h1>",
            f'<p class="lede">{len(shown)} stored run{"s" if len(shown) != 1 else ""} on '
            f'{len(by_dataset)} dataset{"s" if len(by_dataset) != 1 else ""}'
            + (f", the latest finished {_e(finished[-1])}" if finished else "")
            + ". Every number is a mean over images, read from the runs' <code>summary.json</code>; "
            "every row links to its provenance (versions, commit, options, checkpoint hash) and its method card. "
            "Lower is better for every error metric.</p>"]
    general_figures = any(f.dataset not in by_dataset for f in figures)
    if len(by_dataset) > 1 or general_figures or robustness_href:
        links = [f'<li><a href="#ds-{_slug(d)}">{_e(d)}</a></li>' for d in sorted(by_dataset)]
        if general_figures:
            links.append('<li><a href="#figures">Figures</a></li>')
        if robustness_href:
            links.append(f'<li><a href="{_e(robustness_href)}">Robustness track</a></li>')
        body.append(f'<nav aria-label="Sections"><ul>{"".join(links)}</ul></nav>')
    body.append("</header>")
    body.append('<main id="main">')
    if shown:
        options = "".join(f'<option value="{_e(f)}">{_e(FAMILY_LABELS.get(f, f))}</option>' for f in families)
        body.append(
            '<form id="filters" class="filters" role="search" aria-label="Filter the tables" hidden>'
            '<label for="filter-name">Method name'
            '<input type="search" id="filter-name" name="method" autocomplete="off" placeholder="e.g. modnet"></label>'
            f'<label for="filter-family">Family<select id="filter-family" name="family"><option value="">all families</option>{options}</select></label>'
            '<output for="filter-name filter-family" aria-live="polite"></output></form>'
        )
    else:
        body.append("<p>No stored runs yet: run <code>mattebench run --method M --dataset D</code>, then "
                    "<code>mattebench leaderboard --html</code> again.</p>")
    general = [f for f in figures if f.dataset not in by_dataset]
    for dataset in sorted(by_dataset):
        body.append(_dataset_section(dataset, by_dataset[dataset], paper_values,
                                     [f for f in figures if f.dataset == dataset]))
    if general:
        body.append('<section id="figures" aria-labelledby="figures-h"><h2 id="figures-h">Figures</h2>')
        body.extend(_figure(f) for f in general)
        body.append("</section>")
    body.append("</main>")
    return _page("mattebench leaderboard", "\n".join(body), script=bool(shown))


# -- run and method pages ------------------------------------------------------------------------
def _recipe(recipe: Any) -> str:
    if isinstance(recipe, Mapping):
        return ": ".join(str(recipe[k]) for k in ("name", "rule") if recipe.get(k)) or json.dumps(recipe, sort_keys=True)
    return "" if recipe is None else str(recipe)


def render_run_page(s: Mapping[str, Any]) -> str:
    """Provenance of one run: versions, commit, device, data fingerprint, checkpoint, options, counts."""
    dataset, name = str(s["dataset"]), run_name(s)
    p, st, c = s.get("provenance", {}), s.get("settings", {}), s.get("counts", {})
    commit = str(p.get("commit", "unknown")) + (" (uncommitted changes)" if p.get("dirty") else "")
    device = " ".join(x for x in (str(p.get("device", "")), f"({p['device_name']})" if p.get("device_name") else "") if x)
    samples = f"{c.get('ok', 0)} scored, {c.get('error', 0)} failed, {c.get('pending', 0)} pending of {c.get('total', 0)}"
    if s.get("subset"):
        samples += (f" ({s['subset_reason']})" if s.get("subset_reason") else
                    f" (a subset of the {s.get('n_dataset')} samples in the dataset: --limit {st.get('limit')})")
    method_href = "../../" + _href("methods", _file_name(str(s["method"])) + ".html")
    facts = [
        ("Method", f'<a href="{method_href}">{_e(s["method"])}</a>' + (f" (tag {_e(s['tag'])})" if s.get("tag") else "")),
        ("Dataset", _e(dataset)),
        ("Complete", "yes" if s.get("complete") else "no (interrupted or pending samples)"),
        ("Samples", _e(samples)),
        ("mattebench", _e(p.get("mattebench"))),
        ("Commit", _code(commit)),
        ("Python", _e(p.get("python"))),
        ("torch", _e(p.get("torch"))),
        ("numpy", _e(p.get("numpy"))),
        ("Device", _e(device)),
        ("CUDA", _e(p.get("cuda"))),
        ("Platform", _e(p.get("platform"))),
        ("CPU threads", _e(p.get("threads"))),
        ("Dataset fingerprint", _code(p.get("dataset_fingerprint"))),
        ("Checkpoint", _code(p.get("checkpoint"))),
        ("Checkpoint sha256", _code(p.get("checkpoint_sha256"))),
        ("Method options", _code(json.dumps(st.get("method_options", {}), sort_keys=True))),
        ("Dataset options", _code(json.dumps(st.get("dataset_options", {}), sort_keys=True))),
        ("Data root", _code(st.get("data_root"))),
        ("Trimap recipe", _e(_recipe(p.get("trimap_recipe")))),
        ("Quantisation", _e(p.get("quantisation"))),
        ("Executor", _e(f"{p.get('executor')} ({p.get('workers')} worker{'s' if p.get('workers') != 1 else ''})") if p.get("executor") else ""),
        ("Started", _e(p.get("started"))),
        ("Finished", _e(p.get("finished"))),
        ("Command", _code(p.get("command"))),
    ]
    means = s.get("means", {})
    excluded = s.get("excluded", {})
    mrows = []
    for k, v in means.items():
        if k not in M.METRICS:  # predict_ms has its own row below
            continue
        inner, _ = _header(k)
        ex = excluded.get(k) or 0
        iv = board_stats.interval(s, k)
        ci = "–" if iv is None else f"[{_fmt(iv[0], k)}, {_fmt(iv[1], k)}]"
        mrows.append(f'<tr><th scope="row">{inner}</th><td class="num">{_e(_fmt(_number(v), k))}</td>'
                     f'<td class="num">{_e(ci)}</td><td class="num">{ex}</td></tr>')
    ms = s.get("predict_ms", {})
    if ms.get("median") is not None:
        mrows.append(f'<tr><th scope="row">Time <span class="unit">ms / sample, median</span></th>'
                     f'<td class="num">{_e(format(ms["median"], ".4g"))}</td><td class="num"></td><td class="num"></td></tr>')
    body = [
        f'<nav aria-label="Breadcrumb"><a href="../../index.html#ds-{_slug(dataset)}">← leaderboard</a></nav>',
        f"<header><h1>{_e(name)} on {_e(dataset)}</h1>"
        '<p class="lede">Provenance of this run: where every number on the leaderboard row came from.</p></header>',
        '<main id="main">',
        _dl(facts),
        "<h2>Means</h2>",
        '<div class="table-wrap"><table class="board"><thead><tr><th scope="col">Metric</th>'
        '<th scope="col" class="num">Mean</th>'
        f'<th scope="col" class="num" title="{_e(board_stats.method_text(s))}">95% CI</th>'
        '<th scope="col" class="num" title="samples whose value was NaN '
        '(e.g. no unknown pixels) and were left out of the mean">Excluded</th></tr></thead><tbody>'
        + "".join(mrows) + "</tbody></table></div>",
    ]
    notes = list(p.get("notes") or [])
    if notes:
        body.append("<h2>Notes</h2><ul>" + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>")
    errors = list(s.get("errors") or [])
    if errors:
        shown_errors = errors[:100]
        body.append(f"<h2>Failed samples ({len(errors)})</h2><ul>"
                    + "".join(f"<li><code>{_e(e.get('id'))}</code>: {_e(e.get('error'))}</li>" for e in shown_errors)
                    + "</ul>" + (f'<p class="note">and {len(errors) - 100} more in samples.csv</p>' if len(errors) > 100 else ""))
    raw = json.dumps(s, indent=2, sort_keys=True, default=str)
    body.append(f'<h2>summary.json</h2><p><a href="{_href(_file_name(name) + ".summary.json")}">Download</a> '
                f"(a copy of <code>{_e(s.get('run_dir', ''))}/summary.json</code>)</p>"
                f"<details><summary>Show</summary><pre>{_e(raw)}</pre></details>")
    body.append("</main>")
    return _page(f"{name} on {dataset}: provenance", "\n".join(body))


def render_method_page(card: Mapping[str, Any], runs: Sequence[Mapping[str, Any]]) -> str:
    """A method's card, and links to its runs."""
    name = str(card.get("name", runs[0]["method"] if runs else "method"))
    fam = card.get("family", FAMILY_FREE)
    paper = card.get("paper", "")
    url = card.get("url", "")
    if safe_url(url):  # http, https or relative only: a javascript: URL is shown as text
        paper_html = f'<a href="{_e(url)}">{_e(paper or url)}</a>'
    else:
        paper_html = _e(" ".join(str(x) for x in (paper, f"({url})" if url else "") if x))
    facts = [
        ("Family", f'<span class="badge {_e(fam)}">{_e(FAMILY_LABELS.get(fam, fam))}</span>'),
        ("Needs a trimap", "yes" if card.get("needs_trimap") else "no"),
        ("Pretrained variant", _e(card.get("pretrained"))),
        ("Paper", paper_html),
        ("Code licence", _e(card.get("code_licence"))),
        ("Weights licence", _e(card.get("weights_licence"))),
        ("Input size", _e(card.get("input_size"))),
        ("Trainable in mattebench", "yes" if card.get("trainable") else "no"),
        ("Notes", _e(card.get("notes"))),
    ]
    links = []
    for s in sorted(runs, key=lambda r: (str(r["dataset"]), run_name(r))):
        href = "../" + _href("runs", _file_name(str(s["dataset"])), _file_name(run_name(s)) + ".html")
        links.append(f'<li><a href="{href}">{_e(run_name(s))} on {_e(s["dataset"])}</a></li>')
    body = [
        '<nav aria-label="Breadcrumb"><a href="../index.html">← leaderboard</a></nav>',
        f'<header><h1>{_e(name)}</h1><p class="lede">Method card</p></header>',
        '<main id="main">',
        _dl(facts),
        "<h2>Runs</h2><ul>" + "".join(links) + "</ul>",
        "</main>",
    ]
    return _page(f"{name}: method card", "\n".join(body))


def paper_values_from_tables() -> dict[str, dict[str, dict[str, str]]]:
    """The MODNet paper's values keyed as the site wants them: dataset -> run name -> metric -> text.

    A paper row lands on the run folder that :mod:`.table_spec` assigns to it (``<method>@<tag>``) on the
    table's own dataset; the embedded ``synthetic`` stand-ins get none, since the paper never measured them.
    Values stay the strings the paper printed. Rows that mattebench cannot run (CRGNN) have no run to sit beside.
    """
    from .paper_values import TABLES
    from .table_spec import ROW_SPECS

    out: dict[str, dict[str, dict[str, str]]] = defaultdict(dict)
    for table in TABLES:
        for row in table.rows:
            spec = ROW_SPECS.get(row.key)
            if spec is None or not spec.available:
                continue
            out[table.dataset].setdefault(spec.run_name, {"mse_whole": row.mse_text, "mad_whole": row.mad_text})
    return dict(out)


# -- writing -------------------------------------------------------------------------------------
def _caption(f: Path, slugs: Mapping[str, str]) -> tuple[str, Optional[str]]:
    """Caption and dataset of a figure, from the names :mod:`.figures` gives its files, else the file name."""
    side = f.with_suffix(".txt")
    stem = f.stem
    dataset = None
    if stem.endswith("-comparison"):
        dataset = slugs.get(stem[: -len("-comparison")], stem[: -len("-comparison")])
    if side.is_file():
        return side.read_text(encoding="utf-8").strip(), dataset
    if dataset is not None:
        return (f"Visual comparison on {dataset}: input, ground truth and each method's alpha (re-run from the options "
                "stored in its run), with the error map |alpha − gt| below each", dataset)
    m = re.fullmatch(r"figure6-(.+)-([a-z0-9]+)-b(\d+)", stem)
    if m:
        return (f"Size and speed (the paper's Figure 6): parameters against latency per image at 512×512 on "
                f"{m.group(1).replace('-', ' ')}, {m.group(2)}, batch {m.group(3)}", None)
    return stem.replace("_", " ").replace("-", " "), None


def find_figures(folder: Union[str, os.PathLike[str], None], datasets: Iterable[str] = ()) -> list[Figure]:
    """Images in ``folder``, sorted by name. A caption comes from ``<stem>.txt`` beside the image, else from
    the names :mod:`.figures` writes (``<dataset>-comparison.png``, ``figure6-<device>-<precision>-b<batch>.png``),
    else from the file name. A ``<dataset>-comparison`` figure is shown with that dataset's tables."""
    if folder is None or not Path(folder).is_dir():
        return []
    slugs = {_slug(d): d for d in datasets}
    out = []
    for f in sorted(Path(folder).iterdir()):
        if f.is_file() and f.suffix.lower() in FIGURE_SUFFIXES:
            caption, dataset = _caption(f, slugs)
            out.append(Figure(f, caption, dataset))
    return out


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def write_site(
    runs: Union[str, os.PathLike[str]],
    out: Union[str, os.PathLike[str]],
    *,
    paper_values: Optional[PaperValues] = None,
    figures: Sequence[Figure] = (),
    summaries: Optional[Sequence[dict[str, Any]]] = None,
) -> Path:
    """Write ``<out>/site/`` from the runs under ``runs``; returns the path of ``index.html``.

    Each build first removes the files the previous build listed in its manifest (:mod:`.site_manifest`),
    so a run that was removed disappears, and a file that mattebench did not write stays.
    """
    loaded = list(summaries) if summaries is not None else load_published(runs)
    shown = _shown(loaded)
    site = Path(out) / SITE_DIR
    remove_previous(site)
    site.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    names = [f.path.name for f in figures]
    if len(set(names)) != len(names):
        raise ValueError(f"figures must have distinct file names, got {names}")
    for f in figures:
        (site / "figures").mkdir(exist_ok=True)
        shutil.copyfile(f.path, site / "figures" / f.path.name)
        written.append(site / "figures" / f.path.name)
    by_method: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for s in shown:
        by_method[str(s["method"])].append(s)
        base = site / "runs" / _file_name(str(s["dataset"]))
        written.append(_write(base / f"{_file_name(run_name(s))}.html", render_run_page(s)))
        written.append(_write(base / f"{_file_name(run_name(s))}.summary.json", json.dumps(s, indent=2, sort_keys=True, default=str)))
    for method, rs in by_method.items():
        card = dict(rs[0].get("method_card", {}))
        card.setdefault("name", method)
        written.append(_write(site / "methods" / f"{_file_name(method)}.html", render_method_page(card, rs)))
    from .robustness import write_site_page

    robust = write_site_page(site, runs, loaded, _asset("site.css"), __version__)
    if robust:  # the page and its figures belong to this build too
        written += [site / robust, *sorted((site / "figures").glob("robustness-*.png"))]
    index = site / "index.html"
    written.append(_write(index, render_index(shown, paper_values=paper_values, figures=figures, robustness_href=robust)))
    write_manifest(site, written)
    return index
