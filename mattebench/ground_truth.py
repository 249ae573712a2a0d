"""Who may see the ground truth: only methods whose card family is ``reference``.

``observe(item)`` (:class:`mattebench.contract.ReferenceMethod`) hands a method the whole sample,
ground truth included; it exists for sanity checks such as gt-echo (every metric must be 0). Any
other method that defines ``observe`` is
never called through it (a method that reads the answer would publish a perfect score); it gets
one warning per method name, and its predictions are scored as usual. Reference methods, in turn,
never appear in leaderboards, the site or the paper tables (:func:`mattebench.report.visibility.publishable`).
"""

from __future__ import annotations

import warnings
from typing import Any, Callable, Optional

from .contract import ReferenceMethod, is_reference
from .types import MethodCard

_warned: set[str] = set()


class GroundTruthWithheld(UserWarning):
    """A non-reference method asked for the ground truth and did not get it."""


def withheld(method: Any, card: MethodCard) -> bool:
    """True when ``method`` defines ``observe`` but its family may not see the ground truth."""
    return isinstance(method, ReferenceMethod) and not is_reference(method, card)


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
    if not isinstance(method, ReferenceMethod):
        return None
    if is_reference(method, card):
        return method.observe
    warn_withheld(card, stacklevel=4)
    return None
