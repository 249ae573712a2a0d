"""The run folder: its rows (appended and fsynced), its files, the ids a run may store, and reading its
per-unit values back against its record.

Run folders: ``<out>/<dataset>/<method>[@tag]/`` with samples.csv, run.json and summary.json.

- ``samples.csv`` gets one row per sample as it is scored, flushed and fsynced, so an
  interrupted run (Ctrl-C, kill, power loss) keeps every row it wrote.
- ``run.json`` holds the settings that identify the run; a rerun with the same settings resumes
  (rows already written with status ok are not recomputed; error rows are retried), a rerun with
  other settings is refused unless ``--fresh`` or another ``--tag``/``--out`` is given.
- ``summary.json`` is written at the end (and on interruption, marked incomplete).
- ``.lock`` names the one process writing the folder (:mod:`mattebench.runs.lock`).

Sample ids are file names, so any character a file system allows can be in one (line and paragraph
separators, quotes, commas, bytes that are not UTF-8): samples.csv is written and read with the
csv module's own quoting and record splitting, and with ``errors="surrogateescape"`` so a
non-UTF-8 name round-trips to the same ``str`` that ``os.listdir`` gave.

On resume nothing in samples.csv is trusted blindly (:func:`_trusted_rows`): a torn record, a
metric that is not a number, a duplicate id, bytes that are not UTF-8 where no id explains them, a
corrupt run.json: each is reported as a warning naming the file, and the affected samples are
recomputed.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
import sys
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence

from mattebench.errors import RunConflict, StoredRowsError, UsageError
from mattebench.files import (
    atomic_write,
    atomic_write_text,
    check_not_link,
    safe_folder,
    store_error,
    translated,
)
from mattebench.names import escaped, name_problem
from mattebench.runs.identity import IDENTITY_VERSION, differences
from mattebench.runs.lock import RunLock
from mattebench.runs.record import RecordError, RunRecord, as_record

SAMPLES = "samples.csv"
SUMMARY = "summary.json"
SETTINGS = "run.json"
BASE_COLUMNS = ("id", "status", "error")
# Text kept as text, never parsed as a number: free notes that may be empty (mattebench.data.sample_notes), and
# the digest of the files a row was built from (mattebench.data.sample_inputs; checked by the runner's row_check).
TEXT_COLUMNS = ("notes", "inputs_sha256")


ENCODING = {"encoding": "utf-8", "errors": "surrogateescape"}
# The longest text a row keeps in a free-text column (error, notes): a method that raises with a 5 MB message,
# or a file name of any length, gives a row that reads back like any other. Applied by RunStore.write, the one
# place rows enter samples.csv, so every producer of rows is covered.
MAX_TEXT = 2000
# What the reader accepts per field: far above MAX_TEXT, so rows of an older mattebench that kept a huge
# message still parse (the csv module's default, 131072 characters, stopped there and lost every later row).
READ_FIELD_LIMIT = min(sys.maxsize, 2**31 - 1)


class StoreWarning(UserWarning):
    """Something in a run folder was not trusted and is recomputed."""


def path_component(value: str, what: str) -> str:
    """``value`` as one folder name under --out, or UsageError: no separators, no ``.``/``..``, no invisible
    character and no mix of Latin with Cyrillic or Greek letters (:func:`mattebench.names.name_problem`)."""
    bad = [c for c in ("/", "\\", os.sep, os.altsep or "/", "\0") if c in value]
    if not value or value in (".", "..") or bad:
        raise UsageError(
            f"{what} {value!r} cannot name a folder under --out"
            + (f" (it contains {', '.join(sorted(set(map(repr, bad))))})" if bad else "")
            + ": use a name without path separators that is not '.' or '..'"
        )
    problem = name_problem(value)  # a folder, and a board row, that a reader cannot tell from another
    if problem is not None:
        raise UsageError(f"{what} '{escaped(value)}' cannot name a run: {problem}. Use a name a reader can read and "
                         f"type (letters of one script, digits, '-', '_', '.').")
    return value


def run_dir(out: str | os.PathLike[str], dataset: str, method: str, tag: Optional[str] = None) -> Path:
    """``<out>/<dataset>/<method>[@tag]``; a name that would leave ``out`` is refused (UsageError)."""
    path_component(dataset, "dataset name")
    path_component(method, "method name")
    if tag is not None:
        path_component(tag, "--tag")
    name = f"{method}@{tag}" if tag else method
    return Path(out) / dataset / name


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "nan" if math.isnan(value) else repr(value)
    return str(value)


def cap_text(text: str, limit: int = MAX_TEXT) -> str:
    """``text`` cut to ``limit`` characters, saying how many were cut (``... (5,242,880 characters cut)``)."""
    if len(text) <= limit:
        return text
    cut = len(text) - limit
    return f"{text[:limit]}… ({cut:,} characters cut)"


def id_bytes(sample_id: str) -> bytes:
    """The bytes a sample id stands for, the same in every locale: a file name's bytes (decoded by the file
    system's encoding, ``surrogateescape``) and the UTF-8 of any other text. samples.csv stores these bytes."""
    try:
        return os.fsencode(sample_id)
    except UnicodeError:  # real text the file-system encoding cannot hold (ASCII under LC_ALL=C): its UTF-8
        return sample_id.encode("utf-8", "surrogateescape")


