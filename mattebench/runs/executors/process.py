"""Score a run's samples in local worker processes (``run --jobs N``, ``run --timeout S``).

N *scoring workers*, each of which builds the dataset (and the method, where it may run beside the ground truth:
saved predictions, reference methods) once from the picklable :class:`~mattebench.runs.runner.ScorerSpec` and
scores one id at a time with the same :class:`~mattebench.scoring.scorer.Scorer` code as a serial run. A method
that predicts apart from what scores it (every method built from a name: :mod:`mattebench.methods.host`) runs in
a *method host* of each worker's own (:mod:`mattebench.runs.executors.paired`): the worker loads the sample, keeps
its ground truth, sends its host the image and trimap and scores the answer, so loading and scoring run N at a
time too (a pool of one keeps the serial arrangement, the driver loading for one host:
:class:`mattebench.runs.executors.hosts.HostPool`). Either way rows go back to the driver, the only writer of the
run folder, so resume, provenance and leaderboards do not depend on the executor.

Choices, written down:

- **Start method: forkserver** (spawn where the platform has no forkserver). Workers never fork
  the driver, which may hold threads, open files or a CUDA context; they fork from a clean server
  process that multiprocessing starts once per driver and that has imported mattebench and the
  modules of the method and dataset factories, so a worker (and a replacement for a dead or hung
  one) starts in milliseconds instead of re-importing torch. ``context="spawn"`` gives fresh
  interpreters instead.

- **One id per message.** A pipe round trip costs well under a millisecond, less than scoring
  the smallest sample, and one sample in flight per worker is what makes ``--timeout`` and a
  dying worker attributable to exactly one sample. A video clip is one unit: its frames stay
  in order in one worker.
- **Largest first.** Ids are handed out by the bytes their files hold on disk, largest first, except
  that the smallest goes first so that the first row comes soon (:func:`largest_first`): a run of
  PPM-100-sized photos (2 to 24 megapixels) does not end with one worker on the largest while the
  others wait. The fork server is started by the ``run`` command before its own imports
  (:mod:`mattebench.runs.executors.forkserver`).
- **OpenCV threads.** In a pool of several workers each runs OpenCV on one thread: N processes on N
  cores, where OpenCV's own pool only costs CPU. No value depends on OpenCV's thread count.
- **Threads.** BLAS reductions and torch kernels round differently with another thread count,
  so a worker computes with the driver's per-process settings: it inherits the driver's
  environment unchanged (``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS``,
  ``NUMBA_NUM_THREADS`` ...; unset stays unset) and the driver's torch thread count when the
  driver uses torch. Rows are then bit-identical to a serial run in the driver. For throughput
  with N workers on N cores run with ``OMP_NUM_THREADS=1`` (a serial run with the same setting
  gives the same numbers); ``make demo`` does.
- **Timeout.** ``timeout`` bounds the wall time of one unit of work in a worker (loading the
  sample, the prediction, the metrics; a clip: the whole clip), counted from when the worker
  receives it. A unit past its time is recorded as an error row ("timed out after S s"), its
  worker is killed (SIGKILL: a hung C extension ignores anything gentler) and replaced, and the
  run goes on.
- **Pairs.** A worker and its host are started, timed out and replaced together: a host that dies while
  predicting (or sends what it may not) gives the sample an error row, as in a serial run, and the pair is
  replaced; a host that cannot build the method stops the run with the factory's own error.
- **Crashes.** A worker that dies while scoring a sample (``os._exit``, a segfault, the kernel's
  out-of-memory killer) gives that sample an error row naming the exit code or signal; the
  worker is replaced and the run goes on. No retry: a crash in a method is usually the same
  every time, and the row says how to reproduce it (``--jobs 1 --debug`` or a serial run).
- **Build failures are fatal.** A worker that cannot build the method or dataset would fail
  every sample the same way, so the run stops with the worker's own exception, as a serial run
  would.
- **Ctrl-C.** Workers ignore SIGINT (the terminal sends it to the whole process group); the
  driver gets it, kills the workers and exits 130. Every row the driver received was written
  already; a sample a worker was scoring is scored again on resume.
- **In-process objects.** A method or dataset passed as an object (not a registered name)
  cannot be rebuilt in another process: the executor then scores serially in the driver and
  says so in a warning and in the run's provenance notes (``--timeout`` cannot be enforced
  there).
"""

