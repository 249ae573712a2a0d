"""Every error mattebench raises, each with the exit code the command line gives it, and the exit codes.

One place, so that a reader sees what can go wrong and what a script calling ``mattebench`` will get:
the exit codes come first, then the errors by step (shared, data, methods, scoring, runs, report,
tracks, commands). Every message says what is wrong and what to do about it. The CLI prints a
:class:`MattebenchError` in one line without a traceback and exits with its ``exit_code``; any other
exception that reaches it is a bug (exit 70, ``--debug`` shows the traceback).

Last, where the guides that messages point to are on this machine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

# ----------------------------------------------------------------------------------------------------
# Exit codes of the `mattebench` command line: what scripts can rely on.
#
# ``run`` follows the full contract below; every other command uses 0, 1 (the work ran and found a
# problem), 2 (usage), 70, 74 and 130 with the same meanings. The codes 70 and 74 are the
# ``EX_SOFTWARE`` and ``EX_IOERR`` of BSD sysexits.h.
# ----------------------------------------------------------------------------------------------------

OK = 0  # run: every requested sample has an ok row
FAILED = 1  # run: stopped by --fail-fast; other commands: the work ran and found a problem
USAGE = 2  # unknown names, unknown or badly typed options, bad --limit/--out/--tag, folder held by another run
INCOMPLETE = 3  # run: finished, but some samples failed or are still pending
METHOD_EXITED = 4  # the method's code ended its process or changed the working directory while being built
INTERNAL = 70  # a bug (in mattebench or a plug-in): one line, and `--debug` shows the traceback
IO_ERROR = 74  # the run folder could not be written while samples ran (disk full, permission)
INTERRUPTED = 130  # SIGINT (Ctrl-C): everything written so far is kept

RUN_CONTRACT = (
    "Exit codes: 0 every requested sample scored; 3 finished but some samples failed or are pending "
    "(counts are printed); 1 stopped by --fail-fast; 4 the method's code ended its process (sys.exit, os._exit, "
    "a signal) or changed the working directory while it was being built: nothing was scored; 2 usage error found before any sample ran (unknown "
    "method/dataset, unknown or badly typed -m/-d option, --limit below 1, unusable --out or --tag, run "
    "folder held by another run, empty dataset); 74 the run folder could not be written mid-run (disk full, "
    "permission: rows already written are kept, rerun to resume); 130 interrupted; 70 internal error "
    "(run again with --debug for the traceback)."
)


# ----------------------------------------------------------------------------------------------------
# Shared: names, files, the registry, samples, predictions, run folders
# ----------------------------------------------------------------------------------------------------


class MattebenchError(Exception):
    """Base class: the CLI prints these without a traceback and exits with ``exit_code``.

    The default (2) is a usage error: a wrong name, option or path, found before any sample runs.
    Errors raised while samples run carry their own code (the table above).
    """

    exit_code: int = USAGE


class RegistryError(MattebenchError):
    """Unknown or duplicate method/dataset name, or a broken plug-in."""

    exit_code = USAGE


class DatasetNotFound(MattebenchError):
    """The data root does not hold the dataset (message says what to download and where to put it)."""

    exit_code = USAGE


class GroupsError(MattebenchError):
    """A sample-group list (groups.csv, AIM-500's aim_category_type.json) cannot be read: the message names the
    file and the line; fix or remove the file (found before any sample runs)."""

    exit_code = USAGE


class CheckpointError(MattebenchError):
    """A checkpoint file is missing or does not match the model."""

    exit_code = USAGE


class SampleError(MattebenchError):
    """A single sample cannot be used: the run records it with ``path`` and ``reason`` and goes on."""

    def __init__(self, reason: str, path: Optional[str] = None, sample_id: Optional[str] = None):
        self.reason = reason
        self.path = path
        self.sample_id = sample_id
        where = f"{path}: " if path else ""
        super().__init__(f"{where}{reason}")

    exit_code = USAGE


class NotRegularFile(MattebenchError):
    """A FIFO, device, socket or folder where an input file is expected (reading it would block or never end)."""

    def __init__(self, path: str, kind: str):
        self.path = path
        self.kind = kind
        super().__init__(f"{path}: is {kind}, not a regular file; reading it would block or never end: "
                         "replace it by the file it stands for, or remove it")

    exit_code = USAGE


class PredictionError(MattebenchError):
    """A method returned something that is not a valid alpha (NaN, wrong shape, wrong range)."""

    exit_code = USAGE


class RunConflict(MattebenchError):
    """A run folder already holds a run with different settings."""

    exit_code = USAGE


class UsageError(MattebenchError):
    """Arguments that cannot describe a run (bad --limit, --tag, --out, empty dataset)."""

    exit_code = USAGE


class RunLocked(MattebenchError):
    """Another process holds the run folder (its lock names the holder)."""

    exit_code = USAGE


class StoreError(MattebenchError):
    """Writing the run folder failed (disk full, permission, read-only file system).

    Raised while samples run: exit 74 (``EX_IOERR`` of sysexits.h); before any sample (the run
    folder cannot be created or written at all) it is a usage error, exit 2.
    """

    exit_code = IO_ERROR


class MethodExited(MattebenchError):
    """The method's code ended its process (``sys.exit``, ``os._exit``, a signal) or changed the working
    directory while it was being built (its factory): nothing can be scored (exit 4)."""

    exit_code = METHOD_EXITED


class MethodBuildError(MattebenchError):
    """The method's factory raised in its method host (an exception that is not one of mattebench's own)."""

    exit_code = INTERNAL


class UntrainedWeights(UsageError):
    """A method asked to run without the trained weights its card says it needs (exit 2, before anything is built)."""

    exit_code = USAGE


# ----------------------------------------------------------------------------------------------------
# Data: loading datasets and their variants
# ----------------------------------------------------------------------------------------------------


class CorruptionError(MattebenchError):
    """An unknown corruption kind or a severity outside 1..5 (a usage error)."""

    exit_code = USAGE


class VariantError(CorruptionError):
    """A bad ``trimap_radius`` / ``trimap_adjust`` value (a usage error)."""

    exit_code = USAGE


class FreezeError(MattebenchError):
    """The hashes cannot be frozen: no manifest (exit 2), or the packaged manifest is not writable (exit 1)."""

    exit_code = USAGE

    def __init__(self, message: str, exit_code: int = USAGE):
        super().__init__(message)
        self.exit_code = exit_code


class TreeTooLarge(ValueError):
    """A folder too large to hash on every run (the message says what to do).

    Not a :class:`MattebenchError`: the code that hashes a run's inputs catches it and says which option
    named the folder; one that reached the command line would be a bug (exit 70)."""

    exit_code = INTERNAL


class NotOnnx(ValueError):
    """The bytes are not an ONNX model's protobuf (caught where a model's external data is listed; exit 70
    if one ever reached the command line)."""

    exit_code = INTERNAL


# ----------------------------------------------------------------------------------------------------
# Metrics
# ----------------------------------------------------------------------------------------------------


class UnknownConvention(MattebenchError):
    """A --conventions name that is not registered."""

    exit_code = USAGE


# ----------------------------------------------------------------------------------------------------
# Methods: options, the method host, exported models, training
# ----------------------------------------------------------------------------------------------------


class OptionTypeError(RegistryError):
    """An option value of the wrong type (exit 2, before any sample)."""

    exit_code = USAGE


class HostProtocolError(Exception):
    """A host sent something that is not a well-formed message (a misbehaving method).

    Not a :class:`MattebenchError`: the driver turns it into an error row for the sample (or a stopped
    host); one that reached the command line would be a bug (exit 70)."""

    exit_code = INTERNAL


class ModelSpecError(MattebenchError):
    """An option or a model file that cannot describe a matting model (the CLI exits 2)."""

    exit_code = USAGE


class TrainingError(MattebenchError):
    """Training cannot go on (bad data for training, diverging loss, conflicting resume)."""

    exit_code = USAGE


# ----------------------------------------------------------------------------------------------------
# Runs: the record, the run folder, the runner and its executors
# ----------------------------------------------------------------------------------------------------


class RecordError(MattebenchError):
    """A summary.json that is not a run record this mattebench can read (the message says why)."""

    exit_code = USAGE


class LinkRefused(StoreError):
    """A symbolic link (or something that is not a folder) where mattebench would write: never followed."""

    exit_code = USAGE


class RunFolderUnusable(StoreError):
    """The run folder cannot be created or written at all: found before any sample, a usage error."""

    exit_code = USAGE


class StoredRowsError(MattebenchError):
    """A run's rows are missing or disagree with its record; the message says which and what to do."""

    exit_code = USAGE


