"""The method contract, checked on every registered method (built-in, classical, reference, plug-ins).

predict(image, trimap=None) -> HxW float32 in [0,1], same size, deterministic; trimap-based methods
refuse a missing trimap and keep the known regions; trimap-free ones ignore a trimap; trainable
torch methods take one optimiser step per training stage. Images are tiny (64 x 96) so the whole
file stays cheap on 2 CPU cores; the training smoke of networks above 30 M parameters is marked slow.
"""

from __future__ import annotations

import inspect
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from _shared_data import MODELS, need_module

import mattebench
from mattebench.contract import (
    Exportable,
    MattingMethod,
    MethodFactory,
    ProvidesExampleInput,
    ReferenceMethod,
    SequencePredictor,
    Trainable,
    stage_parameters,
    training_defaults,
)
from mattebench.errors import MattebenchError
from mattebench.methods.registry import method_entry
from mattebench.runs.runner import USER_INPUT_METHODS
from mattebench.types import (
    FAMILY_FREE,
    FAMILY_REFERENCE,
    FAMILY_TRIMAP,
    Clip,
    MethodCard,
    Sample,
)

H, W = 64, 96
METHODS = mattebench.list_methods()
# Networks above 30 M parameters (DIM 130.6 M, HAtt 104 M, SHM 74.6 M, LFM 37.6 M): their training
# smoke is marked slow. Their predict contract always runs.
HEAVY = {"dim", "dim-free", "hatt", "shm", "lfm"}


def _factory_takes(name: str, option: str) -> bool:
    """Whether the method's factory names ``option`` explicitly (not through **kwargs)."""
    for ep in metadata.entry_points(group="mattebench.methods"):
        if ep.name == name:
            try:
                return option in inspect.signature(ep.load()).parameters
            except (TypeError, ValueError):
                return False
    return False


def _tiny_onnx_image_model() -> str:
    """A small conv + sigmoid network exported to ONNX (dynamic H and W): the onnx runner's contract input."""
    import tempfile

    need_module("onnx")
    need_module("onnxruntime")
    path = Path(tempfile.mkdtemp(prefix="contract-onnx-")) / "tiny.onnx"
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(4, 1, 3, padding=1), torch.nn.Sigmoid()).eval()
    torch.onnx.export(net, (torch.zeros(1, 3, 32, 32),), str(path), input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {2: "h", 3: "w"}, "output": {2: "h", 3: "w"}}, dynamo=False)
    return str(path)


def _user_input_options(name: str) -> dict[str, Any]:
    """Methods built from a user's file get one (tests/test_exported_models.py and test_saved_predictions.py hold the rest)."""
    if name == "predictions":
        pytest.skip("saved predictions are looked up by sample id (SavedPredictionSource.prediction_for), not predict(image): "
                    "tests/test_saved_predictions.py holds their contract")
    if name == "onnx":
        return {"model": _tiny_onnx_image_model(), "name": "tiny-onnx"}
    shared = MODELS / "selfie_segmentation.tflite"
    if not shared.exists():
        pytest.skip(f"no TFLite model to build the tflite method from ({shared} is absent)")
    need_module("ai_edge_litert")
    return {"model": str(shared), "preset": "mediapipe-selfie", "threads": 1}


def make_method(name: str) -> Any:
    if name in USER_INPUT_METHODS:
        return mattebench.create_method(name, **_user_input_options(name))
    # Trimap-free methods upscale small images to their reference size (512, MODNet's rule); a
    # reference size equal to the test image keeps the contract test cheap without changing the code path.
    options = {"ref_size": min(H, W)} if _factory_takes(name, "ref_size") and not mattebench.method_card(name).needs_trimap else {}
    return mattebench.create_method(name, **options)


def make_sample() -> Sample:
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float64)
    r = np.hypot(yy - H / 2, xx - W / 2)
    a8 = np.clip(np.round((20.0 - r) / 6.0 * 255), 0, 255).astype(np.uint8)
    rng = np.random.default_rng(1)
    fg = rng.integers(100, 256, (H, W, 3), dtype=np.uint8)
    bg = rng.integers(0, 120, (H, W, 3), dtype=np.uint8)
    a = a8[..., None] / 255.0
    image = np.round(a * fg + (1 - a) * bg).astype(np.uint8)
    trimap = np.full((H, W), 128, np.uint8)
    trimap[r > 26] = 0
    trimap[r < 12] = 255
    return Sample(id="contract", image=image, alpha=a8.astype(np.float32) / 255, trimap=trimap, fg=fg, bg=bg)