def match_ids(rows: list[dict[str, Any]], ids: Optional[Iterable[str]]) -> list[dict[str, Any]]:
    """Rows with each stored id given back as the dataset's own id for the same bytes.

    The dataset lists names with the file-system encoding of the process (UTF-8, or ASCII with escapes under
    ``LC_ALL=C PYTHONUTF8=0``), samples.csv holds UTF-8: the same file is ``caf\udcc3\udca9`` in one locale and
    ``café`` in the other. Matching by bytes makes a resume see its rows whatever the locale of either run.
    """
    if ids is None:
        return rows
    known = set(ids)
    by_bytes = {id_bytes(i): i for i in known}
    out = []
    for r in rows:
        sid = r.get("id")
        if isinstance(sid, str) and sid not in known:
            mapped = by_bytes.get(sid.encode("utf-8", "surrogateescape"))
            if mapped is not None:
                r = {**r, "id": mapped}
        out.append(r)
    return out


def _parse(value: str) -> Any:
    if value == "":
        return None
    try:
        return float(value)
    except ValueError:
        return value


def read_rows(path: Path, problems: Optional[list[str]] = None) -> list[dict[str, Any]]:
    """Rows of a samples.csv, split into records by the csv reader itself (ids may hold line breaks).

    A torn last record (killed mid-write) is dropped; so is a record with the wrong number of
    fields. What was dropped is appended to ``problems``.
    """
    problems = problems if problems is not None else []
    try:
        text = path.read_bytes().decode(**ENCODING)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise store_error(exc, path, "reading") from exc
    if text.startswith("\ufeff"):
        text = text[1:]  # a byte-order mark, as spreadsheets write it
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]  # the last record was cut: drop it, it will be recomputed
        problems.append("its last record was cut off (an interrupted write)")
    records: list[list[str]] = []
    if csv.field_size_limit() < READ_FIELD_LIMIT:
        csv.field_size_limit(READ_FIELD_LIMIT)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        for rec in reader:
            records.append(rec)
    except csv.Error as exc:
        problems.append(f"it cannot be parsed after record {len(records)} ({exc}); the rest is recomputed")
    if not records:
        return []
    header, rows = records[0], []
    if "id" not in header or "status" not in header:
        problems.append(f"its header {header[:6]!r} has no id column (or no status column): every sample is recomputed")
        return []
    for n, rec in enumerate(records[1:], start=2):
        if not rec:
            continue
        if len(rec) != len(header) or not rec[0]:
            problems.append(f"record {n} has {len(rec)} fields, the header {len(header)}")
            continue
        rows.append({k: (v if k in BASE_COLUMNS or k in TEXT_COLUMNS else _parse(v)) for k, v in zip(header, rec)})
    return rows


