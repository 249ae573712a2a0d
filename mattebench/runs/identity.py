"""What a run is: the method's code, its files, options and the dataset, as stored in run.json.

A resume may only add rows made by the same thing that made the rows already there. The identity
therefore holds, besides the names, options and dataset fingerprint:

- **the method's code**: the distribution (name, version) of the plug-in that registered it, how
  it was registered (entry point or code, and what a ``replace=True`` registration replaced), and
  a sha256 per source file that defines its factory. For mattebench's own methods (the
  ``baselines`` package) those are the factory's module and every ``baselines`` module it imports,
  transitively (``baselines/classical.py`` alone for knn; the modnet package and the common layers
  for MODNet), so that editing one baseline does not invalidate every other baseline's runs. For
  any other package: every file of the top-level package that holds the factory, not only its
  source (a plug-in may read weights or tables from its own folder), and every file its installed
  distribution lists (RECORD: code, data, scripts, metadata); byte-code caches are left out. A
  factory defined in a single module (a script, a test) hashes that module.
- **every file a method input depends on**, by the option that names it (``checkpoint``,
  ``backbone_checkpoint``, ``model``, ``dir`` ...): a file's sha256, and the files it loads in turn
  (an ONNX model's external-data files); a folder's digest over every file in it
  (:mod:`mattebench.files`). A checkpoint, a weights file or a folder changed in place is a
  different run.

The data a run reads is covered per row (:mod:`mattebench.data.sample_inputs`): each stored row holds a
digest of its sample's files, checked on resume.

:func:`differences` turns two identities into the sentences a refused resume prints.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import inspect
import os
import sys
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Optional

from mattebench import files as input_files
from mattebench.contract import MethodFactory
from mattebench.errors import UsageError

OWN_PACKAGES = ("mattebench_baselines",)
IDENTITY_VERSION = 2  # run.json written before this version has no method code: see store._check_settings


def _unwrap(factory: Any) -> Any:
    while True:
        if isinstance(factory, MethodFactory):  # a registered method: the function it wraps
            factory = factory.create
        elif hasattr(factory, "func") and callable(getattr(factory, "func")):  # functools.partial
            factory = factory.func
        else:
            break
    factory = inspect.unwrap(factory) if callable(factory) else factory
    if not (inspect.isfunction(factory) or inspect.isclass(factory) or inspect.ismethod(factory)):
        factory = type(factory)  # a callable instance: its class defines it
    return factory


def _module_file(module_name: str) -> Optional[Path]:
    mod = sys.modules.get(module_name)
    f = getattr(mod, "__file__", None)
    if f is None:
        try:
            spec = importlib.util.find_spec(module_name)
        except (ImportError, ValueError):
            return None
        f = getattr(spec, "origin", None) if spec is not None else None
    return Path(f).resolve() if f and os.path.isfile(f) else None


def _own_closure(module_name: str) -> list[Path]:
    """The module's file and every module of the same own package it imports, transitively."""
    top = module_name.split(".")[0]
    seen: dict[str, Path] = {}
    todo = [module_name]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        path = _module_file(name)
        if path is None:
            continue
        seen[name] = path
        parts = name.split(".")
        todo.extend(".".join(parts[:i]) for i in range(1, len(parts)))  # parent packages run first
        todo.extend(n for n in _imports(str(path), name) if n.split(".")[0] == top and n not in seen)
    return sorted(set(seen.values()))


@lru_cache(maxsize=None)
def _imports(path: str, module_name: str) -> tuple[str, ...]:
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return ()
    is_pkg = path.endswith("__init__.py")
    package = module_name if is_pkg else module_name.rpartition(".")[0]
    out: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - (node.level - 1)] if node.level > 1 else parts
                base = ".".join(p for p in [*parts, base] if p)
            out.append(base)
            out.extend(f"{base}.{a.name}" for a in node.names)  # `from pkg import module`
    return tuple(n for n in out if n)


