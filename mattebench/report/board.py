"""The ranked board: what a leaderboard shows, built once from run records, rendered twice.

:func:`build_board` turns the records of one dataset into a :class:`Board`; the markdown leaderboard
(:mod:`.leaderboard`) and the HTML site (:mod:`.site_pages`) only render it. Everything a reader compares
between the two (which runs are shown, how they are grouped and ranked, which value is the best of its
column, the ± of each mean, the marks after a run's name, the ties with the leader) is decided here, so
the two renderings cannot disagree.

- Shown runs: :func:`.visibility.published` (no reference method, no robustness-track variant). Of those, only
  results are ranked (:func:`mattebench.report.compare.standing`, the rule ``compare`` and the paper tables apply too):
  a run that never scored a sample, ran untrained, or whose record its rows do not support is listed apart
  (:attr:`Board.apart`) with the reason, without numbers or marks.
- Groups: trimap-based and trimap-free methods are ranked apart (:data:`SECTIONS`); a reference method
  that takes a trimap would rank with the trimap-based; a run of a family this version does not know is
  shown in an "other" group of its own, never left out.
- Ranking: by the table's ranking metric, lower or higher first as ``metrics.METRICS`` says, runs
  without a value last, ties in run-name order.
- Best: the best value of each column within a group, when the group has at least two values.
- Tables: the markdown shows one table with every metric column, ranked by the dataset card's primary
  metric (:attr:`Board.summary`); the site shows one table per protocol (:attr:`Board.tables`), ranked
  by the primary metric when the protocol has it, else by its first column. Protocols are the
  ``protocol`` field of ``metrics.METRICS`` (``whole``, ``unknown``, ``video``).
- Marks: † when the record says the network started from a pretrained backbone
  (``provenance.pretrained_backbone``), "reference" for reference floors, and the user's input the run
  scored (saved predictions, an exported model) from ``provenance.input``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional, Sequence, Union

from mattebench.metrics import fast as M
from mattebench.names import escaped, fold
from mattebench.report import board_stats
from mattebench.report.compare import Standing, standing
from mattebench.report.published import published
from mattebench.runs.record import RunRecord, as_record
from mattebench.types import FAMILY_FREE, FAMILY_REFERENCE, FAMILY_TRIMAP, DatasetCard

RecordLike = Union[RunRecord, Mapping[str, Any]]

SECTIONS = ((FAMILY_TRIMAP, "Trimap-based methods"), (FAMILY_FREE, "Trimap-free methods"))
FAMILY_OTHER = "other"  # the group of runs whose family is none of SECTIONS
TIME = "predict_ms"  # the time column: median prediction ms per sample, lower is better
SAVED_PREDICTIONS = "scored from saved predictions"
# Runs shown with "(reference)": floors a method must beat (MethodCard.reference_floor), ranked with the others
# (the family "reference" is for ground-truth-fed methods, which are never shown).


# -- names and numbers (the one place the report package formats them) -------------------------------
def run_name(record: RecordLike) -> str:
    """A run's name: ``method`` or ``method@tag``, as its folder under ``<runs>/<dataset>/`` is named."""
    return as_record(record).name


SHIPPED_PREFIX = "mattebench:"
# Where a shipped checkpoint's card is (package data of mattebench.weights; the report names it, it never loads it).
WEIGHTS_CARD = "mattebench/weights/CARD.md"


def shipped_weights(record: RecordLike) -> str:
    """The checkpoint shipped with mattebench that a run scored (``mattebench:modnet-synthetic``), or "": from the
    record's ``provenance.checkpoint_shipped``, else (older records) its ``checkpoint`` option or provenance."""
    r = as_record(record)
    named = (r.provenance.checkpoint_shipped or {}).get("name")
    for value in (named, r.settings.method_options.get("checkpoint"), r.provenance.checkpoint):
        if isinstance(value, str) and value.startswith(SHIPPED_PREFIX) and len(value) > len(SHIPPED_PREFIX):
            return value
    return ""


