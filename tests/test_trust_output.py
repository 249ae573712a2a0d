"""Published output from hostile or careless stored runs: summary.json files anyone can edit.

The markdown escapes every name and text it prints, links only absolute http(s) URLs, never writes
outside --out whatever the names say, warns about every summary.json it cannot read, and the site build
removes only the files it wrote itself."""

from __future__ import annotations

import copy
import html
import json
import re
import warnings
from pathlib import Path

import pytest
from conftest import TinyDataset

from mattebench.commands.cli import main
from mattebench.report.leaderboard import render_dataset, write_leaderboards
from mattebench.report.markdown_safe import md_link, md_text, safe_url
from mattebench.report.out_paths import file_stem
from mattebench.report.published import UnreadableSummary, load_published
from mattebench.report.site import render_method_page, write_site
from mattebench.report.site_build import MANIFEST
from mattebench.runs.runner import evaluate


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> dict:
    runs = tmp_path_factory.mktemp("runs")
    _, s = evaluate("trimap-midpoint", TinyDataset(n=3), out=runs)
    return json.loads(json.dumps(s.to_json()))


def _store(runs: Path, s: dict, folder: str = "d/m") -> Path:
    f = runs / folder / "summary.json"
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_text(json.dumps(s))
    return f


def _hostile(base: dict, **changes) -> dict:
    s = copy.deepcopy(base)
    s.update(changes)
    return s


def _table_rows(md: str) -> list[str]:
    return [ln for ln in md.splitlines() if ln.startswith("|")]


def _cells(line: str) -> int:
    return len(re.findall(r"(?<!\\)\|", line))


# -- escaping -------------------------------------------------------------------------------------------
EVIL_NAME = "evil<script>alert(1)</script>|x\nnew row\u2028and [a](javascript:alert(2)) *b* `c`"


def test_markdown_escapes_names_cards_tags_and_notes(base):
    s = _hostile(base, method=EVIL_NAME, tag="t|<b>")
    s["method_card"] = {**s["method_card"], "paper": "<img src=x onerror=alert(3)>. More", "url": "javascript:alert(4)"}
    s["dataset_card"] = {**s["dataset_card"], "notes": "# heading? <iframe src=//evil>\n| a | b |"}
    s["provenance"] = {**s["provenance"], "notes": ["note with | pipe\nand <b>html</b>"], "commit": "<svg onload=x>"}
    s["settings"] = {**s["settings"], "method_options": {"k|ey": "<v>\n"}}
    md = render_dataset("d<i>|\n", [s])
    assert "<script" not in md and "<img" not in md and "<iframe" not in md and "<svg" not in md and "<b>" not in md
    assert "<i>" not in md and not re.search(r"(?<!\\)\]\(javascript:", md) and "javascript:alert(4)" in md  # as text
    ranked, _, breakdowns = md.partition("Where it fails")  # the unranked section: its own tables, escaped alike
    rows = _table_rows(ranked)
    assert len(rows) == 3 and len({_cells(r) for r in rows}) == 1, rows  # header, rule, one row: no cell broken
    for table in re.split(r"\n(?!\|)", breakdowns):  # each table of the section keeps its cell count too
        assert len({_cells(r) for r in _table_rows(table)}) <= 1, table
    assert not any(ln.startswith("# heading") for ln in md.splitlines())
    assert "new row" in rows[2] and "&lt;script&gt;" in rows[2]


def test_md_text_is_one_line_for_every_separator():
    for sep in ("\n", "\r", "\r\n", "\u2028", "\u2029", "\x85", "\f", "\v", "\x1c", "\x1d", "\x1e", "\x00"):
        assert "\n" not in md_text(f"a{sep}b") and len(md_text(f"a{sep}b").splitlines()) == 1, repr(sep)
    assert md_text("a|b") == "a\\|b" and md_text("x\\|y") == "x\\\\\\|y"  # a backslash cannot unescape a pipe


