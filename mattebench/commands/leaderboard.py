"""`mattebench leaderboard`: render leaderboards from stored runs."""

from __future__ import annotations

import argparse

from ..report.leaderboard import write_leaderboards


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("leaderboard", help="render leaderboards from stored runs", description="Render <out>/<dataset>.md for every dataset with runs (from summary.json files only).")
    p.add_argument("--runs", default="runs", help="runs folder (default: runs)")
    p.add_argument("--out", default="leaderboards", help="output folder (default: leaderboards)")
    p.add_argument("--print", dest="show", action="store_true", help="also print the markdown")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    written = write_leaderboards(args.runs, args.out)
    if not written:
        print(f"no runs found under {args.runs}/ (run `mattebench run --method M --dataset D` first)")
        return 1
    for f in written:
        print(f"wrote {f}")
        if args.show:
            print(f.read_text())
    return 0
