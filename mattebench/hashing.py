"""The project's one file hash (checkpoints, method code, option files, ground-truth files, trimap
manifests, prediction folders) and the one opener of input files: plain functions of the bytes, usable
from every part (they import nothing of the project but its errors).

A FIFO, a device or a socket where a file is expected (planted in a predictions folder, or a link to
``/dev/zero``) would block a run forever or never end: :func:`open_regular` opens without blocking
(``O_NONBLOCK``), looks at what it opened (``fstat``, after following the user's links) and refuses
anything that is not a regular file with :class:`~mattebench.errors.NotRegularFile`.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from typing import BinaryIO

from .errors import NotRegularFile


def kind_of(mode: int) -> str:
    """What a non-regular file is, in words."""
    for test, name in ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder")):
        if test(mode):
            return name
    return "not a regular file"


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """``path`` opened for reading in binary, or NotRegularFile when it is not a regular file (never blocks)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a socket (or a device without a driver) cannot be opened
            raise NotRegularFile(os.fsdecode(path), "a socket or a device without a driver") from exc
        raise
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(os.fsdecode(path), kind_of(mode))
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)  # a regular file: ordinary reads from here on
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: str | os.PathLike[str]) -> bytes:
    """Every byte of a regular file (NotRegularFile otherwise)."""
    with open_regular(path) as f:
        return f.read()


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes, read in blocks (NotRegularFile for a FIFO, device or socket)."""
    h = hashlib.sha256()
    with open_regular(path) as f:
        while True:
            block = f.read(chunk)
            if not block:
                break
            h.update(block)
    return h.hexdigest()
