"""The method contract: what a matting method must provide, what it may add, and how it is registered.

A method is any object that satisfies :class:`MattingMethod` (a ``card`` and
``predict(image, trimap=None) -> alpha``). Everything else is an optional *capability*, one small
:class:`typing.Protocol` each, and mattebench finds it with ``isinstance`` (never by probing names):

=====================  ===================================================  ===========================
protocol               members                                              used by
=====================  ===================================================  ===========================
SequencePredictor      ``predict_sequence(frames, trimaps=None)``           the scorer, on video clips
BatchPredictor         ``predict_batch(images)``                            ``mattebench predict``
Trainable              ``model``, ``training_step``, ``save_checkpoint``    ``mattebench train``
StagedTraining         ``stage_parameters(stage)``                          the train loop
Exportable             ``export_module(height, width)``                     ``export``, ``bench``
ProvidesExampleInput   ``model``, ``example_input(size, batch)``            ``bench``
TorchModel             ``model``                                            ``bench``
Adaptable              ``adapt(source, ...)``                               ``mattebench adapt``
ReferenceMethod        ``observe(item)`` (ground truth!)                    the scorer, family reference
ForegroundPredictor    ``predict_foreground(image, alpha)``                 the scorer: foreground error
=====================  ===================================================  ===========================

A trainable method may also declare training defaults as class or instance attributes
(``input_multiple``, ``default_optimizer``, ``default_schedule``, ``train_stages``); each is optional
and :func:`training_defaults` reads them into one frozen :class:`TrainingDefaults`.

Factories are registered with the :func:`method` decorator, which carries the card and the declared
option types in a frozen :class:`MethodFactory`::

    @method(MethodCard("my-method", needs_trimap=True, family=FAMILY_TRIMAP), options={"radius": int})
    def create_my_method(**options): return MyMethod(**options)

``functools.partial`` objects are decorated the same way (``method(card)(partial(create, variant="b"))``).
A factory of a third-party plug-in that still carries a ``card`` (and ``option_types``) attribute keeps
working: the registry reads both once, at registration, into a MethodFactory
(:func:`as_method_factory`).
"""

from __future__ import annotations

import functools
import os
import warnings
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import (
    Any,
    Callable,
    Iterable,
    Mapping,
    Optional,
    Protocol,
    Sequence,
    runtime_checkable,
)

import numpy as np

from mattebench.types import FAMILY_REFERENCE, MethodCard


@runtime_checkable
class Predictor(Protocol):
    """``predict(image, trimap=None) -> alpha``: what every factory must return.

    image HxWx3 uint8 RGB; trimap HxW uint8 {0,128,255} or None; returns HxW float32 in [0, 1].
    """

    def predict(self, image: np.ndarray, trimap: Optional[np.ndarray] = None) -> np.ndarray: ...


@runtime_checkable
class MattingMethod(Predictor, Protocol):
    """The method contract: a :class:`~mattebench.types.MethodCard` and ``predict``.

    A method without its own ``card`` attribute is still scored (the registry's card is used), but every
    method mattebench ships has one (tests/test_method_contract.py checks it).
    """

    card: MethodCard


# -- capabilities ----------------------------------------------------------------------------------------


@runtime_checkable
class SequencePredictor(Protocol):
    """Takes a whole clip: one matte per frame, in order (temporal methods: OFD, recurrent nets)."""

    def predict_sequence(self, frames: Sequence[np.ndarray], trimaps: Optional[Sequence[Any]] = None) -> list[np.ndarray]: ...


