"""A static leaderboard site, rendered only from stored runs (``<runs>/<dataset>/<method>/summary.json``).

``write_site(runs, out)`` writes ``<out>/site/index.html`` and, beside it, one provenance page per run
(``runs/<dataset>/<run>.html`` plus a copy of its ``summary.json``), one page per method card
(``methods/<method>.html``) and the figures it was given (``figures/``). Nothing is fetched from the
network: the CSS and JavaScript (``report/assets/``) are inlined into every page, and images are copied
beside them, so the folder opens from disk or publishes as is. The tables are the datasets' ranked
boards (:mod:`.board`, the same the markdown leaderboard renders); the pages are Jinja2 templates in
``report/assets/`` (:mod:`.site_pages`); this module loads the runs, builds the boards and writes files.

Layout decisions (the issue leaves them open):

- One table per dataset and protocol (``whole``, ``unknown``, and ``video``, titled "Temporal"); inside a table
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

import json
import os
import re
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

from mattebench.environment import __version__
from mattebench.files import atomic_write_bytes, atomic_write_text
from mattebench.report.board import Protocol, build_boards, protocols, run_name
from mattebench.report.out_paths import anchor, file_stem
from mattebench.report.published import load_published, published
from mattebench.report.site_build import SITE_DIR, site_build, write_manifest
from mattebench.report.site_pages import (
    Figure,
    PaperValues,
    asset,
    render_index_page,
    render_method_page,
    render_run_page,
)
from mattebench.runs.record import RunRecord, as_record

__all__ = ["Figure", "PaperValues", "Protocol", "find_figures", "paper_values_from_tables",
           "protocols", "render_index", "render_method_page", "render_run_page", "run_name", "write_site"]

RecordLike = Union[RunRecord, Mapping[str, Any]]

FIGURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".svg", ".webp", ".gif")


def render_index(summaries: Sequence[RecordLike], *, paper_values: Optional[PaperValues] = None,
                 figures: Sequence[Figure] = (), robustness_href: Optional[str] = None) -> str:
    """The site's front page (figures are linked as ``figures/<file name>``)."""
    return render_index_page(build_boards(summaries), paper_values=paper_values, figures=figures,
                             robustness_href=robustness_href)


def paper_values_from_tables() -> dict[str, dict[str, dict[str, str]]]:
    """The MODNet paper's values keyed as the site wants them: dataset -> run name -> metric -> text.

    A paper row lands on the run folder that :mod:`.table_spec` assigns to it (``<method>@<tag>``) on the
    table's own dataset; the embedded ``synthetic`` stand-ins get none, since the paper never measured them.
    Values stay the strings the paper printed. Rows that mattebench cannot run (CRGNN) have no run to sit beside.
    """
    from mattebench.report.paper import ROW_SPECS, TABLES

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
        return (f"Visual comparison on {dataset}: input, ground truth and each method's alpha (read from the 16-bit "
                "PNGs its run stored with --save-alphas), with the error map |alpha − gt| below each", dataset)
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
    slugs = {anchor(d): d for d in datasets}
    out = []
    for f in sorted(Path(folder).iterdir()):
        if f.is_file() and f.suffix.lower() in FIGURE_SUFFIXES:
            caption, dataset = _caption(f, slugs)
            out.append(Figure(f, caption, dataset))
    return out


def _write(site: Path, path: Path, text: str) -> Path:
    atomic_write_text(path, text, root=site)  # every folder from the build folder down is made, never a link
    return path


def _copy_figures(site: Path, figures: Sequence[Figure]) -> list[Path]:
    names = [f.path.name for f in figures]
    if len(set(names)) != len(names):
        raise ValueError(f"figures must have distinct file names, got {names}")
    for f in figures:
        atomic_write_bytes(site / "figures" / f.path.name, f.path.read_bytes(), root=site)
    return [site / "figures" / n for n in names]


def _write_run_pages(site: Path, shown: Sequence[RecordLike]) -> list[Path]:
    """A provenance page and a copy of the summary per run, and a card page per method."""
    written = []
    by_method: dict[str, list[RunRecord]] = defaultdict(list)
    for s in shown:
        r = as_record(s)
        by_method[r.method].append(r)
        base = site / "runs" / file_stem(r.dataset) / file_stem(r.name)
        raw = s if isinstance(s, Mapping) else r.to_json()
        written.append(_write(site, base.with_name(base.name + ".html"), render_run_page(s)))
        written.append(_write(site, base.with_name(base.name + ".summary.json"),
                              json.dumps(raw, indent=2, sort_keys=True, default=str)))
    for method, rs in by_method.items():
        written.append(_write(site, site / "methods" / f"{file_stem(method)}.html", render_method_page(rs[0].method_card, rs)))
    return written


def write_site(
    runs: Union[str, os.PathLike[str]],
    out: Union[str, os.PathLike[str]],
    *,
    paper_values: Optional[PaperValues] = None,
    figures: Sequence[Figure] = (),
    summaries: Optional[Sequence[RecordLike]] = None,
) -> Path:
    """Write ``<out>/site/`` from the runs under ``runs``; returns the path of ``index.html``.

    The site is built in a fresh folder and swapped in only when complete (:mod:`.site_build`): a build that
    fails or is killed leaves the previous site as it was; files in the site that mattebench did not write
    (not in its manifest, :mod:`.site_manifest`) are kept, and one that has the name of a file the build
    writes stops the build (UserFileInTheWay). ``<out>/site`` that is a symbolic link is refused.
    """
    loaded = list(summaries) if summaries is not None else load_published(runs)
    shown = published(loaded)
    with site_build(out) as site:
        written = _copy_figures(site, figures)
        written += _write_run_pages(site, shown)
        from mattebench.report.robustness import write_site_page

        robust = write_site_page(site, runs, loaded, asset("site.css"), __version__)
        if robust:  # the page and its figures belong to this build too
            written += [site / robust, *sorted((site / "figures").glob("robustness-*.png"))]
        index = site / "index.html"
        written.append(_write(site, index, render_index(shown, paper_values=paper_values, figures=figures,
                                                        robustness_href=robust)))
        write_manifest(site, written)
    return Path(out) / SITE_DIR / "index.html"
