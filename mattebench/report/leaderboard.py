"""Markdown leaderboards, rendered only from stored runs (``<runs>/<dataset>/<method>/summary.json``).

One file per dataset. Trimap-based and trimap-free methods are ranked in separate sections by
the dataset's primary metric; units are in the headers; every row has a footnote with its
provenance (version, commit, torch/device, dataset fingerprint, checkpoint hash, options).
"""

from __future__ import annotations

import math
import os
import warnings
from collections import defaultdict
from pathlib import Path
from typing import Any, Optional

from tabulate import tabulate

from .. import metrics as M
from ..robustness import is_variant_run
from .visibility import published
from ..types import FAMILY_FREE, FAMILY_REFERENCE, FAMILY_TRIMAP
from . import board_stats
from .conventions_section import render_markdown as render_conventions
from .markdown_safe import md_link, md_paragraph, md_text
from .out_paths import file_stem, inside
from .summaries import load_published

SECTIONS = ((FAMILY_TRIMAP, "Trimap-based methods"), (FAMILY_FREE, "Trimap-free methods"))


def _label(key: str) -> str:
    info = M.METRICS.get(key)
    return info.unit if info is not None else key


def _fmt(value: Optional[float], key: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    info = M.METRICS.get(key)
    fmt = getattr(info, "fmt", None) if info is not None else None
    if fmt:
        return format(value, fmt)
    return f"{value:.4g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.3e}"


def _columns(summaries: list[dict[str, Any]]) -> list[str]:
    seen: list[str] = []
    for s in summaries:
        for k in s.get("means", {}):
            if k != "predict_ms" and k not in seen and k in M.METRICS:
                seen.append(k)
    order = [*M.WHOLE_METRICS, *M.UNKNOWN_METRICS, *M.VIDEO_METRICS]
    return [k for k in order if k in seen]


def family_of(s: dict[str, Any]) -> str:
    """The section a run is ranked in: a reference method that takes a trimap ranks with the trimap-based."""
    fam = s.get("method_card", {}).get("family", FAMILY_FREE)
    return FAMILY_TRIMAP if fam == FAMILY_REFERENCE and s.get("method_card", {}).get("needs_trimap") else fam


def _sort_key(primary: str):
    def key(s: dict[str, Any]) -> tuple:
        v = s.get("means", {}).get(primary)
        return (v is None or (isinstance(v, float) and math.isnan(v)), v if v is not None else 0.0, s["method"])

    return key


def is_pretrained_run(s: dict[str, Any]) -> bool:
    """† marks a run whose network started from the SPS backbone: a backbone checkpoint was given, or the
    run is tagged as such (``sps``, ``official``). The card only says that a † variant exists."""
    opts = s.get("settings", {}).get("method_options", {}) or {}
    tag = str(s.get("tag") or "")
    return bool(opts.get("backbone_checkpoint")) or "sps" in tag.split("-") or tag == "official"


def _method_cell(s: dict[str, Any]) -> str:
    card = s.get("method_card", {})
    name = md_text(s["method"] + (f" @{s['tag']}" if s.get("tag") else ""))
    if is_pretrained_run(s):
        name += " †"
    if card.get("family") == FAMILY_REFERENCE or card.get("name") in ("trimap-midpoint",):
        name += " (reference)"
    source = str(((s.get("provenance") or {}).get("input") or {}).get("source", ""))
    if source == "scored from saved predictions":
        name += " (saved predictions)"
    elif source.startswith("exported "):
        name += f" ({source.split()[1]})"
    return name


def _paper_cell(s: dict[str, Any]) -> str:
    card = s.get("method_card", {})
    paper, url = card.get("paper", ""), card.get("url", "")
    if not paper and not url:
        return ""
    short = paper.split(".")[0] if paper else url
    short = short if len(short) <= 40 else short[:37] + "..."
    return md_link(short, url) if url else md_text(short)


def _provenance_note(s: dict[str, Any]) -> str:
    p = s.get("provenance", {})
    st = s.get("settings", {})
    commit = str(p.get("commit", "unknown"))[:10] + ("+dirty" if p.get("dirty") else "")
    parts = [
        f"mattebench {p.get('mattebench', '?')} @ {commit}",
        f"torch {p.get('torch', '?')} on {p.get('device', '?')} ({p.get('device_name', '')})".replace(" ()", ""),
        f"dataset fingerprint {str(p.get('dataset_fingerprint', '?'))[:12]}",
    ]
    if p.get("checkpoint_sha256"):
        parts.append(f"checkpoint sha256 {p['checkpoint_sha256'][:12]}")
    if st.get("method_options"):
        parts.append(f"method options {st['method_options']}")
    if st.get("dataset_options"):
        parts.append(f"dataset options {st['dataset_options']}")
    c = s.get("counts", {})
    parts.append(f"{c.get('ok', 0)}/{c.get('total', 0)} samples scored" + (f" of {s.get('n_dataset')}" if s.get("subset") else ""))
    if c.get("error"):
        parts.append(f"{c['error']} failed (see {s.get('run_dir', 'the run folder')}/samples.csv)")
    excluded = {k: v for k, v in s.get("excluded", {}).items() if v}
    if excluded:
        parts.append("excluded (NaN, e.g. no unknown pixels): " + ", ".join(f"{k} {v}" for k, v in excluded.items()))
    for n in p.get("notes", []) or []:
        parts.append(n)
    parts.append(f"finished {p.get('finished', '?')}")
    return md_text("; ".join(parts))  # every part comes from summary.json: data, not markup


# Public name for other reports (paper tables, figures) that footnote a run the same way.
provenance_note = _provenance_note


def render_dataset(dataset: str, summaries: list[dict[str, Any]]) -> str:
    # Corrupted / trimap-changed runs (robustness track) are never ranked with clean ones: own section.
    variants = [s for s in summaries if is_variant_run(s)]
    shown = published(summaries)
    dcard = shown[0].get("dataset_card", {}) if shown else {}
    primary = dcard.get("primary_metric", "mse_whole")
    cols = _columns(shown)
    if primary not in cols and cols:
        primary = cols[0]
    lines = [f"# Leaderboard: {md_text(dataset)}", ""]
    if dcard.get("notes"):
        lines += [md_paragraph(dcard["notes"]), ""]
    protocols = md_text(", ".join(dcard.get("protocols", [])))
    lines += [
        f"Protocols: {protocols}. Ranked by {_label(primary)} (lower is better). "
        "`whole`: every pixel, alpha in [0,1]; `unknown`: trimap == 128 only, prediction quantised to 8 bits, "
        "SAD/Grad/Conn divided by 1000 as in the Deep Image Matting evaluation code. "
        "Trimaps come from the dataset, or from the recipe named in each run's provenance.",
        "",
    ]
    notes: list[str] = []
    by_family: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for s in shown:
        by_family[family_of(s)].append(s)
    for family, title in SECTIONS:
        group = sorted(by_family.get(family, []), key=_sort_key(primary))
        if not group:
            continue
        headers = ["#", "Method", *[_label(k) for k in cols], "vs #1", "P(first)", "ms / sample", "Samples", "Paper", "Run"]
        table = []
        marks = board_stats.group_stats(group, primary)
        for rank, s in enumerate(group, 1):
            notes.append(_provenance_note(s))
            c = s.get("counts", {})
            ms = s.get("predict_ms", {}).get("median")
            samples = f"{c.get('ok', 0)}/{c.get('total', 0)}" + ("*" if s.get("subset") else "")
            mark = marks.mark(board_stats.run_key(s))
            table.append(
                [rank, _method_cell(s), *[board_stats.mean_cell(s, k, _fmt) for k in cols],
                 board_stats.vs_leader_text(mark), board_stats.p_first_text(mark),
                 "–" if ms is None else f"{ms:.0f}", samples, _paper_cell(s), f"[^{len(notes)}]"]
            )
        lines += [f"## {title}", "", tabulate(table, headers=headers, tablefmt="github", disable_numparse=True), ""]
        lines += [f"Note: {n}" for n in marks.notes] + ([""] if marks.notes else [])
    if shown:
        lines += [board_stats.explanation(_label(primary), shown), ""]
    if any(s.get("subset") for s in shown):
        lines += ["\\* evaluated on a subset of the dataset (`--limit`, or a partial dataset tree: see the run's provenance note); "
                  "compare such rows only with each other.", ""]
    lines += render_conventions(shown)  # apart from the ranked tables, never ranked
    if variants:
        from .robustness import render_section

        lines += [render_section(dataset, summaries), ""]
    if notes:
        lines += ["## Provenance", ""]
        lines += [f"[^{i}]: {n}" for i, n in enumerate(notes, 1)]
        lines.append("")
    return "\n".join(lines)


def write_leaderboards(runs: str | os.PathLike[str], out: str | os.PathLike[str],
                       summaries: Optional[list[dict[str, Any]]] = None) -> list[Path]:
    """Render ``<out>/<dataset>.md`` for every dataset with runs; returns the files written.

    File names come from :func:`.out_paths.file_stem`, so no dataset name in a summary.json can place a
    file outside ``out``; unreadable summaries are skipped with a warning (:func:`.summaries.load_published`).
    """
    by_dataset: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for s in load_published(runs) if summaries is None else summaries:
        by_dataset[s["dataset"]].append(s)
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for dataset, summaries in sorted(by_dataset.items()):
        f = out_dir / f"{file_stem(dataset)}.md"
        if not inside(out_dir, f):  # e.g. a symbolic link planted under that name
            warnings.warn(f"did not write {f}: it resolves outside {out_dir} (a symbolic link?); remove it and rerun")
            continue
        f.write_text(render_dataset(dataset, summaries))
        written.append(f)
    return written
