"""The files an input depends on, and their content digests: one mechanism for every file a run is made of.

A run's identity (:mod:`mattebench.identity`) and each stored row (:mod:`mattebench.sample_inputs`) hold
sha256 digests of the bytes that determined them. This module says which files those are and hashes them:

- :func:`file_digest`: a regular file's sha256, never opening a fifo, device or socket (reading one
  would block or never end): those, and missing files, get a marker that no digest equals.
- :func:`dependent_files`: what an input path loads. A folder: every file under it (bounded by
  ``MAX_TREE_FILES`` / ``MAX_TREE_BYTES``: a larger tree is refused with what to do, rather than
  hashed for minutes on every run). An ONNX model: the files its tensors keep their weights in
  (``external_data`` locations, read from the protobuf here, so neither onnx nor onnxruntime is needed).
- :func:`combine`: one digest over (label, digest) pairs, independent of their order.

It imports nothing of the project (like :mod:`mattebench.hashing`), so every part may use it.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path
from typing import Iterable, Iterator, Optional

MAX_TREE_FILES = 100_000
MAX_TREE_BYTES = 32 * 1024**3
CACHE_DIRS = ("__pycache__",)
CACHE_SUFFIXES = (".pyc", ".pyo")
MISSING = "missing"
NOT_REGULAR = "not a regular file"
_CHUNK = 1 << 20


class TreeTooLarge(ValueError):
    """A folder too large to hash on every run (the message says what to do)."""


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


class NotOnnx(ValueError):
    """The bytes are not an ONNX model's protobuf."""


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
