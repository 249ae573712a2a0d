"""What a method itself adds to a run's provenance (beyond its options): e.g. the input rule a MODNet applied
and whether it came from the option, the checkpoint or the default (baselines/modnet/input_rule.py)."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class ReportsProvenance(Protocol):
    def provenance(self) -> dict[str, Any]: ...


def method_provenance(method: Any) -> dict[str, Any]:
    """The method's own provenance entries, or {} (methods without them, or built only on remote workers)."""
    if method is not None and isinstance(method, ReportsProvenance):
        return dict(method.provenance())
    return {}
