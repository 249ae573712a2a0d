"""`mattebench compare`: paired comparison of two stored runs (engine: :mod:`mattebench.report.compare`)."""

from __future__ import annotations

import argparse
import json

from tabulate import tabulate

from mattebench.metrics import fast as M
from mattebench.report.compare import (
    Comparison,
    compare_runs,
    parse_margins,
    resolve_run,
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare",
        help="paired comparison of two stored runs: how much they differ (bootstrap CI, equivalence test, Holm)",
        description="Compare RUN_A with RUN_B on the samples both scored: per metric the mean paired difference "
        "A - B with its 95% bootstrap interval, the Wilcoxon signed-rank p-value (is there a difference at all), and "
        "a verdict on how much: better or worse (the 90% interval lies beyond the margin), equivalent (it lies "
        "inside +-margin: two one-sided tests at 0.05) or inconclusive, Holm-corrected across the metrics. The "
        "margin is the metric's resolution for the two runs' inputs unless --margin sets more (docs/statistics.md). "
        "Runs are folders, or dataset/method[@tag] under --runs. Runs on different dataset fingerprints, protocols "
        "or trimap recipes are refused (exit 2), and so is a run that is no result (untrained, never scored a sample, "
        "or a record its samples.csv contradicts).",
    )
    p.add_argument("run_a", metavar="RUN_A", help="run folder, or dataset/method[@tag]")
    p.add_argument("run_b", metavar="RUN_B", help="run folder, or dataset/method[@tag]")
    p.add_argument("--metric", action="append", default=[], metavar="M",
                   help="metric key to compare (repeatable or comma-separated; default: every metric both runs have)")
    p.add_argument("--margin", action="append", default=[], metavar="[METRIC=]VALUE",
                   help="equivalence margin in the metric's reported units: METRIC=VALUE for one metric (repeatable), "
                        "or VALUE for every metric; default and floor: the metric's resolution")
    p.add_argument("--runs", default="runs", help="runs folder for dataset/method names (default: runs)")
    p.add_argument("--json", action="store_true", help="print one JSON object per metric, one per line")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    a, b = resolve_run(args.run_a, args.runs), resolve_run(args.run_b, args.runs)
    metrics = [m.strip() for arg in args.metric for m in arg.split(",") if m.strip()]
    result = compare_runs(a, b, metrics or None, margins=parse_margins(args.margin))
    if args.json:
        for r in result.results:
            print(json.dumps({**r.as_json(), "a": result.a, "b": result.b}, sort_keys=False))
        for x in result.breakdowns:  # the unranked breakdown columns: one object each, "breakdown": true, no verdict
            print(json.dumps({**x.as_json(), "a": result.a, "b": result.b}, sort_keys=False))
    else:
        print_comparison(result)
    return 0


def _g(v: float) -> str:
    return f"{v:.4g}" if v == 0 or abs(v) >= 1e-3 else f"{v:.3e}"


def print_comparison(c: Comparison) -> None:
    unit = str(c.ci_method.get("unit", "sample"))
    print(f"A = {c.a} ({c.n_a} {unit}s scored)\nB = {c.b} ({c.n_b} {unit}s scored)\n"
          f"paired on the {unit}s both scored with a finite value (n per metric below)")
    rows = []
    for r in c.results:
        label = M.METRICS[r.metric].unit if r.metric in M.METRICS else r.metric
        rows.append([label, r.n, _g(r.mean_a), _g(r.mean_b), _g(r.mean_diff), f"[{_g(r.ci[0])}, {_g(r.ci[1])}]",
                     f"{r.p_value:.3g}", f"±{r.margin:.2g}", f"{r.p_tost:.3g}", r.verdict])
    print(tabulate(rows, headers=["metric", "n", "mean A", "mean B", "A - B", "95% CI", "p (Wilcoxon)", "margin",
                                  "p (TOST)", "verdict"], tablefmt="simple", disable_numparse=True))
    for r in c.results:
        print(r.statement)
    _print_breakdowns(c)
    for s in c.skipped:
        print(f"skipped {s}")
    print(f"CI: {c.ci_method['description']}. p (Wilcoxon): signed-rank, two-sided, zero differences dropped "
          "(whether the runs differ at all). Verdict (how much), for A against B: better/worse when the 90% bootstrap "
          "interval of A - B lies beyond the margin, equivalent when it lies inside ± the margin (two one-sided "
          "tests, TOST, at 0.05), inconclusive otherwise; its p-value Holm-corrected across the metrics above. "
          "The margin is each metric's resolution (the smallest difference the two runs' inputs can express: "
          "docs/statistics.md) unless --margin sets more.")


def _print_breakdowns(c: Comparison) -> None:
    """Where the two runs differ (docs/breakdowns.md): paired differences of the breakdown columns, no verdict."""
    if not c.breakdowns:
        return
    rows = [[r.metric, r.n, _g(r.mean_a), _g(r.mean_b), _g(r.mean_diff), f"[{_g(r.ci[0])}, {_g(r.ci[1])}]",
             f"{r.p_value:.3g}", f"{r.p_holm:.3g}", "lower" if r.lower_is_better else "higher"] for r in c.breakdowns]
    print("\nWhere they differ (breakdown columns, not ranked: no verdict; Holm across these columns only)")
    print(tabulate(rows, headers=["column", "n", "mean A", "mean B", "A - B", "95% CI", "p (Wilcoxon)", "p (Holm)",
                                  "better"], tablefmt="simple", disable_numparse=True))
    for r in c.breakdowns:
        if r.foreground is not None and r.foreground[0] != r.foreground[1]:
            print(f"{r.metric}: the runs scored different foregrounds (A: {r.foreground[0]}; B: {r.foreground[1]})")