def _package_files(module_name: str) -> tuple[Optional[Path], list[Path]]:
    """(root the labels are relative to, files) of the top-level package of a module: all of its files but
    byte-code caches and hidden folders (TreeTooLarge above input_files' bounds)."""
    top = module_name.split(".")[0]
    mod = sys.modules.get(top)
    paths = list(getattr(mod, "__path__", []) or [])
    if not paths:
        f = _module_file(module_name)
        return (f.parent, [f]) if f is not None else (None, [])
    files: list[Path] = []
    for p in paths:  # every file, not only source: a plug-in may read its weights or tables from its package
        files.extend(f.resolve() for f in input_files.tree_files(p, skip_hidden_dirs=True))
    return Path(paths[0]).resolve().parent, sorted(set(files))


def code_files(factory: Callable[..., Any]) -> tuple[Optional[Path], list[Path]]:
    """(root for labels, the source files that define ``factory``); see the module docstring."""
    target = _unwrap(factory)
    module_name = getattr(target, "__module__", None) or ""
    if not module_name or module_name == "__main__":
        try:
            f = inspect.getsourcefile(target)
        except (TypeError, OSError):
            f = None
        return (Path(f).resolve().parent, [Path(f).resolve()]) if f else (None, [])
    if module_name.split(".")[0] in OWN_PACKAGES:
        files = _own_closure(module_name)
        top = _module_file(module_name.split(".")[0])
        root = top.parent.parent if top is not None else (files[0].parent if files else None)
        return root, files
    return _package_files(module_name)


def _label(path: Path, root: Optional[Path]) -> str:
    try:
        return path.relative_to(root).as_posix() if root is not None else path.name
    except ValueError:
        return path.name


def distribution_of(factory: Callable[..., Any]) -> tuple[Optional[str], Optional[str]]:
    top = (getattr(_unwrap(factory), "__module__", "") or "").split(".")[0]
    try:
        names = metadata.packages_distributions().get(top) or []
    except Exception:  # a broken installation must not stop a run
        names = []
    for n in names:
        try:
            return n, metadata.version(n)
        except metadata.PackageNotFoundError:
            continue
    return None, None


def method_code(factory: Callable[..., Any], *, origin: Optional[str] = None, distribution: Optional[str] = None,
                version: Optional[str] = None, replaces: Optional[str] = None) -> dict[str, Any]:
    """The code part of a run identity (JSON-ready)."""
    if distribution is None:
        distribution, version = distribution_of(factory)
    try:
        root, files = code_files(factory)
    except input_files.TreeTooLarge as exc:
        raise UsageError(f"the package that defines the method is too large to hash: {exc}") from None
    per_file = {_label(f, root): input_files.file_digest(f) for f in files}
    if distribution is not None and not _is_own(factory):
        per_file.update(distribution_files(distribution))
    if not per_file:  # defined where no file holds it (a notebook cell): hash the source text itself
        try:
            source = inspect.getsource(_unwrap(factory))
            per_file["<source of the factory>"] = hashlib.sha256(source.encode("utf-8", "surrogateescape")).hexdigest()
        except (OSError, TypeError):
            pass
    total = hashlib.sha256()
    for label, digest in sorted(per_file.items()):
        total.update(f"{label}\t{digest}\n".encode())
    target = _unwrap(factory)
    return {
        "distribution": distribution,
        "version": version,
        "factory": f"{getattr(target, '__module__', '?')}:{getattr(target, '__qualname__', getattr(target, '__name__', '?'))}",
        "registration": origin,
        "replaces": replaces,
        "sha256": total.hexdigest() if per_file else None,
        "files": per_file,
    }


def _is_own(factory: Callable[..., Any]) -> bool:
    return (getattr(_unwrap(factory), "__module__", "") or "").split(".")[0] in OWN_PACKAGES


def distribution_files(name: str) -> dict[str, str]:
    """sha256 of every file an installed distribution lists (its RECORD: code, data, scripts, metadata),
    byte-code caches left out; labels as the RECORD writes them (relative to the install folder)."""
    try:
        dist = metadata.distribution(name)
    except (metadata.PackageNotFoundError, ValueError):
        return {}
    out: dict[str, str] = {}
    for f in dist.files or ():
        label = Path(str(f)).as_posix()
        if not input_files.is_cache(Path(label).parts):
            out[label] = input_files.file_digest(Path(str(dist.locate_file(f))))
    return out


