"""`mattebench data`: check a downloaded dataset tree, or show a grid of its samples."""

from __future__ import annotations

import argparse
import json
import sys

from mattebench.commands._options import parse_options
from mattebench.errors import see


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "data",
        help="check a downloaded dataset, or show some of its samples",
        description="Work with the real datasets (which users download themselves" + see("datasets/README.md") + ").",
    )
    dsub = p.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    c = dsub.add_parser(
        "check",
        help="verify a dataset tree: counts, pairs, sizes, modes, list files, backgrounds",
        description="Verify a dataset tree and name every missing or unreadable file. "
        "Exit 0 on a good tree (prints counts and the fingerprint), 1 on problems.",
    )
    c.add_argument("name", help="dataset name (see `mattebench list datasets`)")
    c.add_argument("--data-root", default=None, help="the dataset's root folder (default: $MATTEBENCH_DATA/<name> when set, else datasets/<name>/data)")
    c.add_argument("-d", dest="dataset_opts", action="append", default=[], metavar="KEY=VALUE", help="dataset option (repeatable), e.g. -d bg_dir=PATH")
    c.add_argument("--deep", action="store_true", help="decode every file (finds truncated files; slower)")
    c.add_argument("--json", action="store_true", help="print the report as JSON")
    c.add_argument("--freeze", action="store_true", help="maintainers: after a good deep check, write the generated-trimap hashes into the packaged manifest")
    c.set_defaults(func=run_check)
    s = dsub.add_parser("show", help="save a grid of samples (image, alpha, trimap) as a PNG",
                        description="Save a grid of N samples spread evenly over the ids (or the ones given with --ids).")
    s.add_argument("name")
    s.add_argument("--data-root", default=None)
    s.add_argument("-d", dest="dataset_opts", action="append", default=[], metavar="KEY=VALUE")
    s.add_argument("--out", default=None, help="output PNG (default: <name>-samples.png)")
    s.add_argument("-n", type=int, default=8, help="number of samples (default 8)")
    s.add_argument("--ids", nargs="+", default=None, help="explicit sample ids instead of -n")
    s.add_argument("--columns", type=int, default=3, help="tiles per row (default 3)")
    s.add_argument("--dpi", type=int, default=80, help="resolution of the PNG (default 80)")
    s.add_argument("--max-colours", type=int, default=None, help="store with an adaptive palette of this many colours (smaller file)")
    s.set_defaults(func=run_show)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def run_check(args: argparse.Namespace) -> int:
    from mattebench.methods.registry import (
        check_dataset,  # imported here: `mattebench --help` stays fast
    )

    options = parse_options(args.dataset_opts)
    report = check_dataset(args.name, root=args.data_root, deep=args.deep, **options)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2, default=str))
    else:
        print(report.render())
    if not report.ok:
        return 1
    if args.freeze:
        if not args.deep:
            print("error: --freeze needs --deep (every trimap must be generated and verified first)", file=sys.stderr)
            return 2
        from mattebench.data.trimap_manifest import FreezeError, freeze_trimaps
        from mattebench.methods.registry import load_dataset

        try:
            path, count = freeze_trimaps(args.name, load_dataset(args.name, root=args.data_root, **options))
        except FreezeError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return exc.exit_code
        print(f"froze {count} trimap hashes into {path}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from mattebench.methods.registry import load_dataset
    from mattebench.report.sample_grid import (
        save_sample_grid,  # another module's job; imported lazily
    )

    if args.n < 1:
        print("error: -n must be at least 1", file=sys.stderr)
        return 2
    ds = load_dataset(args.name, root=args.data_root, **parse_options(args.dataset_opts))
    out = args.out or f"{args.name}-samples.png"
    save_sample_grid(ds, out, n=args.n, ids=args.ids, columns=args.columns, dpi=args.dpi, max_colours=args.max_colours)
    print(f"wrote {out}")
    return 0
