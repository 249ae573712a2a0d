"""Test plug-ins for the local worker pool (``run --jobs``), registered in code.

Worker processes are spawned (fresh interpreters): they build the method from its registered
name, so this module must be importable there. The pool imports it in each worker by itself
because it registered the names (``code_plugin_modules``), and spawned workers get the
driver's ``sys.path``, which holds tests/ under pytest.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from typing import Optional, Sequence

import numpy as np
from conftest import TinyDataset
from conftest import TinyVideo as _TinyVideo

from mattebench.errors import RegistryError
from mattebench.methods.registry import register_dataset, register_method
from mattebench.types import FAMILY_TRIMAP, DatasetCard, MethodCard


class Odd(BaseException):
    """Not an Exception: what a careless plug-in might raise."""


class Misbehaving:
    """Trimap midpoint, except on the ids named in its options:

    ``exit_on`` calls ``os._exit(3)``, ``segv_on`` sends itself SIGSEGV, ``sleep_on`` sleeps
    ``sleep_s`` seconds, ``sysexit_on`` calls ``sys.exit(4)``, ``odd_on`` raises a BaseException,
    ``slow_s`` sleeps that long on every sample (for interrupt tests). The sample's id is read
    back from the image (``conftest.disc_sample`` paints it into the foreground's green), so the
    method never sees the ground truth. ``log``: appends ``<pid> <id>`` for every sample started.
    """

    card = MethodCard(name="pool-misbehaving", needs_trimap=True, family=FAMILY_TRIMAP, on_leaderboard=False)

    def __init__(self, exit_on: Sequence[str] = (), segv_on: Sequence[str] = (), sleep_on: Sequence[str] = (),
                 sysexit_on: Sequence[str] = (), odd_on: Sequence[str] = (), sleep_s: float = 60.0,
                 slow_s: float = 0.0, log: Optional[str] = None) -> None:
        self.exit_on, self.segv_on, self.sleep_on = set(exit_on), set(segv_on), set(sleep_on)
        self.sysexit_on, self.odd_on = set(sysexit_on), set(odd_on)
        self.sleep_s, self.slow_s, self.log = sleep_s, slow_s, log
        self.current = ""
        self.ids = {f"s{i:02d}": i for i in range(100)}

    def predict(self, image: np.ndarray, trimap: Optional[np.ndarray] = None) -> np.ndarray:
        sid = self._id(image)
        self._log(f"{os.getpid()} {sid}")
        if self.slow_s:
            time.sleep(self.slow_s)
        if sid in self.exit_on:
            os._exit(3)
        if sid in self.segv_on:
            os.kill(os.getpid(), signal.SIGSEGV)
        if sid in self.sleep_on:
            time.sleep(self.sleep_s)
            self._log(f"{os.getpid()} {sid} slept")  # reached only by a hung sample that was waited for, not killed
        if sid in self.sysexit_on:
            sys.exit(4)
        if sid in self.odd_on:
            raise Odd(f"odd {sid}")
        alpha = np.full(trimap.shape, 0.5, np.float32)
        alpha[trimap == 0] = 0.0
        alpha[trimap == 255] = 1.0
        return alpha

    def _log(self, line: str) -> None:
        if self.log:
            fd = os.open(self.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            os.write(fd, f"{line}\n".encode())
            os.close(fd)

    @staticmethod
    def _id(image: np.ndarray) -> str:
        # conftest.disc_sample(i) paints fg green = 120 + i: recover i without seeing ground truth.
        return f"s{int(image[..., 1].max()) - 120:02d}"


def misbehaving(**options) -> Misbehaving:
    return Misbehaving(**options)


misbehaving.card = Misbehaving.card  # type: ignore[attr-defined]

class TinyVideo(_TinyVideo):
    card = DatasetCard(name="pool-tiny-video", kind="video", protocols=("whole", "unknown"), needs_root=False)


def tiny(root: Optional[str] = None, n: int = 6) -> TinyDataset:
    return TinyDataset(root=root, n=n)


# Registered once per process; no list_methods() here, which would import every plug-in (torch
# included) in each worker.
for _register, _name, _factory, _card in (
    (register_method, "pool-misbehaving", misbehaving, None),
    (register_dataset, "pool-tiny", tiny, DatasetCard(name="pool-tiny", protocols=("whole", "unknown"), needs_root=False)),
    (register_dataset, "pool-tiny-video", TinyVideo, None),
):
    try:
        _register(_name, _factory, card=_card)
    except RegistryError:  # imported twice under another name (a test run's rootdir handling)
        pass

__all__ = ["Misbehaving", "Odd", "TinyVideo"]