def option_files(options: dict[str, Any]) -> dict[str, str]:
    """The digest of every file a method input depends on, by the option that names it (strings and lists of
    strings): a file's sha256, plus one entry per file it loads (``model -> weights.bin``: an ONNX model's
    external data); a folder's digest over all its files' names and contents. ``device`` names no input."""
    out: dict[str, str] = {}
    for key, value in sorted(options.items()):
        if key == "device":
            continue
        values = value if isinstance(value, (list, tuple)) else [value]
        for i, v in enumerate(values):
            if isinstance(v, (str, os.PathLike)) and str(v) and os.path.exists(v):
                out.update(_input_digests(key if len(values) == 1 else f"{key}[{i}]", Path(v)))
    return out


def _input_digests(label: str, path: Path) -> dict[str, str]:
    try:
        loads = input_files.dependent_files(path)
    except (input_files.TreeTooLarge, input_files.NotOnnx, OSError) as exc:
        raise UsageError(f"-m {label}={path}: cannot list the files it loads ({exc}), so the run's identity "
                         f"cannot cover them") from None
    digests = {name: input_files.file_digest(f) for name, f in loads.items()}
    if path.is_dir():
        return {label: input_files.combine(digests.items())}
    return {label: input_files.file_digest(path), **{f"{label} -> {name}": d for name, d in digests.items()}}


# -- comparing two identities ---------------------------------------------------------------------
def _short(v: Any) -> str:
    if isinstance(v, str) and len(v) == 64 and all(c in "0123456789abcdef" for c in v):
        return v[:12]  # a sha256: its prefix is enough to tell two apart
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def _dict_changes(what: str, old: Any, new: Any) -> list[str]:
    old = old if isinstance(old, dict) else {}
    new = new if isinstance(new, dict) else {}
    out = []
    for k in sorted(set(old) | set(new)):
        if old.get(k) != new.get(k):
            a = "absent" if k not in old else _short(old[k])
            b = "absent" if k not in new else _short(new[k])
            out.append(f"{what} {k}: {a} -> {b}")
    return out


def differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What changed between the stored identity and this run's, one readable item each."""
    out: list[str] = []
    oc, nc = old.get("method_code") or {}, new.get("method_code") or {}
    if oc != nc:
        for k in ("distribution", "version", "factory", "registration", "replaces"):
            if oc.get(k) != nc.get(k):
                out.append(f"method {k}: {_short(oc.get(k))} -> {_short(nc.get(k))}")
        of, nf = oc.get("files") or {}, nc.get("files") or {}
        for f in sorted(set(of) | set(nf)):
            if of.get(f) != nf.get(f):
                state = "added" if f not in of else "removed" if f not in nf else "changed"
                out.append(f"method source file {f} {state}")
    out += _dict_changes("file named by option", old.get("option_files"), new.get("option_files"))
    if old.get("checkpoint_sha256") != new.get("checkpoint_sha256") and not any("checkpoint" in d for d in out):
        out.append(f"checkpoint sha256: {_short(old.get('checkpoint_sha256'))} -> {_short(new.get('checkpoint_sha256'))}")
    out += _dict_changes("method option", old.get("method_options"), new.get("method_options"))
    out += _dict_changes("dataset option", old.get("dataset_options"), new.get("dataset_options"))
    for k, label in (("dataset_fingerprint", "dataset_fingerprint (the dataset's files, sizes or options)"), ("method", "method name"),
                     ("dataset", "dataset name"), ("metrics", "metrics")):
        if old.get(k) != new.get(k):
            out.append(f"{label}: {_short(old.get(k))} -> {_short(new.get(k))}")
    known = {"method_code", "option_files", "checkpoint_sha256", "method_options", "dataset_options", "dataset_fingerprint",
             "method", "dataset", "metrics"}
    for k in sorted((set(old) | set(new)) - known):
        if old.get(k) != new.get(k):
            out.append(f"{k}: {_short(old.get(k))} -> {_short(new.get(k))}")
    return out
