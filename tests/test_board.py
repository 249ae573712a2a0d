"""The ranked board (mattebench.report.board): one model of what a leaderboard shows, rendered to markdown
and to HTML. Ranking direction comes from metrics.METRICS, the † from the record, ties and marks from
board_stats; the two renderings show the same rows in the same order."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any, Optional

import numpy as np
from conftest import TinyDataset
from test_site import Tree

from mattebench.metrics import fast as M
from mattebench.report import board_stats
from mattebench.report.board import Board, build_board, build_boards, protocols
from mattebench.report.leaderboard import render_board, render_dataset
from mattebench.report.site import render_index
from mattebench.runs.record import RunRecord
from mattebench.runs.runner import evaluate
from mattebench.runs.store import load_summaries
from mattebench.types import FAMILY_FREE, FAMILY_REFERENCE, FAMILY_TRIMAP, MethodCard


def summary(method: str, means: dict[str, Optional[float]], *, tag: Optional[str] = None, family: str = FAMILY_TRIMAP,
            ms: float = 10.0, pretrained: Optional[bool] = None, version: Optional[int] = 2, dataset: str = "d",
            **extra: Any) -> dict[str, Any]:
    s: dict[str, Any] = {
        "dataset": dataset, "method": method, "tag": tag, "complete": True, "subset": False, "n_dataset": 3,
        "counts": {"total": 3, "ok": 3, "error": 0, "pending": 0}, "means": means,
        "excluded": {k: 0 for k in means}, "errors": [], "predict_ms": {"median": ms, "mean": ms},
        "method_card": {"name": method, "family": family, "needs_trimap": family == FAMILY_TRIMAP},
        "dataset_card": {"name": dataset, "protocols": ["whole", "unknown"], "primary_metric": "mse_whole"},
        "settings": {"method_options": {}, "dataset_options": {}},
        "provenance": {"pretrained_backbone": pretrained, "finished": "2026-01-01T00:00:00+00:00"},
    }
    if version is not None:
        s["schema_version"] = version
    s.update(extra)
    return s


def names(board: Board, family: str = FAMILY_TRIMAP, table: Optional[str] = None) -> list[str]:
    t = board.summary if table is None else next(t for t in board.tables if t.key == table)
    return [r.name for s in t.sections if s.family == family for r in s.rows]


def md_rows(md: str, title: str) -> list[list[str]]:
    """The body rows of the markdown table under ``## title`` (cells stripped)."""
    block = md.split(f"## {title}\n", 1)[1].strip("\n").split("\n\n", 1)[0]
    return [[c.strip() for c in line.strip("|").split("|")] for line in block.splitlines()[2:]]


def html_rows(index: str, dataset: str, protocol: str, family: str) -> list[tuple[str, str]]:
    root = Tree(index).root
    table = root.find("table", id=f"t-{dataset}-{protocol}")
    body = table.find("tbody", **{"data-family": family})
    return [(tr.cells()[0].text(), tr.attrs["data-run"]) for tr in body.find_all("tr") if "data-run" in tr.attrs]


# -- ranking ---------------------------------------------------------------------------------------
def test_rows_rank_lower_first_and_runs_without_a_value_last():
    runs = [summary("b", {"mse_whole": 0.3, "mad_whole": 0.1}), summary("a", {"mse_whole": 0.1, "mad_whole": 0.3}),
            summary("c", {"mse_whole": None, "mad_whole": 0.2}), summary("d", {"mse_whole": 0.2, "mad_whole": 0.2})]
    board = build_board("d", runs)
    assert board.primary == "mse_whole" and board.summary.lower_is_better
    assert names(board) == ["a", "d", "b", "c"]
    assert [r.rank for r in board.summary.rows] == [1, 2, 3, 4]


def test_a_higher_is_better_metric_in_metrics_ranks_highest_first(monkeypatch):
    monkeypatch.setitem(M.METRICS, "mse_whole", dataclasses.replace(M.METRICS["mse_whole"], lower_is_better=False))
    runs = [summary("a", {"mse_whole": 0.1, "mad_whole": 0.3}), summary("b", {"mse_whole": 0.3, "mad_whole": 0.1})]
    board = build_board("d", runs)
    assert names(board) == ["b", "a"] and not board.summary.lower_is_better
    best = {r.name: {c.key: c.best for c in r.cells} for r in board.summary.rows}
    assert best == {"b": {"mse_whole": True, "mad_whole": True}, "a": {"mse_whole": False, "mad_whole": False}}
    md = render_dataset("d", runs)
    assert "(higher is better)" in md and "(lower is better)" not in md
    assert [row[1] for row in md_rows(md, "Trimap-based methods")] == ["b", "a"]
    index = render_index(runs)
    assert [n for _, n in html_rows(index, "d", "whole", FAMILY_TRIMAP)] == ["b", "a"]
    assert 'aria-sort="descending"' in index and "higher is better" in index