def predict(method: Any, sample: Sample, trimap: Any) -> np.ndarray:
    if isinstance(method, ReferenceMethod):
        method.observe(sample)
    return method.predict(sample.image.copy(), None if trimap is None else trimap.copy())


@pytest.fixture(scope="module")
def sample() -> Sample:
    return make_sample()


def test_every_planned_baseline_is_registered():
    for name in ("dim", "dim-free", "indexnet", "fdmpa", "lfm", "shm", "bshm", "hatt"):
        assert name in METHODS


@pytest.mark.parametrize("name", METHODS)
def test_card(name):
    card = mattebench.method_card(name)
    assert card.name == name
    assert card.family in (FAMILY_TRIMAP, FAMILY_FREE, FAMILY_REFERENCE)
    assert isinstance(card.needs_trimap, bool)
    assert (card.family == FAMILY_TRIMAP) == card.needs_trimap or card.family == FAMILY_REFERENCE
    assert card.code_licence and card.weights_licence and card.input_size


@pytest.mark.parametrize("name", METHODS)
def test_predict_contract(name, sample):
    method = make_method(name)
    card = mattebench.method_card(name)
    trimap = sample.trimap if card.needs_trimap else None
    alpha = predict(method, sample, trimap)
    assert isinstance(alpha, np.ndarray)
    assert alpha.shape == (H, W) and alpha.dtype == np.float32
    assert np.isfinite(alpha).all()
    assert alpha.min() >= 0.0 and alpha.max() <= 1.0
    again = predict(method, sample, trimap)
    np.testing.assert_array_equal(alpha, again)  # deterministic
    if card.needs_trimap:
        # known regions are kept (solvers holding them as soft constraints get a small tolerance)
        off = max(np.abs(alpha[sample.trimap == 0]).max(), np.abs(alpha[sample.trimap == 255] - 1).max())
        assert off <= 0.02
        if not isinstance(method, ReferenceMethod):
            with pytest.raises((MattebenchError, ValueError)):
                method.predict(sample.image.copy(), None)
    else:
        with_trimap = predict(method, sample, sample.trimap)
        np.testing.assert_array_equal(alpha, with_trimap)  # a trimap-free method ignores a trimap


def _training_batch(sample: Sample, batch: int = 2) -> dict[str, torch.Tensor]:
    def img(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(a).permute(2, 0, 1).float().div(255)[None].repeat(batch, 1, 1, 1)

    fg, bg = img(sample.fg), img(sample.bg)
    alpha = torch.from_numpy(sample.alpha)[None, None].repeat(batch, 1, 1, 1)
    tri = torch.from_numpy(sample.trimap.astype(np.float32) / 255)[None, None].repeat(batch, 1, 1, 1)
    tri = torch.round(tri * 2) / 2  # {0, 0.5, 1}
    image = alpha * fg + (1 - alpha) * bg
    return {"image": image, "alpha": alpha, "trimap": tri, "fg": fg, "bg": bg}


def _trainable(name: str) -> bool:
    return mattebench.method_card(name).trainable


TRAINABLE = [n for n in METHODS if _trainable(n)]


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in HEAVY else n for n in TRAINABLE])
def test_one_training_step_per_stage(name, sample):
    method = make_method(name)
    model = method.model
    assert isinstance(model, torch.nn.Module)
    stages = [s for s, _ in training_defaults(method).stages]
    batch = _training_batch(sample)
    torch.manual_seed(0)
    model.train()
    for stage in stages:
        params = stage_parameters(method, stage)
        assert params, f"stage {stage} has no parameters"
        before = [p.detach().clone() for p in params]
        opt = torch.optim.SGD(params, lr=1e-2)
        opt.zero_grad()
        loss, parts = method.training_step(batch, stage)
        assert loss.dim() == 0 and torch.isfinite(loss), (stage, loss)
        assert all(isinstance(v, float) for v in parts.values())
        loss.backward()
        opt.step()
        changed = sum(not torch.equal(b, p.detach()) for b, p in zip(before, params))
        assert changed > 0, f"stage {stage}: no parameter moved"
    model.eval()


