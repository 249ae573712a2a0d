"""Every report reads stored records through the one loader (mattebench.runs.store.load_summaries): a bad
summary.json is skipped with a warning by the paper tables, the plan, the figures and the robustness table too, not only
by the leaderboard (they had a second, silent loader that a fifo would block forever)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TinyDataset

from mattebench.runs.runner import evaluate
from mattebench.runs.store import load_summaries

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture()
def runs(tmp_path: Path) -> Path:
    runs = tmp_path / "runs"
    evaluate("trimap-midpoint", TinyDataset(n=3), out=runs)
    (runs / "fifo" / "m").mkdir(parents=True)
    os.mkfifo(runs / "fifo" / "m" / "summary.json")
    (runs / "json" / "m").mkdir(parents=True)
    (runs / "json" / "m" / "summary.json").write_text("{not json")
    (runs / "moved" / "m").mkdir(parents=True)
    moved = json.loads((runs / "tiny" / "trimap-midpoint" / "summary.json").read_text())
    (runs / "moved" / "m" / "summary.json").write_text(json.dumps({**moved, "run_dir": "/elsewhere/old"}))
    return runs


def test_the_loader_warns_about_each_bad_file_and_sets_where_each_record_is(runs: Path):
    seen: list[str] = []
    records = load_summaries(runs, warn=seen.append)
    assert sorted(r.run_dir for r in records) == [str(runs / "moved" / "m"), str(runs / "tiny" / "trimap-midpoint")]
    assert len(seen) == 2 and any("fifo" in w and "not a regular file" in w for w in seen)
    assert any("not valid JSON" in w for w in seen)


@pytest.mark.parametrize("argv", [["tables", "--out", "{tmp}/t.md"], ["tables", "--plan"],
                                  ["leaderboard", "--out", "{tmp}/lb", "--figures", "{tmp}/fig"]])
def test_reports_other_than_the_leaderboard_skip_a_fifo_with_a_warning(runs: Path, tmp_path: Path, argv):
    """A subprocess with a timeout: the old silent loader of tables and figures blocked on the fifo."""
    args = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    proc = subprocess.run([sys.executable, "-m", "mattebench", *args, "--runs", str(runs)], capture_output=True, text=True,
                          timeout=120, cwd=REPO)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "not a regular file" in proc.stderr, proc.stderr
