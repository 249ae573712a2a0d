"""Helpers of the executor tests (worker pool and Ray): the rows of two runs compared bit for bit."""

from __future__ import annotations

import argparse
import csv
import math
from pathlib import Path
from typing import Any

from mattebench.commands import run as run_cmd


def csv_ids(run_dir: Path) -> list[str]:
    """The ids of a run's samples.csv, in file order."""
    with open(run_dir / "samples.csv", newline="") as f:
        return [r["id"] for r in csv.DictReader(f)]


def same(a: Any, b: Any) -> bool:
    """Equal, with NaN equal to NaN (an undefined metric is undefined in both runs)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def assert_same_values(rows_a: list[dict], rows_b: list[dict], columns: list[str]) -> None:
    a = {r["id"]: r for r in rows_a}
    b = {r["id"]: r for r in rows_b}
    assert sorted(a) == sorted(b)
    for i in a:
        assert a[i]["status"] == b[i]["status"] == "ok", (a[i], b[i])
        for c in columns:
            assert same(a[i][c], b[i][c]), (i, c, a[i][c], b[i][c])  # bit-identical, no tolerance


def run_args(argv: list[str]) -> argparse.Namespace:
    """Arguments of `mattebench run` (only that subcommand's parser: the test does not depend on the others)."""
    parser = argparse.ArgumentParser(prog="mattebench")
    run_cmd.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["run", *argv])
