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
