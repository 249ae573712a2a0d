"""Registries of methods and datasets (timm-style), fed by code and by entry points.

Names are explicit, stable strings. A factory is any callable returning a
:class:`~mattebench.contract.MattingMethod` (methods) or a :class:`~mattebench.types.Dataset` (datasets).
A method factory is stored as a :class:`~mattebench.contract.MethodFactory`: one made by the
:func:`~mattebench.contract.method` decorator carries its card; the card given at registration wins;
an old-style factory (a plug-in's function with a ``card`` attribute) has it read once, here; else
the card is defaulted.

Third-party packages register through the entry-point groups ``mattebench.methods`` and
``mattebench.datasets``: the entry-point *name* is the registered name and its *value* the
factory. mattebench's own ``baselines`` are registered exactly that way in its pyproject.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Callable, Optional, TypeVar

from mattebench.contract import MethodFactory, Predictor, as_method_factory
from mattebench.errors import MethodExited, RegistryError
from mattebench.methods.options import check_options
from mattebench.names import escaped, fold, name_problem
from mattebench.types import FAMILY_FREE, FAMILY_TRIMAP, DatasetCard, MethodCard

F = TypeVar("F", bound=Callable[..., Any])

OWN_DISTRIBUTION = "mattebench"  # the distribution whose entry points are mattebench's own methods and datasets
METHOD_GROUP = "mattebench.methods"
DATASET_GROUP = "mattebench.datasets"


@dataclass
class _Entry:
    name: str
    factory: Callable[..., Any]
    card: Any
    origin: str
    distribution: Optional[str] = None  # the installed package that provides it (entry points)
    version: Optional[str] = None
    replaces: Optional[str] = None  # origin of the registration this one replaced (replace=True)


class _Registry:
    def __init__(self, kind: str, group: str, card_type: type):
        self.kind = kind
        self.group = group
        self.card_type = card_type
        self._entries: dict[str, _Entry] = {}
        self._plugins_scanned = False
        self._pending: dict[str, Any] = {}  # entry points found but not imported yet
        self.broken: dict[str, str] = {}  # plug-in name -> reason it could not load

    # -- registration -------------------------------------------------------------------
    def register(
        self,
        name: str,
        factory: Callable[..., Any],
        card: Any = None,
        origin: str = "code",
        *,
        replace: bool = False,
        distribution: Optional[str] = None,
        version: Optional[str] = None,
    ) -> None:
        """Add ``name``; a name that exists (registered, or an installed entry point not yet
        imported) raises naming both origins, unless ``replace=True`` (recorded in run identities)."""
        if not isinstance(name, str) or not name or name != name.strip():
            raise RegistryError(f"{self.kind} names must be non-empty strings without surrounding spaces, got {name!r}")
        problem = name_problem(name)
        if problem is not None:
            raise RegistryError(f"{self.kind} name '{escaped(name)}' from {origin} was refused: {problem}. Use a name "
                                f"a reader can read and type (letters of one script, digits, '-', '_', '.').")
        self._scan()
        twin = self._look_alike(name)
        if twin is not None:
            raise RegistryError(
                f"{self.kind} '{escaped(name)}' from {origin} was refused: it looks like the {self.kind} {twin!r} "
                f"(from {self._origin_of(twin)}); names are compared as a reader sees them (case, width, invisible "
                f"characters, dashes and Cyrillic or Greek look-alikes ignored). Pick a name that differs visibly."
            )
        prev_origin = self._origin_of(name)
        if prev_origin is not None and not replace:
            raise RegistryError(
                f"{self.kind} {name!r} is already registered (from {prev_origin}); "
                f"a second registration from {origin} was refused. Pick another name, uninstall one of the two packages, "
                f"or pass replace=True to override it on purpose (run identities record the replacement)."
            )
        card = self._make_card(name, factory, card)
        if isinstance(card, MethodCard):
            factory = as_method_factory(factory, card)
        self._pending.pop(name, None)
        self._entries[name] = _Entry(name, factory, card, origin, distribution, version, prev_origin if replace else None)

    def _look_alike(self, name: str) -> Optional[str]:
        """Another registered or installed name that reads as ``name`` (:func:`mattebench.names.fold`)."""
        key = fold(name)
        return next((n for n in (*self._entries, *self._pending) if n != name and fold(n) == key), None)

    def _origin_of(self, name: str) -> Optional[str]:
        if name in self._entries:
            return self._entries[name].origin
        ep = self._pending.get(name)
        if ep is not None:
            return _ep_origin(ep)
        return None

    def _make_card(self, name: str, factory: Callable[..., Any], card: Any) -> Any:
        if card is None and isinstance(factory, MethodFactory):
            card = factory.card
        elif card is None:
            card = getattr(factory, "card", None)  # an old-style plug-in (a dataset class, a function with .card)
        if card is None:
            return self.card_type(name=name)
        if isinstance(card, dict):
            card = self.card_type(name=name, **card)
        if not isinstance(card, self.card_type):
            raise RegistryError(f"{self.kind} {name!r}: card must be a {self.card_type.__name__} or a dict, got {type(card).__name__}")
        if card.name != name:
            card = dataclasses.replace(card, name=name)
        if isinstance(card, MethodCard) and card.needs_trimap and card.family == FAMILY_FREE:
            card = dataclasses.replace(card, family=FAMILY_TRIMAP)
        return card

    def _scan(self) -> None:
        """Read the entry points' names (cheap: no import) once."""
        if self._plugins_scanned:
            return
        self._plugins_scanned = True
        for ep in sorted(metadata.entry_points(group=self.group), key=lambda e: e.name):
            first = self._pending.get(ep.name)
            if first is None and ep.name not in self._entries:
                self._pending[ep.name] = ep
            elif first is not None and (first.value, _dist_of(first)) != (ep.value, _dist_of(ep)):
                # Two installed packages claim one name: neither wins silently.
                reason = (f"{self.kind} {ep.name!r} is registered twice: by {_ep_origin(first)} and by {_ep_origin(ep)}; "
                          f"uninstall one of the two packages")
                self.broken[ep.name] = reason
                self._pending.pop(ep.name, None)
                warnings.warn(f"mattebench: {reason}.", stacklevel=3)
        self._refuse_look_alike_entry_points()

    def _refuse_look_alike_entry_points(self) -> None:
        """Installed names that cannot be read (invisible characters, mixed scripts) or that read as another
        installed name are not loaded. Among look-alikes, mattebench's own name stays and the others are refused;
        with none of mattebench's own among them, none wins (as for two packages claiming one name)."""
        groups: dict[str, list[str]] = {}
        for n in sorted(self._pending):
            problem = name_problem(n)
            if problem is not None:
                self._refuse_pending(n, f"{self.kind} name '{escaped(n)}' ({_ep_origin(self._pending[n])}) was refused: "
                                        f"{problem}; uninstall the package that provides it")
                continue
            groups.setdefault(fold(n), []).append(n)
        for names in groups.values():
            if len(names) < 2:
                continue
            eps = {n: self._pending[n] for n in names}
            own = [n for n in names if _dist_of(eps[n]) == OWN_DISTRIBUTION]
            for n in names:
                if n in own:
                    continue
                others = ", ".join(f"'{escaped(o)}' ({_ep_origin(eps[o])})" for o in names if o != n)
                self._refuse_pending(n, f"{self.kind} '{escaped(n)}' ({_ep_origin(eps[n])}) was refused: it "
                                        f"looks like {others}; uninstall one of the packages")

    def _refuse_pending(self, name: str, reason: str) -> None:
        self.broken[name] = reason
        self._pending.pop(name, None)
        warnings.warn(f"mattebench: {reason}.", stacklevel=4)

    def _load_one(self, name: str) -> None:
        """Import one plug-in on first use, so `run --method knn` does not import every network."""
        ep = self._pending.pop(name, None)
        if ep is None:
            return
        origin = _ep_origin(ep)
        try:
            factory = ep.load()
        except Exception as exc:  # a broken plug-in must not break the others
            reason = f"{type(exc).__name__}: {exc}"
            self.broken[ep.name] = reason
            warnings.warn(
                f"mattebench: the {self.kind} plug-in {ep.name!r} ({ep.value}) failed to load and is skipped: {reason}. "
                f"Reinstall or fix the package that provides it.",
                stacklevel=4,
            )
            return
        dist = getattr(ep, "dist", None)
        try:
            self.register(ep.name, factory, origin=origin, distribution=_dist_of(ep),
                          version=getattr(dist, "version", None))
        except RegistryError as exc:
            self.broken[ep.name] = str(exc)
            warnings.warn(f"mattebench: {exc}", stacklevel=4)

    def _load_plugins(self) -> None:
        self._scan()
        for name in sorted(self._pending):
            self._load_one(name)

    # -- lookup ---------------------------------------------------------------------------
    def names(self) -> list[str]:
        self._load_plugins()
        return sorted(self._entries)

    def entry(self, name: str) -> _Entry:
        self._scan()
        if name not in self._entries and name in self._pending:
            self._load_one(name)
        if name not in self._entries:
            self._load_plugins()  # for the list of known names in the message
            hint = ""
            if name in self.broken:
                hint = f" Its plug-in failed to load: {self.broken[name]}."
            else:
                import difflib

                close = difflib.get_close_matches(name, self._entries, n=3)
                if close:
                    hint = f" Did you mean {', '.join(repr(c) for c in close)}?"
            raise RegistryError(
                f"unknown {self.kind} {name!r}.{hint} Known {self.kind}s: {', '.join(sorted(self._entries))}. "
                f"`mattebench list` shows them with their cards."
            )
        return self._entries[name]

    def unregister(self, name: str) -> None:
        self._entries.pop(name, None)


