"""The robustness table model is report-side: built from stored records without the grid runner."""

from __future__ import annotations

import subprocess
import sys

from mattebench.data.condition import (
    CLEAN,
    TRIMAP_ADJUST,
    Condition,
    condition_of_variant,
)
from mattebench.report.robustness import StoredRun, build_table, condition_of


def _rec(method: str, run_dir: str, variant: dict, mse: float) -> dict:
    return {"method": method, "dataset": "synthetic", "tag": None, "run_dir": run_dir, "dataset_variant": variant,
            "means": {"mse_whole": mse}, "counts": {"total": 2, "ok": 2, "error": 0, "pending": 0}}


def test_conditions_are_read_from_the_variant_record():
    assert condition_of_variant({}) == Condition(CLEAN)
    assert condition_of_variant({"corrupt": {"kind": "jpeg", "severity": 3}}) == Condition("jpeg", 3)
    assert condition_of_variant({"trimap_adjust": -4}) == Condition(TRIMAP_ADJUST, -4)
    assert condition_of_variant({"corrupt": {"kind": "jpeg", "severity": 3}, "trimap_adjust": 2}) is None
    assert Condition("jpeg", 3).dataset_options() == {"corrupt": "jpeg:3"}


def test_table_from_records_in_memory():
    clean = _rec("m", "/r/m", {}, 0.01)
    cell = _rec("m", "/r/m@corrupt-jpeg-3", {"corrupt": {"kind": "jpeg", "severity": 3}}, 0.015)
    assert condition_of(cell) == Condition("jpeg", 3)
    table = build_table([StoredRun(clean), StoredRun(cell)], "synthetic")
    assert table is not None and table.series == ("m",) and table.kinds == ("jpeg",)
    c = table.cell("m", "jpeg", 3)
    assert c is not None and not c.paired and abs(c.degradation("mse_whole") - 0.5) < 1e-12


def test_reading_the_table_does_not_import_the_grid_runner():
    # (the package root imports the runner and the registry for its public API; the grid module it does not)
    code = ("import sys, mattebench.report.robustness, mattebench.report.robustness; "
            "sys.exit(1 if 'mattebench.tracks.robustness' in sys.modules else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
