"""Run folders: ``<out>/<dataset>/<method>[@tag]/`` with samples.csv, run.json and summary.json.

- ``samples.csv`` gets one row per sample as it is scored, flushed and fsynced, so an
  interrupted run (Ctrl-C, kill, power loss) keeps every row it wrote.
- ``run.json`` holds the settings that identify the run; a rerun with the same settings resumes
  (rows already written with status ok are not recomputed; error rows are retried), a rerun with
  other settings is refused unless ``--fresh`` or another ``--tag``/``--out`` is given.
- ``summary.json`` is written at the end (and on interruption, marked incomplete).
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
from pathlib import Path
from typing import Any, Iterable, Optional

from .errors import RunConflict

SAMPLES = "samples.csv"
SUMMARY = "summary.json"
SETTINGS = "run.json"
BASE_COLUMNS = ("id", "status", "error")
TEXT_COLUMNS = ("notes",)  # free text that may be empty (see mattebench.sample_notes)


def run_dir(out: str | os.PathLike[str], dataset: str, method: str, tag: Optional[str] = None) -> Path:
    name = f"{method}@{tag}" if tag else method
    return Path(out) / dataset / name


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "nan" if math.isnan(value) else repr(value)
    return str(value)


def _parse(value: str) -> Any:
    if value == "":
        return None
    try:
        return float(value)
    except ValueError:
        return value


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Rows of a samples.csv; a torn last line (killed mid-write) is dropped."""
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8") as f:
        text = f.read()
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]  # the last line was cut: drop it, it will be recomputed
    reader = csv.DictReader(text.splitlines())
    rows = []
    for raw in reader:
        if not raw.get("id") or None in raw:
            continue
        row: dict[str, Any] = {}
        for k, v in raw.items():
            row[k] = v if k in BASE_COLUMNS or k in TEXT_COLUMNS else _parse(v or "")
        rows.append(row)
    return rows


class RunStore:
    """The only writer of one run folder."""

    def __init__(self, path: Path, columns: Iterable[str], settings: dict[str, Any], fresh: bool = False):
        self.path = Path(path)
        self.columns = list(BASE_COLUMNS) + [c for c in columns if c not in BASE_COLUMNS + TEXT_COLUMNS] + list(TEXT_COLUMNS)
        self.settings = settings
        if fresh and self.path.exists():
            for name in (SAMPLES, SUMMARY, SETTINGS):
                (self.path / name).unlink(missing_ok=True)
        self.path.mkdir(parents=True, exist_ok=True)
        self._check_settings()
        self.rows: dict[str, dict[str, Any]] = {}
        self._load_existing()
        self._file = open(self.path / SAMPLES, "a", newline="", encoding="utf-8")
        self._writer = csv.DictWriter(self._file, fieldnames=self.columns, extrasaction="ignore")
        if self._file.tell() == 0:
            self._writer.writeheader()
            self._sync()

    # -- settings ---------------------------------------------------------------------------
    def _check_settings(self) -> None:
        f = self.path / SETTINGS
        if f.exists():
            old = json.loads(f.read_text())
            if old != self.settings:
                diff = sorted(k for k in set(old) | set(self.settings) if old.get(k) != self.settings.get(k))
                raise RunConflict(
                    f"{self.path} already holds a run with other settings ({', '.join(diff)} differ). "
                    f"Use --fresh to start it over, or --tag NAME / --out DIR to keep both."
                )
        else:
            tmp = f.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.settings, indent=2, sort_keys=True))
            os.replace(tmp, f)

    # -- rows -------------------------------------------------------------------------------
    def _load_existing(self) -> None:
        csv_path = self.path / SAMPLES
        existing = read_rows(csv_path)
        keep = [r for r in existing if self._complete(r)]
        for r in keep:
            self.rows[r["id"]] = r
        header_ok = False
        if csv_path.exists():
            with open(csv_path, newline="", encoding="utf-8") as f:
                header_ok = next(csv.reader(f), None) == self.columns
        if csv_path.exists() and (len(keep) != len(existing) or not header_ok or not csv_path.read_text().endswith("\n")):
            # Drop error rows / torn lines / old headers so every id appears once: rewrite atomically.
            tmp = csv_path.with_suffix(".tmp")
            with open(tmp, "w", newline="", encoding="utf-8") as f:
                w = csv.DictWriter(f, fieldnames=self.columns, extrasaction="ignore")
                w.writeheader()
                for r in keep:
                    w.writerow({k: _fmt(r.get(k)) for k in self.columns})
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, csv_path)

    def _complete(self, row: dict[str, Any]) -> bool:
        if row.get("status") != "ok":
            return False
        return all(row.get(c) is not None for c in self.columns if c not in BASE_COLUMNS + TEXT_COLUMNS)

    def done_ids(self) -> set[str]:
        return set(self.rows)

    def write(self, row: dict[str, Any]) -> None:
        if row["id"] in self.rows:
            raise RunConflict(f"sample {row['id']!r} was already written to {self.path / SAMPLES}")
        self._writer.writerow({k: _fmt(row.get(k)) for k in self.columns})
        self._sync()
        if row.get("status") == "ok":
            self.rows[row["id"]] = row

    def _sync(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())

    def all_rows(self) -> list[dict[str, Any]]:
        """Every row of this run (earlier ok rows and the rows written now), in file order."""
        return read_rows(self.path / SAMPLES)

    def write_summary(self, summary: dict[str, Any]) -> Path:
        f = self.path / SUMMARY
        tmp = f.with_suffix(".tmp")
        tmp.write_text(json.dumps(summary, indent=2, sort_keys=False, default=str, allow_nan=True))
        os.replace(tmp, f)
        return f

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()


def remove_run(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def load_summaries(runs: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every summary.json under a runs folder, sorted by (dataset, method)."""
    out = []
    root = Path(runs)
    if not root.exists():
        return out
    for f in sorted(root.glob(f"*/*/{SUMMARY}")):
        try:
            s = json.loads(f.read_text())
        except (OSError, ValueError):
            continue
        s["run_dir"] = str(f.parent)  # where the record is now (it may have moved, or been written relative to another cwd)
        out.append(s)
    return out
