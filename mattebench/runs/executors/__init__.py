"""Executors: where the samples of a run are scored.

- :class:`LocalExecutor` (the default): in this process, one sample after another.
- :class:`RayExecutor`: on a Ray cluster (a local one started on demand, or an existing one),
  one actor per worker that builds the method once and scores chunks of samples.

Both implement :class:`mattebench.runs.runner.Executor`; the driver stays the only writer of the run
folder, so resume, provenance and leaderboards do not depend on the executor. Importing this
package does not import Ray: :mod:`mattebench.runs.executors.ray` imports it when an executor is made.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mattebench.runs.executors.ray import RayExecutor
    from mattebench.runs.runner import Executor, LocalExecutor

__all__ = ["Executor", "LocalExecutor", "RayExecutor"]


def __getattr__(name: str) -> Any:
    # Lazy so that `import mattebench.runs.executors` works without the ray extra, and so that the light
    # executors.forkserver can start before the runner is imported.
    if name == "RayExecutor":
        from mattebench.runs.executors.ray import RayExecutor

        return RayExecutor
    if name in ("Executor", "LocalExecutor"):
        from mattebench.runs import runner

        return getattr(runner, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
