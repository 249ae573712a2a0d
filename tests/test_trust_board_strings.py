"""Issue 21 §5: every string a stored run carries is data in every published output.

Each test fills *every* string of real run records (names, tags, cards, provenance, notes, options and their
keys, the ``ci_method`` text, errors, the dataset) with markup, stores them as a runs folder anyone could
have edited, builds every markdown and HTML output from it, and looks for the markup in what was written.
"""

from __future__ import annotations

import copy
import html
import json
import re
import warnings
from pathlib import Path
from typing import Any, Callable

import pytest
from conftest import TinyDataset

from mattebench.report.leaderboard import write_leaderboards
from mattebench.report.site import write_site
from mattebench.report.tables import render_document
from mattebench.runs.record import RecordError, RunRecord
from mattebench.runs.runner import evaluate
from mattebench.runs.store import SUMMARY

PAYLOAD = "<script>x</script>|*[a](javascript:x)"
# What a markdown viewer or a browser would act on: a raw tag, a link to javascript:, a cell-ending pipe
# followed by emphasis and a link.
RAW = ("<script", "[a](javascript:x)", "|*[")


def _leaves(obj: Any, path: tuple = ()) -> list[tuple]:
    """Paths of every string value (and every key of a string-keyed options mapping) in a JSON object."""
    out: list[tuple] = []
    if isinstance(obj, str):
        out.append(path)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            out += _leaves(v, (*path, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _leaves(v, (*path, i))
    return out


def _set(obj: Any, path: tuple, value: Any) -> Any:
    obj = copy.deepcopy(obj)
    cur = obj
    for p in path[:-1]:
        cur = cur[p]
    cur[path[-1]] = value
    return obj


def _fill(s: dict, payload: Callable[[tuple], str], keep: tuple[str, ...]) -> dict:
    """Every string leaf the record accepts as ``payload(path)``; leaves it refuses (a family, a schema) and the
    top-level keys in ``keep`` stay as they were."""
    for path in _leaves(s):
        if path[0] in keep or path[-1] in ("family", "kind"):
            continue
        trial = _set(s, path, payload(path))
        try:
            RunRecord.from_json(trial)
        except (RecordError, TypeError, ValueError):
            continue
        s = trial
    return s


@pytest.fixture(scope="module")
def hostile_runs(tmp_path_factory) -> Path:
    runs = tmp_path_factory.mktemp("runs")
    _, r = evaluate("trimap-midpoint", TinyDataset(n=3), out=runs)
    base = json.loads(json.dumps(r.to_json()))
    base["ci_method"] = {**(base.get("ci_method") or {}), "description": "d"}
    base["settings"] = {**base["settings"], "method_options": {"opt": "v"}, "dataset_options": {"dopt": "v"}}
    base["provenance"] = {**base["provenance"], "notes": ["n"], "checkpoint": "/c/k.ckpt", "command": "c"}
    base["errors"] = [{"id": "i", "error": "e"}]
    base["method_card"] = {**base["method_card"], "paper": "p", "url": "u", "notes": "n", "pretrained": "b"}
    base["dataset_card"] = {**base["dataset_card"], "notes": "n", "paper": "p", "url": "u"}
    out = tmp_path_factory.mktemp("hostile")
    for i in (1, 2):
        s = _fill(base, lambda path, i=i: f"{PAYLOAD}{i}" if path[-1] == "quantisation" else PAYLOAD,
                  keep=("run_dir", "dataset", "method", "tag"))
        s["dataset"] = PAYLOAD  # one board: the dataset name is the payload itself
        s["method"], s["tag"] = f"m{i}", PAYLOAD
        s["settings"]["method_options"] = {PAYLOAD: PAYLOAD}
        if i == 2:  # a protocol-relative URL: off-site, however it is spelled
            s["method_card"]["url"] = " //evil.example/x"
        folder = out / "d" / f"m{i}"
        folder.mkdir(parents=True)
        (folder / SUMMARY).write_text(json.dumps(s))
    return out


def _raw_in(text: str) -> list[str]:
    return [r for r in RAW if r in text]


def test_every_record_string_is_escaped_in_the_markdown_leaderboard(hostile_runs, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        written = write_leaderboards(hostile_runs, tmp_path / "lb")
    assert written
    for f in written:
        md = f.read_text()
        assert "Note: " in md or "not comparable" in md  # the runs differ in quantisation: the note is there
        assert _raw_in(md) == [], (f, [ln for ln in md.splitlines() if any(r in ln for r in RAW)][:5])


def test_every_record_string_is_escaped_in_the_site(hostile_runs, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write_site(hostile_runs, tmp_path / "site")
    pages = [p for p in (tmp_path / "site").rglob("*.html")]
    assert len(pages) >= 3
    for p in pages:
        text = p.read_text(encoding="utf-8", errors="replace")
        assert "<script>x" not in text, p
        hrefs = [html.unescape(h).strip() for h in re.findall(r'(?:href|src)="([^"]*)"', text)]
        # a link is to the site's own files (a relative path) or to http(s)://host; nothing else leaves the site
        off_site = [h for h in hrefs if re.match(r"^([a-z][a-z0-9+.-]*:|[/\\\\]{2})", h, re.I)
                    and not re.match(r"^https?://[a-z0-9]", h, re.I)]
        assert off_site == [] and not any("evil.example" in h for h in hrefs), (p, off_site)


def test_every_record_string_is_escaped_in_the_paper_tables(hostile_runs, tmp_path):
    runs = tmp_path / "runs"  # the hostile records as runs of a paper table's method on its dataset
    for i, f in enumerate(sorted(hostile_runs.glob(f"*/*/{SUMMARY}"))):
        s = json.loads(f.read_text())
        s.update(dataset="ppm100", method="modnet-easpp", tag=f"{PAYLOAD}{i}")
        (runs / "ppm100" / f"modnet-easpp@t{i}").mkdir(parents=True)
        (runs / "ppm100" / f"modnet-easpp@t{i}" / SUMMARY).write_text(json.dumps(s))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        md, _ = render_document(runs)
    assert "Other runs of these methods" in md
    assert _raw_in(md) == [], [ln for ln in md.splitlines() if any(r in ln for r in RAW)][:5]


def test_a_payload_method_name_in_a_paper_table_row_cannot_leave_its_code_span(tmp_path):
    runs = tmp_path / "runs"
    _, r = evaluate("trimap-midpoint", TinyDataset(n=2), out=runs)
    s = json.loads(json.dumps(r.to_json()))
    s.update(dataset="ppm100", method="modnet-easpp", tag="x`|<b>")
    s["provenance"] = {**s["provenance"], "checkpoint": "/c/`<img src=x>`|.ckpt"}
    folder = runs / "ppm100" / "modnet-easpp@x"
    folder.mkdir(parents=True)
    (folder / SUMMARY).write_text(json.dumps(s))
    md, _ = render_document(runs)
    assert "<b>" not in md and "<img" not in md
    row = next(ln for ln in md.splitlines() if "modnet-easpp@x" in ln and ln.startswith("|"))
    assert "\\|" in row  # the pipe of the tag is escaped, not a cell border


def test_every_run_name_is_escaped_in_the_robustness_and_conventions_markdown(tmp_path):
    from mattebench.data.variant import split_variant_options, wrap
    from mattebench.report.conventions_section import (
        render_markdown as conventions_markdown,
    )
    from mattebench.report.robustness import (
        StoredRun,
        build_table,
        render_markdown,
        render_section,
    )

    _, clean = evaluate("trimap-midpoint", TinyDataset(n=2), out=tmp_path)
    _, spec = split_variant_options({"corrupt": "gaussian-noise:1"})
    _, corrupted = evaluate("trimap-midpoint", wrap(TinyDataset(n=2), "tiny", spec), out=tmp_path)
    hostile = []
    for r in (clean, corrupted):
        s = r.to_json()
        s["method"], s["tag"] = PAYLOAD, (s.get("tag") or "") + PAYLOAD
        s["method_card"] = {**s["method_card"], "name": PAYLOAD}
        s["means"] = {**s["means"], "sad@gca": 1.0}
        hostile.append(s)
    table = build_table([StoredRun.from_summary(s) for s in hostile], "tiny")
    assert table is not None
    for md in (render_section("tiny", hostile), render_markdown(table, figure="f.png"), "\n".join(conventions_markdown(hostile))):
        assert "&lt;script&gt;" in md  # the name is there, as text
        assert _raw_in(md) == [], [ln for ln in md.splitlines() if any(r in ln for r in RAW)][:3]
