"""Writing output without losing anything and only where it should go: atomic replaces with unique
temporary names, one clear line (which path, what to free or fix) when the disk is full or a folder is
not writable, and no writer that follows a link it did not create.

Links: the folder a user names (``--out``) is theirs and is used as given, links included; every
folder below it that mattebench creates or writes into is opened component by component with
``O_NOFOLLOW`` (:func:`safe_folder`), and a symbolic link there is refused (:class:`LinkRefused`),
never followed. A file is written through a temporary created with ``O_EXCL`` (which never follows a
link) and renamed over its name (a rename replaces a name, it never writes through it); a symbolic link
at that name is refused all the same, since someone put it there. The checks run on the folders as they
are when the write starts; this is a defence against links planted before or between runs, not against
another user racing the writer inside a folder they can write.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path
from typing import IO, Any, Callable, Iterator

from . import exitcodes
from .errors import StoreError

_FULL = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EFBIG)
_DENIED = (errno.EACCES, errno.EPERM, errno.EROFS)


class LinkRefused(StoreError):
    """A symbolic link (or something that is not a folder) where mattebench would write: never followed."""

    exit_code = exitcodes.USAGE


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


def _link_target(path: Path) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return "?"


def refuse_link(path: Path | str, what: str = "a symbolic link") -> LinkRefused:
    path = Path(path)
    return LinkRefused(
        f"{path} is {what}{f' (to {_link_target(path)})' if what == 'a symbolic link' else ''}: mattebench writes "
        f"only into folders and files it creates and never follows a link it did not make. Remove it "
        f"(`rm {path}`) or pass --out to another folder, and rerun.")


def _rel_parts(rel: Path | str) -> tuple[str, ...]:
    """The components of ``rel``; anything but a plain relative path (absolute, ``..``, ``.``) is a bug."""
    parts = Path(rel).parts
    if Path(rel).is_absolute() or any(p in ("..", ".", "") for p in parts):
        raise ValueError(f"not a plain relative path: {rel!r}")
    return parts


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _current_umask()  # read once: setting it to read it is not thread-safe
FOLDER_MODE = 0o777 & ~_UMASK  # what a plain mkdir gives (for a folder made private by mkdtemp)
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def _open_below(parent_fd: int, name: str, where: Path, create: bool) -> int:
    """The fd of folder ``name`` inside ``parent_fd`` (made when missing), or LinkRefused."""
    if create:
        with contextlib.suppress(FileExistsError):
            os.mkdir(name, 0o777, dir_fd=parent_fd)
    try:
        return os.open(name, _DIR_FLAGS | _NOFOLLOW, dir_fd=parent_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP or os.path.islink(where):
            raise refuse_link(where) from None
        if exc.errno == errno.ENOTDIR:
            raise refuse_link(where, "not a folder (a file is in the way)") from None
        raise


def safe_folder(root: Path | str, rel: Path | str = "", *, create: bool = True) -> Path:
    """``root/rel``, each folder below ``root`` made when missing and checked not to be a link (see the
    module docstring); ``root`` itself is the user's and is made with its parents as a plain ``mkdir -p``.
    LinkRefused names the first link; other OSErrors are the caller's to explain."""
    root = Path(root)
    if create:
        root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root, _DIR_FLAGS)
    where = root
    try:
        for name in _rel_parts(rel) if str(rel) not in ("", ".") else ():
            where = where / name
            child = _open_below(fd, name, where, create)
            os.close(fd)
            fd = child
    finally:
        os.close(fd)
    return where


def check_not_link(path: Path | str) -> None:
    """LinkRefused when ``path`` is a symbolic link (missing is fine: it will be created)."""
    if os.path.islink(path):
        raise refuse_link(path)


def atomic_write_text(path: Path, text: str, *, before_samples: bool = False, root: Path | str | None = None) -> None:
    """Replace ``path`` by ``text`` atomically; a failure leaves the old file and no temporary behind."""
    atomic_write(path, lambda f: f.write(text), before_samples=before_samples, root=root)


def atomic_write_bytes(path: Path, data: bytes, *, before_samples: bool = False, root: Path | str | None = None) -> None:
    """:func:`atomic_write_text` for bytes (an image encoded in memory, a copied file)."""
    atomic_write(path, lambda f: f.write(data), before_samples=before_samples, root=root, binary=True)


def atomic_write(path: Path, fill: Callable[[IO[Any]], object], *, before_samples: bool = False,
                 root: Path | str | None = None, binary: bool = False) -> None:
    """Write ``path`` through a fresh temporary (``O_EXCL``: never a link) renamed over it. With ``root``,
    every folder from ``root`` down to ``path``'s is made and checked (:func:`safe_folder`); without, the
    folder ``path`` is in must not be a link. A link at ``path`` itself is refused (LinkRefused)."""
    path = Path(path)
    tmp_name = None
    try:
        if root is not None:
            safe_folder(root, path.parent.relative_to(root))
        else:
            check_not_link(path.parent)
        check_not_link(path)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:64]}.", suffix=".tmp")
        os.fchmod(fd, 0o666 & ~_UMASK)  # the mode a plain write would give (mkstemp's is private)
        mode = "wb" if binary else "w"
        text = {} if binary else {"encoding": "utf-8", "errors": "surrogateescape", "newline": ""}
        with os.fdopen(fd, mode, **text) as f:
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
