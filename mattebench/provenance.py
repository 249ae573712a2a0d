"""Where a number came from: versions, commit, device, data fingerprint, checkpoint hash, options."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import subprocess
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

from . import __version__
from .hashing import sha256_file  # noqa: F401  (re-exported: its import path before mattebench.hashing)


@lru_cache(maxsize=None)
def git_commit() -> dict[str, Any]:
    """Commit of the mattebench checkout (``unknown`` for an installed wheel), with a dirty flag."""
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = bool(
            subprocess.run(
                ["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
                capture_output=True,
                text=True,
                timeout=5,
            ).stdout.strip()
        )
        return {"commit": commit, "dirty": dirty}
    except (OSError, subprocess.SubprocessError):
        return {"commit": "unknown", "dirty": None}


def torch_info(device: Optional[str] = None) -> dict[str, Any]:
    try:
        import torch
    except ImportError:  # torch is a dependency, but keep provenance robust
        return {"torch": None}
    info: dict[str, Any] = {"torch": torch.__version__, "threads": torch.get_num_threads()}
    info["cuda_available"] = bool(torch.cuda.is_available())
    if device and str(device).startswith("cuda") and torch.cuda.is_available():
        info["device"] = str(device)
        info["device_name"] = torch.cuda.get_device_name(torch.device(device))
        info["cuda"] = torch.version.cuda
    else:
        info["device"] = str(device or "cpu")
        info["device_name"] = platform.processor() or platform.machine()
    return info


def environment(device: Optional[str] = None) -> dict[str, Any]:
    import numpy

    env = {
        "mattebench": __version__,
        **git_commit(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "numpy": numpy.__version__,
        "cpu_count": os.cpu_count(),
        **torch_info(device),
    }
    return env


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
