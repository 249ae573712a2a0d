"""File names for what the reports write, derived from names a ``summary.json`` holds.

A dataset or method name is data from a file anyone can edit: ``../../etc/x``, ``/tmp/y``, ``a\\b``,
``..`` or a name with a NUL must never become a path outside the report's ``--out``. :func:`file_stem`
keeps ordinary names as they are (``synthetic``, ``p3m500-p``, ``modnet@sps``) and turns any other into
a readable stem with no separator plus a short hash of the original, so two different names never share
a file. :func:`inside` is the last check before anything is written or removed. :func:`anchor` is the
one slug of the site's in-page ids (``#ds-<dataset>``).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any, Optional

_PLAIN = re.compile(r"^[\w@+\-][\w@+.\-]{0,99}$")
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}


def file_stem(name: object) -> str:
    """A safe, stable file stem for ``name`` (see the module docstring)."""
    text = str(name)
    if _PLAIN.match(text) and ".." not in text and text.split(".")[0].lower() not in _RESERVED:
        return text
    readable = re.sub(r"[^\w@+\-]+", "_", text).strip("_")[:60] or "x"
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{readable}-{digest}"


def anchor(name: object) -> str:
    """An HTML id fragment for ``name``: lower-case letters and digits, runs of anything else one ``-``."""
    return re.sub(r"[^a-z0-9]+", "-", str(name).lower()).strip("-") or "x"


def save_figure(fig: Any, path: Path, root: Optional[Path] = None) -> Path:
    """``fig.savefig`` through :func:`mattebench.files.atomic_write`: a fresh temporary renamed over
    ``path``, never a write through a link (with ``root``, the folders from ``root`` down are checked too)."""
    from mattebench.files import atomic_write

    fmt = Path(path).suffix.lstrip(".").lower() or "png"
    atomic_write(Path(path), lambda f: fig.savefig(f, format=fmt), binary=True, root=root)
    return Path(path)