def _dist_of(ep: Any) -> Optional[str]:
    dist = getattr(ep, "dist", None)
    return getattr(dist, "name", None) if dist is not None else None


def _ep_origin(ep: Any) -> str:
    dist = getattr(ep, "dist", None)
    where = f" (distribution {dist.name} {dist.version})" if dist is not None else ""
    return f"entry point {ep.name} = {ep.value}{where}"


_methods = _Registry("method", METHOD_GROUP, MethodCard)
_datasets = _Registry("dataset", DATASET_GROUP, DatasetCard)


def _call_factory(kind: str, name: str, factory: Callable[..., Any], args: tuple, options: dict[str, Any]) -> Any:
    """``factory(*args, **options)``; a factory that exits or moves the working directory is a MethodExited (exit 4),
    the directory put back, wherever it runs (a method host, ``bench``, ``predict``, ``train``)."""
    check_options(kind, name, factory, options)
    cwd = os.getcwd()
    try:
        built = factory(*args, **options)
    except SystemExit as exc:
        raise MethodExited(f"{kind} {name!r} called sys.exit({exc.code!r}) while being built: nothing was run. "
                           f"A factory must return the {kind} or raise; fix the plug-in") from None
    except (TypeError, ValueError) as exc:
        shown = {k: v for k, v in options.items() if k != "root"}
        if not shown:
            raise
        raise RegistryError(
            f"{kind} {name!r} rejected its options {shown}: {type(exc).__name__}: {exc}. "
            f"Fix the -{'m' if kind == 'method' else 'd'} values (if they are right, this is a bug in the {kind}: run again with --debug)."
        ) from exc
    finally:
        moved = _back_to(cwd)
    if moved is not None:
        raise MethodExited(f"{kind} {name!r} changed the working directory (os.chdir to {moved!r}) while being built: "
                           f"nothing was run. A {kind} must not change the process's working directory; fix the plug-in")
    return built