def _bad_value(column: str, value: Any) -> Optional[str]:
    """Why a stored value of an ok row cannot be trusted, or None.

    NaN is kept: the scorer writes it for a metric that is undefined on that sample (no unknown
    pixels, one annotated frame) and the summary counts it as excluded. Anything else that is not
    a finite number (text, inf, an empty cell) is not something mattebench wrote.
    """
    if not isinstance(value, float):
        return f"{column}={value!r} is not a number"
    if math.isinf(value) or (math.isnan(value) and column in ("predict_ms", "frames", "annotated")):
        return f"{column}={value!r} is not finite"
    return None


def _has_surrogates(text: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in text)


class RunStore:
    """The only writer of one run folder (it holds the folder's lock until :meth:`close`).

    ``ids`` are the dataset's sample ids when known: a stored row whose non-UTF-8 bytes no id
    explains is then reported as corrupt. ``command`` goes into the lock, to name the holder.
    ``row_check(row)`` says why a stored ok row may not be kept (None: keep it); such a row is dropped
    with a warning and recomputed, like any other untrusted row.
    """

    def __init__(self, path: Path, columns: Iterable[str], settings: dict[str, Any], fresh: bool = False,
                 ids: Optional[Iterable[str]] = None, command: Optional[str] = None,
                 row_check: Optional[Callable[[dict[str, Any]], Optional[str]]] = None):
        self.path = Path(path)
        self.row_check = row_check
        self.columns = list(BASE_COLUMNS) + [c for c in columns if c not in BASE_COLUMNS + TEXT_COLUMNS] + list(TEXT_COLUMNS)
        self.settings = {"identity_version": IDENTITY_VERSION, **settings}
        self.ids = set(ids) if ids is not None else None
        self.rows: dict[str, dict[str, Any]] = {}
        self._file: Optional[Any] = None
        with translated(self.path, "creating the run folder", before_samples=True):
            if self.path.exists() and not self.path.is_dir() and not self.path.is_symlink():
                raise NotADirectoryError(20, "Not a directory", str(self.path))
            # <out>/<dataset>/<name>: the folders below --out are made here and never followed as links.
            root = self.path.parents[1] if len(self.path.parts) > 2 else self.path.parent
            safe_folder(root, self.path.relative_to(root))
        self._lock = RunLock(self.path, command)
        with translated(self._lock.path, "taking the run lock", before_samples=True):
            self._lock.acquire()  # before --fresh deletes anything: another run may hold the folder
        try:
            for name in (SAMPLES, SUMMARY, SETTINGS):  # a link planted here is neither read nor written through
                check_not_link(self.path / name)
            if fresh:
                with translated(self.path, "clearing (--fresh)", before_samples=True):
                    for name in (SAMPLES, SUMMARY, SETTINGS):
                        (self.path / name).unlink(missing_ok=True)
            self._check_settings()
            self._check_summary()
            self._load_existing()
            with translated(self.path / SAMPLES, "opening", before_samples=True):
                self._file = _open_append(self.path / SAMPLES)
                self._writer = csv.DictWriter(self._file, fieldnames=self.columns, extrasaction="ignore")
                if self._file.tell() == 0:
                    self._writer.writeheader()
                    self._sync()
        except BaseException:
            self.close()
            raise

    def _warn(self, name: str, text: str) -> None:
        warnings.warn(f"{self.path / name}: {text}", StoreWarning, stacklevel=4)

    # -- settings ---------------------------------------------------------------------------
    def _check_settings(self) -> None:
        f = self.path / SETTINGS
        n_rows = len(read_rows(self.path / SAMPLES))
        if not f.exists():
            if n_rows:
                raise RunConflict(
                    f"{self.path / SAMPLES} holds {n_rows} rows but there is no {SETTINGS} saying which method, code, "
                    f"options and data made them. Use --fresh to recompute them, or --tag NAME / --out DIR to keep them apart."
                )
            atomic_write_text(f, json.dumps(self.settings, indent=2, sort_keys=True), before_samples=True)
            return
        try:
            old = json.loads(f.read_bytes().decode("utf-8"))
            if not isinstance(old, dict):
                raise ValueError(f"it holds a JSON {type(old).__name__}, not an object")
        except (OSError, ValueError) as exc:
            if n_rows == 0:
                self._warn(SETTINGS, f"unreadable ({exc}); no rows depend on it, so it is rewritten")
                atomic_write_text(f, json.dumps(self.settings, indent=2, sort_keys=True), before_samples=True)
                return
            raise RunConflict(
                f"{f} is unreadable ({exc}), so the {n_rows} rows in {self.path / SAMPLES} cannot be matched to the "
                f"method, options and data that made them. Use --fresh to recompute them, or --tag NAME / --out DIR "
                f"to start a separate run."
            ) from None
        if old == self.settings:
            return
        # Choice: a run.json from before method-code identities is treated as changed (refused),
        # not trusted: nothing proves its rows come from the code installed now.
        if old.get("identity_version") != IDENTITY_VERSION and n_rows:
            raise RunConflict(
                f"{self.path} holds {n_rows} rows from an older mattebench whose run.json does not record the method's "
                f"code and file hashes, so a resume cannot prove they match. Use --fresh to recompute them, or --tag "
                f"NAME / --out DIR to keep them apart."
            )
        if n_rows == 0:
            atomic_write_text(f, json.dumps(self.settings, indent=2, sort_keys=True), before_samples=True)
            return
        changes = differences(old, self.settings)
        shown = "\n  - ".join(changes[:12]) + (f"\n  - ... and {len(changes) - 12} more" if len(changes) > 12 else "")
        raise RunConflict(
            f"{self.path} already holds a run with other settings ({len(changes)} difference(s); its {n_rows} rows "
            f"would be mixed with this one's):\n  - {shown}\n"
            f"Use --fresh to start it over, or --tag NAME / --out DIR to keep both."
        )

    def _check_summary(self) -> None:
        f = self.path / SUMMARY
        if not f.exists():
            return
        try:
            json.loads(f.read_bytes().decode("utf-8"))
        except (OSError, ValueError) as exc:
            self._warn(SUMMARY, f"unreadable ({type(exc).__name__}); it is rewritten at the end of this run")

    # -- rows -------------------------------------------------------------------------------
    def _load_existing(self) -> None:
        csv_path = self.path / SAMPLES
        if not csv_path.exists():
            return
        problems: list[str] = []
        existing = match_ids(read_rows(csv_path, problems), self.ids)
        keep = self._trusted_rows(existing, problems)
        for r in keep:
            self.rows[r["id"]] = r
        with translated(csv_path, "reading"):
            with open(csv_path, newline="", **ENCODING) as f:
                header_ok = next(csv.reader(f), None) == self.columns
        for p in problems:
            self._warn(SAMPLES, p)
        if len(keep) != len(existing) or not header_ok or problems:
            # Drop error rows / torn records / untrusted rows / old headers so every id appears once:
            # rewrite atomically (the old file stays whole until the new one is complete).
            def fill(f: Any) -> None:
                w = csv.DictWriter(f, fieldnames=self.columns, extrasaction="ignore")
                w.writeheader()
                for r in keep:
                    w.writerow({k: _fmt(r.get(k)) for k in self.columns})

            atomic_write(csv_path, fill, before_samples=True)

    def _trusted_rows(self, rows: list[dict[str, Any]], problems: list[str]) -> list[dict[str, Any]]:
        """The stored ok rows that may be kept; every other one is reported in ``problems``."""
        valid: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            if r.get("status") != "ok":
                continue  # error rows are retried
            why = self._distrust(r)
            if why:
                problems.append(f"row of sample {r['id']!r} is not trusted ({why}); it is recomputed")
                continue
            valid.setdefault(r["id"], []).append(r)
        if self.row_check is not None:
            valid = self._checked(valid, problems)
        keep = []
        for sid, copies in valid.items():
            if len(copies) == 1:
                keep.append(copies[0])
                continue
            values = {tuple(_fmt(c.get(k)) for k in self.columns) for c in copies}
            if len(values) == 1:
                problems.append(f"sample {sid!r} has {len(copies)} identical rows; one is kept")
                keep.append(copies[0])
            else:
                problems.append(f"sample {sid!r} has {len(copies)} rows that disagree; it is recomputed")
        return keep

    def _checked(self, valid: dict[str, list[dict[str, Any]]], problems: list[str]) -> dict[str, list[dict[str, Any]]]:
        """The rows ``row_check`` keeps. Reasons shared by many rows (old rows without a digest) are one line."""
        assert self.row_check is not None
        dropped: dict[str, list[str]] = {}
        kept: dict[str, list[dict[str, Any]]] = {}
        for sid, copies in valid.items():
            whys = {w for w in (self.row_check(c) for c in copies) if w}
            if whys:
                for w in sorted(whys):
                    dropped.setdefault(w, []).append(sid)
            else:
                kept[sid] = copies
        for why, sids in dropped.items():
            if len(sids) == 1:
                problems.append(f"row of sample {sids[0]!r} is not trusted ({why}); it is recomputed")
            else:
                shown = ", ".join(map(repr, sids[:10])) + (f" and {len(sids) - 10} more" if len(sids) > 10 else "")
                problems.append(f"{len(sids)} rows are not trusted ({why}): {shown}; they are recomputed")
        return kept

    def _distrust(self, row: dict[str, Any]) -> Optional[str]:
        sid = row["id"]
        if _has_surrogates(sid) and self.ids is not None and sid not in self.ids:
            return "its id holds bytes that are not UTF-8 and matches no sample"
        for c in self.columns:
            if c in BASE_COLUMNS or c in TEXT_COLUMNS:  # free text: an old file without a notes column is fine
                v = row.get(c)
                if c != "id" and isinstance(v, str) and _has_surrogates(v):
                    return f"{c} holds bytes that are not UTF-8"
                continue
            if c not in row:
                return f"no {c} column"
            why = _bad_value(c, row[c])
            if why:
                return why
        return None

    def done_ids(self) -> set[str]:
        return set(self.rows)

    def write(self, row: dict[str, Any]) -> None:
        """Append ``row`` (fsynced). Free-text columns are capped here (:func:`cap_text`), in the caller's dict
        too, so the row kept in memory, the summary and the file say the same."""
        for column in ("error", *TEXT_COLUMNS):
            if isinstance(row.get(column), str) and len(row[column]) > MAX_TEXT:
                row[column] = cap_text(row[column])
        if row["id"] in self.rows:
            raise RunConflict(f"sample {row['id']!r} was already written to {self.path / SAMPLES}")
        if self._file is None:
            raise RunConflict(f"{self.path / SAMPLES} is closed")
        with translated(self.path / SAMPLES, "appending a row to"):
            self._writer.writerow({k: _fmt(row.get(k)) for k in self.columns})
            self._sync()
        if row.get("status") == "ok":
            self.rows[row["id"]] = row

    def _sync(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())

    def all_rows(self) -> list[dict[str, Any]]:
        """Every row of this run (earlier ok rows and the rows written now), in file order, ids as the dataset's."""
        return match_ids(read_rows(self.path / SAMPLES), self.ids)

    def write_summary(self, summary: dict[str, Any]) -> Path:
        f = self.path / SUMMARY
        atomic_write_text(f, json.dumps(summary, indent=2, sort_keys=False, default=str, allow_nan=True))
        return f

    def close(self) -> None:
        if self._file is not None and not self._file.closed:
            try:
                self._file.close()
            except OSError:
                # The disk is still full: the unflushed tail is a torn record, dropped on resume.
                pass
        lock = getattr(self, "_lock", None)
        if lock is not None:
            lock.release()


