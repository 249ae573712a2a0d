"""Building ``<out>/site`` so that the old site stays whole until the new one is complete, with the
manifest of what the last build wrote.

What ``leaderboard --html`` wrote: ``<out>/site/.mattebench-manifest.json`` lists the files (relative to
the site folder) of the last build, so the next build knows which files in the folder are ours and which
are the user's (a CNAME, a README, their own page), which it carries over (:mod:`.site_build`).

A manifest is a file anyone can edit: it never names anything outside the folder it describes. An
entry counts only when it is a relative path with no ``..``, ``.`` or empty part and is not absolute,
and when what it names is a regular file reached without passing through a symbolic link; every other
entry is ignored. Nothing is deleted through the manifest (the old site is replaced as a whole).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Iterable, Iterator, Optional

from mattebench.errors import SiteBusy, UserFileInTheWay
from mattebench.files import (
    FOLDER_MODE,
    atomic_write_text,
    check_not_link,
    refuse_link,
    safe_folder,
    store_error,
)

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


# ----------------------------------------------------------------------------------------------------
# Building ``<out>/site`` so that the old site stays whole until the new one is complete.
#
# A build writes into a fresh folder ``<out>/.site-build-XXXX`` (made with ``mkdtemp``: never a link, never
# an existing folder), then carries over the files in the old site that mattebench did not write (a CNAME,
# the user's notes: anything its manifest does not list) as hard links, and only then swaps the new folder
# in: one ``renameat2(RENAME_EXCHANGE)`` where the kernel has it, else two renames, the old site going to
# ``<out>/.site-old-XXXX`` first. A build killed at any point (``kill -9`` included) leaves the old site
# where it was (or, in the instant between the two renames, in ``.site-old-XXXX``, which the next build
# moves back); the next build removes the folders a killed one left. ``<out>/site`` that is a symbolic link
# is refused, never written through, and one build at a time holds ``<out>`` (an ``flock`` on the folder).
#
# The manifest (:mod:`.site_manifest`) only decides which old files are ours and so are not carried over;
# nothing is ever deleted through it: the old folder is removed as a whole, and ``shutil.rmtree`` unlinks
# links without following them.
# ----------------------------------------------------------------------------------------------------

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

SITE_DIR = "site"
BUILD_PREFIX = ".site-build-"
OLD_PREFIX = ".site-old-"


def _is_real_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


@contextlib.contextmanager
def _hold(out: Path) -> Iterator[None]:
    """One build at a time in ``out`` (the lock dies with its holder)."""
    if fcntl is None:  # Windows: no flock, and a folder cannot be opened as a file there
        yield
        return
    fd = os.open(out, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise SiteBusy(f"another `leaderboard --html` is writing {out / SITE_DIR}: wait for it to "
                               f"finish, or pass --out to another folder") from None
            # a file system without flock: builds are not serialised there
        yield
    finally:
        os.close(fd)


def _clean_leftovers(out: Path, site: Path) -> None:
    """Move back a site that a killed swap left aside, then remove what killed builds left."""
    olds = sorted((p for p in out.glob(OLD_PREFIX + "*") if _is_real_dir(p)), key=lambda p: p.stat().st_mtime)
    aside = [p for p in olds if _is_real_dir(p / SITE_DIR)]
    if not os.path.lexists(site) and aside:
        os.rename(aside[-1] / SITE_DIR, site)  # the newest site left aside: the last good one
    for p in [*olds, *(q for q in out.glob(BUILD_PREFIX + "*") if _is_real_dir(q))]:
        shutil.rmtree(p, ignore_errors=True)


def _user_entries(site: Path) -> list[str]:
    """Relative names of what the old site holds that mattebench did not write (files, links, empty folders)."""
    ours = previous_names(site) | {MANIFEST}
    found = []
    for top, dirs, files in os.walk(site, onerror=_raise):  # never descends into a linked folder; an unreadable
        # folder stops the build rather than leave the user's files in it behind
        rel_top = Path(top).relative_to(site)
        links = [d for d in dirs if os.path.islink(os.path.join(top, d))]
        for name in [*files, *links]:
            rel = (rel_top / name).as_posix()
            if rel not in ours and not _our_leftover(rel, ours):
                found.append(rel)
        if not dirs and not files and top != str(site):
            found.append(rel_top.as_posix() + "/")
    return sorted(found)


def _raise(exc: OSError) -> None:
    raise exc


def _our_leftover(rel: str, ours: set[str]) -> bool:
    """A temporary a killed build of an older version left beside one of our files (``index.html.tmp``)."""
    return rel.endswith(".tmp") and rel[: -len(".tmp")] in ours


def _carry(site: Path, build: Path, entries: list[str]) -> None:
    """Put the user's entries into the new build (hard links: the old copy stays until the swap)."""
    clashes = [e for e in entries if os.path.lexists(build / e.rstrip("/")) and not e.endswith("/")]
    if clashes:
        shown = ", ".join(str(site / c) for c in clashes[:5]) + (f" and {len(clashes) - 5} more" if len(clashes) > 5 else "")
        raise UserFileInTheWay(
            f"{shown}: not written by mattebench (not listed in {site / MANIFEST}), and this build writes a file of that "
            f"name. Move it out of {site} (or pass --out to another folder) and rerun; the site was left as it was.")
    for e in entries:
        rel = Path(e.rstrip("/"))
        safe_folder(build, rel if e.endswith("/") else rel.parent)
        if e.endswith("/"):
            continue
        src, dst = site / rel, build / rel
        try:
            os.link(src, dst, follow_symlinks=False)
        except OSError:
            if os.path.islink(src):
                os.symlink(os.readlink(src), dst)
            else:
                shutil.copy2(src, dst, follow_symlinks=False)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2``); False where the system cannot."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EPERM):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _swap_in(build: Path, site: Path, out: Path) -> None:
    if not os.path.lexists(site):
        os.rename(build, site)
        return
    if _exchange(build, site):
        shutil.rmtree(build, ignore_errors=True)  # now the old site
        return
    old = Path(tempfile.mkdtemp(dir=out, prefix=OLD_PREFIX))
    os.rename(site, old / SITE_DIR)
    os.rename(build, site)
    shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def site_build(out: Path | str) -> Iterator[Path]:
    """``with site_build(out) as folder:`` write the new site into ``folder``; it replaces ``<out>/site`` when
    the block ends without an error, and is removed (no temporary left behind) when it does not."""
    out = safe_folder(out)
    site = out / SITE_DIR
    check_not_link(site)
    if os.path.lexists(site) and not _is_real_dir(site):
        raise refuse_link(site, "not a folder (a file is in the way)")
    with _hold(out):
        build = None
        try:
            _clean_leftovers(out, site)
            build = Path(tempfile.mkdtemp(dir=out, prefix=BUILD_PREFIX))
            os.chmod(build, FOLDER_MODE)  # a published folder, not a private temporary
            yield build
            _carry(site, build, _user_entries(site) if _is_real_dir(site) else [])
            _swap_in(build, site, out)
            build = None
        except OSError as exc:
            raise store_error(exc, exc.filename or site, "writing the site") from exc
        finally:
            if build is not None:
                shutil.rmtree(build, ignore_errors=True)


__all__ = ["SITE_DIR", "SiteBusy", "UserFileInTheWay", "site_build"]
