"""The method host: the process a method predicts in, apart from the ground truth and from what scores it.

A method that is not the project's own reader of saved predictions, and not a ``reference`` method (which
sees the ground truth by definition), never runs in the process that loads the ground truth, scores and
writes rows. It runs in a *host*: a process that builds it (calls its factory) and then answers requests.
A request (:class:`mattebench.scoring.scorer.PredictionRequest`) holds the image(s) and trimap(s) only, pickled
across the pipe, so the method owns what it is given; the driver keeps its own arrays and the ground truth.

What comes back is never unpickled: the host sends a JSON header and raw array bytes
(``Connection.send_bytes``), and the driver rebuilds numpy arrays of a whitelisted dtype and a bounded size
(:func:`read_answer`). A method can therefore not plant objects in the driver either. A method that calls
``sys.exit`` or ``os._exit`` ends only its host; one that calls ``os.chdir`` changes only the host's working
directory (the host puts it back and fails that prediction); threads it starts die with the host.

Who predicts where (:func:`recipe_for_name`, :func:`isolation_of`):

- in a host: every method built from a name, built-in or plug-in. An entry point is built by name (the host
  finds it itself); a name registered in code sends the host its factory by pickle (a module-level function
  pickles by reference). A factory that cannot be sent (defined inside a function, a lambda, in the running
  script) predicts in the scoring process, with a warning and a provenance note.
- in the scoring process: the project's reader of saved predictions (asked by id and shape, never given an
  image); ``reference`` methods (gt-echo: given the ground truth by definition, never published); and a method
  *object* passed to ``evaluate()``, which is the caller's own code already running in the caller's process.
  These get copies of their inputs too, and exits and ``os.chdir`` are caught.

The run's provenance says which way it went (``method_isolation``).
"""

from __future__ import annotations

import json
import multiprocessing.connection as mpc
import os
import pickle
import signal
import sys
import time
import traceback
import warnings
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import numpy as np

from mattebench.errors import HostProtocolError, MattebenchError, PredictionError
from mattebench.types import FAMILY_REFERENCE, SavedPredictionSource

HEADER_MAX = 1 << 20  # bytes of one JSON header from a host; more is a misbehaving host
TEXT_MAX = 4000  # characters of an error text or traceback a host may send
_DTYPES = {"bool", "uint8", "uint16", "uint32", "int8", "int16", "int32", "int64", "float16", "float32", "float64"}


@dataclass(frozen=True)
class MethodRecipe:
    """How a host builds the method: a registered name (entry points: the host finds it itself), or the
    pickled factory of a name registered in code, or a pickled method object passed to ``evaluate()``."""

    name: str
    options: dict[str, Any] = field(default_factory=dict)
    factory: Optional[bytes] = None
    obj: Optional[bytes] = None
    imports: tuple[str, ...] = ()
    env: dict[str, Optional[str]] = field(default_factory=dict)  # thread settings of the driver (None: unset)
    torch_threads: Optional[int] = None
    debug: bool = False
    # The method predicts a foreground colour too (ForegroundPredictor), as its factory declares (declares_foreground):
    # the driver then asks the host for it with the alpha (PredictionRequest.foreground).
    foreground: bool = False

    def build(self) -> Any:
        import importlib

        from mattebench.methods import registry

        for module in self.imports:  # plug-ins registered in code must exist here too
            importlib.import_module(module)
        if self.obj is not None:
            return pickle.loads(self.obj)
        if self.factory is not None:
            return registry.create_method_with(self.name, pickle.loads(self.factory), **self.options)
        return registry.create_method(self.name, **self.options)


def _call_method(fn: Any, where: str, *args: Any) -> Any:
    """``fn(*args)``, with ``sys.exit()`` and other BaseExceptions (not Ctrl-C) made a PredictionError,
    so that a method that exits or raises past ``Exception`` fails its sample, not the run."""
    try:
        return fn(*args)
    except (KeyboardInterrupt, GeneratorExit):
        raise
    except SystemExit as exc:
        raise PredictionError(f"{where}: the method called sys.exit({exc.code!r}) while predicting") from exc
    except Exception:
        raise
    except BaseException as exc:  # noqa: BLE001 - a BaseException subclass from method code
        raise PredictionError(f"{where}: the method raised {type(exc).__name__} (not an Exception): {exc}") from exc


