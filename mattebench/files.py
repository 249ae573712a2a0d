"""Files: the one file hash, the one opener of input files, writes that never lose anything or follow a
link (atomic replaces), and the digests of every file a run's inputs depend on.

The project's one file hash (checkpoints, method code, option files, ground-truth files, trimap
manifests, prediction folders) and the one opener of input files: plain functions of the bytes, usable
from every part (they import nothing of the project but its errors).

A FIFO, a device or a socket where a file is expected (planted in a predictions folder, or a link to
``/dev/zero``) would block a run forever or never end: :func:`open_regular` opens without blocking
(``O_NONBLOCK``), looks at what it opened (``fstat``, after following the user's links) and refuses
anything that is not a regular file with :class:`~mattebench.errors.NotRegularFile`.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat
import tempfile
from pathlib import Path
from typing import IO, Any, BinaryIO, Callable, Iterable, Iterator, Optional

from mattebench.errors import (
    LinkRefused,
    NotOnnx,
    NotRegularFile,
    RunFolderUnusable,
    StoreError,
    TreeTooLarge,
)


def kind_of(mode: int) -> str:
    """What a non-regular file is, in words."""
    for test, name in ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder")):
        if test(mode):
            return name
    return "not a regular file"


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """``path`` opened for reading in binary, or NotRegularFile when it is not a regular file (never blocks)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a socket (or a device without a driver) cannot be opened
            raise NotRegularFile(os.fsdecode(path), "a socket or a device without a driver") from exc
        raise
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(os.fsdecode(path), kind_of(mode))
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)  # a regular file: ordinary reads from here on
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: str | os.PathLike[str]) -> bytes:
    """Every byte of a regular file (NotRegularFile otherwise)."""
    with open_regular(path) as f:
        return f.read()


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes, read in blocks (NotRegularFile for a FIFO, device or socket)."""
    h = hashlib.sha256()
    with open_regular(path) as f:
        while True:
            block = f.read(chunk)
            if not block:
                break
            h.update(block)
    return h.hexdigest()


# ----------------------------------------------------------------------------------------------------
# Writing output without losing anything and only where it should go: atomic replaces with unique
# temporary names, one clear line (which path, what to free or fix) when the disk is full or a folder is
# not writable, and no writer that follows a link it did not create.
#
# Links: the folder a user names (``--out``) is theirs and is used as given, links included; every
# folder below it that mattebench creates or writes into is opened component by component with
# ``O_NOFOLLOW`` (:func:`safe_folder`), and a symbolic link there is refused (:class:`LinkRefused`),
# never followed. A file is written through a temporary created with ``O_EXCL`` (which never follows a
# link) and renamed over its name (a rename replaces a name, it never writes through it); a symbolic link
# at that name is refused all the same, since someone put it there. The checks run on the folders as they
# are when the write starts; this is a defence against links planted before or between runs, not against
# another user racing the writer inside a folder they can write.
# ----------------------------------------------------------------------------------------------------

_FULL = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EFBIG)
_DENIED = (errno.EACCES, errno.EPERM, errno.EROFS)


def explain(exc: OSError, path: Path | str, doing: str) -> str:
    """One line for an OSError met while ``doing`` something to ``path``."""
    where = str(path)
    if exc.errno in _FULL:
        what = "no space left on the device" if exc.errno != errno.EDQUOT else "disk quota exceeded"
        return (f"{what} while {doing} {where}: free space on that disk (`df -h {Path(where).parent}`) or pass "
                f"--out on another disk; rows already written are kept, rerun the same command to resume")
    if exc.errno in _DENIED:
        what = "read-only file system" if exc.errno == errno.EROFS else "permission denied"
        return (f"{what} while {doing} {where}: make the folder writable for this user (or remount it read-write), "
                f"or pass --out to a folder you can write; rows already written are kept")
    if exc.errno == errno.ENOTDIR or (exc.errno == errno.EEXIST and Path(where).exists() and not Path(where).is_dir()):
        return f"{where} is not a folder (a file is in the way): pass --out to a folder, or move that file"
    if exc.errno == errno.ENAMETOOLONG:
        return f"the path {where} is too long for the file system: use a shorter --tag, method or --out"
    return f"cannot complete {doing} {where}: {exc.strerror or exc}; check the disk and the folder"


def store_error(exc: OSError, path: Path | str, doing: str, before_samples: bool = False) -> StoreError:
    cls = RunFolderUnusable if before_samples else StoreError
    err = cls(explain(exc, path, doing))
    err.__cause__ = exc
    return err


def _link_target(path: Path) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return "?"


def refuse_link(path: Path | str, what: str = "a symbolic link") -> LinkRefused:
    path = Path(path)
    return LinkRefused(
        f"{path} is {what}{f' (to {_link_target(path)})' if what == 'a symbolic link' else ''}: mattebench writes "
        f"only into folders and files it creates and never follows a link it did not make. Remove it "
        f"(`rm {path}`) or pass --out to another folder, and rerun.")


def _rel_parts(rel: Path | str) -> tuple[str, ...]:
    """The components of ``rel``; anything but a plain relative path (absolute, ``..``, ``.``) is a bug."""
    parts = Path(rel).parts
    if Path(rel).is_absolute() or any(p in ("..", ".", "") for p in parts):
        raise ValueError(f"not a plain relative path: {rel!r}")
    return parts


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _current_umask()  # read once: setting it to read it is not thread-safe
FOLDER_MODE = 0o777 & ~_UMASK  # what a plain mkdir gives (for a folder made private by mkdtemp)
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def _open_below(parent_fd: int, name: str, where: Path, create: bool) -> int:
    """The fd of folder ``name`` inside ``parent_fd`` (made when missing), or LinkRefused."""
    if create:
        with contextlib.suppress(FileExistsError):
            os.mkdir(name, 0o777, dir_fd=parent_fd)
    try:
        return os.open(name, _DIR_FLAGS | _NOFOLLOW, dir_fd=parent_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP or os.path.islink(where):
            raise refuse_link(where) from None
        if exc.errno == errno.ENOTDIR:
            raise refuse_link(where, "not a folder (a file is in the way)") from None
        raise


def safe_folder(root: Path | str, rel: Path | str = "", *, create: bool = True) -> Path:
    """``root/rel``, each folder below ``root`` made when missing and checked not to be a link (see the
    module docstring); ``root`` itself is the user's and is made with its parents as a plain ``mkdir -p``.
    LinkRefused names the first link; other OSErrors are the caller's to explain."""
    root = Path(root)
    if create:
        root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root, _DIR_FLAGS)
    where = root
    try:
        for name in _rel_parts(rel) if str(rel) not in ("", ".") else ():
            where = where / name
            child = _open_below(fd, name, where, create)
            os.close(fd)
            fd = child
    finally:
        os.close(fd)
    return where


