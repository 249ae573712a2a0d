"""The `mattebench` command line. Each subcommand lives in ``mattebench/commands/<name>.py``."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import warnings
from typing import Optional, Sequence

from . import __version__
from .errors import MattebenchError

# Order = order in --help.
COMMANDS = ("list", "run", "compare", "robustness", "leaderboard", "tables", "bench", "predict", "train", "adapt", "export", "data", "conventions")

EXIT_OK = 0
EXIT_FAILED = 1  # the work ran but something failed (errors in samples with --fail-fast, bad data tree)
EXIT_USAGE = 2  # wrong arguments or a user error (unknown name, missing file)
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mattebench",
        description="Benchmark and evaluation suite for portrait matting.",
        epilog="Run `mattebench COMMAND --help` for the options of each command.",
    )
    parser.add_argument("--version", action="version", version=f"mattebench {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"mattebench.commands.{name}")
        module.add_parser(sub)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.INFO, format="%(message)s")
    if not args.debug:
        warnings.simplefilter("default")
        warnings.formatwarning = lambda msg, cat, *a, **k: f"warning: {msg}\n"  # type: ignore[assignment]
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.func(args) or 0)
    except MattebenchError as exc:
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted: everything written so far is kept; rerun the same command to resume.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
