"""Options of a method or dataset factory, checked before anything is built or scored.

A factory states what it accepts in one of two ways:

- its signature (keyword parameters; annotations or defaults give the types), or
- when it takes ``**options``, a declared mapping ``{"name": type, ...}`` (a type, a tuple of types, or
  ``typing.Any``): ``@method(card, options={...})`` for a method (:mod:`mattebench.contract`), or an
  ``option_types`` attribute on a dataset factory or an old-style plug-in factory.

A :class:`~mattebench.contract.MethodFactory` is seen through: its signature and annotations are the
function's it wraps (through ``functools.partial``: the partial's remaining parameters).

A factory with ``**options`` and no declaration accepts anything (a plug-in that forwards options
itself); every mattebench method declares its options. Unknown keys are refused with the list of
valid ones; a value of the wrong type (``-m ref_size=abc``) is refused with the expected type; a number outside
the range its declaration states (``Annotated[int, AtLeast(1)]``: ``-m ref_size=0``) is refused with the range.
"""

from __future__ import annotations

import functools
import inspect
import os
import typing
from collections.abc import Mapping, Sequence
from typing import Any, Callable, Optional, Union

from mattebench.contract import MethodFactory
from mattebench.errors import OptionTypeError, RegistryError
from mattebench.types import AtLeast

_NOT_OPTIONS = ("root", "self")


def declared_options(factory: Callable[..., Any]) -> Optional[dict[str, Any]]:
    """name -> expected type for every option ``factory`` accepts; None when it accepts any name."""
    if isinstance(factory, MethodFactory):
        declared: Any = factory.option_types
        factory = factory.create
    else:
        declared = getattr(factory, "option_types", None)  # datasets and old-style plug-ins
    if isinstance(declared, Mapping):
        return dict(declared)
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):
        return None
    params = [p for p in sig.parameters.values() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    if any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values()):
        return None
    hints = _hints(factory)
    out: dict[str, Any] = {}
    for p in params:
        if p.name in _NOT_OPTIONS:
            continue
        if p.name in hints:
            out[p.name] = hints[p.name]
        elif p.default is not inspect.Parameter.empty and p.default is not None:
            out[p.name] = type(p.default)
        else:
            out[p.name] = Any
    return out


def _hints(factory: Callable[..., Any]) -> dict[str, Any]:
    while isinstance(factory, functools.partial):  # a variant: the annotations are its function's
        factory = factory.func
    target = factory.__init__ if inspect.isclass(factory) else factory  # type: ignore[misc]
    try:
        return typing.get_type_hints(target, include_extras=True)  # keeps Annotated ranges (AtLeast)
    except Exception:  # unresolvable string annotations: fall back to the defaults' types
        return {}


def check_options(kind: str, name: str, factory: Callable[..., Any], options: Mapping[str, Any]) -> None:
    """Raise RegistryError for an unknown option name, OptionTypeError for a wrong type."""
    accepted = declared_options(factory)
    if accepted is None:
        return
    given = {k: v for k, v in options.items() if k not in _NOT_OPTIONS}
    unknown = [k for k in given if k not in accepted]
    flag = "-m" if kind == "method" else "-d"
    if unknown:
        via = [k for k in unknown if k in ("device", "checkpoint")]
        raise RegistryError(
            f"{kind} {name!r} does not take option(s) {', '.join(unknown)}; it accepts: "
            f"{', '.join(sorted(accepted)) or 'no options'}. Check the {flag} KEY=VALUE arguments"
            + (f" (--{via[0]} is passed as the option {via[0]})." if via else ".")
        )
    for key, value in given.items():
        expected = accepted[key]
        if not fits(value, expected):
            hint = f"for example {flag} {key}={_example(expected)}"
            if isinstance(value, (int, float, bool)) and fits("x", expected):
                hint += f"; quote text that looks like a number or true/false: {flag} {key}='\"{value}\"'"
            raise OptionTypeError(
                f"{kind} {name!r}: option {key}={value!r} is {type(value).__name__}, expected {describe(expected)} ({hint})."
            )
        bound = out_of_range(value, expected)
        if bound is not None:
            raise OptionTypeError(f"{kind} {name!r}: option {key}={value!r} is out of range: {key} must be {bound}; "
                                  f"fix the {flag} {key}=... value (or leave it out for the default).")


def _ranges(hint: Any) -> list[AtLeast]:
    """The AtLeast bounds of an annotation, found through Optional/Union and Annotated."""
    if typing.get_origin(hint) is typing.Annotated:
        base, *meta = typing.get_args(hint)
        return [m for m in meta if isinstance(m, AtLeast)] + _ranges(base)
    if typing.get_origin(hint) is Union or str(typing.get_origin(hint)) == "types.UnionType":
        return [b for h in typing.get_args(hint) for b in _ranges(h)]
    return []


def out_of_range(value: Any, hint: Any) -> Optional[AtLeast]:
    """The bound of ``hint`` that the number ``value`` breaks, or None (None, text and in-range numbers)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return next((b for b in _ranges(hint) if not b.admits(value)), None)


def fits(value: Any, hint: Any) -> bool:
    """Whether ``value`` is acceptable for the annotation ``hint`` (unknown hints accept anything)."""
    if hint is Any or hint is inspect.Parameter.empty or isinstance(hint, (str, typing.TypeVar)):
        return True
    origin = typing.get_origin(hint)
    if origin is typing.Annotated:  # the type is the first argument; its range is checked by out_of_range
        return fits(value, typing.get_args(hint)[0])
    if origin is Union or str(origin) == "types.UnionType":
        return any(fits(value, h) for h in typing.get_args(hint))
    if origin is typing.Literal:
        return value in typing.get_args(hint)
    if hint is type(None):
        return value is None
    if isinstance(hint, tuple):
        return any(fits(value, h) for h in hint)
    base = origin or hint
    if base is bool:
        return isinstance(value, bool)
    if base is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if base is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if base is str:
        return isinstance(value, str)
    if base in (os.PathLike,) or (isinstance(base, type) and issubclass(base, os.PathLike)):
        return isinstance(value, (str, os.PathLike))
    if base in (list, tuple, Sequence) or base is typing.Sequence:
        return isinstance(value, (list, tuple))
    if base in (dict, Mapping) or base is typing.Mapping:
        return isinstance(value, Mapping)
    if isinstance(base, type):
        try:
            return isinstance(value, base)
        except TypeError:
            return True
    return True


def describe(hint: Any) -> str:
    if isinstance(hint, tuple):
        return " or ".join(describe(h) for h in hint)
    origin = typing.get_origin(hint)
    if origin is typing.Annotated:
        base, *meta = typing.get_args(hint)
        return " ".join([describe(base), *(str(m) for m in meta if isinstance(m, AtLeast))])
    if origin is Union or str(origin) == "types.UnionType":
        return " or ".join(describe(h) for h in typing.get_args(hint))
    if hint is type(None):
        return "null"
    names = {bool: "true or false", int: "an integer", float: "a number", str: "text", dict: "a JSON object", list: "a JSON list"}
    return names.get(origin or hint, getattr(hint, "__name__", str(hint)))


def _example(hint: Any) -> str:
    if typing.get_origin(hint) is typing.Annotated:
        hint = typing.get_args(hint)[0]
    for h in (typing.get_args(hint) or (hint,)) if not isinstance(hint, tuple) else hint:
        ex = {bool: "true", int: "512", float: "0.5", str: "text", dict: "'{}'", list: "'[1,2]'"}.get(typing.get_origin(h) or h)
        if ex:
            return ex
    return "VALUE"