def check_not_link(path: Path | str) -> None:
    """LinkRefused when ``path`` is a symbolic link (missing is fine: it will be created)."""
    if os.path.islink(path):
        raise refuse_link(path)


def atomic_write_text(path: Path, text: str, *, before_samples: bool = False, root: Path | str | None = None) -> None:
    """Replace ``path`` by ``text`` atomically; a failure leaves the old file and no temporary behind."""
    atomic_write(path, lambda f: f.write(text), before_samples=before_samples, root=root)


def atomic_write_bytes(path: Path, data: bytes, *, before_samples: bool = False, root: Path | str | None = None) -> None:
    """:func:`atomic_write_text` for bytes (an image encoded in memory, a copied file)."""
    atomic_write(path, lambda f: f.write(data), before_samples=before_samples, root=root, binary=True)


def atomic_write(path: Path, fill: Callable[[IO[Any]], object], *, before_samples: bool = False,
                 root: Path | str | None = None, binary: bool = False) -> None:
    """Write ``path`` through a fresh temporary (``O_EXCL``: never a link) renamed over it. With ``root``,
    every folder from ``root`` down to ``path``'s is made and checked (:func:`safe_folder`); without, the
    folder ``path`` is in must not be a link. A link at ``path`` itself is refused (LinkRefused)."""
    path = Path(path)
    tmp_name = None
    try:
        if root is not None:
            safe_folder(root, path.parent.relative_to(root))
        else:
            check_not_link(path.parent)
        check_not_link(path)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:64]}.", suffix=".tmp")
        os.fchmod(fd, 0o666 & ~_UMASK)  # the mode a plain write would give (mkstemp's is private)
        mode = "wb" if binary else "w"
        text = {} if binary else {"encoding": "utf-8", "errors": "surrogateescape", "newline": ""}
        with os.fdopen(fd, mode, **text) as f:
            fill(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_name, path)
        tmp_name = None
    except OSError as exc:
        raise store_error(exc, path, "writing", before_samples) from exc
    finally:
        if tmp_name is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)


@contextlib.contextmanager
def translated(path: Path | str, doing: str, before_samples: bool = False) -> Iterator[None]:
    """Turn an OSError inside the block into a StoreError with one clear line."""
    try:
        yield
    except OSError as exc:
        raise store_error(exc, path, doing, before_samples) from exc