@dataclass(frozen=True)
class PredictionRequest:
    """What a method is asked for one item: its inputs (never the ground truth), as copies it may keep or change.

    ``mode``: ``image`` (one ``predict``), ``frames`` (``predict`` per frame, in order) or ``sequence`` (one
    ``predict_sequence`` over every frame). ``indices`` are the frame numbers of ``images``.
    """

    sample_id: str
    mode: str
    images: tuple[np.ndarray, ...]
    trimaps: Optional[tuple[Optional[np.ndarray], ...]]
    indices: tuple[int, ...]
    wheres: tuple[str, ...]
    # Also ask ``predict_foreground(image, alpha)`` of a ForegroundPredictor, in the process it predicts in (image mode).
    foreground: bool = False


@dataclass(frozen=True)
class Answer:
    """What the method returned for a request: the prediction per frame index, its time, or the error text."""

    predictions: dict[int, Any]
    seconds: float
    error: Optional[str] = None
    foregrounds: dict[int, Any] = field(default_factory=dict)  # frame index -> HxWx3 foreground, when asked for


def answer(method: Any, request: PredictionRequest, debug: bool = False) -> Answer:
    """Run ``method`` on ``request`` (wherever the method lives); a failure is the answer's error, never a raise."""
    preds: dict[int, Any] = {}
    t0 = time.perf_counter()
    try:
        if request.mode == "sequence":
            out = _call_method(lambda: list(method.predict_sequence(list(request.images), request.trimaps)), request.sample_id)
            preds = dict(enumerate(out))
        else:
            for k, i in enumerate(request.indices):
                tri = request.trimaps[k] if request.trimaps is not None else None
                preds[i] = _call_method(method.predict, request.wheres[k], request.images[k], tri)
        seconds = time.perf_counter() - t0  # the alpha's time: predict_ms means the same with or without a foreground
        fgrs = _foregrounds(method, request, preds)
    except PredictionError as exc:
        return Answer(preds, time.perf_counter() - t0, str(exc))
    except MemoryError:
        return Answer(preds, time.perf_counter() - t0, f"{request.sample_id}: out of memory while predicting")
    except Exception as exc:  # a method bug must not end the run
        detail = traceback.format_exc(limit=3) if debug else ""
        return Answer(preds, time.perf_counter() - t0,
                      f"{request.sample_id}: method or scorer raised {type(exc).__name__}: {exc}{(' ' + detail) if detail else ''}")
    return Answer(preds, seconds, foregrounds=fgrs)


def _foregrounds(method: Any, request: PredictionRequest, preds: dict[int, Any]) -> dict[int, Any]:
    """The method's foreground colour for each predicted frame, when the request asks and the method predicts one.
    It is given copies of the photo and of its alpha as the scorer reads it (float32 in [0, 1], HxW), so a method
    sees the same arguments in a host as in the scoring process."""
    from mattebench.contract import ForegroundPredictor

    if not request.foreground or request.mode != "image" or not isinstance(method, ForegroundPredictor):
        return {}
    out: dict[int, Any] = {}
    for k, i in enumerate(request.indices):
        alpha = _alpha_as_scored(preds.get(i))
        if alpha is not None:
            out[i] = _call_method(method.predict_foreground, request.wheres[k], np.array(request.images[k], copy=True), alpha)
    return out


