"""Which runs a published output (leaderboard, site, paper tables, figures) may show.

A run is published only when it is not a robustness-track variant, and when its method card allows it (``on_leaderboard``) *and* its family is
not ``reference``: reference methods may be handed the ground truth (:mod:`mattebench.ground_truth`),
so their numbers say nothing about matting. Filtering by family as well as by the flag means a
plug-in cannot get a ground-truth-fed score published by leaving ``on_leaderboard`` at its default.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from ..types import FAMILY_REFERENCE


def publishable(summary: Mapping[str, Any]) -> bool:
    card = summary.get("method_card") or {}
    if not isinstance(card, Mapping):
        return False
    return bool(card.get("on_leaderboard", True)) and card.get("family") != FAMILY_REFERENCE


def published(summaries: Iterable[Mapping[str, Any]]) -> list[Any]:
    """The runs a clean table may show: publishable, and not a robustness-track variant (corrupted input or
    changed trimap), which is shown only in the robustness section and page."""
    from ..robustness import is_variant_run

    return [s for s in summaries if publishable(s) and not is_variant_run(s)]
