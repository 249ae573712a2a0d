"""`mattebench conventions`: what each toolkit's evaluation code computes, and how it differs.

With ``--pred P --gt G [--trimap T]`` it also scores that one pair with every convention, side by
side with the mattebench reference columns.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any, Optional

import numpy as np
from tabulate import tabulate

from .. import conventions as C
from .. import io
from .. import metrics as M
from ..errors import MattebenchError


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


def _read_pred(path: str) -> np.ndarray:
    if Path(path).suffix.lower() == ".npy":
        try:
            a = np.load(path)
        except (OSError, ValueError) as exc:
            raise MattebenchError(f"{path}: cannot read the prediction ({exc})") from exc
        if a.dtype == np.uint8:
            return a.astype(np.float32) / np.float32(255.0)
        a = a.astype(np.float32)
        if a.ndim != 2 or not np.isfinite(a).all() or a.min() < -1e-3 or a.max() > 1 + 1e-3:
            raise MattebenchError(f"{path}: expected a finite HxW float alpha in [0, 1], got shape {a.shape}")
        return np.clip(a, 0.0, 1.0)
    return io.read_alpha(path)


def pair_values(pred: np.ndarray, gt: np.ndarray, trimap: Optional[np.ndarray], names: tuple[str, ...]) -> list[dict[str, Any]]:
    """One record per convention metric: its value and, where one exists, the reference value
    column the convention names as its counterpart (``ConventionMetric.reference``)."""
    if gt.shape != pred.shape or (trimap is not None and trimap.shape != pred.shape):
        raise MattebenchError(f"--pred, --gt and --trimap differ in size: {pred.shape}, {gt.shape}, {None if trimap is None else trimap.shape}")
    ref: dict[str, float] = {"mse_whole": M.mse_whole(pred, gt), "mad_whole": M.mad_whole(pred, gt)}
    if trimap is not None:
        ref.update(M.unknown_metrics(M.quantize(pred), M.quantize(gt), trimap))
    values = C.score(pred, gt, trimap, names)
    out = []
    for col, v in values.items():
        conv, m = C.metric_of(col)
        out.append({"convention": conv.name, "metric": m.label, "column": col, "scale": m.scale, "value": v,
                    "reference_column": m.reference if m.reference in ref else None, "reference": ref.get(m.reference)})
    return out


def _fmt(v: Optional[float]) -> str:
    if v is None:
        return "–"
    return "NaN" if math.isnan(v) else f"{v:.6g}"


def run(args: argparse.Namespace) -> int:
    names = C.parse(args.only) if args.only else tuple(C.CONVENTIONS)
    if args.pred or args.gt:
        if not (args.pred and args.gt):
            raise MattebenchError("--pred and --gt go together (and --trimap for the trimap-based conventions)")
        gt = io.read_alpha_u8(args.gt)
        trimap = io.read_trimap(args.trimap) if args.trimap else None
        records = pair_values(_read_pred(args.pred), gt, trimap, names)
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
