"""Parsing of repeated ``KEY=VALUE`` options (``-m`` for methods, ``-d`` for datasets)."""

from __future__ import annotations

import json
from typing import Any, Iterable, Optional

from mattebench.errors import OptionError


def parse_value(text: str) -> Any:
    """JSON when it parses (numbers, true/false, null, lists), else the plain string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_options(pairs: Optional[Iterable[str]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs or ():
        if "=" not in pair:
            raise OptionError(f"option {pair!r} is not KEY=VALUE (for example -m threads=2 or -d size=512)")
        key, value = pair.split("=", 1)
        key = key.strip().replace("-", "_")
        if not key.isidentifier():
            raise OptionError(f"option name {key!r} in {pair!r} is not a valid name")
        if key in out:  # a second value for one key is a mistake either way: neither silently wins
            raise OptionError(f"option {key!r} is given twice ({key}={_shown(out[key])} and {pair!r}); give each "
                              f"KEY=VALUE once (a repeated -m or -d key is never merged or overridden)")
        out[key] = parse_value(value)
    return out


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)