def _open_append(path: Path) -> Any:
    """samples.csv for appending; a symbolic link planted under that name is refused, never appended through."""
    check_not_link(path)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o666)
    return os.fdopen(fd, "a", newline="", **ENCODING)


def remove_run(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


MAX_SUMMARY_BYTES = 256 * 1024 * 1024  # a summary lists at most every failed sample: far below this


class UnreadableSummary(UserWarning):
    """A summary.json that a loader skipped (the message names the file and the reason)."""


def _warn_unreadable(message: str) -> None:
    warnings.warn(message, UnreadableSummary, stacklevel=3)


def load_summaries(runs: str | os.PathLike[str], warn: Optional[Callable[[str], None]] = None) -> list[RunRecord]:
    """Every run record under a runs folder (``<runs>/*/*/summary.json``), sorted by path; ``run_dir`` is where
    each file is now (a record may have moved, or have been written relative to another cwd).

    The one reader of stored records, for every report: a file that cannot be read (not a regular file: a
    fifo or a device would never end; too large; permission; not UTF-8; not JSON) or that
    :meth:`RunRecord.from_json` refuses (a newer schema, a malformed field) is skipped, and ``warn`` (default:
    an :class:`UnreadableSummary` warning) gets a line naming the file and the reason.
    """
    warn = warn or _warn_unreadable
    root = Path(runs)
    out: list[RunRecord] = []
    if not root.is_dir():
        return out
    for f in sorted(root.glob(f"*/*/{SUMMARY}")):
        problem, data = _read_summary_json(f)
        if problem is not None:
            warn(f"skipped {f}: {problem}")
            continue
        try:
            out.append(_record_of(data, f.parent))
        except RecordError as exc:
            warn(f"skipped {f}: not a run summary: {exc}")
    return out


def _read_summary_json(f: Path) -> tuple[Optional[str], Any]:
    """(why it cannot be read, None) or (None, the parsed JSON)."""
    try:
        if not f.is_file():
            return "not a regular file", None
        size = f.stat().st_size
        if size > MAX_SUMMARY_BYTES:
            return f"{size:,} bytes, larger than any run summary ({MAX_SUMMARY_BYTES:,})", None
        return None, json.loads(f.read_bytes().decode("utf-8"), parse_constant=lambda c: math.nan)
    except PermissionError as exc:
        return f"permission denied ({exc.strerror}); give your user read access", None
    except OSError as exc:
        return f"cannot read it ({exc.strerror or exc})", None
    except UnicodeDecodeError as exc:
        return f"not UTF-8 text ({exc.reason} at byte {exc.start})", None
    except ValueError as exc:
        return f"not valid JSON ({exc}); rerun the run to rewrite it", None


def _record_of(data: Any, where: Path) -> RunRecord:
    """The record of one parsed summary.json, ``run_dir`` set to its folder (RecordError: why it is not one)."""
    if not isinstance(data, dict):
        raise RecordError(f"not a JSON object (a {type(data).__name__})")
    try:
        return RunRecord.from_json({**data, "run_dir": str(where)})
    except RecordError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError) as exc:  # a shape from_json did not foresee
        raise RecordError(f"malformed ({type(exc).__name__}: {exc})") from exc