class SampleFailed(MattebenchError):
    """Raised with --fail-fast when a sample fails."""

    exit_code = FAILED


class ProcessExecutorError(MattebenchError):
    """The local worker pool cannot run (bad settings, a worker that died while starting)."""

    exit_code = USAGE


class RayNotInstalled(MattebenchError):
    """The ray executor was asked for but the ``ray`` package is missing."""

    exit_code = USAGE


class RayExecutorError(MattebenchError):
    """The Ray executor cannot run (no spec, cluster unreachable, workers cannot build the method)."""

    exit_code = USAGE


# ----------------------------------------------------------------------------------------------------
# Report: comparisons and the site
# ----------------------------------------------------------------------------------------------------


class RunNotFound(MattebenchError):
    """A run given to compare does not exist."""

    exit_code = USAGE


class NotComparable(MattebenchError):
    """Two runs whose numbers do not mean the same thing (other data, protocol or trimaps)."""

    exit_code = USAGE


class UserFileInTheWay(MattebenchError):
    """A file in the site that mattebench did not write has the name of one the build writes."""

    exit_code = USAGE


class SiteBusy(MattebenchError):
    """Another build holds ``<out>``."""

    exit_code = USAGE


# ----------------------------------------------------------------------------------------------------
# Tracks and commands
# ----------------------------------------------------------------------------------------------------


