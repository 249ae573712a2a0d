"""Load only what is used (issue 23): saved predictions under the whole-image protocol decode two files per
sample (the prediction and the ground truth): no photo (its size comes from its header), no generated
trimap, and no trimap recipe in the record. The rows are those of a sample read in full. The breakdown
columns (issue 24: regions of the trimap) read the generated trimap; without them (``breakdowns=False``,
``run --no-breakdowns``) nothing but the two files is read."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest
from mattebench_baselines.saved_predictions import SavedPredictions

from mattebench.data import io, trimap
from mattebench.data.lazy_sample import LazySample, image_shape
from mattebench.data.ppm100 import PPM100
from mattebench.runs.runner import evaluate

IDS = ("a_portrait", "b_portrait", "c_portrait")
TIMING = ("predict_ms",)  # wall-clock columns: the only ones allowed to differ between two runs


def _tree(tmp: Path, size=(48, 64)) -> tuple[Path, Path]:
    """A PPM-100 layout (JPEG photos, PNG mattes) and a folder of 8-bit PNG predictions."""
    h, w = size
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[:h, :w]
    for k, sid in enumerate(IDS):
        disc = np.hypot(yy - h / 2, xx - w / 2 - k)
        alpha = np.clip((14 - disc) * 60, 0, 255).astype(np.uint8)
        photo = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
        for folder, name, arr in (("image", f"{sid}.jpg", photo), ("matte", f"{sid}.png", alpha)):
            (tmp / "PPM-100" / folder).mkdir(parents=True, exist_ok=True)
            assert cv2.imwrite(str(tmp / "PPM-100" / folder / name), arr)
        (tmp / "preds").mkdir(exist_ok=True)
        assert cv2.imwrite(str(tmp / "preds" / f"{sid}.png"), cv2.GaussianBlur(alpha, (5, 5), 0))
    return tmp, tmp / "preds"


@pytest.fixture
def decodes(monkeypatch):
    """Counts every decode: PIL decodes (photos, mattes, trimap files) and prediction files by file name,
    generated trimaps under ``"trimap"``."""
    seen: Counter = Counter()
    real_open, real_decoded, real_trimap = io._open, io._decoded, trimap.trimap_from_alpha

    def counting_open(path):
        seen[Path(path).parent.name + "/" + Path(path).name] += 1
        return real_open(path)

    def counting_decoded(data, p):
        seen["pred/" + Path(p).name] += 1
        return real_decoded(data, p)

    def counting_trimap(alpha, radius=None):
        seen["trimap"] += 1
        return real_trimap(alpha, radius)

    monkeypatch.setattr(io, "_open", counting_open)
    monkeypatch.setattr(io, "_decoded", counting_decoded)
    monkeypatch.setattr(trimap, "trimap_from_alpha", counting_trimap)
    return seen


class _Eager:
    """The dataset with every sample read in full when loaded (the photo decoded, the trimap generated),
    as before lazy loading: the reference for the rows."""

    def __init__(self, ds):
        self.ds, self.card = ds, ds.card

    def __getattr__(self, name):
        return getattr(self.ds, name)

    def load(self, sid):
        s = self.ds.load(sid)
        _ = s.image, s.trimap
        return s


def _rows(rows):
    return sorted(({k: v for k, v in r.items() if k not in TIMING} for r in rows), key=lambda r: r["id"])


def test_saved_predictions_whole_protocol_decode_two_files(tmp_path, decodes):
    root, preds = _tree(tmp_path)
    rows, record = evaluate(SavedPredictions(preds, name="blur"), PPM100(root), breakdowns=False)
    assert [r["status"] for r in rows] == ["ok"] * 3
    want = Counter({f"matte/{s}.png": 1 for s in IDS}) + Counter({f"pred/{s}.png": 1 for s in IDS})
    assert decodes == want  # no photo, no trimap: two decodes per sample
    assert record.provenance.trimap_recipe is None  # no recipe for a trimap nobody generated


def test_rows_equal_those_of_samples_read_in_full(tmp_path, decodes):
    root, preds = _tree(tmp_path)
    lazy, _ = evaluate(SavedPredictions(preds, name="blur"), PPM100(root), breakdowns=False)
    eager, _ = evaluate(SavedPredictions(preds, name="blur"), _Eager(PPM100(root)), breakdowns=False)
    assert decodes["trimap"] == 3 and decodes["image/a_portrait.jpg"] == 1  # only the eager run read them
    assert _rows(lazy) == _rows(eager)


def test_the_breakdowns_read_the_generated_trimap_and_record_its_recipe_but_never_the_photo(tmp_path, decodes):
    root, preds = _tree(tmp_path)
    rows, record = evaluate(SavedPredictions(preds, name="blur"), PPM100(root))
    assert [r["status"] for r in rows] == ["ok"] * 3 and all("sad_fg" in r for r in rows)
    assert decodes["trimap"] == 3 and not any(k.startswith("image/") for k in decodes)
    assert record.provenance.trimap_recipe["name"] == trimap.RECIPE_NAME
    eager, _ = evaluate(SavedPredictions(preds, name="blur"), _Eager(PPM100(root)))
    assert _rows(rows) == _rows(eager)


def test_a_method_that_reads_the_photo_and_trimap_gets_them(tmp_path, decodes):
    root, _ = _tree(tmp_path)
    rows, record = evaluate("trimap-midpoint", PPM100(root))
    assert [r["status"] for r in rows] == ["ok"] * 3
    assert decodes["trimap"] == 3 and record.provenance.trimap_recipe["name"] == trimap.RECIPE_NAME
    eager, _ = evaluate("trimap-midpoint", _Eager(PPM100(root)))
    assert _rows(rows) == _rows(eager)


def test_lazy_sample_reads_once_and_knows_its_shape(tmp_path, decodes):
    root, _ = _tree(tmp_path)
    s = PPM100(root).load("b_portrait")
    assert isinstance(s, LazySample) and image_shape(s) == (48, 64) and decodes["image/b_portrait.jpg"] == 0
    assert s.metadata["trimap_source"] == "generated:" + trimap.RECIPE_NAME  # how it is made, when it is read
    assert s.image.shape == (48, 64, 3) and s.image is s.image and decodes["image/b_portrait.jpg"] == 1
    assert np.array_equal(s.trimap, trimap.trimap_from_alpha(np.round(s.alpha * 255).astype(np.uint8)))
    assert decodes["trimap"] == 2  # once for the sample (kept), once for the comparison above


def test_a_truncated_photo_is_refused_when_read_and_ignored_when_not(tmp_path):
    root, preds = _tree(tmp_path)
    photo = root / "PPM-100" / "image" / "b_portrait.jpg"
    photo.write_bytes(photo.read_bytes()[: photo.stat().st_size // 2])  # the header survives
    rows, _ = evaluate("trimap-midpoint", PPM100(root))
    bad = {r["id"]: r for r in rows}["b_portrait"]
    assert bad["status"] == "error" and str(photo) in bad["error"]
    rows, _ = evaluate(SavedPredictions(preds, name="blur"), PPM100(root))
    assert [r["status"] for r in rows] == ["ok"] * 3  # the photo is no input of saved predictions


def test_a_photo_of_another_size_is_refused_from_its_header(tmp_path, decodes):
    root, preds = _tree(tmp_path)
    assert cv2.imwrite(str(root / "PPM-100" / "image" / "c_portrait.jpg"), np.zeros((40, 64, 3), np.uint8))
    rows, _ = evaluate(SavedPredictions(preds, name="blur"), PPM100(root))
    bad = {r["id"]: r for r in rows}["c_portrait"]
    assert bad["status"] == "error" and "image is 64x40" in bad["error"] and decodes["image/c_portrait.jpg"] == 0


def _by_name(root: Path, preds: Path, executor=None):
    """Saved predictions given by name (so that worker processes can build them) on the PPM-100 tree."""
    return evaluate("predictions", "ppm100", method_options={"dir": str(preds), "name": "blur"},
                    data_root=str(root), executor=executor)[0]


def test_rows_equal_serial_and_two_worker_processes(tmp_path):
    from mattebench.runs.executors.process import ProcessExecutor

    root, preds = _tree(tmp_path, size=(120, 90))
    serial = _by_name(root, preds)
    assert [r["status"] for r in serial] == ["ok"] * 3
    assert _rows(_by_name(root, preds, ProcessExecutor(jobs=2))) == _rows(serial)


@pytest.mark.ray
def test_rows_equal_serial_and_ray(tmp_path):
    pytest.importorskip("ray", reason="the ray extra is not installed (pip install 'mattebench[ray]')")
    from mattebench.runs.executors import RayExecutor

    root, preds = _tree(tmp_path, size=(120, 90))
    assert _rows(_by_name(root, preds, RayExecutor(workers=2))) == _rows(_by_name(root, preds))
