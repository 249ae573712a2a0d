"""What a method itself adds to a run's provenance (beyond its options): e.g. the input rule a MODNet applied
and whether it came from the option, the checkpoint or the default (baselines/modnet/input_rule.py)."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class ReportsProvenance(Protocol):
    def provenance(self) -> dict[str, Any]: ...


@runtime_checkable
class RelaysWorkerProvenance(Protocol):
    """An executor whose workers build the method (the driver holds none) and pass its provenance back."""

    def worker_method_provenance(self) -> dict[str, Any]: ...


def method_provenance(method: Any, executor: Any = None) -> dict[str, Any]:
    """The method's own provenance entries: from the driver's method object, else from the executor's workers
    (local worker processes build it there, e.g. ``run --jobs N``), else {} (methods without them)."""
    if method is not None and isinstance(method, ReportsProvenance):
        return dict(method.provenance())
    if method is None and isinstance(executor, RelaysWorkerProvenance):
        return dict(executor.worker_method_provenance())
    return {}
