"""Integration tests on real photographs and real pretrained models (../shared; skipped where absent).

Set MATTEBENCH_SHARED to point elsewhere. Nothing from ../shared is ever copied into the project.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from _shared_data import MODELS, SHARED, need_module
from _shared_data import need_path as need

from mattebench.commands.cli import main
from mattebench.data.io import write_alpha
from mattebench.methods.registry import create_method, load_dataset
from mattebench.metrics import definitions as R
from mattebench.metrics import fast as M
from mattebench.runs.runner import evaluate

PPM = SHARED / "realdata" / "ppm100-dev"
AM = SHARED / "realdata" / "alphamatting-lowres"
SELFIE = MODELS / "selfie_segmentation.tflite"


@pytest.fixture(scope="module")
def ppm():
    need(PPM / "PPM-100" / "image")
    return load_dataset("ppm100", root=str(PPM))


@pytest.fixture(scope="module")
def alphamatting():
    need(AM / "input_training_lowres")
    return load_dataset("alphamatting", root=str(AM))


# -- loaders and data check -------------------------------------------------------------------------
def test_ppm100_partial_tree_is_said_plainly_and_usable(ppm, capsys):
    assert ppm.partial == (41, 100) and len(ppm.ids()) == 41 and not ppm.problems
    assert main(["data", "check", "ppm100", "--data-root", str(PPM)]) == 0
    out = capsys.readouterr().out
    assert "PARTIAL TREE: 41 of 100 images" in out and "OK, PARTIAL: 41 of 100" in out
    stems = (PPM / "stems.txt").read_text().split()
    assert sorted(Path(s).stem for s in stems) == ppm.ids()
    s = ppm.load(ppm.ids()[0])
    assert s.image.dtype == np.uint8 and s.image.shape[2] == 3 and max(s.image.shape[:2]) == 1024
    assert s.alpha.shape == s.image.shape[:2] and 0 < float(s.alpha.mean()) < 1
    assert s.metadata["trimap_source"].startswith("generated")


def test_alphamatting_loads_with_official_trimaps(alphamatting):
    assert len(alphamatting.ids()) == 27 and not alphamatting.problems
    assert main(["data", "check", "alphamatting", "--data-root", str(AM)]) == 0
    s = alphamatting.load("GT01")
    assert set(np.unique(s.trimap)) <= {0, 128, 255} and (s.trimap == 128).any()
    assert s.metadata["trimap_source"] == "official"
    two = load_dataset("alphamatting", root=str(AM), trimap=2).load("GT01")
    assert (two.trimap == 128).sum() > (s.trimap == 128).sum()  # Trimap2 is the large band


def test_run_on_partial_tree_is_marked_subset(ppm, tmp_path):
    class Half:
        from mattebench.types import MethodCard

        card = MethodCard(name="half")

        def predict(self, image, trimap=None):
            return np.full(image.shape[:2], 0.5, np.float32)

    _, summary = evaluate(Half(), ppm, out=tmp_path / "runs", limit=2)
    assert summary.subset and "partial tree: 41" in summary.subset_reason
    assert summary.means["mse_whole"] > 0.1


# -- metrics on real mattes against the slow literal reference ---------------------------------------
def _crop(a: np.ndarray, trimap: np.ndarray, size: int = 160) -> tuple[slice, slice]:
    """A size x size window centred on the unknown band (hair), so that every metric has work to do."""
    ys, xs = np.nonzero(trimap == 128)
    cy, cx = int(np.median(ys)), int(np.median(xs))
    y0 = int(np.clip(cy - size // 2, 0, a.shape[0] - size))
    x0 = int(np.clip(cx - size // 2, 0, a.shape[1] - size))
    return slice(y0, y0 + size), slice(x0, x0 + size)


@pytest.mark.parametrize("sid", ["GT02", "GT13"])
def test_every_metric_on_real_mattes_matches_reference(alphamatting, sid):
    s = alphamatting.load(sid)
    win = _crop(s.alpha, s.trimap)
    gt, tri = M.quantize(s.alpha[win]), s.trimap[win]
    # A realistic error: the ground truth blurred and shifted (a plausible method's mistakes).
    from scipy import ndimage

    pred = M.quantize(np.clip(ndimage.gaussian_filter(np.roll(s.alpha, 2, axis=1), 1.5)[win], 0, 1))
    assert (tri == 128).sum() > 1000 and 0 < np.abs(pred.astype(int) - gt).sum()
    assert M.sad(pred, gt, tri) == pytest.approx(R.ref_sad(pred, gt, tri), rel=1e-12)
    assert M.mse(pred, gt, tri) == pytest.approx(R.ref_mse(pred, gt, tri), rel=1e-9)
    assert M.grad(pred, gt, tri) == pytest.approx(R.ref_grad(pred, gt, tri), rel=1e-5)
    assert M.conn(pred, gt, tri) == pytest.approx(R.ref_conn(pred, gt, tri), rel=1e-6)
    pf, gf = pred.astype(np.float32) / 255, gt.astype(np.float32) / 255
    assert M.mse_whole(pf, gf) == pytest.approx(R.ref_mse_whole(pf, gf), rel=1e-7)
    assert M.mad_whole(pf, gf) == pytest.approx(R.ref_mad_whole(pf, gf), rel=1e-7)


def test_whole_metrics_on_real_portrait_match_reference(ppm):
    s = ppm.load(ppm.ids()[3])
    pred = np.clip(s.alpha * 0.9 + 0.05, 0, 1).astype(np.float32)
    assert M.mse_whole(pred, s.alpha) == pytest.approx(R.ref_mse_whole(pred, s.alpha), rel=1e-7)
    assert M.mad_whole(pred, s.alpha) == pytest.approx(R.ref_mad_whole(pred, s.alpha), rel=1e-7)


# -- classical methods with the official trimaps -----------------------------------------------------
@pytest.mark.parametrize("method", ["closed-form", "knn"])
def test_classical_methods_on_real_images(alphamatting, method, tmp_path):
    """On two real images (downscaled to keep the test short) the solvers beat the trimap midpoint by far."""
    import cv2

    m = create_method(method)
    mid = create_method("trimap-midpoint")
    for sid in ("GT04", "GT18"):
        s = alphamatting.load(sid)
        h, w = s.alpha.shape
        size = (w // 3, h // 3)
        img = cv2.resize(s.image, size, interpolation=cv2.INTER_AREA)
        gt = cv2.resize(s.alpha, size, interpolation=cv2.INTER_AREA)
        tri = cv2.resize(s.trimap, size, interpolation=cv2.INTER_NEAREST)
        a = m.predict(img, tri)
        base = mid.predict(img, tri)
        sad, sad_mid = M.sad(M.quantize(a), M.quantize(gt), tri), M.sad(M.quantize(base), M.quantize(gt), tri)
        assert 0 < sad < 0.6 * sad_mid, (sid, sad, sad_mid)
        assert np.array_equal(a[tri == 255], np.ones_like(a[tri == 255])) and not a[tri == 0].any()


# -- the real pretrained segmentation models on real portraits ---------------------------------------
def test_selfie_model_is_plausible_on_real_portraits(ppm, tmp_path):
    need(SELFIE)
    need_module("ai_edge_litert")
    ids = ppm.ids()[:6]
    sub = _Subset(ppm, ids)
    _, selfie = evaluate("tflite", sub, method_options={"model": str(SELFIE), "preset": "mediapipe-selfie", "threads": 1,
                                                       "name": "selfie"}, out=tmp_path / "runs")
    _, mid = evaluate("trimap-midpoint", sub, out=tmp_path / "runs")
    assert selfie.counts.ok == len(ids)
    mse, mse_mid = selfie.means["mse_whole"], mid.means["mse_whole"]
    assert 0 < mse < mse_mid, (mse, mse_mid)
    assert mse < 0.05  # a working segmentation model (README measured 0.014 on 12 pairs)
    assert "segmentation model used as a trimap-free matting baseline".lower() in selfie.method_card.notes.lower()
    assert len(selfie.provenance.input["model_sha256"]) == 64


@pytest.mark.parametrize("file,preset", [("SINet_Softmax.onnx", "sinet-softmax"), ("SINet.onnx", "sinet"),
                                         ("prisma_nchw.onnx", "prisma-portrait")])
def test_onnx_segmentation_presets_on_real_portraits(ppm, file, preset):
    need(MODELS / file)
    need_module("onnxruntime")
    m = create_method("onnx", model=str(MODELS / file), preset=preset, threads=1)
    errs = []
    for sid in ppm.ids()[:4]:
        s = ppm.load(sid)
        a = m.predict(s.image)
        assert a.shape == s.alpha.shape and a.dtype == np.float32 and 0 <= a.min() and a.max() <= 1
        errs.append(M.mse_whole(a, s.alpha))
    assert 0 < float(np.mean(errs)) < 0.08, errs  # far better than a constant 0.5 (0.25)


def test_sinet_logits_and_softmax_files_agree(ppm):
    need(MODELS / "SINet.onnx")
    need_module("onnxruntime")
    s = ppm.load(ppm.ids()[0])
    a = create_method("onnx", model=str(MODELS / "SINet.onnx"), preset="sinet").predict(s.image)
    b = create_method("onnx", model=str(MODELS / "SINet_Softmax.onnx"), preset="sinet-softmax").predict(s.image)
    assert float(np.abs(a - b).max()) < 1e-4


def test_tflite_with_unexpected_input_shape_is_a_clear_error(tmp_path, capsys):
    landscape = MODELS / "selfie_segmentation_landscape.tflite"
    need(landscape)
    need_module("ai_edge_litert")
    from mattebench_baselines.exported.io_spec import ModelSpecError

    with pytest.raises(ModelSpecError, match=r"\[1, 144, 256, 3\].*256x256"):
        create_method("tflite", model=str(landscape), preset="mediapipe-selfie")
    rc = main(["run", "--method", "tflite", "-m", f"model={landscape}", "-m", "preset=mediapipe-selfie", "--dataset", "synthetic",
               "--limit", "1", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 2 and "144" in err and "Traceback" not in err
    m = create_method("tflite", model=str(landscape), preset="mediapipe-selfie-landscape")  # the right preset works
    assert m.predict(np.zeros((90, 160, 3), np.uint8)).shape == (90, 160)


def test_onnx_file_given_to_the_tflite_runner(tmp_path):
    need(MODELS / "SINet.onnx")
    need_module("ai_edge_litert")
    from mattebench_baselines.exported.io_spec import ModelSpecError

    with pytest.raises(ModelSpecError, match="cannot load it as a TFLite model"):
        create_method("tflite", model=str(MODELS / "SINet.onnx"))


# -- saved predictions on real PNGs ------------------------------------------------------------------
def test_predictions_folder_of_real_pngs(ppm, tmp_path, capsys):
    """Mattes written as ordinary 8-bit PNGs: the scores are those of the files, errors name the files."""
    ids = ppm.ids()[:3]
    d = tmp_path / "preds"
    want = {}
    for sid in ids:
        s = ppm.load(sid)
        pred = np.clip(s.alpha * 0.8 + 0.1, 0, 1)
        write_alpha(d / f"{sid}.png", pred)
        want[sid] = M.mse_whole(np.round(pred * 255).astype(np.float32) / 255, s.alpha)
    from mattebench_baselines.saved_predictions import SavedPredictions

    rows, summary = evaluate(SavedPredictions(d, name="real-pngs"), _Subset(ppm, ids))
    assert {r["id"]: r["mse_whole"] for r in rows} == pytest.approx(want, rel=1e-9)
    # CLI on the whole partial tree: 3 files for 41 samples -> 38 error rows naming the paths, exit 3
    rc = main(["run", "--predictions", str(d), "--dataset", "ppm100", "--data-root", str(PPM), "--name", "real-pngs",
               "--out", str(tmp_path / "runs"), "--quiet"])
    out = capsys.readouterr().out
    assert rc == 3 and "3/41 scored, 38 failed" in out and "no prediction for sample" in out and str(d) in out


class _Subset:
    """The first ids of a dataset (fast tests), with the dataset's card and a fingerprint of its own."""

    def __init__(self, ds, ids):
        self.ds, self._ids, self.card = ds, list(ids), ds.card

    def ids(self):
        return list(self._ids)

    def load(self, i):
        return self.ds.load(i)

    def fingerprint(self):
        return self.ds.fingerprint() + ":" + ",".join(self._ids)
