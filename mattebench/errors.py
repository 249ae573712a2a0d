"""Typed errors. Each message says what is wrong and what to do about it."""

from __future__ import annotations

from typing import Optional


class MattebenchError(Exception):
    """Base class: the CLI prints these without a traceback and exits with ``exit_code``.

    The default (2) is a usage error: a wrong name, option or path, found before any sample runs.
    Errors raised while samples run carry their own code (see :mod:`mattebench.exitcodes`).
    """

    exit_code: int = 2


class RegistryError(MattebenchError):
    """Unknown or duplicate method/dataset name, or a broken plug-in."""


class DatasetNotFound(MattebenchError):
    """The data root does not hold the dataset (message says what to download and where to put it)."""


class CheckpointError(MattebenchError):
    """A checkpoint file is missing or does not match the model."""


class SampleError(MattebenchError):
    """A single sample cannot be used: the run records it with ``path`` and ``reason`` and goes on."""

    def __init__(self, reason: str, path: Optional[str] = None, sample_id: Optional[str] = None):
        self.reason = reason
        self.path = path
        self.sample_id = sample_id
        where = f"{path}: " if path else ""
        super().__init__(f"{where}{reason}")


class NotRegularFile(MattebenchError):
    """A FIFO, device, socket or folder where an input file is expected (reading it would block or never end)."""

    def __init__(self, path: str, kind: str):
        self.path = path
        self.kind = kind
        super().__init__(f"{path}: is {kind}, not a regular file; reading it would block or never end: "
                         "replace it by the file it stands for, or remove it")


class PredictionError(MattebenchError):
    """A method returned something that is not a valid alpha (NaN, wrong shape, wrong range)."""


class RunConflict(MattebenchError):
    """A run folder already holds a run with different settings."""


class UsageError(MattebenchError):
    """Arguments that cannot describe a run (bad --limit, --tag, --out, empty dataset)."""


class RunLocked(MattebenchError):
    """Another process holds the run folder (its lock names the holder)."""


class StoreError(MattebenchError):
    """Writing the run folder failed (disk full, permission, read-only file system).

    Raised while samples run: exit 74 (``EX_IOERR`` of sysexits.h); before any sample (the run
    folder cannot be created or written at all) it is a usage error, exit 2.
    """

    exit_code = 74


class MethodExited(MattebenchError):
    """The method's code ended its process (``sys.exit``, ``os._exit``, a signal) or changed the working
    directory while it was being built (its factory): nothing can be scored (exit 4)."""

    exit_code = 4


class MethodBuildError(MattebenchError):
    """The method's factory raised in its method host (an exception that is not one of mattebench's own)."""

    exit_code = 70


class UntrainedWeights(UsageError):
    """A method asked to run without the trained weights its card says it needs (exit 2, before anything is built)."""