@runtime_checkable
class ForegroundPredictor(Protocol):
    """Predicts the foreground colour too: ``predict_foreground(image, alpha) -> HxWx3`` float in [0, 1] (or uint8),
    given the photo and the alpha this method just predicted for it. Scored where the dataset has the true
    foreground (RobustVideoMatting's fgr MAD/MSE, :mod:`mattebench.metrics.foreground`). Asked where the method
    predicts: in the scoring process for a method object, in its method host for a method built by name, which sends
    the foreground back with the alpha. A run must know before predicting: the registered factory is the class itself
    or a function annotated to return it (:func:`mattebench.methods.host.declares_foreground`).
    """

    def predict_foreground(self, image: np.ndarray, alpha: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class BatchPredictor(Protocol):
    """Predicts several images in one call (throughput on a GPU); one matte per image, at its size."""

    def predict_batch(self, images: Sequence[np.ndarray]) -> list[np.ndarray]: ...


@runtime_checkable
class TorchModel(Protocol):
    """Holds its network as ``model`` (an ``nn.Module``: the caller checks the type)."""

    model: Any


@runtime_checkable
class Trainable(Protocol):
    """What the shared train loop (:mod:`mattebench.methods.train.loop`) needs.

    ``training_step(batch, stage) -> (scalar loss tensor, {part name: float})``; ``save_checkpoint(path)``
    writes weights that ``checkpoint=PATH`` loads again. Defaults are optional: :func:`training_defaults`.
    """

    model: Any

    def training_step(self, batch: dict[str, Any], stage: str) -> tuple[Any, dict[str, float]]: ...

    def save_checkpoint(self, path: str | os.PathLike[str]) -> None: ...


@runtime_checkable
class StagedTraining(Protocol):
    """Chooses the parameters each training stage updates (without it every stage trains the whole model)."""

    def stage_parameters(self, stage: str) -> Iterable[Any]: ...


@runtime_checkable
class Exportable(Protocol):
    """``export_module(height, width) -> (inference-only nn.Module, example input tensor)``."""

    def export_module(self, height: int, width: int) -> tuple[Any, Any]: ...


@runtime_checkable
class ProvidesExampleInput(Protocol):
    """``example_input(size, batch)``: the tensor ``model`` takes for ``batch`` images of ``size`` (bench)."""

    model: Any

    def example_input(self, size: int, batch: int = 1) -> Any: ...


@runtime_checkable
class Adaptable(Protocol):
    """Self-supervised adaptation to unlabelled photos (MODNet's SOC); returns the logged rows."""

    def adapt(self, source: str | os.PathLike[str], **options: Any) -> list[dict[str, Any]]: ...


@runtime_checkable
class ReferenceMethod(Protocol):
    """``observe(item)`` is handed the whole sample, ground truth included, before ``predict``.

    Only methods whose card family is ``reference`` are ever called through it
    (:mod:`mattebench.contract` holds the rule); they never appear on a leaderboard.
    """

    def observe(self, item: Any) -> None: ...


def is_reference(method: Any, card: MethodCard) -> bool:
    """True when ``method`` may see the ground truth: it observes and its family is ``reference``."""
    return isinstance(method, ReferenceMethod) and card.family == FAMILY_REFERENCE


# -- training defaults -----------------------------------------------------------------------------------

DEFAULT_OPTIMIZER: Mapping[str, Any] = MappingProxyType({"name": "adam", "lr": 1e-4})
DEFAULT_SCHEDULE: Mapping[str, Any] = MappingProxyType({"name": "constant"})
DEFAULT_STAGES: tuple[tuple[str, float], ...] = (("joint", 1.0),)


@runtime_checkable
class _DeclaresInputMultiple(Protocol):
    input_multiple: int


@runtime_checkable
class _DeclaresOptimizer(Protocol):
    default_optimizer: Mapping[str, Any]


@runtime_checkable
class _DeclaresSchedule(Protocol):
    default_schedule: Mapping[str, Any]


@runtime_checkable
class _DeclaresStages(Protocol):
    train_stages: Sequence[tuple[str, float]]


@dataclass(frozen=True)
class TrainingDefaults:
    """A trainable method's declared defaults, each filled in where the method leaves it out (or empty).

    ``input_multiple``: training crops must be a multiple of it (1: any size); ``optimizer`` and
    ``schedule``: specs for :func:`mattebench.methods.train.loop.make_optimizer` / ``schedule_factor``;
    ``stages``: (name, fraction of the steps) in order.
    """

    input_multiple: int = 1
    optimizer: Mapping[str, Any] = field(default_factory=lambda: dict(DEFAULT_OPTIMIZER))
    schedule: Mapping[str, Any] = field(default_factory=lambda: dict(DEFAULT_SCHEDULE))
    stages: tuple[tuple[str, float], ...] = DEFAULT_STAGES


def training_defaults(method: Any) -> TrainingDefaults:
    """The defaults ``method`` declares; a missing or empty declaration takes mattebench's default."""
    multiple = int((method.input_multiple if isinstance(method, _DeclaresInputMultiple) else 1) or 1)
    optimizer = (method.default_optimizer if isinstance(method, _DeclaresOptimizer) else None) or DEFAULT_OPTIMIZER
    schedule = (method.default_schedule if isinstance(method, _DeclaresSchedule) else None) or DEFAULT_SCHEDULE
    stages = (method.train_stages if isinstance(method, _DeclaresStages) else None) or DEFAULT_STAGES
    return TrainingDefaults(multiple, dict(optimizer), dict(schedule), tuple(tuple(s) for s in stages))  # type: ignore[misc]


def stage_parameters(method: Trainable, stage: str) -> list[Any]:
    """The parameters ``stage`` trains: the method's choice (:class:`StagedTraining`), else the whole model."""
    if isinstance(method, StagedTraining):
        return list(method.stage_parameters(stage))
    return list(method.model.parameters())


# -- registration ----------------------------------------------------------------------------------------


def _innermost(create: Callable[..., Any]) -> Callable[..., Any]:
    """The function a factory finally calls (through partials and MethodFactories)."""
    while True:
        if isinstance(create, MethodFactory):
            create = create.create
        elif isinstance(create, functools.partial):
            create = create.func
        else:
            return create


@dataclass(frozen=True, eq=False)
class MethodFactory:
    """A method factory with its card and the types of the options it takes.

    Calling it calls ``create``. It carries ``__module__``, ``__qualname__``, ``__name__`` and ``__doc__`` of
    the function it wraps (of ``partial.func`` for a partial) and ``__wrapped__`` = ``create``, so that
    ``inspect.signature``, worker processes (which import the factory's module) and run identities (which
    hash its source files) see the real function. ``option_types`` (None: read from the signature) is what
    :mod:`mattebench.methods.options` checks ``-m`` options against when ``create`` takes ``**options``.
    """

    create: Callable[..., Any]
    card: MethodCard
    option_types: Optional[Mapping[str, Any]] = None

    def __post_init__(self) -> None:
        if not callable(self.create):
            raise TypeError(f"a method factory must be callable, got {type(self.create).__name__}")
        if not isinstance(self.card, MethodCard):
            raise TypeError(f"a method factory's card must be a MethodCard, got {type(self.card).__name__}")
        if self.option_types is not None:
            object.__setattr__(self, "option_types", MappingProxyType(dict(self.option_types)))
        # Named like the function it finally calls: a partial has no name of its own (and its class's module).
        inner = _innermost(self.create)
        named = inner if isinstance(self.create, functools.partial) else self.create
        for attr in ("__module__", "__qualname__", "__name__", "__doc__"):
            value = getattr(named, attr, None)
            if value is not None:
                object.__setattr__(self, attr, value)
        object.__setattr__(self, "__wrapped__", self.create)

    def __call__(self, *args: Any, **options: Any) -> Any:
        return self.create(*args, **options)

    def __repr__(self) -> str:
        return f"MethodFactory({self.card.name!r}, {getattr(self, '__module__', '?')}:{getattr(self, '__qualname__', '?')})"


def method(card: MethodCard, *, options: Optional[Mapping[str, Any]] = None) -> Callable[[Callable[..., Any]], MethodFactory]:
    """Decorator: ``create`` becomes a :class:`MethodFactory` carrying ``card`` (and ``options``: name -> type,
    for a factory taking ``**options``). Register it under ``card.name`` (an entry point in the
    ``mattebench.methods`` group, or :func:`mattebench.register_method`)."""

    def deco(create: Callable[..., Any]) -> MethodFactory:
        return MethodFactory(create, card, options)

    return deco


def as_method_factory(factory: Callable[..., Any], card: MethodCard) -> MethodFactory:
    """``factory`` with ``card`` as a MethodFactory (the registry's one path for every registration).

    A MethodFactory keeps its option types; an old-style factory (a plug-in's function with ``card`` /
    ``option_types`` attributes, or a bare callable) has them read here, once.
    """
    if isinstance(factory, MethodFactory):
        return factory if factory.card == card else MethodFactory(factory.create, card, factory.option_types)
    declared = getattr(factory, "option_types", None)  # the old plug-in declaration (see options_check)
    return MethodFactory(factory, card, declared if isinstance(declared, Mapping) else None)


# ----------------------------------------------------------------------------------------------------
# What a method itself adds to a run's provenance (beyond its options): e.g. the input rule a MODNet applied
# and whether it came from the option, the checkpoint or the default (baselines/modnet/method.py).
# ----------------------------------------------------------------------------------------------------

@runtime_checkable
class ReportsProvenance(Protocol):
    def provenance(self) -> dict[str, Any]: ...


@runtime_checkable
class RelaysWorkerProvenance(Protocol):
    """An executor whose workers build the method (the driver holds none) and pass its provenance back."""

    def worker_method_provenance(self) -> dict[str, Any]: ...


def method_provenance(method: Any, executor: Any = None) -> dict[str, Any]:
    """The method's own provenance entries: from the driver's method object, else from the executor's workers
    (local worker processes build it there, e.g. ``run --jobs N``), else {} (methods without them)."""
    if method is not None and isinstance(method, ReportsProvenance):
        return dict(method.provenance())
    if method is None and isinstance(executor, RelaysWorkerProvenance):
        return dict(executor.worker_method_provenance())
    return {}


# ----------------------------------------------------------------------------------------------------
# Who may see the ground truth: only methods whose card family is ``reference``.
#
# ``observe(item)`` (:class:`mattebench.contract.ReferenceMethod`) hands a method the whole sample,
# ground truth included; it exists for sanity checks such as gt-echo (every metric must be 0). Any
# other method that defines ``observe`` is
# never called through it (a method that reads the answer would publish a perfect score); it gets
# one warning per method name, and its predictions are scored as usual. Reference methods, in turn,
# never appear in leaderboards, the site or the paper tables (:func:`mattebench.report.published.publishable`).
# ----------------------------------------------------------------------------------------------------

_warned: set[str] = set()


class GroundTruthWithheld(UserWarning):
    """A non-reference method asked for the ground truth and did not get it."""


def withheld(method: Any, card: MethodCard) -> bool:
    """True when ``method`` defines ``observe`` but its family may not see the ground truth."""
    return isinstance(method, ReferenceMethod) and not is_reference(method, card)


def warn_withheld(card: MethodCard, stacklevel: int = 3) -> None:
    """The one warning per method name (in the process that reports to the user: workers stay quiet)."""
    if card.name in _warned:
        return
    _warned.add(card.name)
    warnings.warn(
        f"method {card.name!r} (family {card.family!r}) defines observe(), which would hand it the ground truth; "
        f"only methods of family 'reference' (kept off every leaderboard) get it, so it is never called",
        GroundTruthWithheld,
        stacklevel=stacklevel,
    )


def observer(method: Any, card: MethodCard) -> Optional[Callable[[Any], None]]:
    """The method's ``observe`` when it may see the ground truth, else None (with a warning once)."""
    if not isinstance(method, ReferenceMethod):
        return None
    if is_reference(method, card):
        return method.observe
    warn_withheld(card, stacklevel=4)
    return None
