"""Every file name a file system allows is a valid sample id, through samples.csv and back."""

from __future__ import annotations

import csv
import io
import os

import pytest
from _trust_kit import cli, folder_dataset, trust_site

from mattebench.runs.runner import evaluate
from mattebench.runs.store import read_rows

HOSTILE = [
    "line\u2028sep", "para\u2029sep", "nel\u0085x", "form\ffeed", "vert\vtab", "fs\x1cx", "gs\x1dx", "rs\x1ex",
    "new\nline", "carriage\rreturn", "crlf\r\nname", 'quo"te', "com,ma", "it's", " lead", "trail ", "tab\tx",
    "back\\slash", "emoji\U0001F600", "nan", "id", "", "-", "=cmd()",
    os.fsdecode(b"latin\xe9-not-utf8"), os.fsdecode(b"\xff\xfe"),
]


def _make(tmp_path):
    made = []
    for name in HOSTILE:
        if not name:
            continue
        try:
            folder_dataset(tmp_path / "data", [name])
        except (OSError, UnicodeError, ValueError):
            continue  # this file system refuses the name: skip it
        made.append(name)
    assert len(made) >= 20
    return made


def test_hostile_names_round_trip_resume_and_never_duplicate(tmp_path):
    made = _make(tmp_path)
    data = tmp_path / "data"
    out = tmp_path / "r"
    rows, s1 = evaluate("trimap-midpoint", "folder", data_root=str(data), out=out, limit=7)
    assert s1.counts.ok == 7 and s1.counts.pending == 0
    rows, s2 = evaluate("trimap-midpoint", "folder", data_root=str(data), out=out)
    assert s2.counts.to_json() == {"total": len(made), "ok": len(made), "error": 0, "pending": 0}
    csv_path = out / "folder" / "trimap-midpoint" / "samples.csv"
    stored = read_rows(csv_path)
    assert sorted(r["id"] for r in stored) == sorted(made)  # exactly one row per id, names intact
    before = csv_path.read_bytes()
    _, s3 = evaluate("trimap-midpoint", "folder", data_root=str(data), out=out)
    assert csv_path.read_bytes() == before  # a rerun appends nothing
    assert s3.counts.pending == 0 and s3.complete


def test_cli_prints_failed_hostile_names_without_crashing(tmp_path):
    _make(tmp_path)
    site = trust_site(tmp_path)
    args = ["run", "--quiet", "--method", "flaky-matte", "--dataset", "folder", "--data-root", str(tmp_path / "data"), "--out", str(tmp_path / "r")]
    first = cli(args, site)
    assert first.returncode == 3, first.stderr  # every second sample fails, names printed without crashing
    assert "Traceback" not in first.stderr + first.stdout and "failed:" in first.stdout


def test_reader_uses_csv_record_splitting(tmp_path):
    f = tmp_path / "samples.csv"
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(["id", "status", "error", "mse_whole"])
    for name in ["a\u2028b", "c\x1cd", "e\nf", "g\rh"]:
        w.writerow([name, "ok", "", "0.5"])
    f.write_text(buf.getvalue(), encoding="utf-8", newline="")  # as samples.csv is written, whatever the locale
    assert [r["id"] for r in read_rows(f)] == ["a\u2028b", "c\x1cd", "e\nf", "g\rh"]


def test_torn_record_inside_a_quoted_name_is_dropped(tmp_path):
    f = tmp_path / "samples.csv"
    f.write_bytes(b'id,status,error,mse_whole\r\nok1,ok,,0.5\r\n"torn\n')
    problems = []
    assert [r["id"] for r in read_rows(f, problems)] == ["ok1"]
    assert problems


def test_site_shows_a_failed_non_utf8_name_escaped(tmp_path):
    from mattebench.report.site import write_site

    data = folder_dataset(tmp_path / "data", ["ok1", os.fsdecode(b"bad\xff")])
    os.remove(os.path.join(os.fsencode(data / "alpha"), b"bad\xff.png"))  # that sample fails: its id is in the summary
    with pytest.warns(UserWarning, match="without a matte"):
        _, s = evaluate("trimap-midpoint", "folder", data_root=str(data), out=tmp_path / "runs")
    assert s.counts.error == 1
    index = write_site(tmp_path / "runs", tmp_path / "out")
    pages = "".join(p.read_text(encoding="utf-8") for p in index.parent.rglob("*.html"))
    assert "bad\\xff" in pages
