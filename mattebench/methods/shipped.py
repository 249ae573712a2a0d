"""Checkpoints shipped inside the package, named without a path: ``--checkpoint mattebench:<name>``.

The files live in ``mattebench/weights/`` (package data), listed by ``index.json``: for every name the file,
its sha256, the method that loads it, the input rule it was trained and evaluated with, and its card
(``CARD.md``). They are resolved with :mod:`importlib.resources`, so the same name works from a source tree,
an editable install or a wheel. Nothing is ever downloaded.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Optional

from mattebench.errors import CheckpointError

PREFIX = "mattebench:"
WEIGHTS_PACKAGE = "mattebench.weights"


@dataclass(frozen=True)
class ShippedCheckpoint:
    name: str
    method: str
    file: str
    sha256: str
    input_rule: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    @property
    def spec(self) -> str:
        return PREFIX + self.name

    def path(self) -> Path:
        return Path(os.fspath(resources.files(WEIGHTS_PACKAGE).joinpath(self.file)))


def shipped_checkpoints() -> dict[str, ShippedCheckpoint]:
    """Every shipped checkpoint by name (empty when the package carries none)."""
    try:
        index = resources.files(WEIGHTS_PACKAGE).joinpath("index.json")
        entries = json.loads(index.read_text(encoding="utf-8"))
    except (ModuleNotFoundError, FileNotFoundError):
        return {}
    return {e["name"]: ShippedCheckpoint(e["name"], e["method"], e["file"], e["sha256"], dict(e.get("input_rule", {})),
                                         e.get("description", "")) for e in entries["checkpoints"]}


def is_shipped_name(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def lookup(value: str) -> ShippedCheckpoint:
    """The shipped checkpoint named ``mattebench:<name>``; CheckpointError listing the shipped ones otherwise."""
    name = value[len(PREFIX):] if is_shipped_name(value) else value
    known = shipped_checkpoints()
    if name not in known:
        listing = ", ".join(f"{PREFIX}{k} ({v.method})" for k, v in sorted(known.items())) or "none in this install"
        raise CheckpointError(f"no shipped checkpoint named {value!r}. Shipped checkpoints: {listing}. "
                              f"Give one of those, or the path of a checkpoint file.")
    return known[name]


def resolve(value: str | os.PathLike[str]) -> Path:
    """A path for ``value``: a shipped name becomes its installed file; a path stays as it is."""
    if not is_shipped_name(value):
        return Path(value)
    entry = lookup(str(value))
    path = entry.path()
    if not path.is_file():
        raise CheckpointError(f"{value}: the shipped file {path} is missing from this install; reinstall mattebench")
    return path


def describe(value: Optional[Any]) -> Optional[dict[str, Any]]:
    """Provenance of a shipped name (name, file, sha256 from the index), None for a path or nothing."""
    if not is_shipped_name(value):
        return None
    entry = lookup(str(value))
    return {"name": entry.spec, "path": str(entry.path()), "sha256_index": entry.sha256, "method": entry.method}