def _alpha_as_scored(pred: Any) -> Optional[np.ndarray]:
    """An alpha as the scorer's check reads it (uint8 k/255, HxWx1 squeezed, clipped), or None when it is no array:
    the scorer fails that prediction with its own message."""
    if hasattr(pred, "detach"):
        pred = pred.detach().cpu().numpy()
    if not isinstance(pred, np.ndarray) or pred.dtype.kind not in "biuf":
        return None
    if pred.ndim == 3 and pred.shape[2] == 1:
        pred = pred[:, :, 0]
    a = pred.astype(np.float32) / np.float32(255.0) if pred.dtype == np.uint8 else pred.astype(np.float32)
    return np.clip(a, 0.0, 1.0)


def declares_foreground(factory: Any) -> bool:
    """Whether the methods a factory builds predict a foreground colour (:class:`mattebench.contract.ForegroundPredictor`),
    read from the factory without calling it (the driver runs no method code): a class that defines
    ``predict_foreground``, or a function annotated to return one. Any other factory is not asked."""
    import functools
    import typing

    create = getattr(factory, "create", factory)  # a MethodFactory wraps the class or function it calls
    while isinstance(create, functools.partial):
        create = create.func
    if not isinstance(create, type):
        try:
            create = typing.get_type_hints(create).get("return")
        except Exception:  # noqa: BLE001 - an annotation that does not resolve: nothing is declared
            return False
    return isinstance(create, type) and callable(getattr(create, "predict_foreground", None))


# -- who predicts where ------------------------------------------------------------------------
# Registered names of the methods that read saved predictions (mattebench_baselines.saved_predictions).
IN_PROCESS_NAMES = ("predictions",)


def recipe_for_name(name: str, options: dict[str, Any], debug: bool) -> tuple[Optional[MethodRecipe], Optional[str]]:
    """(the host's recipe, None), or (None, why the method predicts here: None for the two kinds above)."""
    from mattebench.methods import registry

    entry = registry.method_entry(name)
    if name in IN_PROCESS_NAMES or entry.card.family == FAMILY_REFERENCE:
        return None, None
    env, torch_threads = thread_settings()
    base = dict(name=name, options=dict(options), env=env, torch_threads=torch_threads, debug=debug,
                foreground=declares_foreground(entry.factory))
    if entry.origin.startswith("entry point"):
        return MethodRecipe(**base), None
    try:
        factory = pickle.dumps(entry.factory)
    except Exception as exc:  # noqa: BLE001 - a local function, a lambda: not importable elsewhere
        return None, _fallback(f"method {name!r} was registered with a factory that cannot be sent to another process "
                               f"({type(exc).__name__}); register a module-level function to have it isolated")
    if b"__main__" in factory:
        return None, _fallback(f"method {name!r} was registered by the running script (__main__), which another process "
                               "cannot import; register it in a module to have it isolated")
    module = getattr(entry.factory, "__module__", None)
    imports = (module,) if module and module != "__main__" else ()
    return MethodRecipe(**base, factory=factory, imports=imports), None


def isolation_of(recipe: Optional[MethodRecipe], note: Optional[str], method_obj: Any) -> str:
    """What a run's provenance records as ``method_isolation``."""
    if recipe is not None:
        return "method host: the method predicted in its own process, apart from the ground truth and the scorer"
    if note is not None:
        return f"scoring process: {note}"
    if isinstance(method_obj, SavedPredictionSource):
        return "scoring process: saved predictions, read by id (no method code runs)"
    return "scoring process: a reference method or a method object passed to evaluate() (the caller's own code)"


def preload_modules(recipe: MethodRecipe) -> list[str]:
    """Modules a host's forkserver imports once, so that every host (and each replacement) starts fast."""
    from mattebench.methods import registry

    out = list(recipe.imports)
    if recipe.obj is not None:
        return out
    try:
        module = getattr(registry.method_entry(recipe.name).factory, "__module__", None)
    except MattebenchError:
        module = None
    if module and module != "__main__" and module not in out:
        out.append(module)
    return out


def _fallback(reason: str) -> str:
    note = f"the method predicts in the scoring process, not in a method host: {reason}"
    warnings.warn(note, stacklevel=4)
    return note


