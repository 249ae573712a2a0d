"""Issue 21 §5: a board shows every run it was given, and tells apart names that look alike."""

from __future__ import annotations

import copy
import json
import warnings

import pytest

from conftest import TinyDataset
from mattebench.report.board import build_board
from mattebench.report.leaderboard import render_dataset
from mattebench.report.site import write_site
from mattebench.runner import evaluate
from mattebench.store import SUMMARY
from mattebench.types import FAMILY_TRIMAP


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> dict:
    runs = tmp_path_factory.mktemp("runs")
    _, r = evaluate("trimap-midpoint", TinyDataset(n=3), out=runs)
    return json.loads(json.dumps(r.to_json()))


def _run(base: dict, method: str, family: str = FAMILY_TRIMAP, mse: float = 0.01) -> dict:
    s = copy.deepcopy(base)
    s["method"] = method
    s["method_card"] = {**s["method_card"], "name": method, "family": family}
    s["means"] = {**s["means"], "mse_whole": mse}
    return s


@pytest.mark.parametrize("family", ["experimental", "Trimap-based", "trimap-free ", "<b>x</b>"])
def test_a_run_of_an_unknown_family_is_shown_in_a_group_of_its_own(base, family, tmp_path):
    runs = [_run(base, "known"), _run(base, "stranger", family, mse=0.001)]
    board = build_board("tiny", runs)
    assert sorted(r.record.method for r in board.summary.rows) == ["known", "stranger"]
    md = render_dataset("tiny", runs)
    head = next(ln for ln in md.splitlines() if ln.startswith("## Other methods"))
    assert "<b>" not in md and (family.strip("<>/b") in head)
    # the leader of its own group, not of the trimap-based group it is not known to belong to
    trimap = md.split("## Trimap-based methods")[1].split("## ")[0]
    assert "stranger" not in trimap
    root = tmp_path / "runs"
    for s in runs:
        (root / "tiny" / s["method"]).mkdir(parents=True)
        (root / "tiny" / s["method"] / SUMMARY).write_text(json.dumps(s))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write_site(root, tmp_path / "site")
    index = (tmp_path / "site" / "site" / "index.html")
    index = index if index.exists() else tmp_path / "site" / "index.html"
    assert 'data-run="stranger"' in index.read_text()


# -- tables --plan: a user's path is one shell word -----------------------------------------------------
HOSTILE_RUNS_PATHS = ["runs; touch {m}", "$(touch {m})", "`touch {m}`", "it's \"q\" $HOME", "-rf x", "a b\\c*?[x]",
                      "é ü ${{IFS}}touch${{IFS}}{m}", "' ; touch {m} ; '"]


@pytest.mark.parametrize("template", HOSTILE_RUNS_PATHS)
def test_plan_names_a_hostile_runs_path_as_one_word(template, tmp_path):
    import shutil
    import subprocess

    from mattebench.paper_plan import build_plan

    marker = tmp_path / "INJECTED"
    runs = tmp_path / template.format(m=marker)
    plan = build_plan(runs, summaries=[])
    f = tmp_path / "plan.sh"
    f.write_text(plan)
    bash = shutil.which("bash")
    assert bash
    assert subprocess.run([bash, "-n", str(f)], capture_output=True).returncode == 0
    # every line naming the path is the one assignment; running the script's head runs no command of the path's
    lines = [ln for ln in plan.splitlines() if "touch" in ln or "HOME" in ln or "rf x" in ln]
    assert all(ln.startswith("MATTEBENCH_PLAN_RUNS=") for ln in lines), lines
    head = "\n".join(ln for ln in plan.splitlines() if ln.startswith(("MATTEBENCH_PLAN_RUNS=", "RUNS=")))
    out = subprocess.run([bash, "-c", head + '\nprintf %s "$RUNS"'], capture_output=True, cwd=tmp_path,
                         env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"})
    assert out.returncode == 0 and out.stdout.decode() == str(runs) and not marker.exists()


@pytest.mark.parametrize("bad", ["runs\ntouch /tmp/x", "runs\rx", "a\x1bb", "runs\u2028x", "x\x00"[:1] + "\x7f"])
def test_plan_refuses_a_runs_path_with_a_control_character(bad, tmp_path, capsys):
    from mattebench.cli import main
    from mattebench.errors import UsageError
    from mattebench.paper_plan import build_plan

    with pytest.raises(UsageError, match="control character"):
        build_plan(tmp_path / bad, summaries=[])
    assert main(["tables", "--runs", str(tmp_path / bad), "--plan"]) == 2
    out = capsys.readouterr()
    assert "control character" in out.err and "Traceback" not in out.err and "touch" not in out.out
