"""Per-unit metric values of a stored run, read from its ``samples.csv`` and checked against its record.

Paired statistics (``mattebench compare``, the leaderboards' significance marks) need the values of
each sample, which the record (``summary.json``) does not hold. They are read here, from the rows the
run wrote, and only trusted when they are the rows the record's means were computed from: the same
number of ok rows, and the same mean of every metric. A folder whose rows were changed after the
record was written (a rerun with another ``--limit``, a hand edit) is refused, with the reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping, Optional

from .errors import MattebenchError
from .record import RunRecord, as_record
from .store import SAMPLES, read_rows


class StoredRowsError(MattebenchError):
    """A run's rows are missing or disagree with its record; the message says which and what to do."""


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
