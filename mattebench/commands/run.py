"""`mattebench run`: evaluate one method on one dataset into a resumable run folder."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from typing import TYPE_CHECKING, Optional

from mattebench import environment, errors
from mattebench.commands._input_options import add_input_arguments, resolve_input
from mattebench.commands._options import OptionError, parse_options
from mattebench.errors import MattebenchError, UsageError, see

if TYPE_CHECKING:  # imported where used: parsing `run` stays light, so that a pool's fork server starts first
    from mattebench.runs.record import RunRecord
    from mattebench.runs.runner import Executor

EXIT_SAMPLE_ERRORS = errors.INCOMPLETE


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="evaluate a method on a dataset",
        description="Evaluate METHOD on DATASET. Rows go to <out>/<dataset>/<method>/samples.csv as they are scored; "
        "a rerun resumes (refused when the method's code, a file named by an option, the options or the dataset "
        "changed: use --fresh or --tag). One run at a time per folder (a lock names the holder). "
        + errors.RUN_CONTRACT,
    )
    p.add_argument("--method", default=None, help="registered method name (see `mattebench list`); onnx / tflite run an exported model (-m model=PATH)")
    add_input_arguments(p)
    p.add_argument("--dataset", required=True, help="registered dataset name")
    p.add_argument("--data-root", default=None, help="folder holding the dataset (the error for a missing one shows the layout" + see("datasets/README.md", "guides: ") + ")")
    p.add_argument("-m", dest="method_opts", action="append", default=[], metavar="KEY=VALUE", help="method option (repeatable)")
    p.add_argument("-d", dest="dataset_opts", action="append", default=[], metavar="KEY=VALUE", help="dataset option (repeatable)")
    p.add_argument("--checkpoint", default=None, help="weights file for the method (no downloads: give a local path)")
    p.add_argument("--allow-untrained", action="store_true",
                   help="score a network without trained weights (no --checkpoint) instead of refusing it (exit 2): "
                   "a smoke test, recorded as untrained and never ranked, compared or put in the paper tables")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (torch methods)")
    p.add_argument("--limit", type=int, default=None, help="score only the first N samples (sorted ids)")
    p.add_argument("--out", default="runs", help="runs folder (default: runs)")
    p.add_argument("--tag", default=None, help="suffix for the run folder (<method>@<tag>) to keep runs with other options apart")
    p.add_argument("--fresh", action="store_true", help="start over instead of resuming")
    p.add_argument("--conventions", default=None, metavar="NAMES",
                   help="also score with other toolkits' evaluation conventions, comma-separated: gca, mmagic, indexnet, "
                   "p3m-whole, p3m-trimap, rvm or all (columns like sad@gca, kept apart from the reference; see `mattebench conventions`)")
    p.add_argument("--estimate-foreground", action="store_true",
                   help="score a foreground colour estimated from the predicted alpha (pymatting, labelled estimated) where "
                   "the dataset has the true foreground and the method predicts none (slow: about 1 s per megapixel)")
    p.add_argument("--no-breakdowns", dest="breakdowns", action="store_false",
                   help="score the ranked columns only: no region, boundary, whole-image SAD/Grad/Conn or foreground "
                   "columns (docs/breakdowns.md), and no generated trimap for sets that ship none; several times "
                   "faster at 4K")
    p.add_argument("--fail-fast", action="store_true", help="stop at the first failed sample")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--executor", choices=("local", "ray"), default="local",
                   help="where samples are scored: local (this process, default) or ray (Ray actors; needs mattebench[ray])")
    p.add_argument("--ray-address", default=os.environ.get("RAY_ADDRESS") or None, metavar="ADDR",
                   help="existing Ray cluster: auto, HOST:PORT or ray://HOST:10001 (default: $RAY_ADDRESS, "
                   "else a local Ray instance is started and shut down)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="Ray workers, each builds the method once (default: one per CPU of the cluster, or per GPU slot)")
    p.add_argument("--gpus-per-worker", type=float, default=0.0, metavar="G",
                   help="GPUs per Ray worker, may be fractional (0.5 = two workers per GPU); pair with --device cuda")
    p.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="local worker processes, each builds the method once (default: all cores for a CPU method, "
                   "one per GPU with --device cuda, 1 for a method whose card says it is not process-safe); "
                   "rows are identical to a serial run; set OMP_NUM_THREADS=1 for throughput")
    p.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                   help="bound each sample's scoring (a clip: the whole clip) in a worker process: a sample past it "
                   "is recorded as timed out, its worker replaced, and the run goes on")
    p.set_defaults(func=run)


def make_executor(args: argparse.Namespace) -> Optional[Executor]:
    """The executor named by --executor (None = local, in this process)."""
    if getattr(args, "executor", "local") != "ray":
        given = [flag for flag, value in (("--workers", getattr(args, "workers", None)),
                                          ("--gpus-per-worker", getattr(args, "gpus_per_worker", 0.0) or None)) if value]
        if given:
            raise OptionError(f"{' and '.join(given)} need --executor ray (the local executor is one process)")
        return None
    local_only = [flag for flag, value in (("--jobs", getattr(args, "jobs", None)), ("--timeout", getattr(args, "timeout", None)))
                  if value is not None]
    if local_only:
        raise OptionError(f"{' and '.join(local_only)} are for local runs; with --executor ray use --workers")
    from mattebench.runs.executors.ray import (
        RayExecutor,  # imported here: Ray is an optional extra
    )

    return RayExecutor(address=args.ray_address, workers=args.workers, gpus_per_worker=args.gpus_per_worker)


def may_use_pool(args: argparse.Namespace) -> bool:
    """Whether :func:`local_pool` may make worker processes (it decides; this only says whether to start the
    fork server early): a local run asking for several jobs or a timeout, or not saying on a machine with
    several cores."""
    if getattr(args, "executor", "local") != "local" or getattr(args, "save_alphas", None):
        return False
    jobs, timeout = getattr(args, "jobs", None), getattr(args, "timeout", None)
    return timeout is not None or (jobs if jobs is not None else (os.cpu_count() or 1)) > 1


def local_pool(args: argparse.Namespace, mopts: dict) -> Optional[Executor]:
    """Worker processes for --jobs/--timeout (None: serial in this process)."""
    from mattebench.methods.registry import method_card
    from mattebench.runs.executors.process import ProcessExecutorError, pool_for

    if getattr(args, "save_alphas", None):
        # the stored alphas are written by the process that scores them: a pool would need a second writer
        if getattr(args, "jobs", None) not in (None, 1) or getattr(args, "timeout", None) is not None:
            raise OptionError("--save-alphas runs in this process: drop --jobs/--timeout (or use --jobs 1 without --timeout)")
        return None
    try:
        card = method_card(args.method)
    except MattebenchError:
        return None  # the runner reports the unknown name
    try:
        return pool_for(args.method, card, mopts.get("device"), getattr(args, "jobs", None), getattr(args, "timeout", None),
                        dataset=args.dataset)
    except ProcessExecutorError as exc:
        raise OptionError(str(exc)) from exc


def run(args: argparse.Namespace) -> int:
    if args.limit is not None and args.limit < 1:
        raise UsageError(f"--limit must be at least 1, got {args.limit}")
    environment.reuse_freed_memory()  # this process loads and scores (serially, or for method hosts)
    if may_use_pool(args):
        from mattebench.runs.executors.forkserver import start_early

        # the server imports beside this process's imports below (resolve_input checks the names)
        start_early("predictions" if args.predictions else args.method or "", args.dataset)
    mopts = parse_options(args.method_opts)
    args.method = resolve_input(args, mopts)
    dopts = parse_options(args.dataset_opts)
    from mattebench.runs.runner import evaluate
    if args.checkpoint:
        mopts["checkpoint"] = args.checkpoint
    if args.device:
        mopts["device"] = args.device
    rows, record = evaluate(
        args.method,
        args.dataset,
        method_options=mopts,
        dataset_options=dopts,
        data_root=args.data_root,
        out=args.out,
        tag=args.tag,
        limit=args.limit,
        fresh=args.fresh,
        fail_fast=args.fail_fast,
        progress=not args.quiet,
        executor=make_executor(args) or local_pool(args, mopts),
        debug=getattr(args, "debug", False),
        command="mattebench " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
        conventions=args.conventions,
        save_alphas=args.save_alphas,
        allow_untrained=getattr(args, "allow_untrained", False),
        estimate_foreground=getattr(args, "estimate_foreground", False),
        breakdowns=getattr(args, "breakdowns", True),
    )
    print_summary(record)
    return exit_code(record)


def exit_code(record: RunRecord) -> int:
    """0 only when every requested sample has an ok row; else 3 with the counts on stderr."""
    c = record.counts
    if c.ok == c.total and not c.error and not c.pending:
        return errors.OK
    print(f"incomplete: {c.error} failed, {c.pending} pending of {c.total} requested; "
          f"rerun the same command to retry them (exit {EXIT_SAMPLE_ERRORS})", file=sys.stderr)
    return EXIT_SAMPLE_ERRORS


def print_summary(record: RunRecord) -> None:
    from tabulate import tabulate

    from mattebench.metrics import fast as M

    c = record.counts
    rows = []
    for k, v in record.means.items():
        if k == "predict_ms":
            continue
        info = M.METRICS.get(k)
        label = info.unit if info is not None else k
        ci = record.ci.get(k)
        rows.append([label, "–" if v is None else f"{v:.6g}", "–" if not ci else f"[{ci[0]:.4g}, {ci[1]:.4g}]",
                     record.excluded.get(k, 0)])
    print(f"\n{record.method} on {record.dataset}: {c.ok}/{c.total} scored, {c.error} failed"
          + (f", {c.pending} pending" if c.pending else "")
          + (f" (subset of {record.n_dataset})" if record.subset else ""))
    print(tabulate(rows, headers=["metric", "mean", "95% CI", "excluded"], tablefmt="simple", disable_numparse=True))
    ms = record.predict_ms.median
    if ms is not None:
        print(f"median prediction time: {ms:.1f} ms/sample")
    for e in record.errors[:10]:
        print(f"failed: {e.id}: {e.error}")
    if len(record.errors) > 10:
        print(f"... and {len(record.errors) - 10} more failures (see samples.csv)")
    for n in record.provenance.notes:  # e.g. snapped trimaps, EXIF-rotated photos
        print(f"note: {n}")
    if record.run_dir:
        print(f"run folder: {record.run_dir}")