# ----------------------------------------------------------------------------------------------------
# The ids a run may store: strings samples.csv can hold and give back unchanged, each once.
#
# Any file name is a valid id (see :mod:`mattebench.runs.store`). What cannot round-trip through
# samples.csv is refused before any sample runs (a usage error naming the dataset), because it would
# make a sample pending forever and append a row on every rerun:
#
# - an id that is not a ``str`` (an ``int`` 7 is read back as the text "7"),
# - an empty id, or one holding NUL (the csv reader refuses NUL),
# - an id listed twice by ``ids()`` (two rows for one sample).
# ----------------------------------------------------------------------------------------------------

def check_ids(ids: Sequence[Any], dataset: str) -> list[str]:
    bad_type = [i for i in ids if not isinstance(i, str)]
    if bad_type:
        raise UsageError(
            f"dataset {dataset!r}: ids() must return strings, got {type(bad_type[0]).__name__} {bad_type[0]!r} "
            f"({len(bad_type)} of {len(ids)}); return str ids (e.g. f'{{i:04d}}') so samples.csv gives them back unchanged"
        )
    unusable = [i for i in ids if not i or "\0" in i]
    if unusable:
        raise UsageError(f"dataset {dataset!r}: {len(unusable)} ids are empty or hold a NUL character (first: {unusable[0]!r})")
    twice = [i for i, n in Counter(ids).items() if n > 1]
    if twice:
        raise UsageError(
            f"dataset {dataset!r} lists {len(twice)} ids more than once (first: {twice[0]!r}); each sample needs one id"
        )
    return list(ids)