def run_label(record: RecordLike) -> str:
    """A run's name as the tables print it: ``method`` or ``method @tag``, followed by the shipped checkpoint it
    scored (``modnet (mattebench:modnet-synthetic)``): our weights are never shown as the method's own."""
    r = as_record(record)
    weights = shipped_weights(r)
    return r.method + (f" @{r.tag}" if r.tag else "") + (f" ({weights})" if weights else "")


def metric_label(key: str) -> str:
    """The column header of a metric: its unit text from ``metrics.METRICS`` (``MSE (whole)``), else the key."""
    info = M.METRICS.get(key)
    return info.unit if info is not None else key


def lower_is_better(key: str) -> bool:
    """From ``metrics.METRICS``; the time column and unknown keys are errors or costs: lower is better."""
    info = M.METRICS.get(key)
    return True if info is None else bool(info.lower_is_better)


def direction_note(keys: Sequence[str]) -> str:
    """Which way is better, for a page showing the metrics ``keys`` (from ``metrics.METRICS``)."""
    higher = [metric_label(k) for k in keys if not lower_is_better(k)]
    if not higher:
        return "Lower is better for every error metric."
    return f"Lower is better for every error metric; higher is better for {', '.join(higher)}."


def format_value(value: Optional[float], key: str) -> str:
    """A metric value as a table cell: the metric's ``fmt``, else 4 significant digits; – when missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    info = M.METRICS.get(key)
    fmt = info.fmt if info is not None else None
    if fmt:
        return format(value, fmt)
    return f"{value:.4g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.3e}"


def format_ms(value: Optional[float]) -> str:
    """Median ms per sample, whole milliseconds (the markdown column)."""
    return "–" if value is None else f"{value:.0f}"


def format_ms_fine(value: Optional[float]) -> str:
    """Median ms per sample, two significant digits under 10 ms (the site's column)."""
    return "–" if value is None else f"{value:.0f}" if value >= 10 else f"{value:.2g}"


def family_of(record: RecordLike) -> str:
    """The section a run is ranked in: a reference method that takes a trimap ranks with the trimap-based."""
    card = as_record(record).method_card
    return FAMILY_TRIMAP if card.family == FAMILY_REFERENCE and card.needs_trimap else card.family


def is_pretrained(record: RecordLike) -> bool:
    """The † mark: the record says the network started from a pretrained backbone."""
    return as_record(record).provenance.pretrained_backbone is True


def input_source(record: RecordLike) -> str:
    """The user's input behind the run ("scored from saved predictions", "exported ONNX model"), or ""."""
    given = as_record(record).provenance.input
    return str(given.get("source", "")) if given else ""


# -- the model ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Protocol:
    """A set of metric columns shown as one site table (the ``protocol`` of ``metrics.METRICS``)."""

    key: str
    title: str
    description: str
    metrics: tuple[str, ...]


PROTOCOL_TEXT = {
    "whole": ("Whole image", "every pixel, alpha in [0, 1] (the MODNet paper's protocol)"),
    "unknown": ("Unknown region", "pixels where trimap == 128 only, prediction quantised to 8 bits; SAD, Grad and Conn "
                                  "divided by 1000 (the Deep Image Matting evaluation code)"),
    "video": ("Temporal", "video clips: consistency of the matte from frame to frame"),
}


COLUMN_ORDER = (*M.WHOLE_METRICS, *M.UNKNOWN_METRICS, *M.VIDEO_METRICS)


def protocols() -> tuple[Protocol, ...]:
    """The protocols a site table can show, with the metric columns of each (order = column order)."""
    return tuple(Protocol(key, title, description, tuple(k for k in COLUMN_ORDER if M.METRICS[k].protocol == key))
                 for key, (title, description) in PROTOCOL_TEXT.items())


@dataclass(frozen=True)
class Cell:
    """One value of a row: the mean of a metric (or the median time), as text, with its interval."""

    key: str
    value: Optional[float]
    text: str
    best: bool = False
    half_width: str = ""  # "± h", or "" when the record has no interval for it
    interval_title: str = ""  # "95% CI [lo, hi]"


@dataclass(frozen=True)
class BoardRow:
    record: RunRecord
    rank: int
    cells: tuple[Cell, ...]  # one per column of the table, in column order
    time: Cell
    mark: board_stats.RunMark
    pretrained: bool  # †
    reference: bool
    source: str  # the user's input the run scored, "" for a method run by mattebench
    look_alike: bool = False  # another shown run's name reads the same (names.fold): names are shown escaped

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def weights(self) -> str:
        """The shipped checkpoint the run scored ("" for none): the row links to its card, never to the paper."""
        return shipped_weights(self.record)

    @property
    def label(self) -> str:
        """The run's name as a table prints it; ``modnet\\u200b`` where another row's name looks the same."""
        return escaped(run_label(self.record)) if self.look_alike else run_label(self.record)

    @property
    def method_text(self) -> str:
        return escaped(self.record.method) if self.look_alike else self.record.method

    @property
    def tag_text(self) -> str:
        tag = self.record.tag or ""
        return escaped(tag) if self.look_alike else tag

    @property
    def source_mark(self) -> str:
        """The short form of :attr:`source` after a name: "saved predictions", "ONNX", or ""."""
        if self.source == SAVED_PREDICTIONS:
            return "saved predictions"
        if self.source.startswith("exported "):
            return self.source.split()[1]
        return ""


@dataclass(frozen=True)
class BoardSection:
    """One ranked group of a table (trimap-based or trimap-free methods)."""

    family: str
    title: str
    rows: tuple[BoardRow, ...]
    notes: tuple[str, ...]  # what the significance marks could not use (board_stats)


@dataclass(frozen=True)
class BoardTable:
    key: str  # "all" for the markdown's table, else the protocol
    title: str
    description: str
    columns: tuple[str, ...]
    primary: str  # the ranking metric
    sections: tuple[BoardSection, ...]
    explanation: str  # the footnote on the ± and the marks (board_stats), for this table's ranking metric

    @property
    def lower_is_better(self) -> bool:
        return lower_is_better(self.primary)

    @property
    def notes(self) -> tuple[str, ...]:
        return tuple(n for s in self.sections for n in s.notes)

    @property
    def rows(self) -> tuple[BoardRow, ...]:
        return tuple(r for s in self.sections for r in s.rows)


# How a run listed apart is labelled (Standing.kind -> text).
APART_TEXT = {"untrained": "untrained", "not run": "not run", "unsupported": "not supported by its rows"}


@dataclass(frozen=True)
class ApartRow:
    """A published run that is not a result (never ran, untrained, unsupported): listed under the tables, unranked."""

    record: RunRecord
    standing: Standing

    @property
    def label(self) -> str:
        return run_label(self.record)

    @property
    def kind(self) -> str:
        return self.standing.kind

    @property
    def reason(self) -> str:
        return self.standing.reason


@dataclass(frozen=True)
class Board:
    """The shown runs of one dataset, ranked."""

    dataset: str
    card: Optional[DatasetCard]  # of the first ranked run (else of the first listed apart); None when none
    records: tuple[RunRecord, ...]  # the ranked runs (results), in the order given
    summary: BoardTable  # every metric column, ranked by the primary metric (the markdown leaderboard)
    tables: tuple[BoardTable, ...]  # one per protocol with columns (the site)
    given: tuple[RunRecord, ...]  # every run given, variants and unpublished runs included
    apart: tuple[ApartRow, ...] = ()  # published runs that are no result, in run-name order, never ranked

    @property
    def has_variants(self) -> bool:
        """Robustness-track runs exist for this dataset (shown apart, never ranked)."""
        return any(r.is_variant for r in self.given)

    @property
    def primary(self) -> str:
        return self.summary.primary

    @property
    def subset(self) -> bool:
        return any(r.subset for r in self.records)


# -- building -----------------------------------------------------------------------------------------
class _Context:
    """One build: each record's JSON object (board_stats and the paired tests read it; they serve the
    compare command too) and group_stats once per (group, metric), which the summary table and a
    protocol table often share."""

    def __init__(self, records: Sequence[RunRecord] = ()) -> None:
        self.look_alike = look_alike_names(records)
        self._json: dict[int, dict[str, Any]] = {}
        self._stats: dict[tuple[tuple[str, ...], str], board_stats.GroupStats] = {}

    def json(self, r: RunRecord) -> dict[str, Any]:
        if id(r) not in self._json:
            self._json[id(r)] = r.to_json()
        return self._json[id(r)]

    def stats(self, group: Sequence[RunRecord], metric: str) -> board_stats.GroupStats:
        key = (tuple(r.name for r in group), metric)
        if key not in self._stats:
            self._stats[key] = board_stats.group_stats([self.json(r) for r in group], metric)
        return self._stats[key]


def _value(r: RunRecord, key: str) -> Optional[float]:
    return r.predict_ms.median if key == TIME else r.mean(key)


def _rank_key(key: str) -> Callable[[RunRecord], tuple]:
    sign = 1.0 if lower_is_better(key) else -1.0

    def k(r: RunRecord) -> tuple:
        v = _value(r, key)
        return (v is None, sign * v if v is not None else 0.0, r.name)

    return k


def _best(group: Sequence[RunRecord], keys: Sequence[str]) -> dict[str, float]:
    best = {}
    for k in keys:
        vals = [v for v in (_value(r, k) for r in group) if v is not None]
        if len(vals) > 1:
            best[k] = min(vals) if lower_is_better(k) else max(vals)
    return best


def _cell(r: RunRecord, key: str, best: Mapping[str, float], ctx: _Context) -> Cell:
    v = _value(r, key)
    s = ctx.json(r)
    return Cell(key, v, format_value(v, key), key in best and v == best[key],
                board_stats.half_width_text(s, key), board_stats.interval_title(s, key))


def _row(r: RunRecord, rank: int, columns: Sequence[str], best: Mapping[str, float],
         mark: board_stats.RunMark, ctx: _Context) -> BoardRow:
    t = _value(r, TIME)
    card = r.method_card
    return BoardRow(r, rank, tuple(_cell(r, k, best, ctx) for k in columns),
                    Cell(TIME, t, format_ms_fine(t), TIME in best and t == best[TIME]), mark,
                    is_pretrained(r), card.family == FAMILY_REFERENCE or card.reference_floor, input_source(r),
                    r.name in ctx.look_alike)


def _groups(records: Sequence[RunRecord]) -> list[tuple[str, str, list[RunRecord]]]:
    """(family, heading, runs) of each ranked group: the known families, then every run whose family this
    mattebench does not know (a newer version's, or an edited record) in one group of its own, ranked apart and
    named by its families, so that no shown run is left out of the tables without a word."""
    known = [f for f, _ in SECTIONS]
    groups = [(f, heading, [r for r in records if family_of(r) == f]) for f, heading in SECTIONS]
    other = [r for r in records if family_of(r) not in known]
    if other:
        names = ", ".join(sorted({repr(family_of(r)) for r in other}))
        groups.append((FAMILY_OTHER, f"Other methods (family {names}, unknown to this mattebench; ranked apart)", other))
    return groups


def _table(key: str, title: str, description: str, records: Sequence[RunRecord], columns: Sequence[str],
           primary: str, ctx: _Context) -> BoardTable:
    sections = []
    for family, heading, members in _groups(records):
        group = sorted(members, key=_rank_key(primary))
        if not group:
            continue
        best = _best(group, [*columns, TIME])
        marks = ctx.stats(group, primary)
        rows = tuple(_row(r, rank, columns, best, marks.mark(r.name), ctx) for rank, r in enumerate(group, 1))
        sections.append(BoardSection(family, heading, rows, tuple(_told_apart(n, ctx.look_alike) for n in marks.notes)))
    explanation = (board_stats.explanation(metric_label(primary), [ctx.json(r) for r in records], primary)
                   if records else "")
    return BoardTable(key, title, description, tuple(columns), primary, tuple(sections), explanation)


def _told_apart(note: str, look_alike: set[str]) -> str:
    """A note naming runs, with the look-alike names escaped as their rows show them (longest first, so a name
    inside another is not escaped twice)."""
    for name in sorted(look_alike, key=len, reverse=True):
        if escaped(name) != name:
            note = note.replace(name, escaped(name))
    return note


def look_alike_names(records: Sequence[RunRecord]) -> set[str]:
    """The run names that read as another run's name (:func:`mattebench.names.fold`: case, width, invisible
    characters, dashes, Cyrillic or Greek look-alikes): rows a reader could not tell apart, so they are shown
    with their non-ASCII and invisible characters escaped. Such names cannot be registered or written by this
    version; a stored run from elsewhere may still hold one."""
    by_fold: dict[str, set[str]] = {}
    for r in records:
        by_fold.setdefault(fold(r.name), set()).add(r.name)
    return {n for names in by_fold.values() if len(names) > 1 for n in names}


def metric_columns(records: Sequence[RunRecord]) -> list[str]:
    """The metric columns present in any record's means, whole then unknown then video metrics."""
    seen = {k for r in records for k in r.means if k in M.METRICS}
    return [k for k in COLUMN_ORDER if k in seen]


def build_board(dataset: str, records: Sequence[RecordLike]) -> Board:
    """The board of ``dataset`` from its runs (records or summary objects; unpublished ones are left out)."""
    given = [as_record(r) for r in records]
    standings = [(r, standing(r)) for r in published(given)]
    shown = tuple(r for r, st in standings if st.ranked)
    apart = tuple(sorted((ApartRow(r, st) for r, st in standings if not st.ranked), key=lambda a: a.record.name))
    first = shown[0] if shown else (apart[0].record if apart else None)
    card = first.dataset_card if first is not None else None
    cols = metric_columns(shown)
    primary = card.primary_metric if card is not None else DatasetCard(name=dataset).primary_metric
    ctx = _Context(shown)
    summary = _table("all", "", "", shown, cols, primary if primary in cols or not cols else cols[0], ctx)
    tables = []
    for proto in protocols():
        pcols = [k for k in proto.metrics if k in cols]
        if pcols:
            tables.append(_table(proto.key, proto.title, proto.description, shown, pcols,
                                 primary if primary in pcols else pcols[0], ctx))
    tables += video_protocol_tables(shown, ctx)
    return Board(dataset, card, shown, summary, tuple(tables), tuple(given), apart)


VIDEO_PROTOCOL_KEY = "protocol-"  # table keys of the video benchmarks' official protocols ("protocol-rvm-lr")


def video_protocol_tables(shown: Sequence[RunRecord], ctx: "_Context") -> list[BoardTable]:
    """One table per video benchmark protocol present in the runs (``mad@rvm-lr``...): the official script's numbers,
    each run's mean over clips with its interval over clips. Rows are ranked, and marked against #1, by the reference
    column the protocol's metrics name (MAD (whole) for RVM's MAD, MSE for TCVOM's): the paired statistics and
    resolutions are defined for the reference metrics only (docs/statistics.md)."""
    from mattebench.metrics.conventions import VIDEO_PROTOCOLS

    out = []
    for name, conv in VIDEO_PROTOCOLS.items():
        cols = [conv.column(m) for m in conv.metrics if any(conv.column(m) in r.means for r in shown)]
        refs = [m.reference for m in conv.metrics if m.reference in M.METRICS and all(m.reference in r.means for r in shown)]
        if cols and refs:
            title = f"Official protocol {name} ({conv.toolkit})"
            text = (f"{conv.description} {conv.repo}@{conv.commit}; intervals over clips; ranked by "
                    f"{metric_label(refs[0])}.")
            out.append(_table(VIDEO_PROTOCOL_KEY + name, title, text, shown, cols, refs[0], ctx))
    return out


def build_boards(records: Sequence[RecordLike]) -> dict[str, Board]:
    """One board per dataset that has a published run (ranked or listed apart), in dataset-name order."""
    by_dataset: dict[str, list[RunRecord]] = {}
    for r in (as_record(x) for x in records):
        by_dataset.setdefault(r.dataset, []).append(r)
    boards = {d: build_board(d, rs) for d, rs in sorted(by_dataset.items())}
    return {d: b for d, b in boards.items() if b.records or b.apart}
