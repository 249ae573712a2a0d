"""Who may see the ground truth: only methods whose card family is ``reference``.

``observe(item)`` hands a method the whole sample, ground truth included; it exists for sanity
checks such as gt-echo (every metric must be 0). Any other method that defines ``observe`` is
never called through it (a method that reads the answer would publish a perfect score); it gets
one warning per method name, and its predictions are scored as usual. Reference methods, in turn,
never appear in leaderboards, the site or the paper tables (:func:`mattebench.report.visibility.publishable`).
"""

from __future__ import annotations

import warnings
from typing import Any, Callable, Optional

from .types import FAMILY_REFERENCE, MethodCard

_warned: set[str] = set()


class GroundTruthWithheld(UserWarning):
    """A non-reference method asked for the ground truth and did not get it."""


def withheld(method: Any, card: MethodCard) -> bool:
    """True when ``method`` defines ``observe`` but its family may not see the ground truth."""
    return callable(getattr(method, "observe", None)) and card.family != FAMILY_REFERENCE


def warn_withheld(card: MethodCard, stacklevel: int = 3) -> None:
    """The one warning per method name (in the process that reports to the user: workers stay quiet)."""
    if card.name in _warned:
        return
    _warned.add(card.name)
    warnings.warn(
        f"method {card.name!r} (family {card.family!r}) defines observe(), which would hand it the ground truth; "
        f"only methods of family 'reference' (kept off every leaderboard) get it, so it is never called",
        GroundTruthWithheld,
        stacklevel=stacklevel,
    )


def observer(method: Any, card: MethodCard) -> Optional[Callable[[Any], None]]:
    """The method's ``observe`` when it may see the ground truth, else None (with a warning once)."""
    observe = getattr(method, "observe", None)
    if not callable(observe):
        return None
    if card.family == FAMILY_REFERENCE:
        return observe
    warn_withheld(card, stacklevel=4)
    return None