@pytest.mark.parametrize("url,ok", [
    ("https://arxiv.org/abs/2011.11961", True), ("http://x.org/a?b=1&c=2", True), ("HTTPS://X.ORG:8443/p#f", True),
    # issue 21 §5: a card's URL is a page elsewhere; relative, protocol-relative and backslash forms are text
    ("papers/modnet.html", False), ("#section", False), ("/abs/path", False), ("//cdn.example.org/x", False),
    ("see the paper", False), ("\\\\host\\x", False), ("/\\host", False), ("\\/host", False),
    ("https:\\\\evil.org", False), ("https:/evil.org", False), ("https://ok.org@evil.org/", False),
    ("https://evil.org\\@ok.org", False), (" //evil.org ", False), ("\t//evil.org", False), ("//evil.org\n", False),
    ("http://ok.org\x00.evil", False), ("https://ok.org/\u2028x", False), ("https://еvil.org/", False),
    ("javascript:alert(1)", False), ("JaVaScRiPt:alert(1)", False), (" javascript:alert(1)", False),
    ("java\tscript:alert(1)", False), ("java\nscript:alert(1)", False), ("data:text/html,<script>", False),
    ("vbscript:msgbox", False), ("file:///etc/passwd", False), ("mailto:a@b.c", False), ("", False), (None, False),
])
def test_only_absolute_http_https_urls_become_links(url, ok):
    assert safe_url(url) is ok
    md = md_link("paper", url)
    assert (md.startswith("[paper](")) is ok
    page = render_method_page({"name": "m", "paper": "paper", "url": url or ""}, [])
    hrefs = [html.unescape(h) for h in re.findall(r'href="([^"]*)"', page)]
    assert (url in hrefs) is ok
    assert not any(re.sub(r"\s", "", h).lower().startswith(("javascript:", "data:", "vbscript:", "file:")) for h in hrefs)


def test_link_destination_cannot_close_early_or_decode_to_a_scheme():
    md = md_link("p", "https://x.org/a)(b[c]<d>")
    assert md == "[p](https://x.org/a\\)\\(b\\[c\\]\\<d\\>)" and ")(" not in md.split("](", 1)[1][:-1]
    assert md_link("p", "https://x.org/a)(b [c] <d>") == md_text("p (https://x.org/a)(b [c] <d>)")  # a space: text
    # an entity that would decode to ':' is no http(s) URL: text, not a link
    assert md_link("p", "javascript&#58;alert(1)") == md_text("p (javascript&#58;alert(1))")


# -- paths ------------------------------------------------------------------------------------------------
HOSTILE_NAMES = ["../../escaped", "/tmp/abs-escape", "a/b", "..", ".", "a\\..\\..\\b", "nul", "con.md", "x\x00y",
                 "~/home", "-rf", " spaced ", "é-ü", "a" * 300]


def _all_files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def test_leaderboard_never_writes_outside_out(base, tmp_path: Path):
    runs, out = tmp_path / "nest" / "runs", tmp_path / "nest" / "out"
    for i, name in enumerate(HOSTILE_NAMES):
        _store(runs, _hostile(base, dataset=name, method=name, tag=name, run_dir=name), folder=f"d{i}/m")
    before = _all_files(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnreadableSummary)
        assert main(["leaderboard", "--runs", str(runs), "--out", str(out), "--html"]) == 0
    new = _all_files(tmp_path) - before
    assert new and all(out in p.parents for p in new), sorted(map(str, new - {p for p in new if out in p.parents}))
    mds = sorted(p.name for p in out.glob("*.md"))
    assert len(mds) == len(HOSTILE_NAMES)  # distinct names never share a file
    assert file_stem("synthetic") == "synthetic" and file_stem("p3m500-p") == "p3m500-p" and file_stem("modnet@sps") == "modnet@sps"


def test_planted_symlink_is_not_followed(base, tmp_path: Path):
    runs, out = tmp_path / "runs", tmp_path / "out"
    _store(runs, _hostile(base, dataset="victim"))
    out.mkdir()
    target = tmp_path / "outside.txt"
    target.write_text("keep me")
    (out / "victim.md").symlink_to(target)
    with pytest.warns(UserWarning, match="outside"):
        write_leaderboards(runs, out)
    assert target.read_text() == "keep me"


