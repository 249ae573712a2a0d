"""`mattebench conventions`: what each toolkit's evaluation code computes, and how it differs.

With ``--pred P --gt G [--trimap T]`` it also scores that one pair with every convention, side by
side with the mattebench reference columns.
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Optional

from tabulate import tabulate

from mattebench.errors import MattebenchError
from mattebench.metrics import conventions as C
from mattebench.scoring.toolkits import pair_values_from_files


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "conventions",
        help="compare the toolkits' evaluation conventions (GCA, mmagic, IndexNet, P3M, RVM) with the reference",
        description="Print what each toolkit's evaluation code computes (unit, region, quantisation, thresholds, "
        "filters) and how it differs from the DIM MATLAB reference. With --pred/--gt (and --trimap), print every "
        "convention's values for that pair next to the reference ones.",
    )
    p.add_argument("--only", default=None, metavar="NAMES", help="comma-separated conventions to show (default: all)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--pred", default=None, help="predicted alpha: an image file, or .npy with a float HxW alpha in [0, 1]")
    p.add_argument("--gt", default=None, help="ground-truth alpha (8-bit image file)")
    p.add_argument("--trimap", default=None, help="trimap (0/128/255 image file); without it trimap-based conventions give NaN")
    p.set_defaults(func=run)


def _fmt(v: Optional[float]) -> str:
    if v is None:
        return "–"
    return "NaN" if math.isnan(v) else f"{v:.6g}"


def run(args: argparse.Namespace) -> int:
    names = C.parse(args.only) if args.only else tuple(C.CONVENTIONS)
    if args.pred or args.gt:
        if not (args.pred and args.gt):
            raise MattebenchError("--pred and --gt go together (and --trimap for the trimap-based conventions)")
        records = pair_values_from_files(args.pred, args.gt, args.trimap, names)
        if args.json:
            print(json.dumps(records, indent=2, allow_nan=True))
            return 0
        rows = [[r["convention"], r["metric"], r["scale"], _fmt(r["value"]), r["reference_column"] or "–", _fmt(r["reference"])] for r in records]
        print(tabulate(rows, headers=["convention", "metric", "scale", "value", "reference column", "reference"], tablefmt="simple", disable_numparse=True))
        print("\nReference: mattebench's DIM MATLAB conventions (unknown: trimap == 128, 8-bit rounded prediction; "
              "whole: every pixel, float prediction), in their own units; a convention's scale may differ (see the scale column).")
        return 0
    rows = C.table_rows(names)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for conv in (C.CONVENTIONS[n] for n in names):
        print(f"{conv.name}: {conv.toolkit} ({conv.repo} @ {conv.commit}). {conv.description}")
    print()
    shown = ("convention", "metric", "unit/scale", "region", "quantisation", "thresholds/filters", "differs from the reference")
    print(tabulate([[r[h] for h in shown] for r in rows], headers=list(shown), tablefmt="grid", maxcolwidths=[12, 6, 8, 22, 26, 30, 40]))
    return 0
