"""Score a run's samples on a Ray cluster.

Each worker is a Ray actor that builds the method and dataset once, from the picklable
:class:`~mattebench.runs.runner.ScorerSpec`, and then scores chunks of sample ids with the same
:class:`~mattebench.scoring.scorer.Scorer` code as a local run, so every per-sample value is the same.
Rows stream back to the driver as chunks finish; the driver is the only writer of the run
folder (the executor only yields rows).

Choices, written down:

- **Chunks.** Ray's per-task overhead is about a millisecond, so a method that takes seconds per
  image (classical solvers, KNN at 800x600 about 9 s) is sent one sample per task: the best
  balance, and a dead worker loses one sample's work. A fast method would spend its time in
  overhead, so the chunk grows until a chunk takes about ``target_chunk_s`` seconds (measured
  on the workers, from the chunks already done), capped so that the tail still spreads over all
  workers. A video clip is always one unit of work: its frames stay in order on one worker (the
  Scorer runs the whole clip), whatever the chunk size.
- **Retries.** A worker that dies (process killed, ``os._exit``, out-of-memory kill, node lost)
  or a task that raises past the Scorer (which already turns every ordinary exception into an
  error row) fails its chunk. A failed chunk of several samples is split into single samples
  (not counted against them: only one of them may be the culprit); a single sample is retried
  up to ``max_retries`` times, each time on a live worker (a dead one is replaced by a fresh
  actor), and then recorded as an error row naming the failure, and the run goes on.
- **Build failures are fatal.** If a worker cannot build the method or the dataset (unknown
  plug-in on the cluster, missing checkpoint, no GPU), every sample would fail the same way, so
  the run stops with that message instead of writing one error row per sample.
- **Threads.** BLAS reductions (pymatting's solvers) and torch kernels round differently with
  another thread count, so a worker that used Ray's default of one thread would differ from a
  local run in the last bits (seen: 7e-14 relative in closed-form's MSE on a 400 px image).
  Workers therefore run with the driver's thread settings: its ``OMP_NUM_THREADS``,
  ``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS``, ``NUMBA_NUM_THREADS`` (``OMP_NUM_THREADS``
  defaults to the driver's CPU count, as OpenBLAS does) and its torch thread count. For
  throughput on a cluster run the driver with ``OMP_NUM_THREADS=1`` (a local run with the same
  setting gives the same numbers) or pass ``threads=``.
- **Ray instance.** Without an address a private local instance is started (``address="local"``,
  never a stray cluster found on this machine) and shut down at the end; with an address
  (``auto``, ``host:port`` or ``ray://host:10001``) the existing cluster is used and left
  running. If Ray is already initialised in this process (a notebook, a test fixture), that
  instance is used and left running.
"""

from __future__ import annotations

import collections
import dataclasses
import importlib
import logging
import math
import os
import sys
import time
import traceback
import warnings
from typing import Any, Iterator, Optional, Sequence

from mattebench import environment
from mattebench.errors import MattebenchError, RayExecutorError, RayNotInstalled
from mattebench.runs.runner import ScorerSpec
from mattebench.scoring.scorer import Scorer

INSTALL_HINT = "pip install 'mattebench[ray]' (or: pip install ray)"


def import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise RayNotInstalled(f"--executor ray needs the Ray package, which is not installed: {INSTALL_HINT}") from exc
    return ray


class _ScorerWorker:
    """Body of the Ray actor: one Scorer, built once, fed chunks of ids.

    Building is caught rather than raised so that the driver can tell "cannot build" (fatal,
    reported once) from "died while scoring" (retried).
    """

    def __init__(self, spec: ScorerSpec, imports: Sequence[str] = (), torch_threads: Optional[int] = None) -> None:
        self.scorer: Optional[Scorer] = None
        self.build_error: Optional[str] = None
        environment.reuse_freed_memory()  # a scoring process (mattebench.environment)
        try:
            if torch_threads:
                import torch

                torch.set_num_threads(torch_threads)
            for module in imports:  # plug-ins registered in code (not by entry point) must exist here too
                importlib.import_module(module)
            self.scorer = spec.build()
        except BaseException as exc:  # noqa: BLE001 - reported to the driver verbatim
            self.build_error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=4)}"

    def score(self, ids: list[str]) -> dict[str, Any]:
        if self.scorer is None:
            return {"build_error": self.build_error or "unknown error"}
        t0 = time.perf_counter()
        rows = [self.scorer.score(i) for i in ids]
        return {"rows": rows, "seconds": time.perf_counter() - t0, "pid": os.getpid()}


