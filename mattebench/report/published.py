"""What a published output may show: the stored runs a report may publish, and which of them each
output (leaderboard, site, paper tables, figures) shows.

The stored runs a report may publish: every ``<runs>/*/*/summary.json`` that reads as a run record.

A summary.json that cannot be read (not a regular file, permission, invalid UTF-8 or JSON, not an object)
or that :meth:`~mattebench.runs.record.RunRecord.from_json` refuses (a newer schema version, a malformed
field: a name that is not a string, means that are not numbers, a card that is not an object, ...) is
skipped with a warning naming the file and the reason, and the report goes on with the others. A report
never fails, and never prints a wrong cell, because one file is bad. The reader is
:func:`mattebench.runs.store.load_summaries`, the one every report uses; this module gives it the report's name.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, TypeVar, Union

from mattebench.runs.record import RecordError, RunRecord, as_record
from mattebench.runs.store import UnreadableSummary, load_summaries
from mattebench.types import FAMILY_REFERENCE

load_published = load_summaries

__all__ = ["UnreadableSummary", "load_published"]


# ----------------------------------------------------------------------------------------------------
# Which runs a published output (leaderboard, site, paper tables, figures) may show.
#
# A run is published only when it is not a robustness-track variant, and when its method card allows it (``on_leaderboard``) *and* its family is
# not ``reference``: reference methods may be handed the ground truth (:mod:`mattebench.contract`),
# so their numbers say nothing about matting. Filtering by family as well as by the flag means a
# plug-in cannot get a ground-truth-fed score published by leaving ``on_leaderboard`` at its default.
# ----------------------------------------------------------------------------------------------------

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
