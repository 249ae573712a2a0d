"""The site's pages, rendered from the ranked boards (:mod:`.board`) through the Jinja2 templates in
``report/assets/`` (``page.html.j2`` and the pages that extend it).

Autoescaping is on, and every printed value goes through :func:`_escape` (the environment's
``finalize``): HTML-escaped with quotes, and bytes that are not UTF-8 (a sample id is a file name, kept
with surrogateescape) shown as ``\\xNN`` rather than failing the write. The view objects built here hold
plain text; only the templates hold markup.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, fields
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Union
from urllib.parse import quote

import jinja2
from markupsafe import Markup

from mattebench.environment import __version__
from mattebench.metrics import fast as M
from mattebench.report import board_stats
from mattebench.report.board import (
    APART_TEXT,
    WEIGHTS_CARD,
    Board,
    direction_note,
    format_value,
    metric_label,
    run_name,
    shipped_weights,
)
from mattebench.report.compare import standing
from mattebench.report.breakdown_section import render_html as render_breakdowns_html
from mattebench.report.conventions_section import render_html as render_conventions_html
from mattebench.report.markdown_safe import safe_url
from mattebench.report.out_paths import anchor, file_stem
from mattebench.runs.record import RunRecord, as_record
from mattebench.types import FAMILY_FREE, FAMILY_REFERENCE, FAMILY_TRIMAP, MethodCard

RecordLike = Union[RunRecord, Mapping[str, Any]]
# dataset -> run or method name -> metric -> the paper's value (a float, or the string as printed).
PaperValues = Mapping[str, Mapping[str, Mapping[str, Union[float, str]]]]

FAMILY_LABELS = {FAMILY_TRIMAP: "trimap-based", FAMILY_FREE: "trimap-free", FAMILY_REFERENCE: "reference"}


@dataclass(frozen=True)
class Figure:
    """An image shown in the site's figures section (copied beside the page)."""

    path: Path
    caption: str
    dataset: Optional[str] = None  # shown under that dataset's tables; None: in the figures section