# -- what each method declares (mattebench.contract) ------------------------------------------------------
def _own_entry_point(name: str) -> Any:
    """The object mattebench's own pyproject registers under ``name`` (None for other plug-ins)."""
    for ep in metadata.entry_points(group="mattebench.methods"):
        if ep.name == name and ep.value.startswith("mattebench_baselines."):
            return ep.load()
    return None


@pytest.mark.parametrize("name", METHODS)
def test_factory_is_a_method_factory_carrying_its_card(name):
    entry = method_entry(name)
    assert isinstance(entry.factory, MethodFactory)
    assert entry.factory.card == entry.card and entry.card.name == name
    loaded = _own_entry_point(name)
    if loaded is not None:  # a shipped method: decorated in its module, not given its card by the registry
        assert isinstance(loaded, MethodFactory), f"{name}: register it with @mattebench.contract.method(card)"
        assert loaded.card == mattebench.method_card(name)
        assert loaded.__module__ == entry.factory.__module__ and loaded.__module__.startswith("mattebench_baselines.")


def _clip(n: int = 3) -> Clip:
    sample = make_sample()
    frames = [np.roll(sample.image, 2 * i, axis=1) for i in range(n)]
    alphas = {i: np.roll(sample.alpha, 2 * i, axis=1) for i in range(n)}
    trimaps = {i: np.roll(sample.trimap, 2 * i, axis=1) for i in range(n)}
    return Clip(id="contract-clip", frames=frames, alphas=alphas, trimaps=trimaps)


def _check_sequence(method: Any, card: MethodCard) -> None:
    clip = _clip()
    if isinstance(method, ReferenceMethod) and card.family == FAMILY_REFERENCE:
        method.observe(clip)
    trimaps = [clip.trimaps[i] for i in range(len(clip.frames))] if card.needs_trimap else None
    out = list(method.predict_sequence(list(clip.frames), trimaps))
    assert len(out) == len(clip.frames), "a SequencePredictor returns one matte per input frame"
    for a in out:
        a = np.asarray(a)
        assert a.shape == (H, W) and np.isfinite(a).all() and a.min() >= 0.0 and a.max() <= 1.0


@pytest.mark.parametrize("name", METHODS)
def test_method_has_the_capabilities_its_card_declares(name):
    method = make_method(name)
    card = mattebench.method_card(name)
    assert isinstance(method, MattingMethod) and isinstance(method.card, MethodCard)
    if card.trainable:
        assert isinstance(method, Trainable), f"{name}: the card says trainable, so it needs model, training_step, save_checkpoint"
        assert isinstance(method.model, torch.nn.Module)
        defaults = training_defaults(method)
        assert defaults.input_multiple >= 1 and defaults.stages and "lr" in defaults.optimizer
    if isinstance(method, ReferenceMethod):
        assert card.family == FAMILY_REFERENCE, f"{name} defines observe() (ground truth) but its family is {card.family!r}"
    if isinstance(method, SequencePredictor):
        _check_sequence(method, card)
    if isinstance(method, Exportable) or isinstance(method, ProvidesExampleInput):
        assert isinstance(method.model, torch.nn.Module)


@pytest.mark.parametrize("name", [n for n in METHODS if _factory_takes(n, "ofd")])
def test_ofd_variants_are_sequence_predictors(name):
    """-m ofd=true: the method takes whole clips, one matte per frame (a class method, not one set on an instance)."""
    options = {"ofd": True, "ref_size": min(H, W)} if _factory_takes(name, "ref_size") else {"ofd": True}
    with pytest.warns(UserWarning, match="UNTRAINED"):
        method = mattebench.create_method(name, **options)
    assert isinstance(method, SequencePredictor) and "predict_sequence" not in vars(method)
    _check_sequence(method, mattebench.method_card(name))
