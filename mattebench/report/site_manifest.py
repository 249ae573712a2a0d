"""What ``leaderboard --html`` wrote: ``<out>/site/.mattebench-manifest.json`` lists the files (relative to
the site folder) of the last build, so the next build knows which files in the folder are ours and which
are the user's (a CNAME, a README, their own page), which it carries over (:mod:`.site_build`).

A manifest is a file anyone can edit: it never names anything outside the folder it describes. An
entry counts only when it is a relative path with no ``..``, ``.`` or empty part and is not absolute,
and when what it names is a regular file reached without passing through a symbolic link; every other
entry is ignored. Nothing is deleted through the manifest (the old site is replaced as a whole).
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Iterable, Optional

from ..safe_write import atomic_write_text

MANIFEST = ".mattebench-manifest.json"
FORMAT = "mattebench site manifest v1"
MAX_MANIFEST_BYTES = 64 * 1024 * 1024


def valid_entry(site: Path, name: object) -> Optional[str]:
    """``name`` as a plain relative path of a regular file inside ``site`` (no link on the way), else None."""
    if not isinstance(name, str) or not name or "\0" in name or "\\" in name:
        return None
    parts = name.split("/")  # as written: "a//b", "./a" and "a/." are not the names we write
    if os.path.isabs(name) or any(p in ("..", ".", "") for p in parts):
        return None
    where = site
    for i, part in enumerate(parts):
        where = where / part
        try:
            mode = os.lstat(where).st_mode
        except OSError:
            return None
        last = i == len(parts) - 1
        if (last and not stat.S_ISREG(mode)) or (not last and not stat.S_ISDIR(mode)):
            return None  # a link (to anywhere), a fifo, a device: not a file we wrote
    return name


def previous_names(site: Path) -> set[str]:
    """The files the last build wrote that are still inside ``site`` (none without a readable manifest)."""
    f = site / MANIFEST
    try:
        if not stat.S_ISREG(os.lstat(f).st_mode) or os.lstat(f).st_size > MAX_MANIFEST_BYTES:
            return set()
        data = json.loads(f.read_bytes().decode("utf-8"))
    except (OSError, ValueError):
        return set()
    names = data.get("files") if isinstance(data, dict) and data.get("format") == FORMAT else None
    if not isinstance(names, list):
        return set()
    return {v for v in (valid_entry(site, n) for n in names) if v is not None}


def write_manifest(site: Path, files: Iterable[Path]) -> Path:
    names = sorted({p.relative_to(site).as_posix() for p in files})
    f = site / MANIFEST
    atomic_write_text(f, json.dumps({"format": FORMAT, "files": names}, indent=1) + "\n")
    return f
