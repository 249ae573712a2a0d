"""One writer per run folder: an OS lock on the folder itself, and ``<run>/.lock`` naming the holder.

The lock is an ``flock`` on an open descriptor of the run *folder* (released by the kernel when the
holder dies, however it dies), held for the whole run. It is the folder that is locked, not a file in
it, so deleting or replacing ``.lock`` while a run holds it lets nobody in: a second run's ``flock`` on
the same folder is refused whatever the folder holds. ``.lock`` only describes the holder (pid, host,
start time and command), so that a second run can say who holds the folder; it is written through a
fresh temporary renamed over the name, read without following links, and a symbolic link planted under
that name is refused (:class:`~mattebench.files.LinkRefused`), never written through. Where
``flock`` is missing (Windows, some network mounts) the holder's pid alone decides (a live pid refuses;
two runs starting in the same instant are not excluded there).

A lock file left by a process that is gone is *stale*: when it names this host and its pid is not
alive (or the flock is free, which on a local disk means the same), it is taken over with a
warning. A lock naming another host is never taken over: its holder cannot be checked from here,
and the message says how to remove it by hand if that run is known to be dead.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import stat
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

from mattebench.environment import now
from mattebench.errors import RunLocked
from mattebench.files import atomic_write_text

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = ".lock"


class StaleLockWarning(UserWarning):
    """A lock left by a dead process was taken over."""


@dataclass(frozen=True)
class Holder:
    pid: int
    host: str
    started: str
    command: str

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host}, started {self.started}: {self.command or '(command unknown)'}"


_MAX_LOCK_BYTES = 64 * 1024  # a holder's description is a few hundred bytes


def _read_holder(path: Path) -> Optional[Holder]:
    """The holder ``path`` names, or None: not followed when it is a link, never blocking on a fifo."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        data = json.loads(os.read(fd, _MAX_LOCK_BYTES).decode("utf-8"))
        return Holder(int(data["pid"]), str(data["host"]), str(data.get("started", "?")), str(data.get("command", "")))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    finally:
        os.close(fd)


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    except OSError:
        return False
    return True


class RunLock:
    """``with RunLock(folder, command):`` or ``acquire()``/``release()``."""

    def __init__(self, folder: Path, command: Optional[str] = None):
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self.holder = Holder(os.getpid(), socket.gethostname(), now(), command or "")
        self._fd: Optional[int] = None  # the run folder's descriptor, flocked while held
        self._ino: Optional[int] = None  # the inode of the .lock we wrote

    def __enter__(self) -> "RunLock":
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        for _ in range(20):  # retries only when a lock file is replaced under us
            if self._try_once():
                return
        raise RunLocked(f"{self.folder}: could not take the run lock {self.path} (it keeps changing); is another run starting?")

    def _try_once(self) -> bool:
        # Without flock (Windows) there is nothing to hold a folder descriptor for (and it cannot be opened there).
        fd = os.open(self.folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)) if fcntl is not None else -1
        try:
            flocked = self._flock(fd)
            if flocked and not _same_file(fd, self.folder):
                _close(fd)  # the folder was renamed or replaced between our open and our lock
                return False
            previous = _read_holder(self.path)
            if previous is not None and previous.pid != os.getpid():
                self._check_previous(previous, flocked)
            atomic_write_text(self.path, json.dumps(asdict(self.holder), ensure_ascii=True) + "\n", before_samples=True)
            self._ino = os.stat(self.path, follow_symlinks=False).st_ino
        except BaseException:
            _close(fd)
            raise
        self._fd = fd
        return True

    def _flock(self, fd: int) -> bool:
        """Lock the folder's descriptor: True when locked, False where the file system has no flock."""
        if fcntl is None:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                self._refuse(_read_holder(self.path))
            if exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL, errno.EBADF):
                raise
            return False  # A file system without flock (some network mounts): the holder's pid decides.

    def _check_previous(self, previous: Holder, flocked: bool) -> None:
        """The file still names an earlier holder (with ``flocked``, that holder no longer holds the flock)."""
        if previous.host != self.holder.host:
            self._refuse(previous, other_host=True)
        if not flocked and pid_alive(previous.pid):
            self._refuse(previous)
        why = ("that process is gone" if not pid_alive(previous.pid)
               else "that pid is alive but does not hold the lock: the number was reused")
        warnings.warn(
            f"{self.folder}: taking over a stale lock left by {previous.describe()} ({why}); "
            f"rows it wrote are kept and checked.",
            StaleLockWarning,
            stacklevel=4,
        )

    def _refuse(self, holder: Optional[Holder], other_host: bool = False) -> None:
        who = holder.describe() if holder is not None else f"another process (its description {self.path} is missing or unreadable)"
        if other_host:
            how = (f"This host cannot check a process on {holder.host if holder else '?'}: if that run is dead, "
                   f"delete {self.path} and rerun.")
        else:
            how = "Wait for it to finish (or stop it), or use --tag NAME / --out DIR for a separate run."
        raise RunLocked(f"{self.folder} is in use by {who}. {how}")

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            # Remove our description (only if it is still ours) before unlocking, so nobody reads it as stale.
            if os.stat(self.path, follow_symlinks=False).st_ino == self._ino:
                os.unlink(self.path)
        except OSError:
            pass
        _close(fd)  # closing the descriptor releases the flock


def _close(fd: int) -> None:
    if fd >= 0:
        os.close(fd)


def _same_file(fd: int, path: Path) -> bool:
    try:
        a, b = os.fstat(fd), os.stat(path)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)
