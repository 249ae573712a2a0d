"""Which inference-size rule a MODNet runs with, and where it came from.

A checkpoint may carry the rule it was trained and evaluated with (``meta["input_rule"] = {"ref_size",
"multiple"}``; every shipped checkpoint does). Precedence: an explicit ``ref_size=`` option, then the
checkpoint's rule, then the official default (512, multiples of 32). The chosen rule and its source go into
the run's provenance, so a number says at which size it was measured.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Mapping, Optional

from .preprocess import MULTIPLE, REF_SIZE

SOURCES = ("option", "checkpoint", "default")


@dataclass(frozen=True)
class InputRule:
    ref_size: int
    multiple: int
    source: str  # one of SOURCES

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def stored(self) -> dict[str, int]:
        """The form a checkpoint carries (without the source)."""
        return {"ref_size": self.ref_size, "multiple": self.multiple}


def choose_rule(option: Optional[Any], checkpoint_meta: Mapping[str, Any]) -> InputRule:
    """``option``: the ref_size the user gave (None when not given); ``checkpoint_meta``: the checkpoint's metadata."""
    stored = dict((checkpoint_meta.get("meta") or {}).get("input_rule") or {})
    multiple = int(stored.get("multiple", MULTIPLE))
    if option not in (None, ""):
        return InputRule(int(option), multiple, "option")
    if "ref_size" in stored:
        return InputRule(int(stored["ref_size"]), multiple, "checkpoint")
    return InputRule(REF_SIZE, MULTIPLE, "default")
