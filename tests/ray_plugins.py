"""Test plug-ins for the Ray executor, registered in code.

Ray workers are other processes: they build the method and dataset from registered names, so
this module must be importable there (tests/ on the workers' PYTHONPATH). The executor imports
it in each worker by itself because it registered the names (see
``mattebench.runs.executors.ray.code_plugin_modules``).
"""

from __future__ import annotations

import os
from typing import Any, Optional, Sequence

import numpy as np
from conftest import TinyDataset
from conftest import TinyVideo as _TinyVideo

from mattebench.methods.registry import (
    list_datasets,
    list_methods,
    register_dataset,
    register_method,
)
from mattebench.types import FAMILY_REFERENCE, DatasetCard, MethodCard


class Escape(BaseException):
    """Not an Exception: passes through the Scorer's net, as a bug in an executor would."""


def _log(path: Optional[str], text: str) -> None:
    if path:
        # One short O_APPEND write per line: lines of concurrent workers do not interleave.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (text + "\n").encode())
        finally:
            os.close(fd)


def _claim(flag: Optional[str]) -> bool:
    """True for the first caller (in any process) to create the flag file."""
    if not flag:
        return False
    try:
        os.close(os.open(flag, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        return True
    except FileExistsError:
        return False


class Faulty:
    """Trimap midpoint with injected faults, driven by options so that every worker agrees.

    - ``log``: append ``<pid> <sample id>`` for every sample seen, and ``<pid> <clip> <frame>`` for
      every video frame predicted (frame number and clip number are painted into pixel (0, 0)).
    - ``die_once``: a flag file; the first time any worker sees sample ``die_once_id`` (default: any
      sample) it creates the flag and kills itself (``os._exit``).
    - ``die_on``: these ids kill the worker every time.
    - ``escape_once`` (flag file) / ``escape_once_id``: likewise, but a BaseException escapes the Scorer.
    - ``home_pid``: building in any other process fails (a checkpoint that exists only on the
      driver's machine, say).
    """

    # family "reference": only reference methods are handed the sample through observe(), which is
    # where the faults are injected (issue 13: no other family ever sees the ground truth).
    card = MethodCard(name="ray-faulty", needs_trimap=True, family=FAMILY_REFERENCE, on_leaderboard=False)

    def __init__(self, log: Optional[str] = None, die_once: Optional[str] = None, die_on: Sequence[str] = (),
                 escape_once: Optional[str] = None, home_pid: Optional[int] = None, die_once_id: Optional[str] = None,
                 escape_once_id: Optional[str] = None) -> None:
        if home_pid is not None and os.getpid() != home_pid:
            raise FileNotFoundError(f"checkpoint only exists in process {home_pid}")
        self.log, self.die_once, self.die_on, self.escape_once = log, die_once, tuple(die_on), escape_once
        self.die_once_id, self.escape_once_id = die_once_id, escape_once_id

    def observe(self, item: Any) -> None:
        _log(self.log, f"{os.getpid()} {item.id}")
        if item.id in self.die_on or (self.die_once_id in (None, item.id) and _claim(self.die_once)):
            os._exit(1)
        if self.escape_once_id in (None, item.id) and _claim(self.escape_once):
            raise Escape(f"escaped from {item.id}")

    def predict(self, image: np.ndarray, trimap: Optional[np.ndarray] = None) -> np.ndarray:
        if isinstance(self.log, str) and trimap is not None and image.shape[0] == 24:  # a video frame
            _log(self.log, f"{os.getpid()} clip{int(image[0, 0, 1])} frame{int(image[0, 0, 0])}")
        alpha = np.full(trimap.shape, 0.5, np.float32)
        alpha[trimap == 0] = 0.0
        alpha[trimap == 255] = 1.0
        return alpha


def faulty(**options: Any) -> Faulty:
    return Faulty(**options)


faulty.card = Faulty.card  # type: ignore[attr-defined]


class TinyVideo(_TinyVideo):
    card = DatasetCard(name="ray-tiny-video", kind="video", protocols=("whole", "unknown"), needs_root=False)
    stamp = True

    def __init__(self, root: Optional[str] = None, n: int = 3, frames: int = 4) -> None:
        super().__init__(root, n, frames)


def tiny(root: Optional[str] = None, n: int = 6) -> TinyDataset:
    return TinyDataset(root=root, n=n)


tiny.card = TinyDataset.card  # type: ignore[attr-defined]

if "ray-faulty" not in list_methods():
    register_method("ray-faulty", faulty)
if "ray-tiny" not in list_datasets():
    register_dataset("ray-tiny", tiny, card=DatasetCard(name="ray-tiny", protocols=("whole", "unknown"), needs_root=False))
if "ray-tiny-video" not in list_datasets():
    register_dataset("ray-tiny-video", TinyVideo)

__all__ = ["Escape", "Faulty", "TinyVideo", "tiny"]
