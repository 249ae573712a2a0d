"""`mattebench robustness`: run the corruption grid for one or more methods, then write its table and figure."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from mattebench.commands._options import OptionError, parse_options
from mattebench.data import corrupt as C
from mattebench.errors import see
from mattebench.metrics import fast as M
from mattebench.tracks.robustness import (
    RESERVED_DATASET_OPTIONS,
    CellOutcome,
    TrackJob,
    parse_kinds,
    parse_severities,
    run_track,
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "robustness",
        help="run a method on corrupted inputs (the robustness track) and chart the degradation",
        description="For each METHOD: a clean run and one run per corruption kind and severity (-d corrupt=KIND:SEVERITY, "
        "parameters" + see("docs/robustness.md", "in ") + "), each an ordinary resumable run under <out>/<dataset>/<method>@corrupt-KIND-SEV; "
        "then <report>/<dataset>.md (per kind and severity, and the mean relative degradation against the clean run) "
        "and <report>/robustness-<dataset>.png (metric against severity). A rerun computes only what is missing. "
        f"Kinds: {', '.join(C.KINDS)}.",
    )
    p.add_argument("--method", action="append", required=True, help="registered method name (repeat for several)")
    p.add_argument("--dataset", required=True, help="registered dataset name")
    p.add_argument("--kinds", nargs="+", default=None, metavar="KIND", help="corruption kinds, space or comma separated (default: all; none: only the trimap cells)")
    p.add_argument("--severities", default="1-5", help="severities: a range 1-5 or a list 1,3,5 (default 1-5)")
    p.add_argument("--trimap-adjust", default="", metavar="R,R",
                   help="also run with the trimap's unknown band grown/shrunk by these pixels (trimap curve); write it with =, e.g. --trimap-adjust=-8,-4,4,8")
    p.add_argument("--trimap-radius", default="", metavar="R,R",
                   help="also run with the generated trimap's radius set to these pixels, e.g. 2,5,10,20")
    p.add_argument("--limit", type=int, default=None, help="score only the first N samples of every cell (sorted ids)")
    p.add_argument("--out", default="runs", help="runs folder (default: runs)")
    p.add_argument("--report", default="leaderboards/robustness", help="where the table and figure go (default: leaderboards/robustness)")
    p.add_argument("--metric", default=None, help="metric of the table and figure (default: the dataset's primary metric)")
    p.add_argument("--tag", default=None, help="prefix of every cell's tag (keeps grids with other method options apart)")
    p.add_argument("--data-root", default=None, help="folder holding the dataset")
    p.add_argument("-m", dest="method_opts", action="append", default=[], metavar="KEY=VALUE", help="method option (repeatable)")
    p.add_argument("-d", dest="dataset_opts", action="append", default=[], metavar="KEY=VALUE", help="dataset option (repeatable)")
    p.add_argument("--checkpoint", default=None, help="weights file for the method")
    p.add_argument("--device", default=None, help="cpu, cuda, ... (torch methods)")
    p.add_argument("--fail-fast", action="store_true", help="stop at the first failed sample")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def _ints(text: str, flag: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError as exc:
        raise OptionError(f"{flag} {text!r}: give integers separated by commas, e.g. -8,-4,4,8") from exc


def _check_reserved(dopts: dict) -> None:
    reserved = [k for k in RESERVED_DATASET_OPTIONS if k in dopts]
    if reserved:
        raise OptionError(f"-d {', '.join(reserved)}: the grid sets these itself; use --kinds/--severities/--trimap-adjust/--trimap-radius")


def run(args: argparse.Namespace) -> int:
    kinds = parse_kinds(args.kinds)
    severities = parse_severities(args.severities)
    mopts = parse_options(args.method_opts)
    dopts = parse_options(args.dataset_opts)
    _check_reserved(dopts)
    if args.checkpoint:
        mopts["checkpoint"] = args.checkpoint
    if args.device:
        mopts["device"] = args.device
    if args.metric is not None and args.metric not in M.METRICS:
        raise OptionError(f"--metric {args.metric}: not a metric; known: {', '.join(M.METRICS)}")
    if args.limit is not None and args.limit < 1:
        raise OptionError(f"--limit {args.limit}: give at least 1")
    job = TrackJob(tuple(args.method), args.dataset, kinds, severities, trimap_adjust=tuple(_ints(args.trimap_adjust, "--trimap-adjust")),
                   trimap_radius=tuple(_ints(args.trimap_radius, "--trimap-radius")), method_options=mopts,
                   dataset_options=dopts, tag=args.tag, limit=args.limit, out=args.out, report=args.report,
                   metric=args.metric, data_root=args.data_root, fail_fast=args.fail_fast, progress=not args.quiet,
                   command="mattebench " + " ".join(shlex.quote(a) for a in sys.argv[1:]))
    outcome = run_track(job, on_cell=_print_cell)
    for f in outcome.written:
        print(f"wrote {f}")
    md = Path(args.report) / f"{args.dataset}.md"
    if md.is_file():
        print(md.read_text(encoding="utf-8"))
    return 3 if outcome.failed else 0


def _print_cell(i: int, total: int, o: CellOutcome) -> None:
    c = o.counts
    state = "ran" if o.computed else "stored"
    print(f"[{i}/{total}] {o.run_dir} ({state}): {c.get('ok', 0)}/{c.get('total', 0)} scored"
          + (f", {c['error']} failed" if c.get("error") else ""), file=sys.stderr)
