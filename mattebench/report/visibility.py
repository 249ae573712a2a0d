"""Which runs a published output (leaderboard, site, paper tables, figures) may show.

A run is published only when it is not a robustness-track variant, and when its method card allows it (``on_leaderboard``) *and* its family is
not ``reference``: reference methods may be handed the ground truth (:mod:`mattebench.ground_truth`),
so their numbers say nothing about matting. Filtering by family as well as by the flag means a
plug-in cannot get a ground-truth-fed score published by leaving ``on_leaderboard`` at its default.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, TypeVar, Union

from ..record import RecordError, RunRecord, as_record
from ..types import FAMILY_REFERENCE

R = TypeVar("R", RunRecord, Mapping[str, Any])


def publishable(record: Union[RunRecord, Mapping[str, Any]]) -> bool:
    try:
        r = as_record(record)
    except RecordError:
        return False
    return bool(r.method_card.on_leaderboard) and r.method_card.family != FAMILY_REFERENCE


def published(records: Iterable[R]) -> list[R]:
    """The runs a clean table may show: publishable, and not a robustness-track variant (corrupted input or
    changed trimap), which is shown only in the robustness section and page."""
    out = []
    for r in records:
        try:
            rec = as_record(r)
        except RecordError:
            continue
        if publishable(rec) and not rec.is_variant:
            out.append(r)
    return out