def _back_to(cwd: str) -> Optional[str]:
    try:
        now = os.getcwd()
    except OSError:  # the method moved into a folder and deleted it
        now = "<a deleted folder>"
    if now == cwd:
        return None
    os.chdir(cwd)
    return now


# -- methods ---------------------------------------------------------------------------------
def register_method(name: str, factory: Optional[F] = None, *, card: Optional[MethodCard | dict] = None, replace: bool = False) -> Any:
    """Register a method factory. Usable directly or as a decorator::

        @register_method("my-method", card=MethodCard("my-method", needs_trimap=False))
        def make(**options): return MyMethod(**options)

    ``factory`` may be a :class:`~mattebench.contract.MethodFactory` (``@mattebench.contract.method(card)``),
    whose card is used unless ``card=`` is given; any other callable is stored as one.

    A name that exists raises :class:`RegistryError` naming both origins; ``replace=True``
    overrides it on purpose, and the identity of every run of that method records it.
    """

    def deco(f: F) -> F:
        _methods.register(name, f, card, origin=f"code ({getattr(f, '__module__', '?')})", replace=replace)
        return f

    return deco(factory) if factory is not None else deco


def look_alike_method(name: str) -> Optional[str]:
    """A registered or installed method name, other than ``name`` itself, that reads as ``name`` (None: none).
    For names that are not registrations but become a board row (saved predictions' --name)."""
    _methods._scan()
    return _methods._look_alike(name)


