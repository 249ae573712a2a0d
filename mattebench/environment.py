"""The code and the machine a number came from, and what is said while a command runs.

First: versions, commit, device, data fingerprint, checkpoint hash, options (what every record states).
Then: one place for our warnings and everything third-party code says while a command runs.

Where a number came from: versions, commit, device, data fingerprint, checkpoint hash, options.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import platform
import subprocess
import sys
import threading
import time
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import FrameType
from typing import Any, Optional, Sequence, TextIO

from mattebench.errors import UsageError
from mattebench.files import sha256_file  # noqa: F401  (re-exported: its import path before mattebench.files)

# The version of this code, as every record and bench result states it (pyproject.toml says the same).
__version__ = "0.1.0"


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
    torch = sys.modules.get("torch")
    if torch is None and not str(device or "").startswith("cuda"):
        return _torch_not_loaded(device)
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


def _torch_not_loaded(device: Optional[str]) -> dict[str, Any]:
    """A run in which nothing loaded torch (saved predictions, classical methods) computed nothing with it:
    its installed version is recorded, its threads and CUDA are not (importing torch to ask costs 1.5 s of a
    run's start-up, issue 23)."""
    from importlib import metadata

    try:
        version: Optional[str] = metadata.version("torch")
    except metadata.PackageNotFoundError:
        version = None
    return {"torch": version, "threads": None, "cuda_available": None, "device": str(device or "cpu"),
            "device_name": platform.processor() or platform.machine()}


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


# ----------------------------------------------------------------------------------------------------
# One place for what is said while a command runs: our warnings, and everything third-party code says.
#
# A command's output is ours: what happened and what to do. Libraries talk too: pymatting prints a five-line
# "PERFORMANCE WARNING" whenever its preconditioner retries, torch and others issue warnings that Python prints
# with a file name, a line number and a line of source. :func:`capture` holds a command (``mattebench.commands.cli``
# wraps every command in it, and each worker process of ``run --jobs`` wraps its work in it) and sorts what is
# said by *who* says it, not by what it says:
#
# - **Our warnings** (issued from ``mattebench`` or ``mattebench_baselines`` code, or of a category defined
#   there) are printed as one line, ``warning: ...``, the first time each is said in the command.
# - **Anything else**: a warning issued from third-party code, or text a third-party module writes to
#   ``sys.stdout``/``sys.stderr`` (found from the frame that calls ``write``), is not printed. Each condition
#   (a known one from :data:`KNOWN`, else one per package and kind) becomes one line of ours when the command
#   ends, with how often it came and where the full text is.
# - **Everything** is kept in full, as it would have been printed: in ``<run>/run.log`` once a run folder exists
#   (:func:`attach_log`, called by the runner; the driver is its only writer, append-only, one header per
#   command), else the one-liner says that ``--debug`` shows it (``--debug`` captures nothing).
#
# Modules of the standard library and the packages that speak for us (``tqdm``: our progress bars) write
# through untouched. Output written straight to the file descriptors by C code (not through ``sys.stdout``)
# is not seen here.
#
# Worker processes capture with ``display=False`` and hand what they captured to the driver
# (:meth:`Capture.take`, :func:`receive`), so a warning said by every worker is still one line.
#
# A caller that records warnings itself (``pytest.warns``, ``warnings.catch_warnings(record=True)``) still
# gets every warning; nothing is printed for it then.
# ----------------------------------------------------------------------------------------------------

OURS = ("mattebench", "mattebench_baselines")
SPEAKS_FOR_US = ("tqdm",)  # the progress bars we draw
LOG_NAME = "run.log"
LOG_LIMIT = 4 * 1024 * 1024  # bytes of captured text one command writes into a run log (a chatty loop stops there)
SHOW = 160  # characters of a third-party line quoted in our one-liner


@dataclass(frozen=True)
class Said:
    """One thing said during a command: by whom, how, and in full."""

    origin: str  # top-level package that said it ("pymatting", "torch", "mattebench")
    kind: str  # "warning", or the stream a print went to: "stdout", "stderr"
    text: str  # in full, as it would have been printed (a warning with its file and line)
    line: str  # a warning's "Category: message"; a print's text
    where: str = ""  # a warning's file:line: one warn() call is one condition, whatever its message says

    @property
    def ours(self) -> bool:
        return self.origin in OURS


@dataclass(frozen=True)
class Known:
    """A third-party condition we can name in one line of our own."""

    origin: str
    marker: str  # text that starts it (once per occurrence)
    says: str


KNOWN: tuple[Known, ...] = (
    Known("pymatting", "PERFORMANCE WARNING",
          "pymatting's incomplete-Cholesky preconditioner failed on a matrix and was rebuilt with a larger diagonal "
          "shift (slower; the solve still runs to the same tolerance)"),
)


def _is_stock(impl: Any) -> bool:
    """Whether ``impl`` is Python's own warning printer (else someone records warnings: pytest.warns, catch_warnings)."""
    return getattr(impl, "__module__", None) == "warnings" and getattr(impl, "__name__", None) == "_showwarnmsg_impl"


def _full_text(message: Any, category: type, filename: str, lineno: int, line: Optional[str]) -> str:
    """A warning as Python prints it: file, line, category, message, and the line of source."""
    import linecache

    text = f"{filename}:{lineno}: {category.__name__}: {message}\n"
    source = line if line is not None else linecache.getline(filename, lineno)
    return text + (f"  {source.strip()}\n" if source and source.strip() else "")


def _clip(line: str) -> str:
    line = " ".join(line.split())
    return line if len(line) <= SHOW else line[: SHOW - 3].rsplit(" ", 1)[0] + " ..."


def _top(frame: Optional[FrameType]) -> str:
    return str(frame.f_globals.get("__name__", "") if frame is not None else "").split(".")[0]


# Functions that stand in for ``print`` and pass the caller's text on: not the speaker (Ray replaces
# ``builtins.print`` with its ``safe_print`` once it has run in a process, and never puts it back).
PRINT_WRAPPERS = {("ray", "safe_print")}


def _speaker(frame: Optional[FrameType], skip: tuple[str, ...]) -> str:
    """The top-level package of the first frame outside ``skip`` (this module, the warnings machinery) that is not
    a stand-in for ``print``."""
    while frame is not None and (frame.f_globals.get("__name__") == __name__ or _top(frame) in skip
                                 or (_top(frame), frame.f_code.co_name) in PRINT_WRAPPERS):
        frame = frame.f_back
    return _top(frame)


def _passes_through(origin: str) -> bool:
    return (not origin or origin in OURS or origin in SPEAKS_FOR_US or origin == "__main__"
            or origin in getattr(sys, "stdlib_module_names", ()))


class _Sieve:
    """Stands in for sys.stdout / sys.stderr: third-party writes go to the capture, the rest through."""

    def __init__(self, stream: TextIO, kind: str, capture: "Capture") -> None:
        self._stream, self._kind, self._capture = stream, kind, capture

    def write(self, text: str) -> int:
        origin = _speaker(sys._getframe(1), ())
        if _passes_through(origin):
            return self._stream.write(text)
        self._capture.add(Said(origin, self._kind, text, text.strip()))
        return len(text)

    def __getattr__(self, name: str) -> Any:  # flush, fileno, isatty, encoding, reconfigure ...
        return getattr(self._stream, name)


class Capture:
    """What one command (or one worker) said; see the module docstring."""

    def __init__(self, display: bool = True, command: str = "") -> None:
        self.display, self.command = display, command
        self._lock = threading.RLock()
        self._said: list[Said] = []  # kept for take() (workers) and for the log until one is attached
        self._shown: set[str] = set()
        self._counts: dict[tuple[str, str], int] = {}
        self._first: dict[tuple[str, str], Said] = {}
        self._partial: dict[tuple[str, str], str] = {}
        self._in_block: dict[tuple[str, str], Optional[Known]] = {}  # a known condition's print spans several lines
        self._log: Optional[Path] = None
        self._logged = 0
        self._recorder: Any = None
        self.stderr: TextIO = sys.stderr

    # -- what comes in -------------------------------------------------------------------------
    def add(self, said: Said) -> None:
        with self._lock:
            if self._log is None or not self.display:  # kept for the log to come, or for the driver
                self._said.append(said)
            self._write_log(said.text)
            if said.ours and said.kind == "warning":
                if self.display and said.line not in self._shown:
                    self._shown.add(said.line)
                    self.stderr.write(f"warning: {said.line.split(': ', 1)[-1]}\n")
                return
            if said.kind == "warning":
                self._count((said.origin, said.where or said.line), said, said.line)
                return
            # print() writes the text and its newline apart: count whole lines
            stream = (said.origin, said.kind)
            *lines, self._partial[stream] = (self._partial.get(stream, "") + said.text).split("\n")
            for line in lines:
                self._count_printed(said, line.strip())

    def _count_printed(self, said: Said, line: str) -> None:
        """A printed line: it starts a known condition, continues one (up to an empty line), or is counted alone."""
        stream = (said.origin, said.kind)
        known = next((k for k in KNOWN if k.origin == said.origin and k.marker in line), None)
        if known is not None:
            self._in_block[stream] = known
            self._count((known.origin, known.marker), said, line)
        elif self._in_block.get(stream) is not None:
            if not line:
                self._in_block[stream] = None
        elif line:
            self._count(stream, said, line)

    def _count(self, key: tuple[str, str], said: Said, line: str) -> None:
        self._counts[key] = self._counts.get(key, 0) + 1
        self._first.setdefault(key, Said(said.origin, said.kind, said.text, line))

    def showwarning(self, message: Any, category: type, filename: str, lineno: int, file: Any = None,
                    line: Optional[str] = None) -> None:
        if self._recorder is not None:  # someone records warnings (pytest.warns): they get it, unprinted
            self._recorder(warnings.WarningMessage(message, category, filename, lineno, file, line))
            return
        origin = _speaker(sys._getframe(1), ("warnings",))
        if getattr(category, "__module__", "").split(".")[0] in OURS:
            origin = OURS[0]
        text = _full_text(message, category, filename, lineno, line)
        self.add(Said(origin, "warning", text, f"{category.__name__}: {message}", f"{filename}:{lineno}"))

    # -- where it goes ---------------------------------------------------------------------------
    def attach(self, path: Path) -> None:
        """Append everything said so far, and everything said from now on, to ``path``."""
        with self._lock:
            if self._log is not None:
                return
            self._log = path
            head = f"== {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {self.command or 'mattebench'} (pid {os.getpid()})\n"
            self._append(head)
            for said in self._said:
                self._write_log(said.text)
            self._said = []

    def _write_log(self, text: str) -> None:
        if self._log is None or self._logged > LOG_LIMIT:
            return
        self._logged += len(text)
        self._append(text if self._logged <= LOG_LIMIT else f"\n... (the rest is left out: over {LOG_LIMIT} bytes)\n")

    def _append(self, text: str) -> None:
        if self._log is None or not text:
            return
        try:  # append-only; never follows a link planted where the log goes
            fd = os.open(self._log, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
        except OSError:
            return  # a log we cannot write never stops a run
        with os.fdopen(fd, "a", encoding="utf-8", errors="backslashreplace") as f:
            f.write(text)

    def take(self) -> list[Said]:
        """Everything said since the last take (a worker sends it to the driver)."""
        with self._lock:
            out, self._said = self._said, []
            return out

    def summary(self) -> list[str]:
        """One line of ours per third-party condition, with where its full text is."""
        where = f"full text in {self._log}" if self._log is not None else "run with --debug to see it in full"
        lines = []
        for key, n in self._counts.items():
            first = self._first[key]
            known = next((k for k in KNOWN if (k.origin, k.marker) == key), None)
            times = f"{n} time{'s' if n != 1 else ''}"
            if known is not None:
                lines.append(f"note: {known.says} ({times}; {where})")
            elif first.kind == "warning":
                lines.append(f"warning: {first.origin}: {_clip(first.line)} ({times}; {where})")
            else:
                lines.append(f"note: {first.origin} wrote {n} line{'s' if n != 1 else ''} to {first.kind}, the first: "
                             f"{_clip(first.line)!r} ({where})")
        return lines


_ACTIVE: list[Capture] = []


class capture:
    """``with capture(): ...`` holds warnings and third-party output for a command (see the module docstring)."""

    def __init__(self, display: bool = True, command: str = "") -> None:
        self.cap = Capture(display, command)
        self._catch = warnings.catch_warnings()

    def __enter__(self) -> Capture:
        previous = getattr(warnings, "_showwarnmsg_impl", None)
        self._catch.__enter__()
        warnings.simplefilter("default")
        if previous is not None and not _is_stock(previous):
            self.cap._recorder = previous
        warnings.showwarning = self.cap.showwarning
        self._streams = (sys.stdout, sys.stderr)
        self.cap.stderr = sys.stderr
        sys.stdout, sys.stderr = _Sieve(sys.stdout, "stdout", self.cap), _Sieve(sys.stderr, "stderr", self.cap)  # type: ignore[assignment]
        _ACTIVE.append(self.cap)
        return self.cap

    def __exit__(self, *exc: Any) -> None:
        _ACTIVE.remove(self.cap)
        sys.stdout, sys.stderr = self._streams
        self._catch.__exit__(*exc)
        if self.cap.display:
            lines = self.cap.summary()
            for line in lines:
                print(line, file=sys.stderr)
            if lines:
                self.cap._append("== said by others, in short:\n" + "\n".join(lines) + "\n")


def active() -> Optional[Capture]:
    return _ACTIVE[-1] if _ACTIVE else None


def attach_log(folder: Path) -> None:
    """The run folder exists: what this command says goes to ``folder/run.log`` (no-op outside a capture)."""
    cap = active()
    if cap is not None and cap.display:
        cap.attach(Path(folder) / LOG_NAME)


def receive(said: Sequence[Said]) -> None:
    """What a worker process captured, handed to the driver's capture (printed as it was, without one)."""
    cap = active()
    for s in said:
        if cap is not None:
            cap.add(s)
        else:
            sys.stderr.write(s.text)


# ----------------------------------------------------------------------------------------------------
# The environment variables the readers use: the largest image mattebench decodes.
# ----------------------------------------------------------------------------------------------------

ENV_MAX_PIXELS = "MATTEBENCH_MAX_PIXELS"
# PIL's own hard limit (twice Image.MAX_IMAGE_PIXELS): above it PIL refuses to decode. Keeping it as the
# default changes nothing for files PIL reads today; the variable raises (or lowers) it.
DEFAULT_MAX_PIXELS = 2 * 89_478_485


MAX_PIXELS_CEILING = 10**12  # a terapixel: far above any image that fits in memory; 1e99 is a typo, not a limit


def max_pixels() -> int:
    """The largest image (width x height) mattebench decodes: ``$MATTEBENCH_MAX_PIXELS`` or PIL's hard limit.

    A value that is not a whole number of pixels from 1 to 10**12 (``abc``, ``0``, ``-5``, ``1e99``, ``nan``)
    is a :class:`UsageError` (exit 2): the CLI and :func:`mattebench.runs.runner.evaluate` check it once at the
    start (:func:`check_environment`), so it is never an error row per sample.
    """
    raw = os.environ.get(ENV_MAX_PIXELS, "")
    text = raw.strip().replace("_", "")
    if not text:
        return DEFAULT_MAX_PIXELS
    try:
        value = float(text) if any(c in text for c in ".eE") else int(text)
    except ValueError:
        raise UsageError(f"${ENV_MAX_PIXELS}={raw!r} is not a number of pixels: set it to a whole number "
                         f"(for example {ENV_MAX_PIXELS}=400000000) or unset it") from None
    if not (isinstance(value, int) or (math.isfinite(value) and value == int(value))) or not 1 <= value <= MAX_PIXELS_CEILING:
        raise UsageError(f"${ENV_MAX_PIXELS}={raw!r} must be a whole number of pixels from 1 to {MAX_PIXELS_CEILING:.0e} "
                         f"(for example {ENV_MAX_PIXELS}=400000000), or unset for the default {DEFAULT_MAX_PIXELS:,}")
    return int(value)


def check_environment() -> None:
    """The environment variables the readers use, checked once before any sample (UsageError: exit 2)."""
    max_pixels()


# -- the C allocator of a scoring process ----------------------------------------------------------
# Why: scoring a folder at 1080p to 6000x4000 frees and allocates buffers of 2 to 30 MB per sample (decoded
# files, their bytes, float copies). glibc serves those from fresh mmap()s and returns them to the system when
# freed, so every sample faults its pages in again: 181,000 page faults and 1.4 s of system time in a 3.9 s
# serial run of 41 PPM-100-sized pairs (benchmarks/real_scale.py, issue 23). Kept for reuse below 32 MB (and the
# heap trimmed only past 128 MB free) the same run takes 20,000 faults and 3.0 s, at the same peak memory.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)
ALLOCATOR_VARIABLES = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "GLIBC_TUNABLES")


@lru_cache(maxsize=1)
def reuse_freed_memory() -> bool:
    """Keep freed buffers under 32 MB in this process for reuse (glibc only; once per process).

    Called by the processes that score a run (the ``run`` command, pool and Ray workers), never by the library
    API on a caller's process. Left alone where the C library is not glibc or the user tuned the allocator
    (``MALLOC_*`` or ``GLIBC_TUNABLES`` set). Values never depend on it. Returns whether it applied.
    """
    if not sys.platform.startswith("linux") or any(v in os.environ for v in ALLOCATOR_VARIABLES):
        return False
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return False
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except (ValueError, OSError, AttributeError):  # musl, no confstr name, no mallopt symbol
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, 32 << 20)) and bool(mallopt(_M_TRIM_THRESHOLD, 128 << 20))
