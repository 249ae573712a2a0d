"""The "(reference)" mark comes from the card (MethodCard.reference_floor), never from a method's name."""

from __future__ import annotations

from mattebench.methods.registry import method_card
from mattebench.report.board import build_board
from mattebench.runs.record import RunRecord


def _record(method: str, mse: float, card: dict, schema: int | None = 2) -> RunRecord:
    d = {"dataset": "toy", "method": method, "tag": None, "complete": True, "n_dataset": 2,
         "counts": {"total": 2, "ok": 2, "error": 0, "pending": 0}, "means": {"mse_whole": mse, "predict_ms": 1.0},
         "method_card": {"name": method, "family": "trimap-based", "needs_trimap": True, **card},
         "dataset_card": {"name": "toy", "protocols": ["whole"], "primary_metric": "mse_whole"}, "settings": {}, "provenance": {}}
    if schema is not None:
        d["schema_version"] = schema
    return RunRecord.from_json(d)


def _marked(records: list[RunRecord]) -> dict[str, bool]:
    board = build_board("toy", records)
    return {row.record.name: row.reference for section in board.summary.sections for row in section.rows}


def test_the_mark_follows_the_card_not_the_name():
    floor = _record("my-floor", 0.02, {"reference_floor": True})
    impostor = _record("trimap-midpoint", 0.01, {})  # a v2 record whose card does not declare it
    plain = _record("closed-form", 0.005, {})
    assert _marked([floor, impostor, plain]) == {"my-floor": True, "trimap-midpoint": False, "closed-form": False}


def test_the_shipped_floor_declares_it_and_v1_files_get_it_by_upgrade():
    assert method_card("trimap-midpoint").reference_floor and not method_card("closed-form").reference_floor
    old = _record("trimap-midpoint", 0.02, {}, schema=None)  # written before the field existed
    assert old.method_card.reference_floor and _marked([old]) == {"trimap-midpoint": True}
    assert not _record("knn", 0.02, {}, schema=None).method_card.reference_floor