from __future__ import annotations

import collections
import contextlib
import importlib
import multiprocessing as mp
import multiprocessing.connection as mpc
import os
import signal
import sys
import time
import traceback
import warnings
from dataclasses import dataclass, field
from typing import Any, Iterator, Optional, Sequence

from mattebench import environment as chatter
from mattebench.contract import (
    GroundTruthWithheld,
    method_provenance,
    warn_withheld,
    withheld,
)
from mattebench.errors import MattebenchError, MethodExited, ProcessExecutorError
from mattebench.runs.executors.forkserver import default_context
from mattebench.errors import HostProtocolError
from mattebench.runs.executors import paired as paired_protocol
from mattebench.methods.host import IN_PROCESS_NAMES
from mattebench.runs.executors.hosts import build_error, describe_exit, error_row, read_ready, start_host, stop_process
from mattebench.runs.executors.paired import HostLink
from mattebench.runs.runner import LocalExecutor, ScorerSpec
from mattebench.scoring.scorer import Scorer
from mattebench.types import MethodCard


# -- the worker process ----------------------------------------------------------------------
def _worker_main(conn: Any, spec: ScorerSpec, imports: Sequence[str], torch_threads: Optional[int], env: dict[str, str],
                 one_opencv_thread: bool = False, paired: Optional[_Paired] = None) -> None:
    """Body of a worker: build once, then answer ids with rows until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle
    chatter.reuse_freed_memory()  # a scoring process (mattebench.environment)
    os.environ.update(env)  # CUDA_VISIBLE_DEVICES: read when CUDA initialises, i.e. when the method is built
    # What the method and its libraries say here goes to the driver, which prints each condition once for the run.
    with chatter.capture(display=False) as said:
        if paired is None:
            _serve(conn, spec, imports, torch_threads, said, one_opencv_thread)
        else:
            _serve_paired(conn, spec, imports, said, one_opencv_thread, paired)


@dataclass(frozen=True)
class _Paired:
    """What a worker paired with a method host gets besides the spec (mattebench.runs.executors.paired)."""

    host_conn: Any
    recipe: Any  # the MethodRecipe the host builds
    card: MethodCard
    columns: tuple[str, ...]


def _one_opencv_thread() -> None:
    import cv2

    # Several workers share the cores: OpenCV's own thread pool in each only costs CPU (PPM-100-sized
    # samples with breakdowns, 12 of them: 10.0 s with it, 9.8 s without on 2 cores). No value depends
    # on OpenCV's thread count (tests/test_scoring_speed_paths.py, and serial rows equal pool rows).
    cv2.setNumThreads(1)


def _serve_paired(conn: Any, spec: ScorerSpec, imports: Sequence[str], said: chatter.Capture, one_opencv_thread: bool,
                  paired: _Paired) -> None:
    """A worker whose method predicts in its own host: load here, ask the host, score here (the serial run's code)."""
    link = HostLink(paired.host_conn)
    try:
        if one_opencv_thread:
            _one_opencv_thread()
        for module in imports:
            importlib.import_module(module)
        scorer = spec.build_hosted(paired.recipe, paired.card, list(paired.columns))
    except BaseException as exc:  # noqa: BLE001 - sent to the driver, which raises it there
        _send(conn, ("chatter", said.take()))
        _send(conn, ("build_error", _picklable(exc), traceback.format_exc(limit=6)))
        return
    try:
        head = link.wait_ready()
    except EOFError:  # the host died
        _send(conn, ("chatter", said.take()))
        _send(conn, (paired_protocol.HOST_GONE_BUILDING,))
        return
    except HostProtocolError as exc:
        _send(conn, ("build_error", _picklable(exc), ""))
        return
    _send(conn, ("chatter", said.take()))
    if head["kind"] == "build_error":
        _send(conn, (paired_protocol.HOST_BUILD_ERROR, head))
        return
    scorer.sequence = bool(head.get("sequence"))
    _send(conn, (paired_protocol.HOST_READY, os.getpid(), head))
    for sample_id in _ids(conn):
        row = _paired_row(conn, scorer, link, sample_id, said)
        if row is None:
            return  # the host is gone or misbehaved: the driver was told and replaces the pair
        if not _send_row(conn, row, said):
            return
    link.stop()


def _paired_row(conn: Any, scorer: Scorer, link: HostLink, sample_id: str, said: chatter.Capture) -> Optional[dict[str, Any]]:
    """The sample's row; None after telling the driver that the host died or misbehaved on it."""
    try:
        prepared = scorer.prepare(sample_id)
        if isinstance(prepared, dict):  # the sample cannot be used: its error row, no request
            return prepared
        ans = link.ask(prepared)
        return scorer.complete(prepared, ans)
    except EOFError:  # the host died
        _send(conn, ("chatter", said.take()))
        _send(conn, (paired_protocol.HOST_GONE, sample_id))
    except HostProtocolError as exc:
        _send(conn, ("chatter", said.take()))
        _send(conn, (paired_protocol.HOST_MISBEHAVED, sample_id, str(exc)))
    except BaseException as exc:  # noqa: BLE001 - past the Scorer's net
        return error_row(scorer.columns, sample_id, f"{sample_id}: method raised {type(exc).__name__}: {exc}")
    return None


def _serve(conn: Any, spec: ScorerSpec, imports: Sequence[str], torch_threads: Optional[int], said: chatter.Capture,
           one_opencv_thread: bool = False) -> None:
    try:
        if one_opencv_thread:
            _one_opencv_thread()
        if torch_threads:
            import torch

            torch.set_num_threads(torch_threads)
        for module in imports:  # plug-ins registered in code (not by entry point) must exist here too
            importlib.import_module(module)
        scorer = spec.build()
    except BaseException as exc:  # noqa: BLE001 - sent to the driver, which raises it there
        _send(conn, ("chatter", said.take()))
        _send(conn, ("build_error", _picklable(exc), traceback.format_exc(limit=6)))
        return
    # The driver warns once about a method that wants the ground truth, not every worker.
    warnings.simplefilter("ignore", GroundTruthWithheld)
    _send(conn, ("chatter", said.take()))
    _send(conn, ("ready", os.getpid(), scorer.method_card if withheld(scorer.method, scorer.method_card) else None,
                 method_provenance(scorer.method)))  # e.g. the input rule a MODNet applied, for the run's provenance
    for sample_id in _ids(conn):
        try:
            row = scorer.score(sample_id)
        except BaseException as exc:  # noqa: BLE001 - past the Scorer's net (e.g. observe() raised)
            row = error_row(scorer.columns, sample_id, f"{sample_id}: method raised {type(exc).__name__}: {exc}")
        if not _send_row(conn, row, said):
            return


def _ids(conn: Any) -> Iterator[str]:
    """The ids the driver sends, one at a time, until it says stop (None) or is gone."""
    while True:
        try:
            sample_id = conn.recv()
        except (EOFError, OSError):  # the driver is gone
            return
        if sample_id is None:
            return
        yield sample_id


def _send_row(conn: Any, row: dict[str, Any], said: chatter.Capture) -> bool:
    """What was said while scoring, then the row; False when the driver is gone."""
    told = said.take()
    return (not told or _send(conn, ("chatter", told))) and _send(conn, ("row", row))


def _send(conn: Any, message: Any) -> bool:
    try:
        conn.send(message)
        return True
    except (BrokenPipeError, EOFError, OSError):
        return False


def _picklable(exc: BaseException) -> BaseException:
    import pickle

    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:  # an exception class that does not pickle: keep its text
        return ProcessExecutorError(f"{type(exc).__name__}: {exc}")


def largest_first(dataset: Any, ids: list[str]) -> list[str]:
    """The order a pool hands ids out: the smallest sample first (the first row comes soon, so a run shows it is
    alive), then the samples with the most bytes on disk (image, matte, trimap; a clip's frames) first, so that the
    largest sample is not the last one a worker starts while the others wait (PPM-100 runs from 2 to 24 megapixels):
    longest-processing-time-first but for the smallest, which it would have handed out last. Equal sizes keep their
    order; a dataset that lists no files keeps the order given. Rows never depend on the order: the driver stores
    each as it comes."""
    files = getattr(dataset, "files", None)
    if not callable(files) or len(ids) < 3:
        return ids

    def size(sample_id: str) -> int:
        try:
            return sum(os.stat(ref.path).st_size for ref in files(sample_id))
        except Exception:  # noqa: BLE001 - a missing file is the sample's error row later, not a reason to stop here
            return 0

    sizes = {i: size(i) for i in ids}
    order = sorted(ids, key=lambda i: -sizes[i])
    return [order[-1], *order[:-1]]


# -- the driver side -------------------------------------------------------------------------
@dataclass
class _Worker:
    proc: Any
    conn: Any
    env: dict[str, str]
    ready: bool = False
    sample: Optional[str] = None
    deadline: float = float("inf")
    host: Any = None  # the worker's method host (a process), when the method predicts in one


@contextlib.contextmanager
def _environ(overrides: dict[str, str]) -> Iterator[None]:
    """Set environment variables while a worker is spawned (it copies the environment then)."""
    old = {k: os.environ.get(k) for k in overrides}
    os.environ.update(overrides)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@dataclass
class ProcessExecutor:
    """Implements :class:`mattebench.runs.runner.Executor` with local worker processes.

    ``jobs``: worker processes (capped at the number of samples to score). ``timeout``: seconds
    one unit of work may take in a worker (None: no bound). ``gpus``: values of
    ``CUDA_VISIBLE_DEVICES`` handed out round-robin to the workers (one worker per GPU), so that
    each sees its GPU as ``cuda:0``. ``imports``: extra modules every worker imports before
    building (those that registered the method or dataset in code are found by themselves).
    """

    jobs: int = 1
    timeout: Optional[float] = None
    gpus: Sequence[str] = ()
    imports: Sequence[str] = ()
    context: str = field(default_factory=lambda: default_context())
    # Said when workers start, not when the pool is planned: a run that fails before scoring says nothing of threads.
    advice: Optional[str] = None
    name: str = "process"
    remote: bool = True  # the runner then builds the method only in the workers
    workers: int = field(init=False, default=1)
    notes: list[str] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.jobs < 1:
            raise ProcessExecutorError(f"--jobs must be at least 1, got {self.jobs}")
        if self.timeout is not None and not self.timeout > 0:
            raise ProcessExecutorError(f"--timeout must be a positive number of seconds, got {self.timeout}")
        self.workers = self.jobs

    def worker_method_provenance(self) -> dict[str, Any]:
        """What the workers' method adds to the run's provenance (:mod:`mattebench.contract`)."""
        return dict(self.stats.get("method_provenance") or {})

    # -- the Executor protocol -----------------------------------------------------------
    def run(self, scorer: Scorer, spec: Optional[ScorerSpec], ids: list[str]) -> Iterator[dict[str, Any]]:
        self.name, self.workers = "process", self.jobs
        if not ids:
            return
        if scorer.hosted is not None and (spec is None or min(self.jobs, len(ids)) == 1):
            yield from self._hosts(scorer, ids)  # one host: the driver loads and scores, as a serial run
            return
        if spec is None:
            yield from self._serial(scorer, ids)
            return
        from mattebench.runs.executors.ray import (
            code_plugin_modules,
            worker_thread_settings,
        )

        n = min(self.jobs, len(ids))
        self.workers = n
        if self.advice and n > 1:
            warnings.warn(f"{n} {self.advice}", stacklevel=2)
        imports = tuple(dict.fromkeys([*self.imports, *code_plugin_modules(spec)]))
        _, torch_threads = worker_thread_settings()  # the environment is inherited as it is
        ctx = mp.get_context(self.context)
        hosted = scorer.hosted is not None
        if self.context == "forkserver":
            # The server imports these once; every worker (and every replacement) forks from it.
            preload = ["mattebench.runs.executors.process", *factory_modules(spec), *imports]
            if hosted:
                from mattebench.methods.host import preload_modules

                preload += ["mattebench.methods.host", *preload_modules(scorer.hosted)]
            ctx.set_forkserver_preload(list(dict.fromkeys(preload)))
        pool = _Pool(ctx, spec, imports, torch_threads, scorer.columns, self.timeout, self.gpus,
                     host=scorer if hosted else None)
        self.stats = pool.stats
        note = f"scored by {n} local worker process{'es' if n > 1 else ''} ({self.context}), each with the driver's thread settings"
        if hosted:
            note = (f"loaded and scored by {n} local worker processes ({self.context}), each asking a method process of its "
                    "own that never sees the ground truth; each with the driver's thread settings")
        if self.timeout is not None:
            note += f"; --timeout {self.timeout:g} s per sample"
        self.notes[:] = [note]
        try:
            pool.start(n)
            yield from pool.rows(largest_first(scorer.dataset, ids))  # notes (an estimated MESSDdt flow) travel in the rows
        finally:
            pool.close()

    def _hosts(self, scorer: Scorer, ids: list[str]) -> Iterator[dict[str, Any]]:
        """The method predicts in ``jobs`` method hosts; this process loads and scores (mattebench.runs.executors.hosts)."""
        from mattebench.methods.host import preload_modules
        from mattebench.runs.executors.hosts import HostPool

        n = min(self.jobs, len(ids))
        self.workers = n
        if self.advice and n > 1:
            warnings.warn(f"{n} {self.advice}", stacklevel=2)
        pool = HostPool(scorer.hosted, n, self.timeout, context=self.context, preload=preload_modules(scorer.hosted),
                        gpus=self.gpus)
        self.stats = pool.stats
        note = (f"predicted in {n} local worker process{'es' if n > 1 else ''} ({self.context}) that never see the ground "
                "truth, each with the driver's thread settings; loaded and scored in the driver")
        if self.timeout is not None:
            note += f"; --timeout {self.timeout:g} s per sample"
        self.notes[:] = [note]
        yield from pool.rows(scorer, largest_first(scorer.dataset, ids))

    def _serial(self, scorer: Scorer, ids: list[str]) -> Iterator[dict[str, Any]]:
        if scorer.method is None:
            raise ProcessExecutorError("worker processes need the method and the dataset given by registered name")
        note = ("the method or dataset was passed as an object, which cannot be rebuilt in a worker process: "
                "scored serially in this process" + (" without --timeout" if self.timeout is not None else ""))
        warnings.warn(note, stacklevel=3)
        self.notes[:] = [note]
        self.name, self.workers = "local", 1
        yield from LocalExecutor().run(scorer, None, ids)


def factory_modules(spec: ScorerSpec) -> list[str]:
    """The modules that define the spec's method and dataset factories (entry points included)."""
    from mattebench.methods import registry

    out: list[str] = []
    for lookup, name in ((registry.method_entry, spec.method), (registry.dataset_entry, spec.dataset)):
        try:
            module = getattr(lookup(name).factory, "__module__", None)
        except MattebenchError:
            continue
        if module and module != "__main__" and module not in out:
            out.append(module)
    return out


class _Pool:
    """The worker processes of one run and the loop that feeds them ids."""

    def __init__(self, ctx: Any, spec: ScorerSpec, imports: tuple[str, ...], torch_threads: Optional[int],
                 columns: Sequence[str], timeout: Optional[float], gpus: Sequence[str], host: Optional[Scorer] = None) -> None:
        self.ctx, self.spec, self.imports, self.torch_threads = ctx, spec, imports, torch_threads
        self.columns, self.timeout, self.gpus = list(columns), timeout, list(gpus)
        # A method that predicts in a host: each worker gets one (mattebench.runs.executors.paired); the driver's
        # Scorer gives the recipe and the card, and learns from the first host whether the method predicts clips.
        self.host = host
        self.workers: list[_Worker] = []
        self.shares_cores = False
        self.stats: dict[str, Any] = {"started": 0, "deaths": 0, "timeouts": 0, "pids": set()}

    def _spawn(self, env: dict[str, str]) -> _Worker:
        ours, theirs = self.ctx.Pipe(duplex=True)
        host, paired = self._spawn_host(env) if self.host is not None else (None, None)
        proc = self.ctx.Process(target=_worker_main, args=(theirs, self.spec, self.imports, self.torch_threads,
                                                           {} if host is not None else env, self.shares_cores, paired),
                                name="mattebench-worker")
        with _environ({} if host is not None else env):
            proc.start()
        theirs.close()
        if paired is not None:
            paired.host_conn.close()  # the worker holds it now: the host's pipe closes when either of them dies
        self.stats["started"] += 1
        return _Worker(proc, ours, env, host=host)

    def _spawn_host(self, env: dict[str, str]) -> tuple[Any, _Paired]:
        """The method host of a new worker, and what the worker needs to talk to it. The host, not the worker, gets
        the worker's CUDA_VISIBLE_DEVICES: it is what builds the method."""
        assert self.host is not None
        host, workers_end = start_host(self.ctx, self.host.hosted, env.get("CUDA_VISIBLE_DEVICES"))
        return host, _Paired(workers_end, self.host.hosted, self.host.method_card, tuple(self.columns))

    def start(self, n: int) -> None:
        self.shares_cores = n > 1  # each worker then runs OpenCV on one thread (see _serve)
        for k in range(n):
            env = {"CUDA_VISIBLE_DEVICES": self.gpus[k % len(self.gpus)]} if self.gpus else {}
            self.workers.append(self._spawn(env))

    def _replace(self, w: _Worker) -> None:
        self._stop(w, kill=True)
        self.workers[self.workers.index(w)] = self._spawn(w.env)

    @staticmethod
    def _stop(w: _Worker, kill: bool) -> None:
        stop_process(w.proc, w.conn, kill)
        if w.host is not None:  # a stopped worker has asked its host to end; a killed one leaves it to be killed
            stop_process(w.host, None, kill)

    def close(self) -> None:
        for w in self.workers:  # ask idle workers to stop, kill busy ones (an interrupt, --fail-fast)
            if w.proc.is_alive() and w.sample is None and w.ready:
                _send(w.conn, None)
        for w in self.workers:
            self._stop(w, kill=w.sample is not None or not w.ready)
        self.workers = []

    def rows(self, ids: list[str]) -> Iterator[dict[str, Any]]:
        pending = collections.deque(ids)
        while pending or any(w.sample is not None for w in self.workers):
            for w in self.workers:
                if w.ready and w.sample is None and pending:
                    w.sample = pending.popleft()
                    w.deadline = time.monotonic() + self.timeout if self.timeout is not None else float("inf")
                    if not _send(w.conn, w.sample):
                        w.deadline = 0.0  # dead already: its sentinel reports it below
            wait_s = None
            if self.timeout is not None:
                first = min((w.deadline for w in self.workers), default=float("inf"))
                wait_s = None if first == float("inf") else max(0.0, first - time.monotonic())
            handles = [w.conn for w in self.workers] + [w.proc.sentinel for w in self.workers]
            ready = set(mpc.wait(handles, timeout=wait_s))
            for w in list(self.workers):
                if w.conn in ready:
                    try:
                        message = w.conn.recv()
                    except (EOFError, OSError):
                        message = None  # died mid-message: the sentinel says how
                    if message is not None:
                        out = self._handle(w, message)
                        if out is not None:
                            yield out
                        continue
                if w.proc.sentinel in ready or (w.conn in ready and not w.proc.is_alive()):
                    row = self._died(w)
                    if row is not None:
                        yield row
            now = time.monotonic()
            for w in list(self.workers):
                if w.sample is not None and now >= w.deadline and w.proc.is_alive():
                    sid = w.sample
                    self.stats["timeouts"] += 1
                    self._replace(w)
                    yield error_row(self.columns, sid, f"{sid}: timed out after {self.timeout:g} s (--timeout); "
                                     "the worker was stopped and a new one started")

    def _handle(self, w: _Worker, message: tuple[Any, ...]) -> Optional[dict[str, Any]]:
        kind = message[0]
        if kind == "chatter":  # what the worker's method and libraries said: the driver's capture sorts it
            chatter.receive(message[1])
            return None
        if kind == "build_error":
            exc, tb = message[1], message[2]
            if self.spec.debug:
                sys.stderr.write(f"worker traceback:\n{tb}")
            raise exc
        if kind == "ready":
            w.ready = True
            self.stats["pids"].add(message[1])
            if message[2] is not None:
                warn_withheld(message[2], stacklevel=2)
            self.stats["method_provenance"] = message[3]  # every worker builds the same method from the same spec
            return None
        if kind.startswith("host_"):
            return self._host_said(w, message)
        row = message[1]
        w.sample, w.deadline = None, float("inf")
        return row

    def _host_said(self, w: _Worker, message: tuple[Any, ...]) -> Optional[dict[str, Any]]:
        """What a paired worker says of its host, read as a serial run reads its host (hosts.HostPool)."""
        assert self.host is not None
        kind, name = message[0], self.host.hosted.name
        if kind == paired_protocol.HOST_READY:
            w.ready = True
            self.stats["pids"].add(message[1])
            read_ready(self.host, message[2], self.stats, self.host.hosted)
            return None
        if kind == paired_protocol.HOST_BUILD_ERROR:
            if self.host.hosted.debug and message[1].get("traceback"):
                sys.stderr.write(f"method host traceback:\n{message[1]['traceback']}\n")
            raise build_error(message[1], name)
        if kind == paired_protocol.HOST_GONE_BUILDING:
            raise MethodExited(f"method {name!r}: its process ended while the method was being built ({_host_exit(w)}): "
                               "nothing was scored. Run with --debug to see the method's own output")
        sid = message[1]
        if kind == paired_protocol.HOST_GONE:
            self.stats["deaths"] += 1
            why = f"worker died: {_host_exit(w)} while scoring this sample; the method's process was replaced"
        else:  # HOST_MISBEHAVED: the host runs on; it is replaced with its worker
            why = f"{message[2]}; the method's process was replaced"
        self._replace(w)
        return error_row(self.columns, sid, f"{sid}: {why}")

    def _died(self, w: _Worker) -> Optional[dict[str, Any]]:
        w.proc.join(timeout=5)
        how = describe_exit(w.proc.exitcode)
        if not w.ready:
            raise ProcessExecutorError(
                f"a worker process died while building method {self.spec.method!r} on dataset {self.spec.dataset!r} ({how}); "
                "run with --jobs 1 to see the error in this process"
            )
        sid = w.sample
        self.stats["deaths"] += 1
        self._replace(w)
        if sid is None:
            return None
        return error_row(self.columns, sid, f"{sid}: worker died: {how} while scoring this sample; "
                          "a new worker took its place")  # not whether the run goes on: --fail-fast stops it


def _host_exit(w: _Worker) -> str:
    """How a worker's host ended ('killed by signal SIGSEGV', 'exit code 3'), waiting briefly for it to end."""
    w.host.join(timeout=5)
    return describe_exit(w.host.exitcode)


# -- how many workers ------------------------------------------------------------------------
def cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def visible_gpus(device: str) -> list[str]:
    """CUDA_VISIBLE_DEVICES values, one per GPU, for a bare ``cuda`` device; [] otherwise."""
    if device != "cuda":
        return []
    import torch

    n = torch.cuda.device_count()
    given = [d.strip() for d in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if d.strip()]
    return given[:n] if given else [str(k) for k in range(n)]


def default_jobs(card: MethodCard, device: Optional[str]) -> int:
    """All cores for a CPU method, one per GPU for ``--device cuda``, one for ``cuda:K`` or a
    method whose card says it is not process-safe."""
    if not card.process_safe:
        return 1
    dev = (device or "cpu").lower()
    if dev == "cpu":
        return cpu_count()
    if dev == "cuda":
        return max(1, len(visible_gpus(dev)))
    return 1


def method_importable_by_workers(name: str) -> Optional[str]:
    """None when a worker process can build registered method ``name``; otherwise the reason."""
    from mattebench.methods import registry

    try:
        entry = registry.method_entry(name)
    except MattebenchError:
        return None  # unknown names are reported by the runner with its own message
    factory = entry.factory
    module = getattr(factory, "__module__", None)
    if entry.origin.startswith("code") and (module in (None, "__main__") or "<locals>" in getattr(factory, "__qualname__", "")):
        return f"method {name!r} was registered in {module or 'an unknown module'} by a function a worker process cannot import"
    return None


def known_to_fresh_workers(method: str, dataset: str) -> bool:
    """True when the method and the dataset come from entry points, which a fresh worker process finds by
    itself; a name registered in code (a notebook, a test) exists only in this process."""
    from mattebench.methods import registry

    try:
        entries = (registry.method_entry(method), registry.dataset_entry(dataset))
    except MattebenchError:
        return False
    return all(e.origin.startswith("entry point") for e in entries)


def pool_for(method: str, card: MethodCard, device: Optional[str], jobs: Optional[int], timeout: Optional[float],
             dataset: Optional[str] = None) -> Optional[ProcessExecutor]:
    """The executor for ``run --jobs/--timeout``: None means serial in the driver (one job, no
    timeout). Raises ProcessExecutorError for settings that cannot be honoured."""
    if jobs is not None and jobs < 1:
        raise ProcessExecutorError(f"--jobs must be at least 1, got {jobs}")
    if timeout is not None and not timeout > 0:
        raise ProcessExecutorError(f"--timeout must be a positive number of seconds, got {timeout}")
    if jobs is not None and jobs > 1 and not card.process_safe:
        raise ProcessExecutorError(f"method {method!r} says it is not safe to run in several processes at once "
                                   "(its card has process_safe=False): use --jobs 1")
    if jobs is None and timeout is None and dataset is not None and not known_to_fresh_workers(method, dataset):
        return None  # the default pool only for names every worker knows by itself (entry points)
    n = jobs if jobs is not None else default_jobs(card, device)
    if n > cpu_count():  # more workers than CPUs only thrash (--jobs 100000 would start one per sample)
        warnings.warn(f"--jobs {n} is more than the {cpu_count()} CPUs this process may use: starting {cpu_count()} "
                      "workers", stacklevel=2)
        n = cpu_count()
    why_not = method_importable_by_workers(method)
    if why_not is not None:
        if timeout is not None:
            raise ProcessExecutorError(f"--timeout needs a worker process, but {why_not}; register it in an importable module")
        if jobs is not None and jobs > 1:
            warnings.warn(f"{why_not}: scoring serially in this process", stacklevel=2)
        return None
    if n == 1 and timeout is None:
        return None
    gpus = visible_gpus((device or "").lower()) if n > 1 else []
    advice = None  # none for saved predictions (IN_PROCESS_NAMES): no method code, no BLAS/OpenMP work
    if n > 1 and not gpus and not os.environ.get("OMP_NUM_THREADS") and method not in IN_PROCESS_NAMES:
        advice = ("worker processes, each with as many BLAS/OpenMP threads as a serial run (OMP_NUM_THREADS is "
                  "not set): for throughput run with OMP_NUM_THREADS=1 (the rows then equal a serial run with that setting)")
    return ProcessExecutor(jobs=n, timeout=timeout, gpus=gpus, advice=advice)
