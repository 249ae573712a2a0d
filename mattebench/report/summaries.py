"""The stored runs a report may publish: every ``<runs>/*/*/summary.json`` that reads as a run record.

A summary.json that cannot be read (not a regular file, permission, invalid UTF-8 or JSON, not an object)
or that :meth:`~mattebench.record.RunRecord.from_json` refuses (a newer schema version, a malformed
field: a name that is not a string, means that are not numbers, a card that is not an object, ...) is
skipped with a warning naming the file and the reason, and the report goes on with the others. A report
never fails, and never prints a wrong cell, because one file is bad. The reader is
:func:`mattebench.store.load_summaries`, the one every report uses; this module gives it the report's name.
"""

from __future__ import annotations

from ..store import MAX_SUMMARY_BYTES as MAX_BYTES  # noqa: F401  (its name here before the store held it)
from ..store import UnreadableSummary, load_summaries

load_published = load_summaries

__all__ = ["UnreadableSummary", "load_published"]
