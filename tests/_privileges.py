"""Permission tests that run for root too.

Root reads and writes files whatever their mode (the capabilities CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH), so a
test of a permission error sees none when CI runs as root. ``file_modes_enforced()`` lowers those two capabilities
from this thread's effective set for its duration (they stay permitted, so they come back afterwards): the same
check then runs for root as for anyone else. Linux only; elsewhere root skips with the reason.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
from collections.abc import Iterator

import pytest

_CAPABILITY_VERSION_3 = 0x20080522  # _LINUX_CAPABILITY_VERSION_3: two 32-bit words per set
_FILE_MODE_OVERRIDES = (1 << 1) | (1 << 2)  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH (both in the first word)


class _Header(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _Sets(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _call(libc: ctypes.CDLL, name: str, header: _Header, sets: ctypes.Array) -> None:
    if getattr(libc, name)(ctypes.byref(header), sets) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{name}: {os.strerror(err)}")


@contextlib.contextmanager
def file_modes_enforced() -> Iterator[None]:
    """File modes apply to this thread while inside, whoever runs the tests."""
    if os.name != "posix" or os.geteuid() != 0:
        yield  # file modes already apply
        return
    if not sys.platform.startswith("linux"):
        pytest.skip("root outside Linux: file modes cannot be enforced for this test")
    libc = ctypes.CDLL(None, use_errno=True)
    header, sets = _Header(_CAPABILITY_VERSION_3, 0), (_Sets * 2)()
    _call(libc, "capget", header, sets)
    saved = sets[0].effective
    sets[0].effective = saved & ~_FILE_MODE_OVERRIDES
    _call(libc, "capset", header, sets)
    try:
        yield
    finally:
        sets[0].effective = saved
        _call(libc, "capset", header, sets)
