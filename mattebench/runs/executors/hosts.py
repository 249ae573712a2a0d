"""Score through method hosts: the driver loads and scores, each host process only predicts.

The executor of every method that predicts in its own process (:mod:`mattebench.methods.host`) where one
process loads and scores: serial runs and a pool of one (a local pool of several pairs each of its workers
with a host instead: :mod:`mattebench.runs.executors.paired`). The driver loads a sample, keeps its ground truth, sends the host a
:class:`~mattebench.scoring.scorer.PredictionRequest` (copies of the image and trimap) and scores the answer when it
comes back, so nothing a method does reaches what scores it. A video clip is one request, answered in order
by one host, which keeps the method's state between frames as an in-process method would.

Hosts start from a forkserver (as the worker pool does): never a fork of the driver, whose torch threads
would hang a forked child. A host that dies while predicting gives that sample an error row and is
replaced; ``timeout`` bounds one request; a host that cannot build the method stops the run with the
factory's own error (a method that exits or changes the working directory while being built: exit 4).
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import importlib
import multiprocessing as mp
import multiprocessing.connection as mpc
import sys
import time
import warnings
from dataclasses import dataclass
from typing import Any, Iterator, Optional, Sequence

from mattebench.contract import warn_withheld
from mattebench.errors import MattebenchError, MethodBuildError, MethodExited
from mattebench.methods.host import (
    HostProtocolError,
    MethodRecipe,
    host_main,
    read_answer,
    read_header,
    received_said,
)
from mattebench.scoring.scorer import Prepared, Scorer


def describe_exit(exitcode: Optional[int]) -> str:
    """'exit code 3' or 'killed by signal SIGSEGV' for a dead process's exit code."""
    import signal

    if exitcode is None:
        return "unknown exit status"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = str(-exitcode)
        hint = " (out of memory? the kernel's OOM killer sends SIGKILL)" if -exitcode == signal.SIGKILL else ""
        return f"killed by signal {name}{hint}"
    return f"exit code {exitcode}"


def error_row(columns: Sequence[str], sample_id: str, error: str) -> dict[str, Any]:
    row: dict[str, Any] = {"id": sample_id, "status": "error", "error": error}
    for c in columns:
        row[c] = None
    return row


def build_error(head: dict[str, Any], name: str) -> MattebenchError:
    """The exception a host's build failure stands for: mattebench's own error class (rebuilt by name from
    the project's modules only: nothing the host sent is unpickled), a built-in one, or MethodBuildError."""
    how, message = head.get("how"), str(head.get("message", ""))
    if how == "exit":
        return MethodExited(f"method {name!r} ended its process while being built ({message}): nothing was scored. "
                            "A method's factory must return the method or raise; fix the plug-in")
    if how == "chdir":
        return MethodExited(f"method {name!r} changed the working directory while being built ({message}): nothing was "
                            "scored. A method must not change the process's working directory; fix the plug-in")
    module, kind = str(head.get("module", "")), str(head.get("type", ""))
    cls = None
    if module == "mattebench" or module.startswith("mattebench."):
        cls = getattr(sys.modules.get(module) or _import(module), kind, None)
    if isinstance(cls, type) and issubclass(cls, MattebenchError):
        exc = cls.__new__(cls)
        Exception.__init__(exc, message)
        return exc
    return MethodBuildError(f"method {name!r} could not be built: {kind}: {message} (a bug in the method or its options: "
                            "run again with --debug for its traceback)")