class _ListConn:
    """The pipe interface of a method host over a list of byte strings (a Ray actor returns the list)."""

    def __init__(self, messages: Optional[list[bytes]] = None) -> None:
        self.messages = messages if messages is not None else []

    def send_bytes(self, data: Any) -> None:
        self.messages.append(bytes(data))

    def recv_bytes(self, maxlength: Optional[int] = None) -> bytes:
        if not self.messages:
            raise EOFError("no more messages")
        data = self.messages.pop(0)
        if not isinstance(data, bytes) or (maxlength is not None and len(data) > maxlength):
            raise OSError("bad message length")
        return data


class _HostWorker:
    """Body of the Ray actor for a method that predicts apart from what scores it (mattebench.methods.host):
    builds the method, answers requests with the host's messages (JSON headers and raw array bytes); the driver
    loads, keeps the ground truth and scores."""

    def __init__(self, recipe: Any) -> None:
        from mattebench.methods.host import _apply_threads, _build

        _apply_threads(recipe)
        self.recipe, self.cwd, self.ready = recipe, os.getcwd(), _ListConn()
        self.method = _build(self.ready, recipe, self.cwd)

    def describe(self) -> list[bytes]:
        return list(self.ready.messages)

    def answer(self, requests: list[Any]) -> dict[str, Any]:
        from mattebench.methods.host import (
            _send_answer,
            answer,
            restore_cwd,
            unless_moved,
        )

        t0 = time.perf_counter()
        out: list[list[bytes]] = []
        for request in requests:
            request = _own_arrays(request)  # Ray hands numpy arguments over read-only, from its object store
            ans = unless_moved(answer(self.method, request, self.recipe.debug), request, restore_cwd(self.cwd))
            conn = _ListConn()
            _send_answer(conn, ans, request.wheres, request.indices)
            out.append(conn.messages)
        return {"answers": out, "seconds": time.perf_counter() - t0, "pid": os.getpid()}


def _own_arrays(request: Any) -> Any:
    """The request with writable copies of its arrays: what a method is given is its own, as in a local host."""
    import numpy as np

    tris = None if request.trimaps is None else tuple(None if t is None else np.array(t) for t in request.trimaps)
    return dataclasses.replace(request, images=tuple(np.array(a) for a in request.images), trimaps=tris)


def code_plugin_modules(spec: ScorerSpec) -> list[str]:
    """Modules that registered the spec's method/dataset in code (not by entry point).

    A worker process knows entry-point plug-ins by itself, but a ``register_method`` call in some
    module only happens where that module is imported, so each worker imports it before building
    (it must be importable there: installed, or on ``PYTHONPATH``). A registration made in
    ``__main__`` cannot be imported elsewhere: the worker then reports an unknown name.
    """
    from mattebench.methods import registry

    modules: list[str] = []
    for lookup, name in ((registry.method_entry, spec.method), (registry.dataset_entry, spec.dataset)):
        try:
            entry = lookup(name)
        except MattebenchError:
            continue  # the worker reports the unknown name with its own message
        module = getattr(entry.factory, "__module__", None)
        if entry.origin.startswith("code") and module and module != "__main__" and module not in modules:
            modules.append(module)
    return modules


THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")


def worker_thread_settings(threads: Optional[int] = None) -> tuple[dict[str, str], Optional[int]]:
    """(environment for the worker processes, torch thread count): the driver's unless ``threads``."""
    if threads is not None:
        n = str(int(threads))
        return {"OMP_NUM_THREADS": n, "OPENBLAS_NUM_THREADS": n, "MKL_NUM_THREADS": n}, int(threads)
    env = {v: os.environ[v] for v in THREAD_VARS if os.environ.get(v)}
    if "OMP_NUM_THREADS" not in env:
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        env["OMP_NUM_THREADS"] = str(cpus)  # what OpenBLAS uses when nothing is set
    torch = sys.modules.get("torch")  # only if the driver uses torch: its count may differ from OMP's default
    return env, (int(torch.get_num_threads()) if torch is not None else None)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".strip()