# ----------------------------------------------------------------------------------------------------
# The files an input depends on, and their content digests: one mechanism for every file a run is made of.
#
# A run's identity (:mod:`mattebench.runs.identity`) and each stored row (:mod:`mattebench.data.sample_inputs`) hold
# sha256 digests of the bytes that determined them. This module says which files those are and hashes them:
#
# - :func:`file_digest`: a regular file's sha256, never opening a fifo, device or socket (reading one
#   would block or never end): those, and missing files, get a marker that no digest equals.
# - :func:`dependent_files`: what an input path loads. A folder: every file under it (bounded by
#   ``MAX_TREE_FILES`` / ``MAX_TREE_BYTES``: a larger tree is refused with what to do, rather than
#   hashed for minutes on every run). An ONNX model: the files its tensors keep their weights in
#   (``external_data`` locations, read from the protobuf here, so neither onnx nor onnxruntime is needed).
# - :func:`combine`: one digest over (label, digest) pairs, independent of their order.
#
# It imports nothing of the project (like :mod:`mattebench.files`), so every part may use it.
# ----------------------------------------------------------------------------------------------------

MAX_TREE_FILES = 100_000
MAX_TREE_BYTES = 32 * 1024**3
CACHE_DIRS = ("__pycache__",)
CACHE_SUFFIXES = (".pyc", ".pyo")
MISSING = "missing"
NOT_REGULAR = "not a regular file"
_CHUNK = 1 << 20


def file_digest(path: str | os.PathLike[str]) -> str:
    """sha256 of a regular file's bytes; ``MISSING`` or ``NOT_REGULAR`` otherwise (never blocks on a fifo)."""
    try:
        # O_NONBLOCK: opening a fifo with no writer returns at once; fstat then refuses it.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        return MISSING
    except IsADirectoryError:
        return NOT_REGULAR
    with os.fdopen(fd, "rb", buffering=0) as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return NOT_REGULAR
        h = hashlib.sha256()
        while block := f.read(_CHUNK):
            h.update(block)
        return h.hexdigest()


def is_cache(parts: Iterable[str]) -> bool:
    """A path (as its parts) inside a byte-code cache: never part of what a method is."""
    parts = list(parts)
    return any(p in CACHE_DIRS for p in parts) or (bool(parts) and parts[-1].endswith(CACHE_SUFFIXES))


def tree_files(folder: str | os.PathLike[str], skip_hidden_dirs: bool = False) -> list[Path]:
    """Every file under ``folder`` except byte-code caches, sorted; TreeTooLarge above the bounds.

    Links to folders are not followed (a loop, or a link to ``/``, would never end); links to files are
    listed (their target's bytes are what a reader gets)."""
    out: list[Path] = []
    total = 0
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d not in CACHE_DIRS and not (skip_hidden_dirs and d.startswith(".")))
        for name in sorted(filenames):
            if name.endswith(CACHE_SUFFIXES):
                continue
            p = Path(dirpath, name)
            out.append(p)
            try:
                st = p.stat()
                total += st.st_size if stat.S_ISREG(st.st_mode) else 0
            except OSError:
                pass
            if len(out) > MAX_TREE_FILES or total > MAX_TREE_BYTES:
                raise TreeTooLarge(
                    f"{folder} holds more than {MAX_TREE_FILES:,} files or {MAX_TREE_BYTES // 1024**3} GiB; mattebench "
                    f"hashes every file a run depends on by content and will not read a tree this large on every run: "
                    f"name the file(s) the method loads, or move what it does not need out of the folder")
    return sorted(out)


