"""mattebench: a benchmark and evaluation suite for portrait matting.

Public API::

    import mattebench
    mattebench.list_methods(); mattebench.list_datasets()
    method = mattebench.create_method("closed-form")
    data = mattebench.load_dataset("synthetic")
    rows, record = mattebench.evaluate(method, data)  # record: mattebench.runs.record.RunRecord

The names are loaded on first use (PEP 562), so that ``import mattebench.metrics`` or
``import mattebench.data`` loads only that step, never the runner, the store or the registry.
The steps, in the order data flows: :mod:`mattebench.data` -> :mod:`mattebench.methods` ->
:mod:`mattebench.scoring` -> :mod:`mattebench.runs` -> :mod:`mattebench.report`; ``docs/architecture.md``.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from mattebench.environment import __version__

# public name -> the module that defines it
_PUBLIC = {
    "metrics": "mattebench.metrics",
    "MattebenchError": "mattebench.errors",
    "SampleError": "mattebench.errors",
    "create_method": "mattebench.methods.registry",
    "dataset_card": "mattebench.methods.registry",
    "list_datasets": "mattebench.methods.registry",
    "list_methods": "mattebench.methods.registry",
    "load_dataset": "mattebench.methods.registry",
    "method_card": "mattebench.methods.registry",
    "register_dataset": "mattebench.methods.registry",
    "register_method": "mattebench.methods.registry",
    "evaluate": "mattebench.runs.runner",
    "Clip": "mattebench.types",
    "DatasetCard": "mattebench.types",
    "MethodCard": "mattebench.types",
    "Sample": "mattebench.types",
}

__all__ = [
    "__version__", "metrics", "MattebenchError", "SampleError", "create_method", "dataset_card", "list_datasets",
    "list_methods", "load_dataset", "method_card", "register_dataset", "register_method", "evaluate", "Clip",
    "DatasetCard", "MethodCard", "Sample",
]


def __getattr__(name: str) -> Any:
    where = _PUBLIC.get(name)
    if where is None:
        raise AttributeError(f"module 'mattebench' has no attribute {name!r}")
    module = import_module(where)
    value = module if name == "metrics" else getattr(module, name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))


if TYPE_CHECKING:  # what type checkers and IDEs see
    from mattebench import metrics
    from mattebench.errors import MattebenchError, SampleError
    from mattebench.methods.registry import (
        create_method,
        dataset_card,
        list_datasets,
        list_methods,
        load_dataset,
        method_card,
        register_dataset,
        register_method,
    )
    from mattebench.runs.runner import evaluate
    from mattebench.types import Clip, DatasetCard, MethodCard, Sample