class RayExecutor:
    """Implements :class:`mattebench.runs.runner.Executor` on Ray actors.

    ``workers``: number of actors (default: as many as the cluster's CPUs allow, or its GPUs when
    ``gpus_per_worker`` > 0). ``gpus_per_worker`` may be fractional (0.5 = two workers share a
    GPU); Ray sets ``CUDA_VISIBLE_DEVICES`` so each worker's method sees its GPU(s) as ``cuda:0``.
    ``imports``: extra modules imported in every worker before building (the modules that
    registered the method or dataset in code are found and imported by themselves).
    ``runtime_env``: passed to ``ray.init`` (e.g. ``{"env_vars": {...}}``). ``threads``: BLAS,
    OpenMP and torch threads per worker (default: the driver's settings, for identical numbers).
    """

    name = "ray"
    remote = True  # the runner then builds the method only on the workers

    def __init__(
        self,
        address: Optional[str] = None,
        workers: Optional[int] = None,
        gpus_per_worker: float = 0.0,
        cpus_per_worker: float = 1.0,
        max_retries: int = 2,
        chunk_size: Optional[int] = None,
        target_chunk_s: float = 2.0,
        in_flight_per_worker: int = 2,
        imports: Sequence[str] = (),
        runtime_env: Optional[dict[str, Any]] = None,
        threads: Optional[int] = None,
    ) -> None:
        if workers is not None and workers < 1:
            raise RayExecutorError(f"--workers must be at least 1, got {workers}")
        if gpus_per_worker < 0 or cpus_per_worker < 0:
            raise RayExecutorError("--gpus-per-worker and cpus per worker cannot be negative")
        if max_retries < 0:
            raise RayExecutorError(f"max_retries must be 0 or more, got {max_retries}")
        if chunk_size is not None and chunk_size < 1:
            raise RayExecutorError(f"chunk_size must be at least 1, got {chunk_size}")
        import_ray()  # fail early, with the install hint, before any work starts
        self.address = address
        self.requested_workers = workers
        self.workers = workers or 0  # the real count is known once connected; the summary reads it after the run
        self.gpus_per_worker = float(gpus_per_worker)
        self.cpus_per_worker = float(cpus_per_worker)
        self.max_retries = int(max_retries)
        self.chunk_size = chunk_size
        self.target_chunk_s = float(target_chunk_s)
        self.in_flight_per_worker = max(1, int(in_flight_per_worker))
        self.imports = tuple(imports)
        self.runtime_env = runtime_env
        self.threads = threads
        self._thread_env: dict[str, str] = {}
        self._hosted: Any = None  # the MethodRecipe of a method that predicts apart from what scores it
        self._debug = False
        self._torch_threads: Optional[int] = None
        # What happened in the last run (for tests, benchmarks and logs).
        self.stats: dict[str, Any] = {}

    # -- connection -----------------------------------------------------------------------
    def _connect(self, ray: Any) -> bool:
        """Initialise Ray if needed; returns True when this executor started it (and must shut it down)."""
        if ray.is_initialized():
            return False
        # What workers print (a dying worker's traceback, a library's chatter) stays in Ray's logs unless --debug:
        # a failure reaches the run as an error row or one message of ours.
        kwargs: dict[str, Any] = {"logging_level": logging.WARNING, "runtime_env": self.runtime_env,
                                  "log_to_driver": self._debug}
        if self.address:
            kwargs["address"] = self.address
        else:
            need = (self.requested_workers or 0) * self.cpus_per_worker
            # A private instance; asking for more workers than cores oversubscribes on purpose.
            kwargs.update(address="local", num_cpus=int(max(os.cpu_count() or 1, math.ceil(need))), include_dashboard=False)
        try:
            ray.init(**kwargs)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            where = self.address or "a local instance"
            hint = ""
            if self.address and self.address.startswith("ray://"):
                hint = " A ray:// address goes through Ray Client, which needs: pip install 'ray[client]'."
            raise RayExecutorError(f"cannot start or reach the Ray cluster at {where}: {_first_line(exc)}.{hint}") from exc
        return True

    def _resolve_workers(self, ray: Any) -> int:
        res = ray.cluster_resources()
        cpus, gpus = float(res.get("CPU", 0)), float(res.get("GPU", 0))
        if self.requested_workers:
            n = self.requested_workers
            if self.gpus_per_worker > 0 and n * self.gpus_per_worker > gpus + 1e-9:
                warnings.warn(
                    f"{n} Ray workers x {self.gpus_per_worker:g} GPU need {n * self.gpus_per_worker:g} GPUs but the cluster has "
                    f"{gpus:g} now; the extra workers wait until GPUs free up or the autoscaler adds them",
                    stacklevel=3,
                )
            elif n * self.cpus_per_worker > cpus + 1e-9:
                warnings.warn(
                    f"{n} Ray workers x {self.cpus_per_worker:g} CPU need more than the cluster's {cpus:g} CPUs; "
                    f"the extra workers wait for the autoscaler",
                    stacklevel=3,
                )
            return n
        if self.gpus_per_worker > 0:
            n = int(gpus // self.gpus_per_worker)
            if n < 1:
                raise RayExecutorError(f"--gpus-per-worker {self.gpus_per_worker:g} but the Ray cluster has {gpus:g} GPUs")
            return n
        return max(1, int(cpus // self.cpus_per_worker)) if self.cpus_per_worker > 0 else 1

    # -- the Executor protocol -----------------------------------------------------------
    def run(self, scorer: Scorer, spec: Optional[ScorerSpec], ids: list[str]) -> Iterator[dict[str, Any]]:
        if not ids:
            return
        if spec is None and scorer.hosted is None:
            raise RayExecutorError(
                "the ray executor builds the method and dataset on each worker from their registered names; "
                "pass names (not objects) to evaluate(), or register your method/dataset (see `mattebench list`)"
            )
        imports = tuple(dict.fromkeys([*self.imports, *(code_plugin_modules(spec) if spec is not None else [])]))
        self._thread_env, self._torch_threads = worker_thread_settings(self.threads)
        self._hosted = None if scorer.hosted is None else dataclasses.replace(
            scorer.hosted, imports=tuple(dict.fromkeys([*scorer.hosted.imports, *self.imports])),
            env=dict(self._thread_env), torch_threads=self._torch_threads)
        ray = import_ray()
        self._debug = bool(scorer.debug)
        started = self._connect(ray)
        actor_cls = ray.remote(_HostWorker if scorer.hosted is not None else _ScorerWorker)
        actors: dict[int, Any] = {}
        try:
            n = self._resolve_workers(ray)
            self.workers = n
            video = getattr(scorer.dataset.card, "kind", "image") == "video"
            yield from self._schedule(ray, actor_cls, actors, scorer, spec, imports, list(ids), n, video)
        finally:
            for handle in actors.values():
                try:
                    ray.kill(handle, no_restart=True)
                except Exception:  # already dead or the cluster is gone: nothing to clean
                    pass
            if started:
                ray.shutdown()

    def worker_method_provenance(self) -> dict[str, Any]:
        """What the workers' method adds to the run's provenance (:mod:`mattebench.contract`)."""
        return dict(getattr(self, "stats", {}).get("method_provenance") or {})

    def _spawn(self, actor_cls: Any, spec: Any, imports: tuple[str, ...]) -> Any:
        args = (self._hosted,) if self._hosted is not None else (spec, imports, self._torch_threads)
        return actor_cls.options(
            num_cpus=self.cpus_per_worker,
            num_gpus=self.gpus_per_worker,
            max_restarts=0,  # a dead worker is replaced by the scheduler below, which also owns the retry count
            max_task_retries=0,
            runtime_env={"env_vars": self._thread_env},  # merged with the job's runtime_env
        ).remote(*args)

    def _schedule(
        self,
        ray: Any,
        actor_cls: Any,
        actors: dict[int, Any],
        scorer: Scorer,
        spec: ScorerSpec,
        imports: tuple[str, ...],
        ids: list[str],
        n: int,
        video: bool,
    ) -> Iterator[dict[str, Any]]:
        yield from _Scheduler(self, ray, actor_cls, actors, scorer, spec, imports, ids, n, video).rows()


class _Scheduler:
    """The driver's loop of one run: hands chunks to the workers, replaces dead ones, retries, yields rows.

    Its counters are ``executor.stats`` (workers, chunks, worker deaths, task errors, retries, give-ups, pids).
    """

    def __init__(self, executor: RayExecutor, ray: Any, actor_cls: Any, actors: dict[int, Any], scorer: Scorer,
                 spec: ScorerSpec, imports: tuple[str, ...], ids: list[str], n: int, video: bool) -> None:
        self.ex, self.ray, self.actor_cls, self.actors = executor, ray, actor_cls, actors
        self.scorer, self.spec, self.imports, self.n, self.video = scorer, spec, imports, n, video
        self.pending = collections.deque(ids)  # ids never tried, in order
        self.retry: collections.deque[list[str]] = collections.deque()  # chunks to try again, first
        self.attempts: collections.Counter[str] = collections.Counter()  # failures of each id tried alone
        self.in_flight: dict[Any, tuple[int, Any, list[str], int]] = {}  # ref -> (slot, actor handle, ids, submission number)
        self.queued_behind: set[Any] = set()  # refs lost with a dead worker before they started: not their fault
        self.per_slot: collections.Counter[int] = collections.Counter()
        self.sec_per_sample: Optional[float] = None
        self.stats: dict[str, Any] = {"workers": n, "chunks": 0, "worker_deaths": 0, "task_errors": 0, "retried": 0,
                                      "gave_up": 0, "pids": set()}
        executor.stats = self.stats
        self.jobs: dict[Any, list[Any]] = {}  # hosted: ref -> the Prepared items (ground truth kept here) it answers
        self.early: collections.deque[dict[str, Any]] = collections.deque()  # rows of samples that could not be prepared

    def rows(self) -> Iterator[dict[str, Any]]:
        for slot in range(self.n):
            self.actors[slot] = self._spawn()
        if self.ex._hosted is not None:
            self._describe(self.actors[0])
        self._fill()
        while self.early:
            yield self.early.popleft()
        while self.in_flight:
            done, _ = self.ray.wait(list(self.in_flight), num_returns=1)
            ref = done[0]
            slot, handle, chunk, seq = self.in_flight.pop(ref)
            self.per_slot[slot] -= 1
            out, failure = self._collect(ref, slot, handle, seq)
            preps = self.jobs.pop(ref, None)
            if failure is not None:
                yield from self._failed(ref, chunk, failure)
            elif preps is not None:
                yield from self._answered(preps, out)
            else:
                yield from self._succeeded(chunk, out)
            self._fill()  # also gives a queued retry to an idle worker
            while self.early:
                yield self.early.popleft()

    def _spawn(self) -> Any:
        return self.ex._spawn(self.actor_cls, self.spec, self.imports)

    def _chunk_size(self) -> int:
        if self.video:
            return 1
        if self.ex.chunk_size is not None:
            return self.ex.chunk_size
        if self.sec_per_sample is None:
            return 1  # measure first
        size = max(1, int(self.ex.target_chunk_s / max(self.sec_per_sample, 1e-6)))
        return min(size, max(1, len(self.pending) // (2 * self.n)))  # keep the tail spread over the workers

    def _next_chunk(self) -> Optional[list[str]]:
        if self.retry:
            return self.retry.popleft()
        if not self.pending:
            return None
        size = self._chunk_size()
        return [self.pending.popleft() for _ in range(min(size, len(self.pending)))]

    def _fill(self) -> None:
        # Round-robin, one level of depth at a time, so that the first chunks reach every worker
        # (a second chunk per worker is queued so that it never waits for the driver).
        for depth in range(1, self.ex.in_flight_per_worker + 1):
            for slot in range(self.n):
                if self.per_slot[slot] >= depth:
                    continue
                chunk = self._next_chunk()
                if chunk is None:
                    return
                handle = self.actors[slot]
                if self.ex._hosted is not None:
                    preps = self._prepare(chunk)
                    if not preps:
                        continue
                    ref = handle.answer.remote([p.request for p in preps])
                    self.jobs[ref] = preps
                    chunk = [p.request.sample_id for p in preps]
                else:
                    ref = handle.score.remote(chunk)
                self.in_flight[ref] = (slot, handle, chunk, self.stats["chunks"])
                self.per_slot[slot] += 1
                self.stats["chunks"] += 1

    def _collect(self, ref: Any, slot: int, handle: Any, seq: int) -> tuple[Any, Optional[str]]:
        """The chunk's result, or the failure that lost it (a dead worker is replaced here)."""
        ray = self.ray
        try:
            return ray.get(ref), None
        except ray.exceptions.RayActorError as exc:  # the worker process died (or its node)
            if self.actors.get(slot) is handle:  # first news of this death: replace the worker once
                self._replace_dead(ref, slot, handle, seq)
            return None, f"worker died: {_first_line(exc)}"
        except ray.exceptions.RayError as exc:  # the task raised past the Scorer, or its result was lost
            self.stats["task_errors"] += 1
            return None, f"task failed: {_first_line(exc)}"

    def _replace_dead(self, ref: Any, slot: int, handle: Any, seq: int) -> None:
        self.stats["worker_deaths"] += 1
        # An actor runs its calls in submission order: only its oldest chunk was running,
        # the later ones were waiting and are retried without counting against them.
        lost = {r: v[3] for r, v in self.in_flight.items() if v[1] is handle}
        lost[ref] = seq
        running = min(lost, key=lambda r: lost[r])
        self.queued_behind.update(r for r in lost if r is not running)
        try:
            self.ray.kill(handle, no_restart=True)
        except Exception:
            pass
        self.actors[slot] = self._spawn()

    def _failed(self, ref: Any, chunk: list[str], failure: str) -> Iterator[dict[str, Any]]:
        """Queue a failed chunk again (split into single samples), or give a sample up as an error row."""
        if ref in self.queued_behind:
            self.queued_behind.discard(ref)
            self.retry.appendleft(chunk)
        elif len(chunk) > 1:
            self.retry.extendleft([i] for i in reversed(chunk))
        else:
            sid = chunk[0]
            self.attempts[sid] += 1
            if self.attempts[sid] > self.ex.max_retries:
                self.stats["gave_up"] += 1
                yield self._error_row(sid, failure)
            else:
                self.stats["retried"] += 1
                self.retry.append([sid])

    def _succeeded(self, chunk: list[str], out: dict[str, Any]) -> Iterator[dict[str, Any]]:
        if "build_error" in out:
            raise RayExecutorError(
                f"a Ray worker could not build method {self.spec.method!r} on dataset {self.spec.dataset!r}: {out['build_error']}"
                "Check that mattebench and the plug-in are installed on every node (same versions), and that "
                "paths given as options (data root, checkpoint) exist there."
            )
        self.stats["pids"].add(out["pid"])
        if chunk:
            per = out["seconds"] / len(chunk)
            self.sec_per_sample = per if self.sec_per_sample is None else 0.7 * self.sec_per_sample + 0.3 * per
        yield from out["rows"]

    def _describe(self, handle: Any) -> None:
        """The host's report (built or not; predicts whole clips?) before any request is made."""
        from mattebench.methods.host import HostProtocolError, read_header
        from mattebench.runs.executors.hosts import build_error

        try:
            head = read_header(_ListConn(self.ray.get(handle.describe.remote())))
        except (HostProtocolError, EOFError, OSError) as exc:
            raise RayExecutorError(f"a Ray worker could not build method {self.ex._hosted.name!r}: {exc}") from exc
        except self.ray.exceptions.RayError as exc:
            raise RayExecutorError(f"a Ray worker could not build method {self.ex._hosted.name!r}: {_first_line(exc)}") from exc
        if head.get("kind") == "build_error":
            raise build_error(head, self.ex._hosted.name)
        self.scorer.sequence = bool(head.get("sequence"))
        self.stats["method_provenance"] = head.get("provenance") if isinstance(head.get("provenance"), dict) else {}
        if head.get("observes"):
            from mattebench.contract import warn_withheld

            warn_withheld(self.scorer.method_card, stacklevel=2)

    def _prepare(self, chunk: list[str]) -> list[Any]:
        preps = []
        for sid in chunk:
            p = self.scorer.prepare(sid)
            if isinstance(p, dict):
                self.early.append(p)
            else:
                preps.append(p)
        return preps

    def _answered(self, preps: list[Any], out: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Score each answer of a hosted chunk here, where the ground truth is."""
        from mattebench.methods.host import HostProtocolError, read_answer, read_header
        from mattebench.runs.executors.hosts import error_row

        self.stats["pids"].add(out.get("pid"))
        answers = out.get("answers") if isinstance(out, dict) else None
        if isinstance(out.get("seconds"), (int, float)) and preps:
            per = out["seconds"] / len(preps)
            self.sec_per_sample = per if self.sec_per_sample is None else 0.7 * self.sec_per_sample + 0.3 * per
        for k, p in enumerate(preps):
            sid = p.request.sample_id
            try:
                if not isinstance(answers, list) or k >= len(answers) or not isinstance(answers[k], list):
                    raise HostProtocolError("the Ray worker sent no answer for this sample")
                conn = _ListConn(list(answers[k]))
                head = read_header(conn)
                if head.get("kind") != "answer":
                    raise HostProtocolError(f"the Ray worker sent an unexpected {head.get('kind')!r} message")
                yield self.scorer.complete(p, read_answer(conn, head, p.request))
            except (HostProtocolError, EOFError, OSError) as exc:
                yield error_row(self.scorer.columns, sid, f"{sid}: {exc}")

    def _error_row(self, sample_id: str, reason: str) -> dict[str, Any]:
        row: dict[str, Any] = {
            "id": sample_id,
            "status": "error",
            "error": f"{sample_id}: gave up after {self.attempts[sample_id]} failed attempts on Ray workers (last: {reason})",
        }
        for c in self.scorer.columns:
            row[c] = None
        return row
