"""The engine behind `mattebench predict`, `train` and `export`, called without the command line:
compositing by hand, a folder job with failing inputs, and jobs refused before any model is built."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import pytest
from PIL import Image

from mattebench.data.io import read_alpha_u8, read_image
from mattebench.errors import MattebenchError
from mattebench.methods.registry import register_method, unregister_method
from mattebench.methods.train import TrainingError
from mattebench.methods.train.registered import TrainJob, train_registered
from mattebench.tracks.export import export
from mattebench.data.compose import BACKGROUND_CHOICES, check_background, composite
from mattebench.tracks.predict import PredictJob, predict_inputs
from mattebench.tracks.stream import Frame, predict_stream
from mattebench.types import MethodCard


class Quarter:
    """alpha 0.25 everywhere, NaN on images whose top-left red value is 1; counts its builds."""

    built = 0

    def __init__(self) -> None:
        Quarter.built += 1

    def predict(self, image: np.ndarray, trimap: Optional[np.ndarray] = None) -> np.ndarray:
        h, w = image.shape[:2]
        return np.full((h, w), np.nan if image[0, 0, 0] == 1 else 0.25, np.float32)


@pytest.fixture()
def quarter():
    Quarter.built = 0
    register_method("quarter-test", lambda **o: Quarter(), card=MethodCard("quarter-test"))
    yield "quarter-test"
    unregister_method("quarter-test")


def _img(path: Path, red: int, value: int = 200) -> None:
    arr = np.full((6, 8, 3), value, np.uint8)
    arr[0, 0, 0] = red
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)


def test_composite_by_hand():
    image = np.array([[[200, 100, 0], [10, 20, 30]]], np.uint8)
    alpha = np.array([[0.25, 1.0]], np.float32)
    # 0.25 * (200, 100, 0) + 0.75 * (0, 255, 0) = (50, 216.25, 0) -> (50, 216, 0); alpha 1 keeps the pixel
    np.testing.assert_array_equal(composite(image, alpha, "green"), [[[50, 216, 0], [10, 20, 30]]])
    # 0.25 * 200 + 0.75 * 255 = 241.25 -> 241; 0.25 * 100 + 191.25 = 216.25 -> 216; 0.75 * 255 = 191.25 -> 191
    np.testing.assert_array_equal(composite(image, alpha, "white"), [[[241, 216, 191], [10, 20, 30]]])
    rgba = composite(image, alpha, "transparent")
    assert rgba.shape == (1, 2, 4) and rgba[..., 3].tolist() == [[64, 255]]  # round(0.25 * 255) = round(63.75)
    with pytest.raises(MattebenchError, match="--background 'pink'"):
        composite(image, alpha, "pink")
    for name in BACKGROUND_CHOICES:
        check_background(name)
    with pytest.raises(MattebenchError, match="choose green, white, black, blue, transparent or none"):
        check_background("pink")


def test_folder_job_writes_the_good_inputs_and_names_each_failure(tmp_path: Path, quarter):
    src = tmp_path / "in"
    _img(src / "a.png", red=200)
    _img(src / "b.png", red=1)  # NaN matte
    (src / "c.png").write_bytes(b"not a png")
    _img(src / "d.png", red=200)
    skipped: list[str] = []
    outcome = predict_inputs(PredictJob(method=quarter, input=str(src), out=tmp_path / "out"), on_skip=skipped.append)
    assert outcome.written == 2 and len(outcome.failed) == 2
    assert list(outcome.failed) == skipped  # reported as they happen, in input order
    assert "b.png" in skipped[0] and "c.png" in skipped[1]
    assert sorted(p.name for p in (tmp_path / "out" / "alpha").iterdir()) == ["a.png", "d.png"]
    assert (read_alpha_u8(tmp_path / "out" / "alpha" / "a.png") == 64).all()  # round(0.25 * 255)
    comp = read_image(tmp_path / "out" / "composite" / "a.png")
    assert comp[1, 1].tolist() == [50, 241, 50]  # 0.25 * 200 + 0.75 * (0, 255, 0)


def test_stream_keeps_order_and_turns_an_unreadable_frame_into_its_error():
    frames = [Frame("x", "x.png", "x", np.full((2, 2, 3), 9, np.uint8)), Frame("y", "y.png", "y", None, "y.png: unreadable")]
    got = list(predict_stream(Quarter(), frames, batch=4, trimap=None, kind="folder"))
    assert [f.name for f, _, _ in got] == ["x", "y"]
    assert got[0][2] == "" and float(got[0][1].mean()) == 0.25
    assert got[1][1] is None and got[1][2] == "y.png: unreadable"


def test_impossible_jobs_are_refused_before_the_method_is_built(tmp_path: Path, quarter):
    _img(tmp_path / "one.png", red=200)
    with pytest.raises(MattebenchError, match="--ofd needs a sequence"):
        predict_inputs(PredictJob(method=quarter, input=str(tmp_path / "one.png"), out=tmp_path / "o", ofd=True))
    with pytest.raises(MattebenchError, match="--background 'pink'"):
        predict_inputs(PredictJob(method=quarter, input=str(tmp_path / "one.png"), out=tmp_path / "o", background="pink"))
    assert Quarter.built == 0 and not (tmp_path / "o").exists()


def test_train_and_export_refuse_a_method_without_the_capability(tmp_path: Path, quarter):
    with pytest.raises(TrainingError, match="is not trainable"):
        train_registered(TrainJob(method=quarter, dataset="synthetic", steps=1, out=tmp_path / "t", device="cpu"))
    assert not (tmp_path / "t").exists()
    with pytest.raises(MattebenchError, match="has no export path"):
        export(Quarter(), "torchscript", tmp_path / "q.pt")