def thread_settings() -> tuple[dict[str, Optional[str]], Optional[int]]:
    """The driver's thread settings, for a host to compute with (unset stays unset), and its torch thread count
    when the driver uses torch."""
    names = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")
    torch = sys.modules.get("torch")
    return {k: os.environ.get(k) for k in names}, (int(torch.get_num_threads()) if torch is not None else None)


# -- the host process -------------------------------------------------------------------------
def host_main(conn: Any, recipe: MethodRecipe) -> None:
    """Body of a host: build once, then answer requests until told to stop (None) or the driver is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle
    from mattebench import environment as chatter

    # What the method and its libraries say here goes to the driver, which prints each condition once for the run.
    with chatter.capture(display=False) as said:
        _serve(conn, recipe, said)


def _serve(conn: Any, recipe: MethodRecipe, said: Any) -> None:
    _apply_threads(recipe)
    cwd = os.getcwd()
    method = _build(conn, recipe, cwd, said)
    if method is None:
        return
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):  # the driver is gone
            return
        if request is None:
            return
        ans = unless_moved(answer(method, request, recipe.debug), request, restore_cwd(cwd))
        if not _send_said(conn, said) or not _send_answer(conn, ans, request.wheres, request.indices):
            return


def _apply_threads(recipe: MethodRecipe) -> None:
    for k, v in recipe.env.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    if recipe.torch_threads:
        import torch

        torch.set_num_threads(recipe.torch_threads)


def _send_said(conn: Any, said: Any) -> bool:
    """What was printed or warned in this host since the last message, as JSON (mattebench.environment.Said fields)."""
    told = said.take() if said is not None else []
    if not told:
        return True
    return _send_json(conn, {"kind": "chatter", "said": [{k: _cut(str(getattr(t, k))) for k in SAID_FIELDS} for t in told]})


SAID_FIELDS = ("origin", "kind", "text", "line", "where")


def _build(conn: Any, recipe: MethodRecipe, cwd: str, said: Any = None) -> Any:
    """The method, or None after telling the driver why it could not be built."""
    try:
        method = recipe.build()
    except SystemExit as exc:
        _send_said(conn, said)
        _send_json(conn, {"kind": "build_error", "how": "exit", "message": f"sys.exit({exc.code!r})"})
        return None
    except BaseException as exc:  # noqa: BLE001 - sent to the driver, which raises it there
        _send_said(conn, said)
        _send_json(conn, {"kind": "build_error", "how": "raise", "module": type(exc).__module__, "type": type(exc).__name__,
                          "message": _cut(str(exc)), "traceback": _cut(traceback.format_exc(limit=6))})
        return None
    _send_said(conn, said)
    moved = restore_cwd(cwd)
    if moved is not None:
        _send_json(conn, {"kind": "build_error", "how": "chdir", "message": f"os.chdir({moved!r})"})
        return None
    from mattebench.contract import (
        ForegroundPredictor,
        ReferenceMethod,
        SequencePredictor,
        method_provenance,
    )

    _send_json(conn, {"kind": "ready", "pid": os.getpid(), "sequence": isinstance(method, SequencePredictor),
                      "observes": isinstance(method, ReferenceMethod),
                      "foreground": isinstance(method, ForegroundPredictor),
                      "provenance": json.loads(json.dumps(method_provenance(method), default=repr))})
    return method


def restore_cwd(cwd: str) -> Optional[str]:
    """Put the working directory back; the directory the method moved to, or None when it did not move."""
    try:
        now = os.getcwd()
    except OSError:
        now = "<deleted>"
    if now == cwd:
        return None
    os.chdir(cwd)
    return now


def unless_moved(ans: Answer, req: PredictionRequest, moved: Optional[str]) -> Answer:
    """A method that changed the working directory fails its sample (the directory was put back already)."""
    if moved is None:
        return ans
    return Answer({}, ans.seconds, f"{req.sample_id}: the method changed the working directory (os.chdir to {moved!r}) "
                  "while predicting; its prediction is not scored and the directory was put back")


def _cut(text: str) -> str:
    return text if len(text) <= TEXT_MAX else text[:TEXT_MAX] + f"... ({len(text) - TEXT_MAX} characters cut)"


def _send_json(conn: Any, message: dict[str, Any]) -> bool:
    try:
        conn.send_bytes(json.dumps(message).encode())
        return True
    except (BrokenPipeError, EOFError, OSError):
        return False


def _as_array(pred: Any, where: str) -> tuple[Optional[np.ndarray], Optional[str]]:
    """The prediction as a plain numpy array of a numeric dtype, or the error text (the scorer's wording)."""
    if hasattr(pred, "detach"):  # a torch tensor
        try:
            pred = pred.detach().cpu().numpy()
        except Exception as exc:  # noqa: BLE001
            return None, f"{where}: the method returned a tensor that cannot be read: {exc}"
    if type(pred) is not np.ndarray and not isinstance(pred, np.ndarray):
        return None, f"{where}: method returned {type(pred).__name__}, expected an HxW numpy array"
    arr = np.ascontiguousarray(pred)
    if str(arr.dtype) not in _DTYPES:
        return None, f"{where}: method returned an array of dtype {arr.dtype}, expected numbers"
    return arr, None


def _foreground_arrays(ans: Any, where_of: dict[int, str]) -> list[tuple[int, np.ndarray]]:
    """The foregrounds to send after the alphas; one that is no numeric array is left out (its columns are NaN)."""
    out = []
    for i, f in sorted(getattr(ans, "foregrounds", {}).items()):
        arr, err = _as_array(f, where_of.get(i, str(i)))
        if err is None and arr is not None:
            out.append((i, arr))
    return out


def _send_answer(conn: Any, ans: Any, wheres: Sequence[str], indices: Sequence[int]) -> bool:
    """The answer as one JSON header and one raw bytes message per array."""
    where_of = dict(zip(indices, wheres))
    arrays: list[tuple[int, np.ndarray]] = []
    error = ans.error
    for i, pred in sorted(ans.predictions.items()):
        arr, err = _as_array(pred, where_of.get(i, str(i)))
        if err is not None:
            error = error or err
            break
        assert arr is not None
        arrays.append((i, arr))
    fgrs = [] if error else _foreground_arrays(ans, where_of)
    head = {"kind": "answer", "seconds": float(ans.seconds), "error": _cut(error) if error else None,
            "arrays": [] if error else [{"index": int(i), "shape": list(a.shape), "dtype": str(a.dtype)} for i, a in arrays]
            + [{"index": int(i), "shape": list(a.shape), "dtype": str(a.dtype), "foreground": True} for i, a in fgrs]}
    arrays += fgrs
    if not _send_json(conn, head):
        return False
    try:
        for _, a in ([] if error else arrays):
            conn.send_bytes(memoryview(a).cast("B"))
    except (BrokenPipeError, EOFError, OSError):
        return False
    return True


# -- the driver's side of the pipe ------------------------------------------------------------


def read_header(conn: Any) -> dict[str, Any]:
    try:
        head = json.loads(conn.recv_bytes(HEADER_MAX).decode())
    except (ValueError, UnicodeDecodeError) as exc:
        raise HostProtocolError(f"the method's process sent a malformed message ({exc})") from exc
    except OSError as exc:
        if "too long" in str(exc) or "bad message length" in str(exc):
            raise HostProtocolError("the method's process sent an oversized message") from exc
        raise
    if not isinstance(head, dict) or not isinstance(head.get("kind"), str):
        raise HostProtocolError("the method's process sent a message that is not a header")
    return head


def received_said(head: dict[str, Any]) -> None:
    """Hand a host's "chatter" message to this process's capture (mattebench.environment), fields checked as text."""
    from mattebench import environment as chatter

    items = head.get("said")
    if not isinstance(items, list):
        return
    said = [chatter.Said(**{k: str(d.get(k, "")) for k in SAID_FIELDS}) for d in items if isinstance(d, dict)]
    chatter.receive(said)


def read_answer(conn: Any, head: dict[str, Any], request: Any) -> Any:
    """The :class:`~mattebench.scoring.scorer.Answer` a header announces, its arrays read as raw bytes of bounded size."""
    error = head.get("error")
    seconds = head.get("seconds")
    seconds = float(seconds) if isinstance(seconds, (int, float)) else float("nan")
    shapes = {int(i): img.shape[:2] for i, img in zip(request.indices, request.images)}
    preds: dict[int, Any] = {}
    specs = head.get("arrays")
    if not isinstance(specs, list):
        raise HostProtocolError("the method's process sent an answer without its list of arrays")
    fgrs: dict[int, Any] = {}
    for spec in specs:
        i, arr = _read_array(conn, spec, shapes)
        if isinstance(spec, dict) and spec.get("foreground") is True:
            fgrs[i] = arr  # HxWx3: within the size bound below (at most 4 values a pixel)
        else:
            preds[i] = arr
    return Answer(preds, seconds, str(error) if error is not None else None, foregrounds=fgrs)


def _read_array(conn: Any, spec: Any, shapes: dict[int, tuple[int, int]]) -> tuple[int, np.ndarray]:
    if not isinstance(spec, dict) or not isinstance(spec.get("index"), int) or spec["index"] not in shapes:
        raise HostProtocolError("the method's process announced a prediction for a frame it was not asked for")
    shape, dtype = spec.get("shape"), spec.get("dtype")
    if dtype not in _DTYPES or not isinstance(shape, list) or not 1 <= len(shape) <= 3 \
            or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise HostProtocolError(f"the method's process announced an array it may not send ({dtype}, {shape})")
    h, w = shapes[spec["index"]]
    n = int(np.prod(shape, dtype=np.int64))
    if n > 4 * max(1, h * w):  # a prediction is HxW (or HxWx1): anything much larger is refused unread
        raise HostProtocolError(f"the method's process announced a {shape} prediction for a {h}x{w} image")
    size = n * np.dtype(dtype).itemsize
    arr = np.empty(shape, dtype=dtype)
    if isinstance(conn, mpc.Connection) and hasattr(os, "readv"):
        got = _recv_message_into(conn, memoryview(arr).cast("B") if size else memoryview(bytearray(1)))
    else:  # another transport (Ray's answer list, a Windows pipe): multiprocessing's own reader
        data = conn.recv_bytes(max(1, size))
        got = len(data)
        if got == size:
            arr.reshape(-1).view(np.uint8)[:] = np.frombuffer(data, dtype=np.uint8)
    if got != size:
        raise HostProtocolError("the method's process sent an array of another size than it announced")
    return spec["index"], arr


def _recv_message_into(conn: Any, into: memoryview) -> int:
    """Read one message sent with ``Connection.send_bytes`` straight into ``into`` and return its length.

    A 4K float32 prediction is 96 MB: multiprocessing's reader gathers it chunk by chunk in a BytesIO and
    the array is one more copy. This reads the same framing (a 4-byte big-endian signed length; -1 then an
    8-byte length for 2 GiB and more) into the array's memory. A message longer than ``into`` is not read
    (-1: the host is replaced, so the stream is never read again); EOF mid-message raises EOFError as
    ``recv_bytes`` does."""
    fd = conn.fileno()
    size = int.from_bytes(_read_into(fd, memoryview(bytearray(4))), "big", signed=True)
    if size == -1:
        size = int.from_bytes(_read_into(fd, memoryview(bytearray(8))), "big")
    if size < 0 or size > len(into):
        return -1
    _read_into(fd, into[:size])
    return size


def _read_into(fd: int, buf: memoryview) -> memoryview:
    """Fill ``buf`` from ``fd`` (a pipe delivers a large message in pieces); EOFError if it closes first."""
    done = 0
    while done < len(buf):
        k = os.readv(fd, [buf[done:]])
        if k == 0:
            raise EOFError("the method's process closed its pipe mid-message")
        done += k
    return buf
