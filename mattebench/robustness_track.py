"""The robustness track end to end: plan the corruption grid, run every missing cell, write its tables and
figures (the engine of `mattebench robustness`; the grid itself is :mod:`mattebench.robustness`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from .robustness import CellOutcome, plan, run_grid

# Dataset options the grid sets itself on every cell: a user value would be overwritten silently (the command refuses them).
RESERVED_DATASET_OPTIONS = ("corrupt", "trimap_radius", "trimap_adjust")


@dataclass(frozen=True)
class TrackJob:
    """The arguments of `mattebench robustness`."""

    methods: tuple[str, ...]
    dataset: str
    kinds: tuple[str, ...]
    severities: tuple[int, ...]
    trimap_adjust: tuple[int, ...] = ()
    trimap_radius: tuple[int, ...] = ()
    method_options: dict[str, Any] = field(default_factory=dict)
    dataset_options: dict[str, Any] = field(default_factory=dict)
    tag: Optional[str] = None
    limit: Optional[int] = None
    out: str = "runs"
    report: str = "leaderboards/robustness"
    metric: Optional[str] = None
    data_root: Optional[str] = None
    fail_fast: bool = False
    progress: bool = True
    command: Optional[str] = None


@dataclass(frozen=True)
class TrackOutcome:
    """Every cell's outcome, the report files written, and how many samples failed over all cells."""

    cells: tuple[CellOutcome, ...]
    written: tuple[Path, ...]
    failed: int


def run_track(job: TrackJob, on_cell: Callable[[int, int, CellOutcome], None] = lambda i, n, o: None) -> TrackOutcome:
    """Plan and run the grid (``on_cell(i, n, outcome)`` after each of the n cells), then write the reports."""
    cells = plan(job.methods, job.kinds, job.severities, trimap_adjust=job.trimap_adjust,
                 trimap_radius=job.trimap_radius, tag=job.tag, method_options=job.method_options)
    done = [0]

    def report(o: CellOutcome) -> None:
        done[0] += 1
        on_cell(done[0], len(cells), o)

    outcomes = run_grid(cells, job.dataset, out=job.out, data_root=job.data_root, dataset_options=job.dataset_options,
                        limit=job.limit, progress=job.progress, fail_fast=job.fail_fast, on_cell=report,
                        command=job.command)
    from .report.robustness import write_reports  # the report reads what the runs stored

    written = write_reports(job.out, job.report, datasets=[job.dataset], metric=job.metric)
    failed = sum(int(o.counts.get("error", 0) or 0) for o in outcomes)
    return TrackOutcome(tuple(outcomes), tuple(written), failed)
