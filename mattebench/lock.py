"""One writer per run folder: ``<run>/.lock`` names the process that holds it.

The lock is an ``flock`` on the lock file (released by the kernel when the holder dies, however it
dies) plus the holder's description in the file: pid, host, start time and command, so that a
second run can say who holds the folder. Where ``flock`` is missing (Windows) the holder's pid
alone decides (a live pid refuses; two runs starting in the same instant are not excluded there).

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
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

from .errors import RunLocked
from .provenance import now

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


def _read_holder(path: Path) -> Optional[Holder]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Holder(int(data["pid"]), str(data["host"]), str(data.get("started", "?")), str(data.get("command", "")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


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
        self._fd: Optional[int] = None

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
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            flocked = False
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    flocked = True
                except OSError as exc:
                    if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                        self._refuse(_read_holder(self.path))
                    if exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
                        raise
                    # A file system without flock (some network mounts): the holder's pid decides.
            if flocked:
                # The file may have been removed and recreated by its previous holder meanwhile.
                try:
                    same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
                except FileNotFoundError:
                    same = False
                if not same:
                    os.close(fd)
                    return False
            previous = _read_holder(self.path)
            if previous is not None and previous.pid != os.getpid():
                self._check_previous(previous, flocked)
            os.ftruncate(fd, 0)
            os.write(fd, json.dumps(asdict(self.holder), ensure_ascii=True).encode() + b"\n")
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return True

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
        who = holder.describe() if holder is not None else "another process (its lock file is unreadable)"
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
            # Empty the file before unlocking, so nobody reads our description as a stale holder.
            os.ftruncate(fd, 0)
        except OSError:
            pass
        try:
            os.unlink(self.path)
        except OSError:
            pass
        os.close(fd)
