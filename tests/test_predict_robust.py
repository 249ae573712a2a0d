"""`mattebench predict` on a folder a user really has: a broken file, two files with one stem, a method
that returns NaN or the wrong shape or raises on one image. Each fails alone; the rest are written."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import pytest
from PIL import Image

from mattebench.commands.cli import main
from mattebench.data.io import read_alpha_u8
from mattebench.methods.registry import register_method, unregister_method
from mattebench.tracks.stream import output_names
from mattebench.types import MethodCard


class Picky:
    """Mean brightness as alpha; misbehaves on images whose top-left pixel holds a marker value."""

    def predict(self, image: np.ndarray, trimap: Optional[np.ndarray] = None) -> np.ndarray:
        h, w = image.shape[:2]
        marker = int(image[0, 0, 0])
        if marker == 1:
            return np.full((h, w), np.nan, np.float32)
        if marker == 2:
            return np.zeros((h + 1, w), np.float32)
        if marker == 3:
            raise RuntimeError("boom on this one")
        if marker == 4:
            raise SystemExit(5)
        return np.full((h, w), 0.5, np.float32)

    def predict_batch(self, images: list[np.ndarray]) -> list[np.ndarray]:
        return [self.predict(im) for im in images]


@pytest.fixture()
def picky():
    register_method("picky-test", lambda **o: Picky(), card=MethodCard("picky-test"))
    yield "picky-test"
    unregister_method("picky-test")


def _img(path: Path, marker: int = 0, size=(12, 10)) -> Path:
    arr = np.full((size[1], size[0], 3), 100, np.uint8)
    arr[0, 0, 0] = marker
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)
    return path


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_bad_file_is_skipped_and_reported_with_exit_3(tmp_path: Path, picky, capsys):
    src = tmp_path / "in"
    _img(src / "a.png")
    (src / "b.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    _img(src / "c.png")
    assert main(["predict", "--method", picky, "--input", str(src), "--out", str(tmp_path / "out"), "--quiet"]) == 3
    err = capsys.readouterr().err
    assert str(src / "b.png") in err and "1 of 3 input(s) failed" in err and "Traceback" not in err
    assert _names(tmp_path / "out" / "alpha") == ["a.png", "c.png"]


@pytest.mark.parametrize("batch", [1, 3])
def test_nan_wrong_shape_raise_and_exit_fail_alone_never_a_file_of_zeros(tmp_path: Path, picky, capsys, batch):
    src = tmp_path / "in"
    for name, marker in (("good1", 0), ("nan", 1), ("shape", 2), ("raises", 3), ("exits", 4), ("good2", 0)):
        _img(src / f"{name}.png", marker)
    code = main(["predict", "--method", picky, "--input", str(src), "--out", str(tmp_path / "out"), "--quiet",
                 "--batch", str(batch)])
    assert code == 3
    err = capsys.readouterr().err
    assert "4 of 6 input(s) failed" in err and "NaN" in err and "shape" in err and "boom on this one" in err
    assert "SystemExit" in err and "Traceback" not in err
    assert _names(tmp_path / "out" / "alpha") == ["good1.png", "good2.png"]
    assert _names(tmp_path / "out" / "composite") == ["good1.png", "good2.png"]
    assert read_alpha_u8(tmp_path / "out" / "alpha" / "good2.png").max() == 128


def test_same_stem_inputs_get_distinct_outputs(tmp_path: Path, picky):
    src = tmp_path / "in"
    _img(src / "a.png")
    Image.fromarray(np.full((10, 12, 3), 100, np.uint8)).save(src / "a.jpg", quality=95)
    _img(src / "b.png")
    assert main(["predict", "--method", picky, "--input", str(src), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    assert _names(tmp_path / "out" / "alpha") == ["a.jpg.png", "a.png.png", "b.png"]


def test_output_names_rule_is_deterministic_and_distinct():
    files = [Path(n) for n in ("A.png", "a.jpg", "a.jpg.png", "b.png", "b-2.png", "c.tif")]
    names = output_names(files)
    assert names == ["A.png", "a.jpg", "a.jpg-2", "b", "b-2", "c"]
    assert len({n.casefold() for n in names}) == len(names)
    assert output_names(files) == names


def test_trimap_with_stray_values_fails_that_image_unless_snapped(tmp_path: Path, capsys):
    src, tri = tmp_path / "in", tmp_path / "tri"
    _img(src / "a.png")
    _img(src / "b.png")
    tri.mkdir()
    t = np.full((10, 12), 128, np.uint8)
    t[:3] = 0
    Image.fromarray(t).save(tri / "a.png")
    t[5, 5] = 127
    Image.fromarray(t).save(tri / "b.png")
    args = ["predict", "--method", "closed-form", "--input", str(src), "--trimap", str(tri), "--out", str(tmp_path / "o"),
            "--quiet", "--background", "none"]
    assert main(args) == 3
    err = capsys.readouterr().err
    assert "127 (x1)" in err and str(tri / "b.png") in err
    assert main(args + ["--trimap-snap"]) == 0
    assert _names(tmp_path / "o" / "alpha") == ["a.png", "b.png"]


def test_unwritable_out_is_a_usage_error_before_any_prediction(tmp_path: Path, picky, capsys):
    _img(tmp_path / "in" / "a.png")
    (tmp_path / "file").write_text("x")
    assert main(["predict", "--method", picky, "--input", str(tmp_path / "in"), "--out", str(tmp_path / "file" / "o"), "--quiet"]) == 2
    assert "--out" in capsys.readouterr().err


def test_broken_link_and_folder_named_like_an_image_are_reported_not_missing(tmp_path: Path, picky, capsys):
    src = tmp_path / "in"
    _img(src / "a.png")
    (src / "gone.png").symlink_to(tmp_path / "nowhere.png")
    (src / "dir.jpg").mkdir()
    assert main(["predict", "--method", picky, "--input", str(src), "--out", str(tmp_path / "out"), "--quiet"]) == 3
    err = capsys.readouterr().err
    assert "2 of 3 input(s) failed" in err and "broken symbolic link" in err and "is a folder" in err
    assert _names(tmp_path / "out" / "alpha") == ["a.png"]
