"""Writing run folders without losing anything: atomic replaces with unique temporary names, and
one clear line (which path, what to free or fix) when the disk is full or a folder is not writable.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path
from typing import IO, Callable, Iterator

from . import exitcodes
from .errors import StoreError

_FULL = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EFBIG)
_DENIED = (errno.EACCES, errno.EPERM, errno.EROFS)


class RunFolderUnusable(StoreError):
    """The run folder cannot be created or written at all: found before any sample, a usage error."""

    exit_code = exitcodes.USAGE


def explain(exc: OSError, path: Path | str, doing: str) -> str:
    """One line for an OSError met while ``doing`` something to ``path``."""
    where = str(path)
    if exc.errno in _FULL:
        what = "no space left on the device" if exc.errno != errno.EDQUOT else "disk quota exceeded"
        return (f"{what} while {doing} {where}: free space on that disk (`df -h {Path(where).parent}`) or pass "
                f"--out on another disk; rows already written are kept, rerun the same command to resume")
    if exc.errno in _DENIED:
        what = "read-only file system" if exc.errno == errno.EROFS else "permission denied"
        return (f"{what} while {doing} {where}: make the folder writable for this user (or remount it read-write), "
                f"or pass --out to a folder you can write; rows already written are kept")
    if exc.errno == errno.ENOTDIR or (exc.errno == errno.EEXIST and Path(where).exists() and not Path(where).is_dir()):
        return f"{where} is not a folder (a file is in the way): pass --out to a folder, or move that file"
    if exc.errno == errno.ENAMETOOLONG:
        return f"the path {where} is too long for the file system: use a shorter --tag, method or --out"
    return f"cannot complete {doing} {where}: {exc.strerror or exc}; check the disk and the folder"


def store_error(exc: OSError, path: Path | str, doing: str, before_samples: bool = False) -> StoreError:
    cls = RunFolderUnusable if before_samples else StoreError
    err = cls(explain(exc, path, doing))
    err.__cause__ = exc
    return err


def atomic_write_text(path: Path, text: str, *, before_samples: bool = False) -> None:
    """Replace ``path`` by ``text`` atomically; a failure leaves the old file and no temporary behind."""
    atomic_write(path, lambda f: f.write(text), before_samples=before_samples)


def atomic_write(path: Path, fill: Callable[[IO[str]], object], *, before_samples: bool = False) -> None:
    path = Path(path)
    tmp_name = None
    try:
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape", newline="") as f:
            fill(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_name, path)
        tmp_name = None
    except OSError as exc:
        raise store_error(exc, path, "writing", before_samples) from exc
    finally:
        if tmp_name is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)


@contextlib.contextmanager
def translated(path: Path | str, doing: str, before_samples: bool = False) -> Iterator[None]:
    """Turn an OSError inside the block into a StoreError with one clear line."""
    try:
        yield
    except OSError as exc:
        raise store_error(exc, path, doing, before_samples) from exc