# -- the environment ------------------------------------------------------------------------------
def _escape(value: Any) -> Markup:
    if isinstance(value, Markup):
        return value
    text = html.escape("" if value is None else str(value), quote=True)
    return Markup(text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace"))


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("mattebench.report", "assets"), autoescape=True,
                             finalize=_escape, undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(data_value=_data_value, header=header)
    env.globals.update(method_href=method_href, run_href=run_href, samples_title=samples_title, paper_text=_paper_text,
                       paper_for=_paper_for, vs_text=board_stats.vs_leader_text, vs_title=board_stats.vs_leader_title,
                       p_first_text=board_stats.p_first_text,
                       metric_label=metric_label, anchor=anchor, href=href, VS_TITLE=board_stats.VS_TITLE,
                       P_FIRST_TITLE=board_stats.P_FIRST_TITLE, WEIGHTS_CARD=WEIGHTS_CARD, APART_TEXT=APART_TEXT)
    return env


def asset(name: str) -> str:
    """A file of ``report/assets/`` as text (the CSS and JavaScript inlined into every page)."""
    return resources.files("mattebench.report").joinpath("assets", name).read_text(encoding="utf-8")


def _render(template: str, title: str, *, script: bool = False, **context: Any) -> str:
    return _env().get_template(template).render(title=title, version=__version__, css=asset("site.css"),
                                               script=asset("site.js") if script else "", **context)


def href(*parts: str) -> str:
    """A relative link from path parts (each percent-quoted; ``@`` and ``+`` kept readable)."""
    return "/".join(quote(p, safe="@+") for p in parts)


def run_href(record: RunRecord) -> str:
    """The provenance page of a run, relative to the site's root."""
    return href("runs", file_stem(record.dataset), file_stem(record.name) + ".html")


def method_href(method: str) -> str:
    return href("methods", file_stem(method) + ".html")


# -- views (plain text; the templates add the markup) ----------------------------------------------
@dataclass(frozen=True)
class Header:
    key: str
    label: str
    name: str  # the metric's label, when the header shows it with the unit apart
    unit: str
    title: str


def header(key: str) -> Header:
    """Column header: the metric's label with its unit (from ``metrics.METRICS``), and its description."""
    info = M.METRICS.get(key)
    if info is None:
        return Header(key, metric_label(key), "", "", "")
    apart = bool(info.label and info.unit and info.label != info.unit and info.label not in info.unit)
    return Header(key, metric_label(key), info.label if apart else "", info.unit if apart else "", info.description)


@dataclass(frozen=True)
class Fact:
    label: str
    text: Optional[str]
    code: bool = False
    href: Optional[str] = None
    after: str = ""  # text after the link
    badge: str = ""  # a badge's class


def _text(value: Any) -> Optional[str]:
    return None if value is None else str(value)


def _paper_text(value: Union[float, str], key: str) -> str:
    return value if isinstance(value, str) else format_value(float(value), key)


def _paper_for(paper: Optional[PaperValues], r: RunRecord) -> Mapping[str, Union[float, str]]:
    if not paper or shipped_weights(r):  # our checkpoint is not the paper's model: never beside its values
        return {}
    table = paper.get(r.dataset, {})
    return table.get(r.name) or table.get(r.method) or {}


def samples_title(r: RunRecord) -> str:
    """The tooltip of a row's Samples cell: scored of asked, why a subset, how many failed."""
    c = r.counts
    title = f"{c.ok} scored of {c.total}"
    if r.subset:
        title += f"; {r.subset_reason or 'a subset of the ' + str(r.n_dataset) + ' in the dataset'}"
    return title + (f"; {c.error} failed" if c.error else "")


def _data_value(value: Optional[float]) -> str:
    """A cell's ``data-value`` (what the sorting script reads): the exact float, "" when missing."""
    return "" if value is None else repr(value)


@dataclass(frozen=True)
class AboutLine:
    """A line of a dataset's folded "About" box (from its card)."""

    prefix: str
    text: str
    href: str = ""  # a safe link for the text, else ""


@dataclass(frozen=True)
class DatasetSection:
    """What the index shows of one dataset besides its board's tables."""

    board: Board
    about: tuple[AboutLine, ...]
    subset_reasons: str
    paper: bool  # the paper's values are shown beside the measured ones
    conventions: Markup  # the toolkit-conventions section (conventions_section renders it from its template)
    figures: tuple[Figure, ...]
    breakdowns: Markup = Markup("")  # "Where it fails" (breakdown_section renders it); "" for runs without the columns


def _about(board: Board) -> tuple[AboutLine, ...]:
    card = board.card
    if card is None:
        return ()
    about = []
    if card.notes:
        about.append(AboutLine("", card.notes))
    if card.paper or card.url:
        about.append(AboutLine("Source: ", card.paper or card.url, card.url if safe_url(card.url) else ""))
    if card.licence and card.licence != "unknown":
        about.append(AboutLine("Licence: ", card.licence))
    return tuple(about)


def _section(board: Board, paper: Optional[PaperValues], figures: Sequence[Figure]) -> DatasetSection:
    reasons = sorted({r.subset_reason for r in board.records if r.subset and r.subset_reason})
    return DatasetSection(board, _about(board), "; ".join(reasons), bool(paper and paper.get(board.dataset)),
                          Markup(render_conventions_html(board.dataset, board.records)),
                          tuple(f for f in figures if f.dataset == board.dataset),
                          Markup(render_breakdowns_html(board.dataset, board.records)))


def render_index_page(boards: Mapping[str, Board], *, paper_values: Optional[PaperValues] = None,
                      figures: Sequence[Figure] = (), robustness_href: Optional[str] = None) -> str:
    """The site's front page from the boards of every dataset (figures are linked as ``figures/<name>``)."""
    shown = [r for b in boards.values() for r in b.records]
    finished = sorted(r.provenance.finished for r in shown if r.provenance.finished)
    order = list(FAMILY_LABELS)
    families = sorted({r.method_card.family for r in shown}, key=lambda f: order.index(f) if f in order else 9)
    general = [f for f in figures if f.dataset not in boards]
    columns = sorted({k for b in boards.values() for t in b.tables for k in t.columns})
    return _render(
        "index.html.j2", "mattebench leaderboard", script=bool(shown), n_runs=len(shown),
        datasets=[_section(boards[d], paper_values, figures) for d in sorted(boards)], paper_values=paper_values or {},
        finished=finished[-1] if finished else "", nav=len(boards) > 1 or bool(general) or bool(robustness_href),
        general_figures=bool(general), robustness_href=robustness_href or "",
        families=[(f, FAMILY_LABELS.get(f, f)) for f in families], general=general, direction=direction_note(columns))


# -- run and method pages --------------------------------------------------------------------------
def _recipe(recipe: Any) -> str:
    if isinstance(recipe, Mapping):
        return ": ".join(str(recipe[k]) for k in ("name", "rule") if recipe.get(k)) or json.dumps(recipe, sort_keys=True)
    return "" if recipe is None else str(recipe)


def _run_facts(r: RunRecord) -> list[Fact]:
    p, st, c = r.provenance, r.settings, r.counts
    commit = (p.commit if p.commit is not None else "unknown") + (" (uncommitted changes)" if p.dirty else "")
    device = " ".join(x for x in (p.device or "", f"({p.device_name})" if p.device_name else "") if x)
    samples = f"{c.ok} scored, {c.error} failed, {c.pending} pending of {c.total}"
    if r.subset:
        samples += (f" ({r.subset_reason})" if r.subset_reason else
                    f" (a subset of the {r.n_dataset} samples in the dataset: --limit {st.limit})")
    workers = f"{p.executor} ({p.workers} worker{'s' if p.workers != 1 else ''})" if p.executor else None
    st_ = standing(r)  # the boards' rule: a run that is no result says so on its own page too
    weights = shipped_weights(r)
    return [
        Fact("Method", r.method, href="../../" + method_href(r.method), after=f" (tag {r.tag})" if r.tag else ""),
        Fact("Weights", f"{weights}, shipped with mattebench (not the paper's model); card: {WEIGHTS_CARD}" if weights else None),
        Fact("Not ranked", f"{APART_TEXT.get(st_.kind, st_.kind)}: {st_.reason}" if not st_.ranked else None),
        Fact("Dataset", r.dataset),
        Fact("Complete", "yes" if r.complete else "no (interrupted or pending samples)"),
        Fact("Samples", samples),
        Fact("mattebench", p.mattebench), Fact("Commit", commit, code=True), Fact("Python", p.python),
        Fact("torch", p.torch), Fact("numpy", p.numpy), Fact("Device", device), Fact("CUDA", _text(p.extra.get("cuda"))),
        Fact("Platform", p.platform), Fact("CPU threads", _text(p.threads)),
        Fact("Dataset fingerprint", p.dataset_fingerprint, code=True), Fact("Checkpoint", p.checkpoint, code=True),
        Fact("Checkpoint sha256", p.checkpoint_sha256, code=True),
        Fact("Method options", json.dumps(dict(st.method_options), sort_keys=True), code=True),
        Fact("Dataset options", json.dumps(dict(st.dataset_options), sort_keys=True), code=True),
        Fact("Data root", st.data_root, code=True), Fact("Trimap recipe", _recipe(p.trimap_recipe)),
        Fact("Quantisation", p.quantisation), Fact("Executor", workers),
        Fact("Started", p.started), Fact("Finished", p.finished), Fact("Command", p.command, code=True),
    ]


@dataclass(frozen=True)
class MeanRow:
    """A row of a run page's Means table."""

    header: Header
    mean: str
    ci: str
    excluded: int


def _means_view(r: RunRecord) -> list[MeanRow]:
    s = r.to_json()
    out = []
    for k in r.means:
        if k not in M.METRICS:  # predict_ms has its own row
            continue
        iv = board_stats.interval(s, k)
        out.append(MeanRow(header(k), format_value(r.mean(k), k),
                           "–" if iv is None else f"[{format_value(iv[0], k)}, {format_value(iv[1], k)}]",
                           r.excluded.get(k) or 0))
    return out


def render_run_page(s: RecordLike) -> str:
    """Provenance of one run: versions, commit, device, data fingerprint, checkpoint, options, counts."""
    r = as_record(s)
    raw = json.dumps(s if isinstance(s, Mapping) else r.to_json(), indent=2, sort_keys=True, default=str)
    median = r.predict_ms.median
    return _render(
        "run.html.j2", f"{r.name} on {r.dataset}: provenance", anchor=anchor(r.dataset), name=r.name,
        dataset=r.dataset, items=_run_facts(r), ci_title=board_stats.method_text(r.to_json()), means=_means_view(r),
        time=None if median is None else format(median, ".4g"), notes=list(r.provenance.notes),
        errors=list(r.errors[:100]), n_errors=len(r.errors), json_href=href(file_stem(r.name) + ".summary.json"),
        run_dir=r.run_dir or "", raw=raw)


def method_card(card: Union[MethodCard, Mapping[str, Any]], default_name: str = "method") -> MethodCard:
    """A card from a card or from its JSON object (keys a card does not have are dropped)."""
    if isinstance(card, MethodCard):
        return card
    known = {f.name for f in fields(MethodCard)}
    return MethodCard(**{"name": default_name, **{k: v for k, v in card.items() if k in known}})


def render_method_page(card: Union[MethodCard, Mapping[str, Any]], runs: Sequence[RecordLike]) -> str:
    """A method's card, and links to its runs."""
    records = [as_record(s) for s in runs]
    c = method_card(card, records[0].method if records else "method")
    if safe_url(c.url):  # http, https or relative only: a javascript: URL is shown as text
        paper = Fact("Paper", c.paper or c.url, href=c.url)
    else:
        paper = Fact("Paper", " ".join(x for x in (c.paper, f"({c.url})" if c.url else "") if x))
    items = [
        Fact("Family", FAMILY_LABELS.get(c.family, c.family), badge=c.family),
        Fact("Needs a trimap", "yes" if c.needs_trimap else "no"),
        Fact("Pretrained variant", c.pretrained), paper, Fact("Code licence", c.code_licence),
        Fact("Weights licence", c.weights_licence), Fact("Input size", c.input_size),
        Fact("Trainable in mattebench", "yes" if c.trainable else "no"), Fact("Notes", c.notes),
    ]
    runs_sorted = sorted(records, key=lambda r: (r.dataset, run_name(r)))
    return _render("method.html.j2", f"{c.name}: method card", name=c.name, items=items, runs=runs_sorted)
