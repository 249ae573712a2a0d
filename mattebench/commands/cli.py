"""The `mattebench` command line. Each subcommand lives in ``mattebench/commands/<name>.py``."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from typing import Optional, Sequence

from mattebench import environment, errors
from mattebench.environment import __version__, check_environment
from mattebench.errors import MattebenchError, UsageError

# Order = order in --help.
COMMANDS = ("list", "run", "compare", "robustness", "leaderboard", "tables", "bench", "predict", "train", "adapt", "export", "data", "conventions")

EXIT_OK = errors.OK
EXIT_FAILED = errors.FAILED  # the work ran but something failed (errors in samples with --fail-fast, bad data tree)
EXIT_USAGE = errors.USAGE  # wrong arguments or a user error (unknown name, missing file)
EXIT_INTERRUPTED = errors.INTERRUPTED


def build_parser(commands: Sequence[str] = COMMANDS) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mattebench",
        description="Benchmark and evaluation suite for portrait matting.",
        epilog="Run `mattebench COMMAND --help` for the options of each command.",
    )
    parser.add_argument("--version", action="version", version=f"mattebench {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in commands:
        module = importlib.import_module(f"mattebench.commands.{name}")
        module.add_parser(sub)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Parse and dispatch; no traceback reaches the terminal without --debug, for any command."""
    raw = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in raw[: raw.index("--")] if "--" in raw else "--debug" in raw
    try:
        return _dispatch(raw)
    except MattebenchError as exc:
        if debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return int(getattr(exc, "exit_code", EXIT_USAGE))
    except KeyboardInterrupt:
        print("interrupted: everything written so far is kept; rerun the same command to resume.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:  # a bug: one line, the traceback only with --debug
        if debug:
            raise
        print(internal_error_line(exc), file=sys.stderr)
        return errors.IO_ERROR if isinstance(exc, OSError) else errors.INTERNAL


def commands_named(argv: Sequence[str]) -> Sequence[str]:
    """The command modules a command line needs: the one it names, else all (for --help and usage errors).
    Why: each command module imports its step, and ``bench`` imports torch: 2 s of start-up that
    ``mattebench run --predictions`` never uses (issue 23)."""
    first = next((a for a in argv if not a.startswith("-")), None)
    return (first,) if first in COMMANDS else COMMANDS


def internal_error_line(exc: BaseException) -> str:
    """The one line an unexpected exception becomes (an OSError names its file and stays an I/O error)."""
    text = " ".join(str(exc).split()) or "(no message)"
    if isinstance(exc, OSError):
        return f"error: {text}. Check the path and its permissions or free space; run again with --debug for the traceback."
    where = ""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is not None:
        where = f" (at {os.path.basename(tb.tb_frame.f_code.co_filename)}:{tb.tb_lineno})"
    return f"error: internal error: {type(exc).__name__}: {text[:500]}{where}; run again with --debug for the traceback."


# Options of any command that name a file or folder (argparse dests).
PATH_OPTIONS = ("out", "runs", "data_root", "checkpoint", "predictions", "pred", "input", "bench", "report", "paper")


def _refuse_empty_paths(args: argparse.Namespace) -> None:
    """An empty path (``--out ''``, an unset shell variable) is a usage error: Path('') is the current folder,
    which is never what was meant."""
    for dest in PATH_OPTIONS:
        value = getattr(args, dest, None)
        if isinstance(value, str) and not value.strip():
            flag = "--" + dest.replace("_", "-")
            raise UsageError(f"{flag} is empty ({value!r}): give a file or folder name, or leave {flag} out for its "
                             f"default (an empty value would mean the current folder)")


def _dispatch(argv: list[str]) -> int:
    for stream in (sys.stdout, sys.stderr):
        # A sample id is a file name and may hold bytes that are not UTF-8: print them escaped, never crash.
        reconfigure = getattr(stream, "reconfigure", None)
        if callable(reconfigure):
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError):
                pass
    parser = build_parser(commands_named(argv))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.INFO, format="%(message)s")
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_USAGE
    _refuse_empty_paths(args)
    check_environment()  # a bad $MATTEBENCH_MAX_PIXELS is one usage error before any command starts
    if args.debug:  # everything as the libraries print it
        return int(args.func(args) or 0)
    # Our warnings as one line each, once; what other packages say as one line per condition at the end,
    # in full in the run's run.log (mattebench.environment).
    with environment.capture(command="mattebench " + " ".join(argv)):
        return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
