"""What one run of the robustness track changed: ``clean``, a corruption at a severity, a trimap change.

A :class:`Condition` is a variant (:class:`mattebench.data.variant.VariantSpec`) that changes one thing,
the unit of the robustness grid (one run per condition) and of its table (one cell per condition). It lives
with the variants so that both the grid runner (:mod:`mattebench.tracks.robustness`) and the report's table model
(:mod:`mattebench.report.robustness`) can name it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

from mattebench.data import corrupt as C
from mattebench.data.variant import VariantSpec

CLEAN = "clean"
TRIMAP_ADJUST = "trimap-adjust"
TRIMAP_RADIUS = "trimap-radius"


@dataclass(frozen=True, order=True)
class Condition:
    """What a run changed: ``clean``, a corruption kind at a severity, or a trimap change of ``level`` px."""

    kind: str
    level: int = 0

    @property
    def is_corruption(self) -> bool:
        return self.kind in C.KINDS

    @property
    def is_trimap(self) -> bool:
        return self.kind in (TRIMAP_ADJUST, TRIMAP_RADIUS)

    def spec(self) -> VariantSpec:
        if self.is_corruption:
            return VariantSpec(corrupt=C.Corruption(self.kind, self.level))
        if self.kind == TRIMAP_ADJUST:
            return VariantSpec(trimap_adjust=self.level)
        if self.kind == TRIMAP_RADIUS:
            return VariantSpec(trimap_radius=self.level)
        return VariantSpec()

    def dataset_options(self) -> dict[str, Any]:
        if self.is_corruption:
            return {"corrupt": f"{self.kind}:{self.level}"}
        if self.kind == TRIMAP_ADJUST:
            return {"trimap_adjust": self.level}
        if self.kind == TRIMAP_RADIUS:
            return {"trimap_radius": self.level}
        return {}


def condition_of_variant(variant: Mapping[str, Any]) -> Optional[Condition]:
    """The condition of a run's variant record (``dataset_variant``; ``{}`` = clean); None for a variant that
    changes more than one thing, which the robustness track does not chart."""
    if not variant:
        return Condition(CLEAN)
    if set(variant) == {"corrupt"}:
        return Condition(str(variant["corrupt"]["kind"]), int(variant["corrupt"]["severity"]))
    if set(variant) == {"trimap_adjust"}:
        return Condition(TRIMAP_ADJUST, int(variant["trimap_adjust"]))
    if set(variant) == {"trimap_radius"}:
        return Condition(TRIMAP_RADIUS, int(variant["trimap_radius"]))
    return None
