"""Typed errors. Each message says what is wrong and what to do about it."""

from __future__ import annotations

from typing import Optional


class MattebenchError(Exception):
    """Base class: the CLI prints these without a traceback and exits non-zero."""


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


class PredictionError(MattebenchError):
    """A method returned something that is not a valid alpha (NaN, wrong shape, wrong range)."""


class RunConflict(MattebenchError):
    """A run folder already holds a run with different settings."""
