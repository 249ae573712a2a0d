"""What ``leaderboard --html`` wrote, so a rebuild removes exactly that and nothing else.

``<out>/site/.mattebench-manifest.json`` lists the files (relative to the site folder) that the last
build wrote. A rebuild removes those files, then the folders they were in when left empty, then
writes the new site and its manifest. A file the user put in the folder (a CNAME, a README, their
own page) is never removed; nor is anything a hostile manifest names outside the folder.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterable

from .out_paths import inside

MANIFEST = ".mattebench-manifest.json"
FORMAT = "mattebench site manifest v1"


def previous_files(site: Path) -> list[Path]:
    """The files the last build wrote that still exist inside ``site`` (none without a manifest)."""
    try:
        data = json.loads((site / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    names = data.get("files") if isinstance(data, dict) and data.get("format") == FORMAT else None
    if not isinstance(names, list):
        return []
    out = []
    for name in names:
        if not isinstance(name, str) or not name or os.path.isabs(name) or ".." in Path(name).parts:
            continue
        p = site / name
        if inside(site, p) and p.is_file() and not p.is_symlink():
            out.append(p)
    return out


def remove_previous(site: Path) -> None:
    """Remove what the last build wrote (see the module docstring)."""
    folders = set()
    for p in previous_files(site):
        p.unlink(missing_ok=True)
        folders.update(q for q in p.parents if q != site and site in q.parents)
    for folder in sorted(folders, key=lambda q: len(q.parts), reverse=True):
        try:
            folder.rmdir()  # only when empty: a user's file keeps its folder
        except OSError:
            pass


def write_manifest(site: Path, files: Iterable[Path]) -> Path:
    names = sorted({p.relative_to(site).as_posix() for p in files})
    f = site / MANIFEST
    tmp = f.with_name(f.name + ".tmp")
    tmp.write_text(json.dumps({"format": FORMAT, "files": names}, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, f)
    return f
