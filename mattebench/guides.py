"""Where the guides that messages point to are on this machine: the dataset READMEs and docs/*.md.

A message that says "Details: datasets/ppm100/README.md" helps only where that file is. The guides travel
with the package (pyproject.toml installs ``docs/*.md`` as ``mattebench/docs/`` and ``datasets/**/README.md``
as ``mattebench/dataset_docs/``), and a message names the copy that exists here: the installed one, or the
source tree's when mattebench runs from a checkout. A guide that exists nowhere (a plug-in's dataset has no
README of ours) gives None, and the message leaves the pointer out: what it says must stand alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

# The project's folder -> the folder inside the installed package (pyproject.toml's package-dir says the same).
INSTALLED_AS = {"docs": "docs", "datasets": "dataset_docs"}


def guide_path(rel: str) -> Optional[str]:
    """``rel`` as the project names it ("datasets/ppm100/README.md", "docs/robustness.md") -> the file's path here."""
    top, _, rest = rel.partition("/")
    if top not in INSTALLED_AS or not rest or ".." in Path(rest).parts:
        return None
    package = Path(__file__).resolve().parent
    installed = package / INSTALLED_AS[top] / rest
    if installed.is_file():
        return str(installed)
    checkout = package.parent  # a source tree (editable install, or run from a clone): docs/ beside mattebench/
    if (checkout / "pyproject.toml").is_file() and (checkout / rel).is_file():
        return str(checkout / rel)
    return None


def see(rel: str, prefix: str = "see ") -> str:
    """`` (see /path/to/guide)`` for a message, or "" when the guide is not on this machine."""
    found = guide_path(rel)
    return f" ({prefix}{found})" if found else ""