def combine(entries: Iterable[tuple[str, str]]) -> str:
    """One sha256 over ``label<TAB>digest`` lines, sorted (labels may hold non-UTF-8 bytes)."""
    h = hashlib.sha256()
    for label, digest in sorted(set(entries)):
        h.update(f"{label}\t{digest}\n".encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def dependent_files(path: str | os.PathLike[str]) -> dict[str, Path]:
    """label -> file that ``path`` loads besides itself: a folder's files (labels relative to it), an ONNX
    model's external-data files (labels as the model names them). ``{}`` for other files."""
    p = Path(path)
    if p.is_dir():
        return {f.relative_to(p).as_posix(): f for f in tree_files(p)}
    if p.is_file() and looks_like_onnx(p):
        try:
            locations = onnx_external_locations(p)
        except NotOnnx:
            if p.suffix.lower() == ".onnx":
                raise  # named as a model, unreadable as one: what it loads cannot be known
            return {}  # a file that merely starts like one
        return {loc: p.parent / loc for loc in locations}
    return {}


# -- ONNX external data ---------------------------------------------------------------------------
# Field numbers of onnx.proto (checked against the onnx package in tests/test_trust_run_inputs.py).
_MODEL_GRAPH, _MODEL_FUNCTIONS = 7, 25
_GRAPH_NODE, _GRAPH_INITIALIZER, _GRAPH_SPARSE = 1, 5, 15
_NODE_ATTRIBUTE = 5
_ATTR_T, _ATTR_G, _ATTR_TENSORS, _ATTR_GRAPHS, _ATTR_SPARSE, _ATTR_SPARSES = 5, 6, 10, 11, 22, 23
_FUNC_NODE, _FUNC_ATTRIBUTE_PROTO = 7, 11
_TENSOR_EXTERNAL_DATA = 13
_SPARSE_VALUES, _SPARSE_INDICES = 1, 2
_ENTRY_KEY, _ENTRY_VALUE = 1, 2
_MAX_DEPTH = 64


def looks_like_onnx(path: Path) -> bool:
    """``.onnx`` by name, or a file that starts as every ONNX model does (field 1, ir_version, a varint)."""
    if path.suffix.lower() == ".onnx":
        return True
    try:
        with open(path, "rb") as f:
            head = f.read(2)
    except OSError:
        return False
    return len(head) == 2 and head[0] == 0x08 and head[1] < 0x80


def _varint(buf: memoryview, i: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if i >= len(buf) or shift > 63:
            raise NotOnnx("a varint runs past the end")
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7


def _fields(buf: memoryview) -> Iterator[tuple[int, object]]:
    """(field number, int or memoryview) of one protobuf message."""
    i, n = 0, len(buf)
    while i < n:
        key, i = _varint(buf, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
            yield field, value
        elif wire == 1:
            i += 8
        elif wire == 2:
            length, i = _varint(buf, i)
            if i + length > n:
                raise NotOnnx("a field runs past the end")
            yield field, buf[i:i + length]
            i += length
        elif wire == 5:
            i += 4
        else:
            raise NotOnnx(f"wire type {wire}")
        if i > n:
            raise NotOnnx("a field runs past the end")


def _sub(buf: memoryview, *numbers: int) -> Iterator[memoryview]:
    for field, value in _fields(buf):
        if field in numbers and isinstance(value, memoryview):
            yield value


def _tensor_location(tensor: memoryview) -> Optional[str]:
    for entry in _sub(tensor, _TENSOR_EXTERNAL_DATA):
        kv = {f: bytes(v) for f, v in _fields(entry) if isinstance(v, memoryview)}
        if kv.get(_ENTRY_KEY) == b"location":
            return kv.get(_ENTRY_VALUE, b"").decode("utf-8", "surrogateescape")
    return None


def _tensors_of_graph(graph: memoryview, depth: int) -> Iterator[memoryview]:
    if depth > _MAX_DEPTH:
        raise NotOnnx("graphs nested too deep")
    yield from _sub(graph, _GRAPH_INITIALIZER)
    for sparse in _sub(graph, _GRAPH_SPARSE):
        yield from _sub(sparse, _SPARSE_VALUES, _SPARSE_INDICES)
    for node in _sub(graph, _GRAPH_NODE):
        for attr in _sub(node, _NODE_ATTRIBUTE):
            yield from _tensors_of_attribute(attr, depth)


def _tensors_of_attribute(attr: memoryview, depth: int) -> Iterator[memoryview]:
    for field, value in _fields(attr):
        if not isinstance(value, memoryview):
            continue
        if field in (_ATTR_T, _ATTR_TENSORS):
            yield value
        elif field in (_ATTR_G, _ATTR_GRAPHS):
            yield from _tensors_of_graph(value, depth + 1)
        elif field in (_ATTR_SPARSE, _ATTR_SPARSES):
            yield from _sub(value, _SPARSE_VALUES, _SPARSE_INDICES)


def onnx_external_locations(path: Path) -> list[str]:
    """The ``location`` of every tensor stored outside the model file (initializers, sparse initializers,
    constants in nodes, subgraphs and functions), sorted. NotOnnx when the bytes are no ONNX model."""
    buf = memoryview(path.read_bytes())
    out: set[str] = set()
    try:
        graphs = list(_sub(buf, _MODEL_GRAPH))
        if not graphs:
            raise NotOnnx("no graph")
        tensors: list[memoryview] = []
        for g in graphs:
            tensors.extend(_tensors_of_graph(g, 0))
        for func in _sub(buf, _MODEL_FUNCTIONS):
            for node in _sub(func, _FUNC_NODE):
                for attr in _sub(node, _NODE_ATTRIBUTE):
                    tensors.extend(_tensors_of_attribute(attr, 0))
            for attr in _sub(func, _FUNC_ATTRIBUTE_PROTO):
                tensors.extend(_tensors_of_attribute(attr, 0))
        for t in tensors:
            loc = _tensor_location(t)
            if loc is not None:
                out.add(loc)
    except RecursionError as exc:
        raise NotOnnx("nested too deep") from exc
    return sorted(out)


def inside(root: Path, path: Path) -> bool:
    """True when ``path`` (resolved, links followed) lies inside ``root``."""
    try:
        real_root = Path(os.path.realpath(root))
        real = Path(os.path.realpath(path))
    except (OSError, ValueError):
        return False
    return real == real_root or real_root in real.parents

