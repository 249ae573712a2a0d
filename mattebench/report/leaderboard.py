"""Markdown leaderboards, rendered only from stored runs (``<runs>/<dataset>/<method>/summary.json``).

One file per dataset. Trimap-based and trimap-free methods are ranked in separate sections by
the dataset's primary metric; units are in the headers; every row has a footnote with its
provenance (version, commit, torch/device, dataset fingerprint, checkpoint hash, options).
What is shown, and in which order, is the dataset's :class:`.board.Board` (the site renders the same
one); this module only writes it as markdown, every value through :mod:`.markdown_safe`.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Union

from tabulate import tabulate

from mattebench.files import atomic_write_text, safe_folder
from mattebench.report import board_stats
from mattebench.report.board import (
    APART_TEXT,
    VIDEO_PROTOCOL_KEY,
    WEIGHTS_CARD,
    Board,
    BoardRow,
    BoardTable,
    build_board,
    family_of,
    format_ms,
    metric_label,
    shipped_weights,
)
from mattebench.report.breakdown_section import render_markdown as render_breakdowns
from mattebench.report.conventions_section import render_markdown as render_conventions
from mattebench.report.markdown_safe import md_link, md_paragraph, md_text
from mattebench.report.out_paths import file_stem
from mattebench.report.published import load_published
from mattebench.runs.record import RecordError, RunRecord, as_record

RecordLike = Union[RunRecord, Mapping[str, Any]]

__all__ = ["family_of", "provenance_note", "render_board", "render_dataset", "write_leaderboards"]


def _method_cell(row: BoardRow) -> str:
    name = md_text(row.label)
    if row.pretrained:
        name += " †"
    if row.reference:
        name += " (reference)"
    if row.source_mark:
        name += f" ({row.source_mark})"
    return name


def _paper_cell(r: RunRecord) -> str:
    if shipped_weights(r):  # our checkpoint, not the paper's model: its card, not the paper
        return f"weights card `{WEIGHTS_CARD}`"
    paper, url = r.method_card.paper, r.method_card.url
    if not paper and not url:
        return ""
    short = paper.split(".")[0] if paper else url
    short = short if len(short) <= 40 else short[:37] + "..."
    return md_link(short, url) if url else md_text(short)


def _or(value: Any, missing: str = "?") -> str:
    return missing if value is None else str(value)


def provenance_note(s: RecordLike) -> str:
    """One line on where a run's numbers came from (versions, commit, device, data, checkpoint, options,
    counts, notes); every part comes from the record: data, not markup."""
    r = as_record(s)
    p, st, c = r.provenance, r.settings, r.counts
    commit = _or(p.commit, "unknown")[:10] + ("+dirty" if p.dirty else "")
    parts = [
        f"mattebench {_or(p.mattebench)} @ {commit}",
        f"torch {_or(p.torch)} on {_or(p.device)} ({_or(p.device_name, '')})".replace(" ()", ""),
        f"dataset fingerprint {_or(p.dataset_fingerprint)[:12]}",
    ]
    if p.checkpoint_sha256:
        parts.append(f"checkpoint sha256 {p.checkpoint_sha256[:12]}")
    if st.method_options:
        parts.append(f"method options {dict(st.method_options)}")
    if st.dataset_options:
        parts.append(f"dataset options {dict(st.dataset_options)}")
    parts.append(f"{c.ok}/{c.total} samples scored" + (f" of {r.n_dataset}" if r.subset else ""))
    if c.error:
        parts.append(f"{c.error} failed (see {r.run_dir or 'the run folder'}/samples.csv)")
    excluded = {k: v for k, v in r.excluded.items() if v}
    if excluded:
        parts.append("excluded (NaN, e.g. no unknown pixels): " + ", ".join(f"{k} {v}" for k, v in excluded.items()))
    parts.extend(p.notes)
    parts.append(f"finished {_or(p.finished)}")
    return md_text("; ".join(parts))


def _section(table: BoardTable, notes: list[str]) -> list[str]:
    """The ranked tables of the board's summary, one per family; appends each row's provenance to notes."""
    lines: list[str] = []
    for section in table.sections:
        headers = ["#", "Method", *[metric_label(k) for k in table.columns], "vs #1", "P(first)", "ms / sample",
                   "Samples", "Paper", "Run"]
        rows = []
        for row in section.rows:
            r = row.record
            notes.append(provenance_note(r))
            cells = [f"{c.text} {c.half_width}" if c.half_width else c.text for c in row.cells]
            rows.append([row.rank, _method_cell(row), *cells, board_stats.vs_leader_text(row.mark),
                         board_stats.p_first_text(row.mark), format_ms(row.time.value),
                         f"{r.counts.ok}/{r.counts.total}" + ("*" if r.subset else ""), _paper_cell(r), f"[^{len(notes)}]"])
        lines += [f"## {md_text(section.title)}", "", tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True), ""]
        lines += [f"Note: {md_text(n)}" for n in section.notes] + ([""] if section.notes else [])
    return lines


def _video_protocols(board: Board, notes: list[str]) -> list[str]:
    """The video benchmarks' official protocols (board.video_protocol_tables), ranked, with intervals over clips."""
    lines: list[str] = []
    for t in board.tables:
        if t.key.startswith(VIDEO_PROTOCOL_KEY):
            lines += [f"## {md_text(t.title)}", "", md_text(t.description), ""]
            lines += [x.replace("## ", "### ", 1) if x.startswith("## ") else x for x in _section(t, notes)]
    return lines


