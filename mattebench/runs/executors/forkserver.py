"""Start the fork server of local worker processes early, before the driver's own imports (issue 23).

Workers fork from multiprocessing's fork server, which imports mattebench and the modules of the method and
dataset once (:mod:`mattebench.runs.executors.process`). Started when the pool starts, that import (0.3 s)
came after the driver's own and delayed the first row by as much; started as soon as the ``run`` command has
parsed its arguments, it runs beside the driver's imports on another core. This module is light on purpose:
it imports neither numpy nor the runner.
"""

from __future__ import annotations

import multiprocessing as mp
from importlib import metadata
from typing import Optional


def default_context() -> str:
    """forkserver where the platform has it (Linux), else spawn."""
    return "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"


def entry_point_module(group: str, name: str) -> Optional[str]:
    """The module an installed entry point names (``pkg.mod:attr`` -> ``pkg.mod``), without importing it."""
    try:
        for ep in metadata.entry_points(group=group):
            if ep.name == name:
                return ep.value.split(":", 1)[0].strip() or None
    except Exception:  # noqa: BLE001 - a broken distribution is reported by the registry later, not here
        return None
    return None


def start_early(method: str, dataset: str) -> None:
    """Start the fork server now with the modules the workers of ``method`` on ``dataset`` will need.

    Only where the start method is forkserver; a server that runs already is kept (a preload list counts only
    when a server starts). A later pool reuses it; if no pool is made after all, the idle server exits with this
    process.
    """
    from multiprocessing import forkserver

    if default_context() != "forkserver":
        return
    modules = ["mattebench.runs.executors.process"]
    for group, name in (("mattebench.methods", method), ("mattebench.datasets", dataset)):
        module = entry_point_module(group, name)
        if module and module not in modules:
            modules.append(module)
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(modules)
    forkserver.ensure_running()  # spawns the server and returns: it imports while this process goes on