def test_equal_values_rank_in_run_name_order_and_share_the_best_mark():
    runs = [summary("m", {"mse_whole": 0.2}, tag="z"), summary("m", {"mse_whole": 0.1}, tag="y"),
            summary("k", {"mse_whole": 0.1})]
    board = build_board("d", runs)
    assert names(board) == ["k", "m@y", "m@z"]
    assert [r.cells[0].best for r in board.summary.rows] == [True, True, False]


def test_best_is_per_group_and_needs_two_values():
    runs = [summary("t1", {"mse_whole": 0.1}, ms=5.0), summary("t2", {"mse_whole": 0.2}, ms=2.0),
            summary("f1", {"mse_whole": 0.05}, family=FAMILY_FREE)]
    board = build_board("d", runs)
    by = {r.name: r for r in board.summary.rows}
    assert by["t1"].cells[0].best and not by["t2"].cells[0].best
    assert by["t2"].time.best and not by["t1"].time.best  # time: lower is better too
    assert not by["f1"].cells[0].best and not by["f1"].time.best  # alone in its group: nothing to beat
    assert names(board, FAMILY_FREE) == ["f1"] and names(board) == ["t1", "t2"]


# -- marks -------------------------------------------------------------------------------------------
def test_dagger_comes_from_the_record_not_from_the_tag():
    runs = [summary("net", {"mse_whole": 0.1}, tag="sps", pretrained=False, family=FAMILY_FREE),
            summary("net", {"mse_whole": 0.2}, tag="mine", pretrained=True, family=FAMILY_FREE),
            summary("old", {"mse_whole": 0.3}, tag="sps", version=None, family=FAMILY_FREE)]  # v1: upgraded once
    del runs[2]["provenance"]["pretrained_backbone"]
    board = build_board("d", runs)
    assert {r.name: r.pretrained for r in board.summary.rows} == {"net@sps": False, "net@mine": True, "old@sps": True}
    cells = {row[1] for row in md_rows(render_dataset("d", runs), "Trimap-free methods")}
    assert cells == {"net @sps", "net @mine †", "old @sps †"}
    index = Tree(render_index(runs)).root
    daggers = {tr.attrs["data-run"]: "†" in tr.cells()[1].text() for tr in index.find_all("tr") if "data-run" in tr.attrs}
    assert daggers == {"net@sps": False, "net@mine": True, "old@sps": True}


def test_reference_methods_and_robustness_variants_are_left_out_of_the_ranking():
    runs = [summary("a", {"mse_whole": 0.2}), summary("gt", {"mse_whole": 0.0}, family=FAMILY_REFERENCE),
            summary("a", {"mse_whole": 0.5}, tag="jpeg", dataset_variant={"corrupt": "jpeg", "severity": 3})]
    board = build_board("d", runs)
    assert [r.name for r in board.records] == ["a"] and names(board) == ["a"]
    assert board.has_variants
    assert "## Robustness" in render_board(board)  # shown apart, from the board's own records
    md = render_dataset("d", runs)
    assert [row[1] for row in md_rows(md, "Trimap-based methods")] == ["a"]
    assert [n for _, n in html_rows(render_index(runs), "d", "whole", FAMILY_TRIMAP)] == ["a"]
    # a dataset whose only runs are left out has no board on the site
    assert list(build_boards([summary("gt", {"mse_whole": 0.0}, family=FAMILY_REFERENCE, dataset="e")])) == []


def test_saved_predictions_and_exported_models_are_marked():
    runs = [summary("p", {"mse_whole": 0.1}, provenance={"input": {"source": "scored from saved predictions"}}),
            summary("q", {"mse_whole": 0.2}, provenance={"input": {"source": "exported ONNX model"}})]
    rows = {r.name: r for r in build_board("d", runs).summary.rows}
    assert rows["p"].source_mark == "saved predictions" and rows["q"].source_mark == "ONNX"
    assert [row[1] for row in md_rows(render_dataset("d", runs), "Trimap-based methods")] == \
        ["p (saved predictions)", "q (ONNX)"]