def _import(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except Exception:  # noqa: BLE001 - an unknown module: no class to rebuild
        return None


@dataclass
class _Host:
    proc: Any
    conn: Any
    slot: int = 0
    ready: bool = False
    job: Optional[Prepared] = None
    deadline: float = float("inf")


class HostPool:
    """``n`` method hosts and the driver's loop that feeds them requests and scores their answers."""

    def __init__(self, recipe: MethodRecipe, n: int, timeout: Optional[float] = None, context: Optional[str] = None,
                 preload: Sequence[str] = (), gpus: Sequence[str] = ()) -> None:
        self.recipe, self.n, self.timeout, self.gpus = recipe, max(1, n), timeout, list(gpus)
        self.context = context or ("forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn")
        self.ctx = mp.get_context(self.context)
        if self.context == "forkserver":
            self.ctx.set_forkserver_preload(["mattebench.methods.host", "mattebench.scoring.scorer", *preload])
        self.hosts: list[_Host] = []
        self.stats: dict[str, Any] = {"started": 0, "deaths": 0, "timeouts": 0, "pids": set(), "method_provenance": {}}

    def _spawn(self, slot: int) -> _Host:
        gpu = self.gpus[slot % len(self.gpus)] if self.gpus else None
        proc, ours = start_host(self.ctx, self.recipe, gpu)
        self.stats["started"] += 1
        return _Host(proc, ours, slot=slot)

    def close(self) -> None:
        for h in self.hosts:  # idle hosts are asked to stop; busy ones (an interrupt, --fail-fast) are killed
            if h.proc.is_alive() and h.ready and h.job is None:
                with contextlib.suppress(OSError):
                    h.conn.send(None)
        for h in self.hosts:
            _stop(h, kill=h.job is not None or not h.ready)
        self.hosts = []

    def rows(self, scorer: Scorer, ids: list[str]) -> Iterator[dict[str, Any]]:
        """One row per id (in the order answers come back)."""
        try:
            yield from self.loop(scorer, collections.deque(ids))
        finally:
            self.close()

    def loop(self, scorer: Scorer, pending: collections.deque[Any]) -> Iterator[dict[str, Any]]:
        """Rows of ``pending`` (ids, or items already prepared), starting the hosts if none runs; leaves them running."""
        if not self.hosts:
            self.hosts = [self._spawn(k) for k in range(min(self.n, max(1, len(pending))))]
        while pending or any(h.job is not None for h in self.hosts):
            yield from self._assign(scorer, pending)
            if not pending and all(h.job is None for h in self.hosts):
                break  # the last items could not be prepared (their error rows are out): nothing to wait for
            ready = set(mpc.wait([h.conn for h in self.hosts] + [h.proc.sentinel for h in self.hosts],
                                 timeout=self._wait_s()))
            for h in list(self.hosts):
                yield from self._serve(scorer, h, ready)
            yield from self._expire(scorer)

    def _assign(self, scorer: Scorer, pending: collections.deque[Any]) -> Iterator[dict[str, Any]]:
        for h in self.hosts:
            while h.ready and h.job is None and pending:
                item = pending.popleft()
                prepared = item if isinstance(item, Prepared) else scorer.prepare(item)
                if isinstance(prepared, dict):  # the sample cannot be used: its error row, no request
                    yield prepared
                    continue
                h.job = prepared
                h.deadline = time.monotonic() + self.timeout if self.timeout is not None else float("inf")
                try:
                    h.conn.send(prepared.request)
                except (BrokenPipeError, EOFError, OSError):
                    h.deadline = 0.0  # dead already: its sentinel reports it

    def _wait_s(self) -> Optional[float]:
        if self.timeout is None:
            return None
        first = min((h.deadline for h in self.hosts), default=float("inf"))
        return None if first == float("inf") else max(0.0, first - time.monotonic())

    def _serve(self, scorer: Scorer, h: _Host, ready: set[Any]) -> Iterator[dict[str, Any]]:
        if h.conn in ready:
            try:
                row = self._message(scorer, h)
            except (EOFError, OSError):
                row = None  # died mid-message: the sentinel says how
            except HostProtocolError as exc:
                yield from self._misbehaved(scorer, h, str(exc))
                return
            else:
                if row is not None:
                    yield row
                return
        if h.proc.sentinel in ready or (h.conn in ready and not h.proc.is_alive()):
            yield from self._died(scorer, h)

    def _message(self, scorer: Scorer, h: _Host) -> Optional[dict[str, Any]]:
        head = read_header(h.conn)
        kind = head["kind"]
        if kind == "chatter":  # what the method and its libraries said: this process's capture sorts it
            received_said(head)
            return None
        if kind == "build_error":
            if self.recipe.debug and head.get("traceback"):
                sys.stderr.write(f"method host traceback:\n{head['traceback']}\n")
            raise build_error(head, self.recipe.name)
        if kind == "ready" and not h.ready:
            h.ready = True
            self.stats["pids"].add(head.get("pid"))
            read_ready(scorer, head, self.stats, self.recipe)
            return None
        if kind != "answer" or h.job is None:
            raise HostProtocolError(f"the method's process sent an unexpected {kind!r} message")
        job = h.job
        ans = read_answer(h.conn, head, job.request)
        h.job, h.deadline = None, float("inf")
        return scorer.complete(job, ans)

    def _replace(self, h: _Host) -> None:
        _stop(h, kill=True)
        self.hosts[self.hosts.index(h)] = self._spawn(h.slot)

    def _died(self, scorer: Scorer, h: _Host) -> Iterator[dict[str, Any]]:
        h.proc.join(timeout=5)
        how = describe_exit(h.proc.exitcode)
        if not h.ready:
            raise MethodExited(f"method {self.recipe.name!r}: its process ended while the method was being built ({how}): "
                               "nothing was scored. Run with --debug to see the method's own output")
        job = h.job
        self.stats["deaths"] += 1
        self._replace(h)
        if job is not None:
            sid = job.request.sample_id
            yield error_row(scorer.columns, sid, f"{sid}: worker died: {how} while scoring this sample; "
                            "the method's process was replaced")

    def _misbehaved(self, scorer: Scorer, h: _Host, why: str) -> Iterator[dict[str, Any]]:
        job = h.job
        self._replace(h)
        if job is not None:
            sid = job.request.sample_id
            yield error_row(scorer.columns, sid, f"{sid}: {why}; the method's process was replaced")

    def _expire(self, scorer: Scorer) -> Iterator[dict[str, Any]]:
        now = time.monotonic()
        for h in list(self.hosts):
            if h.job is not None and now >= h.deadline and h.proc.is_alive():
                sid = h.job.request.sample_id
                self.stats["timeouts"] += 1
                self._replace(h)
                yield error_row(scorer.columns, sid, f"{sid}: timed out after {self.timeout:g} s (--timeout); "
                                "the worker was stopped and a new one started")


def read_ready(scorer: Scorer, head: dict[str, Any], stats: dict[str, Any], recipe: MethodRecipe) -> None:
    """What a host's ``ready`` header tells the driver: whether the method predicts whole clips, whether it asked for
    the ground truth (warned once, never given), an undeclared foreground, and the method's provenance."""
    scorer.sequence = bool(head.get("sequence"))
    if head.get("observes"):  # a non-reference method that asks for the ground truth: warned once, never given
        warn_withheld(scorer.method_card, stacklevel=3)
    _undeclared_foreground(head, recipe)
    prov = head.get("provenance")
    stats["method_provenance"] = prov if isinstance(prov, dict) else {}


def start_host(ctx: Any, recipe: MethodRecipe, gpu: Optional[str] = None) -> tuple[Any, Any]:
    """Start a method host from ``ctx`` (its process and this side's end of its pipe). ``gpu``: the host's
    CUDA_VISIBLE_DEVICES, so that it sees its GPU as cuda:0 (set before the method initialises CUDA)."""
    if gpu is not None:
        recipe = dataclasses.replace(recipe, env={**recipe.env, "CUDA_VISIBLE_DEVICES": gpu})
    ours, theirs = ctx.Pipe(duplex=True)
    proc = ctx.Process(target=host_main, args=(theirs, recipe), name="mattebench-method-host")
    with _main_not_rerun():
        proc.start()
    theirs.close()
    return proc, ours


@contextlib.contextmanager
def _main_not_rerun() -> Iterator[None]:
    """Start a host without running the caller's ``__main__`` in it. multiprocessing re-imports a script's main
    module in every child it starts, which runs a script without an ``if __name__ == "__main__":`` guard again;
    a host needs none of it (recipes that refer to ``__main__`` predict in the caller's process instead)."""
    main = sys.modules.get("__main__")
    saved = {k: getattr(main, k) for k in ("__file__", "__spec__") if main is not None and hasattr(main, k)}
    try:
        if "__file__" in saved:
            delattr(main, "__file__")
        if "__spec__" in saved:
            main.__spec__ = None  # type: ignore[union-attr]
        yield
    finally:
        for k, v in saved.items():
            setattr(main, k, v)


class HostSession:
    """One method host kept for a run, for executors that score one sample at a time through
    :meth:`Scorer.score` (the runner hands it to the Scorer; it is closed when the run ends)."""

    def __init__(self, scorer: Scorer, recipe: MethodRecipe, preload: Sequence[str] = ()) -> None:
        self.scorer, self.pool = scorer, HostPool(recipe, 1, preload=preload)

    @property
    def stats(self) -> dict[str, Any]:
        return self.pool.stats

    def __call__(self, prepared: Prepared) -> dict[str, Any]:
        rows = list(self.pool.loop(self.scorer, collections.deque([prepared])))
        return rows[0]

    def close(self) -> None:
        self.pool.close()


_TOLD_FOREGROUND: set[str] = set()


def _undeclared_foreground(head: dict[str, Any], recipe: MethodRecipe) -> None:
    """A method that predicts a foreground its factory does not declare is not asked for it: say so once, with the fix."""
    if head.get("foreground") is True and not recipe.foreground and recipe.name not in _TOLD_FOREGROUND:
        _TOLD_FOREGROUND.add(recipe.name)
        warnings.warn(f"method {recipe.name!r} predicts a foreground colour (predict_foreground), but its factory is neither "
                      "its class nor a function annotated to return it, so the run cannot know before predicting and does "
                      "not score it; register the class or annotate the factory's return type", stacklevel=3)


def _stop(h: _Host, kill: bool) -> None:
    stop_process(h.proc, h.conn, kill)


def stop_process(proc: Any, conn: Any, kill: bool) -> None:
    """Wait for a worker or host process to end (killing it first when ``kill``, or when it will not), then close
    its pipe (None: this process holds none): the one way every pool here stops a process."""
    if kill and proc.is_alive():
        proc.kill()
    proc.join(timeout=5)
    if proc.is_alive():
        proc.kill()
        proc.join(timeout=5)
    if conn is not None:
        conn.close()