class GridError(MattebenchError):
    """A grid that cannot be run as asked (no methods, a bad severity list)."""

    exit_code = USAGE


class OptionError(MattebenchError):
    """A ``-m``/``-d`` ``KEY=VALUE`` option that cannot be parsed."""

    exit_code = USAGE


# ----------------------------------------------------------------------------------------------------
# Where the guides that messages point to are on this machine: the dataset READMEs and docs/*.md.
#
# A message that says "Details: datasets/ppm100/README.md" helps only where that file is. The guides travel
# with the package (pyproject.toml installs ``docs/*.md`` as ``mattebench/docs/`` and ``datasets/**/README.md``
# as ``mattebench/dataset_docs/``), and a message names the copy that exists here: the installed one, or the
# source tree's when mattebench runs from a checkout. A guide that exists nowhere (a plug-in's dataset has no
# README of ours) gives None, and the message leaves the pointer out: what it says must stand alone.
# ----------------------------------------------------------------------------------------------------

# The project's folder -> the folder inside the installed package (pyproject.toml's package-dir says the same).
INSTALLED_AS = {"docs": "docs", "datasets": "dataset_docs"}


def guide_path(rel: str) -> Optional[str]:
    """``rel`` as the project names it ("datasets/ppm100/README.md", "docs/robustness.md") -> the file's path here."""
    top, _, rest = rel.partition("/")
    if top not in INSTALLED_AS or not rest or ".." in Path(rest).parts:
        return None
    package = Path(__file__).resolve().parent
    installed = package / INSTALLED_AS[top] / rest
    if installed.is_file():
        return str(installed)
    checkout = package.parent  # a source tree (editable install, or run from a clone): docs/ beside mattebench/
    if (checkout / "pyproject.toml").is_file() and (checkout / rel).is_file():
        return str(checkout / rel)
    return None


def see(rel: str, prefix: str = "see ") -> str:
    """`` (see /path/to/guide)`` for a message, or "" when the guide is not on this machine."""
    found = guide_path(rel)
    return f" ({prefix}{found})" if found else ""