def _apart(board: Board) -> list[str]:
    """Published runs that are no result, listed under the ranked tables: name, why, no number and no mark."""
    if not board.apart:
        return []
    rows = [[md_text(a.label), APART_TEXT.get(a.kind, a.kind), f"{a.record.counts.ok}/{a.record.counts.total}",
             md_text(a.reason)] for a in board.apart]
    return ["## Not ranked", "",
            "Runs that are no result: never ranked, tested against the best run or put in the paper tables.", "",
            tabulate(rows, headers=["Run", "Status", "Samples", "Why"], tablefmt="github", disable_numparse=True), ""]


def render_board(board: Board, summaries: Sequence[RecordLike] = ()) -> str:
    """The markdown leaderboard of one board. The robustness section (never ranked) reads ``summaries``, the
    summary objects the board was built from, or else the board's records as summary objects."""
    card = board.card
    primary = board.primary
    lines = [f"# Leaderboard: {md_text(board.dataset)}", ""]
    if card is not None and card.notes:
        lines += [md_paragraph(card.notes), ""]
    protocols = md_text(", ".join(card.protocols if card is not None else ()))
    better = "lower" if board.summary.lower_is_better else "higher"
    lines += [
        f"Protocols: {protocols}. Ranked by {metric_label(primary)} ({better} is better). "
        "`whole`: every pixel, alpha in [0,1]; `unknown`: trimap == 128 only, prediction quantised to 8 bits, "
        "SAD/Grad/Conn divided by 1000 as in the Deep Image Matting evaluation code. "
        "Trimaps come from the dataset, or from the recipe named in each run's provenance.",
        "",
    ]
    notes: list[str] = []
    lines += _section(board.summary, notes)
    if board.records:  # the record's ci_method text escaped (board.summary.explanation is the site's, unescaped)
        lines += [board_stats.explanation(metric_label(board.primary), board.records, board.primary, escape=md_text), ""]
    lines += _video_protocols(board, notes)
    lines += _apart(board)
    if board.subset:
        lines += ["\\* evaluated on a subset of the dataset (`--limit`, or a partial dataset tree: see the run's provenance note); "
                  "compare such rows only with each other.", ""]
    lines += render_conventions(board.records)  # apart from the ranked tables, never ranked
    lines += render_breakdowns(board.records)  # "Where it fails": regions, boundaries, groups, foreground; never ranked
    if board.has_variants:
        from mattebench.report.robustness import render_section

        lines += [render_section(board.dataset, list(summaries) or [r.to_json() for r in board.given]), ""]
    if notes:
        lines += ["## Provenance", ""]
        lines += [f"[^{i}]: {n}" for i, n in enumerate(notes, 1)]
        lines.append("")
    return "\n".join(lines)


def render_dataset(dataset: str, summaries: Sequence[RecordLike]) -> str:
    """The markdown leaderboard of ``dataset`` from its runs (records or summary objects)."""
    return render_board(build_board(dataset, summaries), summaries)


def _readable(summaries: Sequence[RecordLike]) -> list[tuple[RunRecord, RecordLike]]:
    out = []
    for s in summaries:
        try:
            out.append((as_record(s), s))
        except RecordError:
            continue  # the loaders name such files; a table never shows them
    return out


def write_leaderboards(runs: str | os.PathLike[str], out: str | os.PathLike[str],
                       summaries: Optional[Sequence[RecordLike]] = None,
                       refused: Optional[list[str]] = None) -> list[Path]:
    """Render ``<out>/<dataset>.md`` for every dataset with runs; returns the files written.

    File names come from :func:`.out_paths.file_stem`, so no dataset name in a summary.json can place a
    file outside ``out``; unreadable summaries are skipped with a warning (:func:`.summaries.load_published`).
    A symbolic link where a file goes is never written through: the file is skipped, and the reason is
    appended to ``refused`` (a warning when no list is given).
    """
    by_dataset: dict[str, list[RecordLike]] = {}
    for r, s in _readable(load_published(runs) if summaries is None else summaries):
        by_dataset.setdefault(r.dataset, []).append(s)
    out_dir = safe_folder(out)
    written = []
    for dataset, given in sorted(by_dataset.items()):
        f = out_dir / f"{file_stem(dataset)}.md"
        if os.path.islink(f):  # planted under that name (the name itself has no separator: file_stem)
            why = (f"did not write {f}: it is a symbolic link (to {os.readlink(f)}), which could lead outside {out_dir}, "
                   f"and mattebench never writes through a link it did not make; remove it and rerun")
            if refused is None:
                warnings.warn(why)
            else:
                refused.append(why)
            continue
        atomic_write_text(f, render_dataset(dataset, given))
        written.append(f)
    return written