# -- unreadable summaries ------------------------------------------------------------------------------------
def test_every_unreadable_summary_is_warned_about_and_the_rest_published(base, tmp_path: Path, capsys):
    runs = tmp_path / "runs"
    _store(runs, base, "good/m")
    bad = {
        "json/m": b"{not json",
        "array/m": b"[1, 2]",
        "noname/m": json.dumps({**base, "dataset": 7}).encode(),
        "means/m": json.dumps({**base, "means": {"mse_whole": "0.1; DROP"}}).encode(),
        "card/m": json.dumps({**base, "method_card": "a string"}).encode(),
        "paper/m": json.dumps({**base, "method_card": {**base["method_card"], "paper": ["x"]}}).encode(),
        "latin1/m": '{"dataset": "d\xe9"}'.encode("latin-1"),
        "empty/m": b"",
    }
    for folder, data in bad.items():
        (runs / folder).mkdir(parents=True)
        (runs / folder / "summary.json").write_bytes(data)
    (runs / "dir" / "m" / "summary.json").mkdir(parents=True)  # a folder where the file should be
    assert main(["leaderboard", "--runs", str(runs), "--out", str(tmp_path / "out"), "--html"]) == 0
    err = capsys.readouterr().err
    for folder in [*bad, "dir/m"]:
        assert f"{runs / folder / 'summary.json'}" in err, (folder, err)
    assert err.count("skipped") == len(bad) + 1 and "Traceback" not in err
    assert (tmp_path / "out" / f"{base['dataset']}.md").is_file()


def test_load_published_names_the_reason(tmp_path: Path, base):
    _store(tmp_path, {**base, "counts": {"ok": "3"}}, "x/m")
    seen: list[str] = []
    assert load_published(tmp_path, warn=seen.append) == []
    assert "counts" in seen[0] and str(tmp_path / "x" / "m" / "summary.json") in seen[0]


# -- the site removes only what it wrote ---------------------------------------------------------------------
def test_site_rebuild_keeps_files_it_did_not_write(base, tmp_path: Path):
    runs, out = tmp_path / "runs", tmp_path / "out"
    _store(runs, base, "tiny/trimap-midpoint")
    second = _store(runs, _hostile(base, method="other", run_dir=str(runs / "tiny" / "other")), "tiny/other")
    site = out / "site"
    (site / "runs" / "tiny").mkdir(parents=True)
    mine = {site / "CNAME": "bench.example.org", site / "README.md": "my notes", site / "runs" / "tiny" / "own.html": "x"}
    for p, text in mine.items():
        p.write_text(text)
    write_site(runs, out)
    assert (site / "runs" / "tiny" / "other.html").is_file() and (site / MANIFEST).is_file()
    second.unlink()
    write_site(runs, out)
    assert not (site / "runs" / "tiny" / "other.html").exists() and not (site / "methods" / "other.html").exists()
    for p, text in mine.items():
        assert p.read_text() == text, p


def test_hostile_manifest_removes_nothing_outside(base, tmp_path: Path):
    runs, out = tmp_path / "runs", tmp_path / "out"
    _store(runs, base, "tiny/trimap-midpoint")
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    site = out / "site"
    site.mkdir(parents=True)
    (site / MANIFEST).write_text(json.dumps({"format": "mattebench site manifest v1",
                                             "files": ["../../victim.txt", str(victim), "..", "/etc/hostname"]}))
    write_site(runs, out)
    assert victim.read_text() == "keep"


def test_leaderboard_out_that_is_a_file_is_a_clear_error(base, tmp_path: Path, capsys):
    _store(tmp_path / "runs", base)
    (tmp_path / "out").write_text("a file")
    assert main(["leaderboard", "--runs", str(tmp_path / "runs"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "is a file, not a folder" in err and "Traceback" not in err


def test_summary_that_is_a_device_or_fifo_is_skipped_not_read_forever(base, tmp_path: Path):
    import os

    runs = tmp_path / "runs"
    _store(runs, base, "good/m")
    (runs / "dev" / "m").mkdir(parents=True)
    (runs / "dev" / "m" / "summary.json").symlink_to("/dev/zero")
    (runs / "fifo" / "m").mkdir(parents=True)
    os.mkfifo(runs / "fifo" / "m" / "summary.json")
    seen: list[str] = []
    assert [s.dataset for s in load_published(runs, warn=seen.append)] == [base["dataset"]]
    assert len(seen) == 2 and all("not a regular file" in w for w in seen)


def test_only_unreadable_summaries_is_not_called_no_runs(tmp_path: Path, capsys):
    (tmp_path / "runs" / "d" / "m").mkdir(parents=True)
    (tmp_path / "runs" / "d" / "m" / "summary.json").write_text("{")
    assert main(["leaderboard", "--runs", str(tmp_path / "runs"), "--out", str(tmp_path / "out")]) == 1
    out = capsys.readouterr()
    assert "1 summary.json file(s) skipped" in out.out and "not valid JSON" in out.err
