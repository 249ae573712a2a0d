"""`mattebench tables`: the MODNet paper's Tables 1-5 from stored runs, and Figure 6 from bench results."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mattebench.files import atomic_write_text, check_not_link
from mattebench.report.figures import BENCH_DIR, figure6, load_bench, speed_section
from mattebench.report.tables import render_document
from mattebench.tracks.paper_plan import build_plan


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "tables",
        help="regenerate the MODNet paper's Tables 1-5 and Figure 6 from stored runs",
        description="Write one markdown file with the paper's Tables 1-5: for every row the paper's MSE/MAD, the "
        "measured values of the run that fills it (with its provenance) and the difference, '— not run' where no run "
        "exists; runs on the embedded synthetic set in separate, labelled sections. Figure 6 (parameters vs latency at "
        "512x512) is drawn from `mattebench bench` JSON results. --plan prints a bash script with every command still "
        "needed (train, adapt, run) instead.",
    )
    p.add_argument("--runs", default="runs", help="runs folder (default: runs)")
    p.add_argument("--out", default="leaderboards/paper-tables.md", help="markdown file to write (default: leaderboards/paper-tables.md); "
                   "figures go to a figures/ folder beside it")
    p.add_argument("--bench", default=None, help=f"folder (or file) of `mattebench bench` JSON results (default: <runs>/{BENCH_DIR})")
    p.add_argument("--plan", action="store_true", help="print the commands still needed to fill every cell (a bash script) and exit")
    p.add_argument("--print", dest="show", action="store_true", help="also print the markdown")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    bench = Path(args.bench) if args.bench else Path(args.runs) / BENCH_DIR
    points = load_bench(bench)
    if args.plan:
        sys.stdout.write(build_plan(args.runs, bench=points))
        return 0
    out = Path(args.out)
    check_not_link(out.parent / "figures")  # below the folder of --out: never followed
    figs = figure6(points, out.parent / "figures") if points else []
    section = speed_section(points, figs, out.parent)
    text, missing = render_document(args.runs, speed_section=section)
    atomic_write_text(out, text, root=out.parent)  # a fresh temporary renamed over it; a link there is refused
    print(f"wrote {out}" + "".join(f"\nwrote {f}" for f in figs))
    cells = {(c.dataset, c.spec.method, c.spec.tag) for c in missing}
    if cells:
        print(f"{len(missing)} cells have no run yet ({len(cells)} runs); `mattebench tables --plan > fill-tables.sh` lists the commands")
    if args.show:
        print(text)
    return 0
