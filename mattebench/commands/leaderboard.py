"""`mattebench leaderboard`: render leaderboards from stored runs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mattebench.errors import MattebenchError
from mattebench.files import check_not_link
from mattebench.report.leaderboard import write_leaderboards
from mattebench.report.published import load_published


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("leaderboard", help="render leaderboards from stored runs", description="Render <out>/<dataset>.md for every dataset with runs (from summary.json files only).")
    p.add_argument("--runs", default="runs", help="runs folder (default: runs)")
    p.add_argument("--out", default="leaderboards", help="output folder (default: leaderboards)")
    p.add_argument("--print", dest="show", action="store_true", help="also print the markdown")
    p.add_argument("--html", action="store_true",
                   help="also write a static site, <out>/site/index.html: sortable, filterable tables, one page of "
                        "provenance per run; no server, nothing fetched from the network")
    p.add_argument("--figures", nargs="?", const="", default=None, metavar="DIR",
                   help="write visual comparisons (input, ground truth, each run's stored alpha from `run --save-alphas`, error maps; PNG) to DIR "
                        "(default <out>/figures) and link them from the markdown; with --html the site shows DIR's images")
    p.add_argument("--figure-samples", default=None, metavar="ID,ID",
                   help="sample ids for --figures (default: the 3 where the runs disagree most)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Every summary.json that cannot be published is named on stderr (not through `warnings`, which filters can hide).
    skipped: list[str] = []

    def warn(message: str) -> None:
        skipped.append(message)
        print(f"warning: {message}", file=sys.stderr)

    summaries = load_published(args.runs, warn=warn)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise MattebenchError(f"--out {out} is a file, not a folder: give a folder for the leaderboards")
    refused: list[str] = []
    try:
        written = write_leaderboards(args.runs, args.out, summaries=summaries, refused=refused)
    except OSError as exc:
        raise MattebenchError(f"cannot write the leaderboards under {out}: {exc.strerror or exc} ({exc.filename or out})") from exc
    for message in refused:
        print(f"warning: {message}", file=sys.stderr)
    if not written:
        print(_nothing_written(args.runs, skipped, refused))
        return 1
    for f in written:
        print(f"wrote {f}")
        if args.show:
            print(f.read_text(encoding="utf-8"))
    from mattebench.report.robustness import write_reports

    check_not_link(out / "robustness")  # a folder below --out: never followed
    for f in write_reports(args.runs, Path(args.out) / "robustness"):  # only when there are robustness-track runs
        print(f"wrote {f}")
    if args.figures is not None:
        from mattebench.methods.registry import (
            load_dataset,  # the images and ground truth beside the stored alphas (display only)
        )
        from mattebench.report.figures import write_comparison_figures

        ids = [i for i in (args.figure_samples or "").split(",") if i] or None
        for png in write_comparison_figures(args.runs, args.out, open_dataset=load_dataset, figures_dir=args.figures or None,
                                            sample_ids=ids).values():
            print(f"wrote {png}")
    if args.html:
        from mattebench.report.site import (
            find_figures,
            paper_values_from_tables,
            write_site,
        )

        datasets = [f.stem for f in written]
        figures = find_figures(args.figures if args.figures else Path(args.out) / "figures", datasets)
        print(f"wrote {write_site(args.runs, args.out, paper_values=paper_values_from_tables(), figures=figures, summaries=summaries)}")
    return 0


def _nothing_written(runs: str, skipped: list[str], refused: list[str]) -> str:
    """Why no leaderboard was written: the true reason, never "no runs" when there were runs."""
    if refused:
        return (f"no leaderboard written: {len(refused)} file(s) refused because a symbolic link stands where the file "
                f"goes (see the warnings above); remove the link(s) and rerun")
    if skipped:
        return f"no readable runs under {runs}/: {len(skipped)} summary.json file(s) skipped (see the warnings above)"
    return f"no runs found under {runs}/ (run `mattebench run --method M --dataset D` first)"