# ----------------------------------------------------------------------------------------------------
# Per-unit metric values of a stored run, read from its ``samples.csv`` and checked against its record.
#
# Paired statistics (``mattebench compare``, the leaderboards' significance marks) need the values of
# each sample, which the record (``summary.json``) does not hold. They are read here, from the rows the
# run wrote, and only trusted when they are the rows the record's means were computed from: the same
# number of ok rows, and the same mean of every metric. A folder whose rows were changed after the
# record was written (a rerun with another ``--limit``, a hand edit) is refused, with the reason.
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredRows:
    """metric -> sample id -> value, for the ok rows with a finite value of that metric."""

    run_dir: Path
    values: Mapping[str, Mapping[str, float]]

    def ids(self, metric: str) -> frozenset[str]:
        return frozenset(self.values.get(metric, {}))


def _finite(v: Any) -> Optional[float]:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    f = float(v)
    return None if math.isnan(f) or math.isinf(f) else f


def _label(record: RunRecord) -> str:
    return f"{record.dataset}/{record.name}"


def load_stored_rows(summary: RunRecord | Mapping[str, Any], run_dir: Optional[Path] = None) -> StoredRows:
    """The rows of the run that ``summary`` (a record, or its JSON object) describes (its ``run_dir`` unless
    ``run_dir`` is given)."""
    summary = as_record(summary)
    where = run_dir if run_dir is not None else summary.run_dir
    folder = Path(str(where)) if where else None
    csv_path = folder / SAMPLES if folder is not None else Path("<no run folder>") / SAMPLES
    try:
        if folder is None or not csv_path.is_file():
            raise StoredRowsError(f"{_label(summary)}: no {SAMPLES} beside its summary.json ({csv_path}); "
                                  "per-sample statistics need the run folder as `mattebench run` wrote it")
        ok = [r for r in read_rows(csv_path) if r.get("status") == "ok"]
    except (OSError, UnicodeError, ValueError) as exc:  # a name too long, no permission, a torn file
        raise StoredRowsError(f"{_label(summary)}: cannot read {csv_path} ({exc}); per-sample statistics are left out") from exc
    n_ok = summary.counts.ok
    if len(ok) != n_ok or len({r["id"] for r in ok}) != len(ok):
        hint = ("the record covers fewer samples than the folder holds, as after a rerun with a smaller --limit: "
                "rerun with the limit the rows were written with, or with --fresh" if len(ok) > n_ok else
                "rerun the same `mattebench run` command to rescore the missing rows and rewrite the record")
        raise StoredRowsError(f"{_label(summary)}: {csv_path} holds {len(ok)} ok rows but summary.json counts {n_ok}; "
                              f"the rows and the record disagree ({hint})")
    values: dict[str, Mapping[str, float]] = {}
    for metric, mean in summary.means.items():
        col = {str(r["id"]): f for r in ok if (f := _finite(r.get(metric))) is not None}
        stored = _finite(mean)
        if (stored is None) != (not col):
            raise StoredRowsError(f"{_label(summary)}: {metric} has {len(col)} values in {csv_path} but summary.json "
                                  f"gives mean {mean!r}; rerun the run to rewrite its record")
        if col and stored is not None:
            recomputed = math.fsum(col.values()) / len(col)
            if not math.isclose(recomputed, stored, rel_tol=1e-9, abs_tol=1e-15):
                raise StoredRowsError(f"{_label(summary)}: the mean of {metric} over {csv_path} is {recomputed!r}, "
                                      f"summary.json says {stored!r}; the rows are not the ones the record was made from")
        values[metric] = MappingProxyType(col)
    return StoredRows(Path(str(folder)), MappingProxyType(values))
