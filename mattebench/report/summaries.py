"""The stored runs a report may publish: every ``<runs>/*/*/summary.json`` that reads as a run record.

A summary.json that cannot be read (permission, invalid UTF-8 or JSON, not an object), that does not
have the shape of a run record (a name that is not a string, means that are not numbers, a card that is
not an object, ...) or that :meth:`~mattebench.record.RunRecord.from_json` refuses (a newer schema
version, a malformed field) is skipped with a warning naming the file and the reason, and the report
goes on with the others. A report never fails, and never prints a wrong cell, because one file is bad.
What is returned are :class:`~mattebench.record.RunRecord` objects (older files upgraded).
"""

from __future__ import annotations

import json
import math
import os
import warnings
from pathlib import Path
from typing import Any, Callable, Optional

from ..record import RecordError, RunRecord
from ..store import SUMMARY

MAX_BYTES = 256 * 1024 * 1024  # a summary lists at most every failed sample: far below this
_OBJECTS = ("method_card", "dataset_card", "counts", "means", "excluded", "provenance", "settings", "predict_ms")


class UnreadableSummary(UserWarning):
    """A summary.json that a report skipped (the message names the file and the reason)."""


def _number_or_none(v: Any) -> bool:
    return v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))


def problem(s: Any) -> Optional[str]:
    """Why ``s`` is not a run record a report can render, or None."""
    if not isinstance(s, dict):
        return f"not a JSON object (a {type(s).__name__})"
    for key in ("dataset", "method"):
        if not isinstance(s.get(key), str) or not s[key].strip():
            return f"{key!r} is missing or not a non-empty string"
    if s.get("tag") is not None and not isinstance(s["tag"], str):
        return "'tag' is not a string"
    for key in _OBJECTS:
        if key in s and not isinstance(s[key], dict):
            return f"{key!r} is not an object"
    bad = [k for k, v in s.get("means", {}).items() if not _number_or_none(v)]
    if bad:
        return f"means of {', '.join(map(str, bad[:3]))} are not numbers"
    for key in ("counts", "excluded"):
        bad = [k for k, v in s.get(key, {}).items() if not (isinstance(v, int) and not isinstance(v, bool))]
        if bad:
            return f"{key} of {', '.join(map(str, bad[:3]))} are not whole numbers"
    if not _number_or_none(s.get("predict_ms", {}).get("median")):
        return "predict_ms.median is not a number"
    notes = s.get("provenance", {}).get("notes")
    if notes is not None and not isinstance(notes, list):
        return "provenance.notes is not a list"
    errors = s.get("errors")
    if errors is not None and not (isinstance(errors, list) and all(isinstance(e, dict) for e in errors)):
        return "'errors' is not a list of objects"
    for card, keys in (("method_card", ("name", "family", "paper", "url", "notes", "pretrained", "code_licence",
                                         "weights_licence", "input_size")),
                       ("dataset_card", ("name", "paper", "url", "notes", "primary_metric", "kind", "licence"))):
        bad = [k for k in keys if s.get(card, {}).get(k) is not None and not isinstance(s[card][k], str)]
        if bad:
            return f"{card}.{bad[0]} is not a string"
    for key in ("protocols",):
        v = s.get("dataset_card", {}).get(key)
        if v is not None and not (isinstance(v, list) and all(isinstance(x, str) for x in v)):
            return f"dataset_card.{key} is not a list of strings"
    return None


def _warn(message: str) -> None:
    warnings.warn(message, UnreadableSummary, stacklevel=3)


def read_record(s: Any, where: Path) -> RunRecord:
    """The record of one parsed summary.json (RecordError: why it is not one); ``run_dir`` defaults to ``where``."""
    why = problem(s)
    if why is not None:
        raise RecordError(why)
    try:
        return RunRecord.from_json({"run_dir": str(where), **s})
    except RecordError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError) as exc:  # a shape from_json did not foresee
        raise RecordError(f"malformed ({type(exc).__name__}: {exc})") from exc


def load_published(runs: str | os.PathLike[str], warn: Callable[[str], None] = _warn) -> list[RunRecord]:
    """Every readable run record under ``runs``, sorted by path; a warning for each one skipped."""
    root = Path(runs)
    out: list[RunRecord] = []
    if not root.is_dir():
        return out
    for f in sorted(root.glob(f"*/*/{SUMMARY}")):
        try:
            if not f.is_file():  # a folder, a device (/dev/zero behind a link) or a fifo would never end
                warn(f"skipped {f}: not a regular file")
                continue
            if f.stat().st_size > MAX_BYTES:
                warn(f"skipped {f}: {f.stat().st_size:,} bytes, larger than any run summary ({MAX_BYTES:,})")
                continue
            s = json.loads(f.read_bytes().decode("utf-8"), parse_constant=lambda c: math.nan)
        except PermissionError as exc:
            warn(f"skipped {f}: permission denied ({exc.strerror}); give your user read access")
            continue
        except OSError as exc:
            warn(f"skipped {f}: cannot read it ({exc.strerror or exc})")
            continue
        except UnicodeDecodeError as exc:
            warn(f"skipped {f}: not UTF-8 text ({exc.reason} at byte {exc.start})")
            continue
        except ValueError as exc:
            warn(f"skipped {f}: not valid JSON ({exc}); rerun the run to rewrite it")
            continue
        try:
            out.append(read_record(s, f.parent))
        except RecordError as exc:
            warn(f"skipped {f}: not a run summary: {exc}")
    return out
