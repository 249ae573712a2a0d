"""The capability protocols of mattebench.contract, the @method decorator and the registry's old-style path."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import warnings
from typing import Any, Optional

import numpy as np
import pytest
import torch
from conftest import TinyDataset
from torch import nn

import mattebench
from mattebench.contract import (
    Adaptable,
    BatchPredictor,
    Exportable,
    GroundTruthWithheld,
    MattingMethod,
    MethodFactory,
    Predictor,
    ProvidesExampleInput,
    ReferenceMethod,
    SequencePredictor,
    StagedTraining,
    Trainable,
    TrainingDefaults,
    method,
    observer,
    stage_parameters,
    training_defaults,
    withheld,
)
from mattebench.errors import RegistryError
from mattebench import contract as ground_truth
from mattebench.methods.options import declared_options
from mattebench.methods.registry import method_entry, unregister_method
from mattebench.runs.identity import code_files, method_code
from mattebench.runs.runner import evaluate
from mattebench.scoring.scorer import Scorer, metric_columns
from mattebench.tracks.bench import timing_target
from mattebench.types import FAMILY_FREE, FAMILY_REFERENCE, Clip, MethodCard

CARD = MethodCard(name="cap-duck", needs_trimap=False)


class Half:
    card = CARD

    def predict(self, image: np.ndarray, trimap: Optional[np.ndarray] = None) -> np.ndarray:
        return np.full(image.shape[:2], 0.5, np.float32)


class TrainableDuck(Half):
    def __init__(self) -> None:
        self.model = nn.Sequential(nn.Conv2d(3, 2, 1), nn.Conv2d(2, 1, 1))

    def training_step(self, batch: dict[str, Any], stage: str) -> tuple[Any, dict[str, float]]:
        loss = self.model(batch["image"]).mean()
        return loss, {}

    def save_checkpoint(self, path: Any) -> None:
        torch.save(self.model.state_dict(), path)


@pytest.fixture(autouse=True)
def _fresh_warnings():
    ground_truth._warned.clear()
    yield
    ground_truth._warned.clear()


# -- the protocols ---------------------------------------------------------------------------------------
def test_a_method_is_a_card_and_predict():
    assert isinstance(Half(), MattingMethod) and isinstance(Half(), Predictor)

    class NoCard:
        def predict(self, image, trimap=None):
            return image[..., 0]

    assert isinstance(NoCard(), Predictor) and not isinstance(NoCard(), MattingMethod)
    assert not isinstance(object(), Predictor)


def test_the_old_types_method_name_is_the_contract():
    from mattebench.contract import MattingMethod as Method

    assert Method is MattingMethod


@pytest.mark.parametrize("missing", ["training_step", "save_checkpoint", "model"])
def test_a_duck_missing_one_training_member_is_not_trainable(missing):
    duck = TrainableDuck()
    assert isinstance(duck, Trainable)
    cls = type("Partial", (Half,), {k: getattr(TrainableDuck, k) for k in ("training_step", "save_checkpoint") if k != missing})
    obj = cls()
    if missing != "model":
        obj.model = duck.model
    assert not isinstance(obj, Trainable)


def test_each_capability_is_found_by_its_members_only():
    duck = Half()
    for proto in (SequencePredictor, BatchPredictor, Trainable, StagedTraining, Exportable, ProvidesExampleInput,
                  Adaptable, ReferenceMethod):
        assert not isinstance(duck, proto), proto.__name__
    duck.predict_sequence = lambda frames, trimaps=None: [np.zeros(f.shape[:2], np.float32) for f in frames]
    duck.observe = None  # a member set to None is no capability
    assert isinstance(duck, SequencePredictor) and not isinstance(duck, ReferenceMethod)


def test_training_defaults_fill_what_a_method_leaves_out():
    d = training_defaults(TrainableDuck())
    assert d == TrainingDefaults(1, {"name": "adam", "lr": 1e-4}, {"name": "constant"}, (("joint", 1.0),))

    class Declared(TrainableDuck):
        input_multiple = 16
        default_optimizer = {"name": "sgd", "lr": 0.01, "momentum": 0.9}
        train_stages = [["a", 0.25], ["b", 0.75]]

    d = training_defaults(Declared())
    assert d.input_multiple == 16 and d.optimizer["name"] == "sgd" and d.schedule == {"name": "constant"}
    assert d.stages == (("a", 0.25), ("b", 0.75))
    empty = Declared()
    empty.input_multiple, empty.train_stages = None, []  # empty declarations take the defaults too
    assert training_defaults(empty).input_multiple == 1 and training_defaults(empty).stages == (("joint", 1.0),)


def test_stage_parameters_are_the_methods_choice_else_the_whole_model():
    duck = TrainableDuck()
    assert not isinstance(duck, StagedTraining)
    assert len(stage_parameters(duck, "joint")) == len(list(duck.model.parameters()))

    class Staged(TrainableDuck):
        def stage_parameters(self, stage):
            return self.model[0].parameters()

    staged = Staged()
    assert isinstance(staged, StagedTraining)
    assert [id(p) for p in stage_parameters(staged, "x")] == [id(p) for p in staged.model[0].parameters()]


def test_bench_times_the_declared_input_or_export_module():
    class WithExample(TrainableDuck):
        def example_input(self, size, batch=1):
            return torch.ones(batch, 3, size, size)

    class WithExport(TrainableDuck):
        def export_module(self, height, width):
            return self.model[:1], torch.zeros(1, 3, height, width)

    module, make = timing_target(WithExample(), 8, False, torch.device("cpu"))
    assert torch.equal(make(2), torch.ones(2, 3, 8, 8))
    m = WithExport()
    module, make = timing_target(m, 8, False, torch.device("cpu"))
    assert module is not m.model and make(3).shape == (3, 3, 8, 8)


# -- ground truth ----------------------------------------------------------------------------------------
class Observer(Half):
    def __init__(self, family: str) -> None:
        self.card = MethodCard(name=f"cap-observer-{family}", family=family)
        self.seen = 0
        self.alpha: Optional[np.ndarray] = None

    def observe(self, item: Any) -> None:
        self.seen += 1
        self.alpha = item.alpha

    def predict(self, image, trimap=None):
        return self.alpha.astype(np.float32) if self.alpha is not None else super().predict(image, trimap)


def test_a_non_reference_method_with_observe_gets_the_warning_and_no_ground_truth():
    m = Observer(FAMILY_FREE)
    assert isinstance(m, ReferenceMethod) and withheld(m, m.card)
    with pytest.warns(GroundTruthWithheld, match="only methods of family 'reference'"):
        assert observer(m, m.card) is None
    ds = TinyDataset(n=2)
    scorer = Scorer(m, ds, m.card, metric_columns(ds.card))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GroundTruthWithheld)
        rows = [scorer.score(i) for i in ds.ids()]
    assert m.seen == 0 and all(r["status"] == "ok" and r["mse_whole"] > 0.001 for r in rows)


def test_a_reference_method_observes_before_predicting():
    m = Observer(FAMILY_REFERENCE)
    assert not withheld(m, m.card) and observer(m, m.card) == m.observe
    _, summary = evaluate(m, TinyDataset(n=2), method_name=m.card.name)
    assert m.seen == 2 and summary.means["mse_whole"] == pytest.approx(0.0, abs=1e-12)


# -- sequences -------------------------------------------------------------------------------------------
class Sequence(Half):
    def __init__(self) -> None:
        self.calls: list[int] = []

    def predict_sequence(self, frames, trimaps=None):
        self.calls.append(len(frames))
        return [np.full(f.shape[:2], 0.25, np.float32) for f in frames]


def _clip(n: int = 4) -> Clip:
    frames = [np.zeros((8, 10, 3), np.uint8) for _ in range(n)]
    return Clip(id="c", frames=frames, alphas={1: np.zeros((8, 10), np.float32), 2: np.zeros((8, 10), np.float32)})


def test_the_scorer_hands_a_sequence_predictor_the_whole_clip():
    from mattebench.types import DatasetCard

    class OneClip:
        card = DatasetCard(name="cap-clips", kind="video", protocols=("whole",))

        def ids(self):
            return ["c"]

        def load(self, i):
            return _clip()

    m = Sequence()
    ds = OneClip()
    row = Scorer(m, ds, m.card, metric_columns(ds.card)).score("c")
    assert row["status"] == "ok" and m.calls == [4] and row["mse_whole"] == pytest.approx(0.0625)


def test_modnet_ofd_is_a_class_with_predict_sequence():
    from mattebench_baselines.modnet import create_modnet

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain, ofd = create_modnet(), create_modnet(ofd="true")
    assert not isinstance(plain, SequencePredictor)
    assert isinstance(ofd, SequencePredictor) and "predict_sequence" not in vars(ofd)
    assert isinstance(ofd, BatchPredictor) and isinstance(ofd, Trainable) and isinstance(ofd, Exportable)
    assert ofd.card.name == "modnet" and isinstance(ofd, MattingMethod)


# -- registration ----------------------------------------------------------------------------------------
def _create(width: int = 4, height: Optional[int] = None) -> Half:
    """A test factory."""
    return Half()


def test_the_decorator_carries_card_and_options_and_keeps_the_function_visible():
    f = method(CARD, options={"width": int})(_create)
    assert isinstance(f, MethodFactory) and f.card is CARD and dict(f.option_types) == {"width": int}
    assert (f.__module__, f.__qualname__, f.__name__, f.__doc__) == (__name__, "_create", "_create", "A test factory.")
    assert inspect.signature(f) == inspect.signature(_create)
    assert isinstance(f(), Half)
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.card = MethodCard(name="other")  # type: ignore[misc]
    with pytest.raises(TypeError, match="MethodCard"):
        method({"name": "x"})(_create)  # type: ignore[arg-type]
    assert declared_options(f) == {"width": int}
    assert code_files(f)[1] == code_files(_create)[1]


def test_the_decorator_works_on_a_partial():
    variant = method(dataclasses.replace(CARD, name="cap-variant"))(functools.partial(_create, width=9))
    assert variant.__module__ == __name__ and variant.__qualname__ == "_create"
    assert declared_options(variant) == {"width": int, "height": Optional[int]}  # _create's annotations
    assert method_code(variant)["factory"] == f"{__name__}:_create"
    mattebench.register_method("cap-variant", variant)
    try:
        assert method_entry("cap-variant").factory is variant
        assert mattebench.method_card("cap-variant").name == "cap-variant"
        assert isinstance(mattebench.create_method("cap-variant", height=3), Half)
        with pytest.raises(RegistryError, match="does not take option"):
            mattebench.create_method("cap-variant", depth=3)
    finally:
        unregister_method("cap-variant")


def test_an_old_style_plugin_factory_with_a_card_attribute_still_registers():
    """Third-party plug-ins written before the decorator: the card (and option_types) are read once, at registration."""

    def make(**options: Any) -> Half:
        return Half()

    make.card = MethodCard(name="cap-old", needs_trimap=False, paper="Someone 2025")  # type: ignore[attr-defined]
    make.option_types = {"width": int}  # type: ignore[attr-defined]
    mattebench.register_method("cap-old", make)
    try:
        entry = method_entry("cap-old")
        assert isinstance(entry.factory, MethodFactory) and entry.factory.create is make
        assert entry.card.paper == "Someone 2025" and entry.factory.card == entry.card
        make.card = MethodCard(name="cap-old", paper="changed later")  # type: ignore[attr-defined]
        assert mattebench.method_card("cap-old").paper == "Someone 2025"  # read once
        assert entry.factory.__module__ == __name__ and method_code(entry.factory)["factory"].endswith("make")
        with pytest.raises(RegistryError, match="accepts: width"):
            mattebench.create_method("cap-old", height=2)
    finally:
        unregister_method("cap-old")


def test_a_factory_returning_no_predictor_is_refused():
    mattebench.register_method("cap-nothing", method(dataclasses.replace(CARD, name="cap-nothing"))(lambda: object()))
    try:
        with pytest.raises(RegistryError, match="no predict"):
            mattebench.create_method("cap-nothing")
    finally:
        unregister_method("cap-nothing")