# -- the same board in both renderings -----------------------------------------------------------------
def test_markdown_and_html_show_the_same_rows_in_the_same_order():
    runs = [summary(f"t{i}", {"mse_whole": v, "mad_whole": 0.5 - v, "sad": 1.0 + v}) for i, v in enumerate((0.3, 0.1, 0.2))]
    runs += [summary(f"f{i}", {"mse_whole": v, "mad_whole": v}, family=FAMILY_FREE, tag="x") for i, v in enumerate((0.4, 0.05))]
    board = build_board("d", runs)
    md, index = render_board(board, runs), render_index(runs)
    for family, title in ((FAMILY_TRIMAP, "Trimap-based methods"), (FAMILY_FREE, "Trimap-free methods")):
        expected = [(str(r.rank), r.name) for s in board.summary.sections if s.family == family for r in s.rows]
        assert [(row[0], row[1].replace(" @", "@")) for row in md_rows(md, title)] == expected
        assert html_rows(index, "d", "whole", family) == expected  # the dataset's primary is a whole metric
    # the unknown table ranks by its own first column (SAD), with the same rule
    assert [n for _, n in html_rows(index, "d", "unknown", FAMILY_TRIMAP)] == names(board, table="unknown") == ["t1", "t2", "t0"]


def test_the_video_protocol_has_one_name():
    keys = {p.key for p in protocols()}
    assert keys == {info.protocol for info in M.METRICS.values()}
    runs = [summary("v", {"mse_whole": 0.1, "dtssd": 2.0, "messddt": 1.0})]
    board = build_board("d", runs)
    assert [t.key for t in board.tables] == ["whole", "video"]
    assert [t.columns for t in board.tables if t.key == "video"] == [("dtssd", "messddt")]
    assert 'data-protocol="video"' in render_index(runs)


# -- ties and P(first) from board_stats, on stored rows ---------------------------------------------------
class Offset:
    """The trimap midpoint, off by ``d`` in the unknown region."""

    def __init__(self, d: float):
        self.d = d
        self.card = MethodCard(name="offset", needs_trimap=True, family=FAMILY_TRIMAP)

    def predict(self, image: np.ndarray, trimap: Optional[np.ndarray] = None) -> np.ndarray:
        assert trimap is not None
        out = np.where(trimap == 255, 1.0, np.where(trimap == 0, 0.0, 0.5 + self.d))
        return out.astype(np.float32)


def test_tie_groups_and_p_first_are_board_stats_of_the_ranked_group(tmp_path: Path):
    runs = tmp_path / "runs"
    ds = TinyDataset(n=8)
    evaluate("trimap-midpoint", ds, out=runs)
    evaluate("trimap-midpoint", ds, out=runs, tag="again")
    evaluate(Offset(0.3), ds, out=runs, method_name="offset")
    summaries = load_summaries(runs)
    board = build_board("tiny", summaries)
    section = board.summary.sections[0]
    assert [r.name for r in section.rows] == ["trimap-midpoint", "trimap-midpoint@again", "offset"]
    expected = board_stats.group_stats([r.record.to_json() for r in section.rows], board.primary)
    assert {r.name: r.mark for r in section.rows} == {k: expected.mark(k) for k in expected.marks}
    marks = {r.name: r.mark for r in section.rows}
    assert marks["trimap-midpoint"].is_leader and marks["trimap-midpoint@again"].tied is True
    assert marks["offset"].tied is False
    md = render_dataset("tiny", summaries)
    vs = {row[1].replace(" (reference)", "").replace(" @", "@"): row[-6] for row in md_rows(md, "Trimap-based methods")}
    assert vs["trimap-midpoint"] == "best" and vs["trimap-midpoint@again"].startswith("≈")


def test_records_and_summary_objects_give_the_same_board():
    runs = [summary("a", {"mse_whole": 0.2}), summary("b", {"mse_whole": 0.1}, tag="t")]
    records = [RunRecord.from_json(copy.deepcopy(s)) for s in runs]
    assert build_board("d", records) == build_board("d", runs)
    assert render_dataset("d", records) == render_dataset("d", runs)
    assert render_index(records) == render_index(runs)