def validate_method_options(name: str, options: dict[str, Any]) -> None:
    """Refuse unknown or badly typed options of ``name`` without building it (remote executors)."""
    entry = _methods.entry(name)
    check_options("method", name, entry.factory, options)


def create_method(name: str, /, **options: Any) -> Any:
    """Build a registered method with its options (``checkpoint=``, ``device=``, ...)."""
    entry = _methods.entry(name)
    method = _call_factory("method", name, entry.factory, (), options)
    if not isinstance(method, Predictor):
        raise RegistryError(f"method {name!r}: its factory returned {type(method).__name__}, which has no predict(image, trimap=None)")
    return method


def create_method_with(name: str, factory: Callable[..., Any], /, **options: Any) -> Any:
    """Build method ``name`` from its registered ``factory`` (a method host gets the factory of a name registered
    in code by pickle, as the registration exists only in the driver)."""
    method = _call_factory("method", name, factory, (), options)
    if not isinstance(method, Predictor):
        raise RegistryError(f"method {name!r}: its factory returned {type(method).__name__}, which has no predict(image, trimap=None)")
    return method


def list_methods() -> list[str]:
    return _methods.names()


def method_card(name: str) -> MethodCard:
    return _methods.entry(name).card


def method_entry(name: str) -> _Entry:
    """The registration of ``name``: factory, card, origin, distribution, what it replaced."""
    return _methods.entry(name)


def dataset_entry(name: str) -> _Entry:
    return _datasets.entry(name)


def unregister_method(name: str) -> None:
    """Remove a registration (tests, notebooks)."""
    _methods.unregister(name)


# -- datasets --------------------------------------------------------------------------------
def register_dataset(name: str, factory: Optional[F] = None, *, card: Optional[DatasetCard | dict] = None, replace: bool = False) -> Any:
    def deco(f: F) -> F:
        _datasets.register(name, f, card, origin=f"code ({getattr(f, '__module__', '?')})", replace=replace)
        return f

    return deco(factory) if factory is not None else deco


def load_dataset(name: str, root: Optional[str] = None, **options: Any) -> Any:
    """Open a registered dataset. ``root`` is the data root (see datasets/<name>/README.md).

    ``corrupt``, ``trimap_radius`` and ``trimap_adjust`` are reserved for every dataset: they are not
    passed to the factory but applied to what it returns (:mod:`mattebench.data.variant`).
    """
    from mattebench.data.variant import (  # here: mattebench.data imports this module
        split_variant_options,
        wrap,
    )

    options, variant = split_variant_options(options)  # a bad value fails before any data is read
    entry = _datasets.entry(name)
    ds = _call_factory("dataset", name, entry.factory, (), {"root": root, **options})
    if getattr(ds, "card", None) is None:
        ds.card = entry.card
    return wrap(ds, name, variant)


def check_dataset(name: str, root: Optional[str] = None, deep: bool = False, **options: Any) -> Any:
    """`mattebench data check`: open the registered dataset ``name`` and verify its tree
    (:func:`mattebench.data.check.check_opened`, a CheckReport). Unknown names raise RegistryError."""
    from mattebench.data.check import (
        check_opened,  # here: mattebench.data imports this module
    )

    return check_opened(name, lambda: load_dataset(name, root=root, **options), root=root, deep=deep)


def list_datasets() -> list[str]:
    return _datasets.names()


def dataset_card(name: str) -> DatasetCard:
    return _datasets.entry(name).card


def unregister_dataset(name: str) -> None:
    _datasets.unregister(name)


def broken_plugins() -> dict[str, str]:
    _methods._load_plugins()
    _datasets._load_plugins()
    return {**{f"method {k}": v for k, v in _methods.broken.items()}, **{f"dataset {k}": v for k, v in _datasets.broken.items()}}
