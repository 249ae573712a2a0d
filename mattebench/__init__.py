"""mattebench: a benchmark and evaluation suite for portrait matting.

Public API::

    import mattebench
    mattebench.list_methods(); mattebench.list_datasets()
    method = mattebench.create_method("closed-form")
    data = mattebench.load_dataset("synthetic")
    rows, record = mattebench.evaluate(method, data)  # record: mattebench.record.RunRecord
"""

from __future__ import annotations

__version__ = "0.1.0"

from . import metrics
from .errors import MattebenchError, SampleError
from .registry import (
    create_method,
    dataset_card,
    list_datasets,
    list_methods,
    load_dataset,
    method_card,
    register_dataset,
    register_method,
)
from .runner import evaluate
from .types import Clip, DatasetCard, MethodCard, Sample

__all__ = [
    "__version__",
    "metrics",
    "MattebenchError",
    "SampleError",
    "create_method",
    "dataset_card",
    "list_datasets",
    "list_methods",
    "load_dataset",
    "method_card",
    "register_dataset",
    "register_method",
    "evaluate",
    "Clip",
    "DatasetCard",
    "MethodCard",
    "Sample",
]
