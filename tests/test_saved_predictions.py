"""Scoring saved predictions (run --predictions) and run --save-alphas round trips."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import TinyDataset, disc_sample
from mattebench_baselines.saved_predictions import SavedPredictions

from mattebench.commands.cli import main
from mattebench.data.io import quantise16, read_prediction, to_uint16, write_alpha16
from mattebench.errors import MattebenchError, RunConflict
from mattebench.methods.registry import register_dataset, unregister_dataset
from mattebench.metrics import fast as M
from mattebench.runs.runner import UnmatchedPredictions
from mattebench.runs.runner import evaluate
from mattebench.types import ExternalInput, SavedPredictionSource


def blurred(i: int) -> np.ndarray:
    """A fractional prediction for TinyDataset sample i (the GT shifted and softened)."""
    a = disc_sample(i).alpha.astype(np.float64)
    return np.clip(0.5 * a + 0.5 * np.roll(a, 1, axis=1) * 0.9 + 0.03, 0, 1).astype(np.float32)


class BlurMethod:
    """A deterministic trimap-free method with fractional output (no GT access)."""

    def __init__(self):
        from mattebench.types import MethodCard

        self.card = MethodCard(name="blur-test")
        self.calls = 0

    def predict(self, image, trimap=None):
        self.calls += 1
        g = image.astype(np.float32).mean(axis=2) / 255.0
        return np.clip(0.2 + 0.6 * g + 0.001 * np.arange(g.shape[1])[None, :], 0, 1).astype(np.float32)


@pytest.fixture
def tiny_registered():
    register_dataset("tiny-pred-test", lambda root=None: TinyDataset())
    yield "tiny-pred-test"
    unregister_dataset("tiny-pred-test")


def _cv2_write(path, arr):
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), arr)


def write_folder(d, n=6):
    """One prediction per sample, each in another format."""
    for i in range(n):
        p = blurred(i)
        sid = f"s{i:02d}"
        kind = i % 5
        if kind == 0:
            write_alpha16(d / f"{sid}.png", p)
        elif kind == 1:
            _cv2_write(d / f"{sid}.png", np.round(p * 255).astype(np.uint8))
        elif kind == 2:
            np.save(d / f"{sid}.npy", p)
        elif kind == 3:
            _cv2_write(d / f"{sid}.tif", p)  # float32 TIFF
        else:
            _cv2_write(d / f"{sid}.tiff", to_uint16(p))  # 16-bit TIFF
    return d


def expected_value(i: int, kind: int) -> np.ndarray:
    p = blurred(i)
    return np.round(p * 255).astype(np.float32) / 255 if kind == 1 else (quantise16(p) if kind in (0, 4) else p)


def test_protocols_are_met(tmp_path):
    m = SavedPredictions(write_folder(tmp_path / "p"), name="x")
    assert isinstance(m, SavedPredictionSource) and isinstance(m, ExternalInput)
    assert not isinstance(BlurMethod(), SavedPredictionSource) and not isinstance(BlurMethod(), ExternalInput)


def test_every_format_scores_what_the_file_holds(tmp_path):
    d = write_folder(tmp_path / "preds")
    rows, summary = evaluate(SavedPredictions(d, name="mine"), TinyDataset())
    assert summary.counts.to_json() == {"total": 6, "ok": 6, "error": 0, "pending": 0}
    for r in rows:
        i = int(r["id"][1:])
        s = disc_sample(i)
        want = expected_value(i, i % 5)
        assert r["mse_whole"] == pytest.approx(float(M.mse_whole(want, s.alpha)), abs=1e-12)
        assert r["sad"] == pytest.approx(float(M.sad(M.quantize(want), M.quantize(s.alpha), s.trimap)), abs=1e-12)


def test_read_prediction_values(tmp_path):
    p = blurred(0)
    write_alpha16(tmp_path / "a.png", p)
    assert np.array_equal(read_prediction(tmp_path / "a.png"), quantise16(p))
    rgb = np.repeat(np.round(p * 255).astype(np.uint8)[..., None], 3, axis=2)
    _cv2_write(tmp_path / "grey-as-rgb.png", rgb)
    assert np.array_equal(read_prediction(tmp_path / "grey-as-rgb.png"), np.round(p * 255).astype(np.float32) / 255)
    colour = rgb.copy()
    colour[..., 0] = 0
    _cv2_write(tmp_path / "colour.png", colour)
    with pytest.raises(MattebenchError, match="unequal channels"):
        read_prediction(tmp_path / "colour.png")


def test_bad_folder_missing_extra_corrupt_missized(tmp_path):
    d = write_folder(tmp_path / "preds")
    (d / "s01.png").unlink()  # missing
    (d / "s02.npy").write_bytes(b"\x93NUMPY garbage")  # corrupt
    (d / "s03.tif").unlink()
    np.save(d / "s03.npy", np.zeros((10, 10), np.float32))  # mis-sized
    np.save(d / "zz-extra.npy", np.zeros((40, 32), np.float32))  # matches no sample
    (d / "sub").mkdir()
    np.save(d / "sub" / "other.npy", np.zeros((40, 32), np.float32))
    with pytest.warns(UnmatchedPredictions, match=r"2 file\(s\) match no sample id.*sub/other.npy.*zz-extra.npy"):
        rows, summary = evaluate(SavedPredictions(d, name="mine"), TinyDataset(), out=tmp_path / "runs")
    by = {r["id"]: r for r in rows}
    assert summary.counts.ok == 3 and summary.counts.error == 3
    assert "no prediction for sample s01" in by["s01"]["error"] and str(d / "s01") in by["s01"]["error"]
    assert str(d / "s02.npy") in by["s02"]["error"] and "cannot read" in by["s02"]["error"]
    assert "10x10" in by["s03"]["error"] and "32x40" in by["s03"]["error"]
    assert all(by[i]["mse_whole"] is None for i in ("s01", "s02", "s03"))


def test_two_files_for_one_id_is_an_error_row(tmp_path):
    d = write_folder(tmp_path / "preds")
    np.save(d / "s00.npy", blurred(0))
    rows, _ = evaluate(SavedPredictions(d, name="mine"), TinyDataset())
    r = {r["id"]: r for r in rows}["s00"]
    assert r["status"] == "error" and "2 prediction files" in r["error"]


def test_edited_folder_is_not_resumed_into(tmp_path):
    d = write_folder(tmp_path / "preds")
    out = tmp_path / "runs"
    evaluate(SavedPredictions(d, name="mine"), TinyDataset(), out=out)
    evaluate(SavedPredictions(d, name="mine"), TinyDataset(), out=out)  # unchanged: resumes
    np.save(d / "s02.npy", blurred(2) * 0.5)  # same names, other content
    with pytest.raises(RunConflict, match="predictions_fingerprint"):
        evaluate(SavedPredictions(d, name="mine"), TinyDataset(), out=out)


def test_run_folder_and_card_follow_the_options(tmp_path):
    d = write_folder(tmp_path / "preds")
    _, summary = evaluate("predictions", TinyDataset(), method_options={"dir": str(d), "name": "my-net", "family": "trimap-based",
                                                                       "paper": "Me et al. 2026"}, out=tmp_path / "runs")
    assert summary.method == "my-net" and summary.run_dir.endswith("my-net")
    card = summary.method_card
    assert card.family == "trimap-based" and card.paper == "Me et al. 2026" and "scored from saved predictions" in card.notes
    assert summary.provenance.input["source"] == "scored from saved predictions"
    assert len(summary.provenance.input["predictions_fingerprint"]) == 64
    with pytest.raises(MattebenchError, match="--family"):
        SavedPredictions(d, name="x", family="magic")


def test_save_alphas_round_trip_is_exact(tmp_path):
    """Scoring <run>/alphas gives the run's numbers to the last digit (every metric, every row)."""
    out = tmp_path / "runs"
    rows, summary = evaluate(BlurMethod(), TinyDataset(), out=out, save_alphas="all")
    assert summary.provenance.saved_alphas["ids"] == "all"
    alphas = out / "tiny" / "blur-test" / "alphas"
    assert sorted(p.name for p in alphas.iterdir()) == [f"s{i:02d}.png" for i in range(6)]
    import cv2

    assert cv2.imread(str(alphas / "s00.png"), cv2.IMREAD_UNCHANGED).dtype == np.uint16
    rows2, summary2 = evaluate(SavedPredictions(alphas, name="replay"), TinyDataset())
    cols = [c for c in summary.means if c != "predict_ms"]
    for a, b in zip(sorted(rows, key=lambda r: r["id"]), sorted(rows2, key=lambda r: r["id"])):
        for c in cols:
            assert (a[c] == b[c]) or (math.isnan(a[c]) and math.isnan(b[c])), (a["id"], c, a[c], b[c])
    assert {c: summary.means[c] for c in cols} == {c: summary2.means[c] for c in cols}


def test_save_alphas_some_ids_and_identity(tmp_path):
    out = tmp_path / "runs"
    evaluate(BlurMethod(), TinyDataset(), out=out, save_alphas="s01,s03")
    alphas = out / "tiny" / "blur-test" / "alphas"
    assert sorted(p.name for p in alphas.iterdir()) == ["s01.png", "s03.png"]
    settings = json.loads((out / "tiny" / "blur-test" / "run.json").read_text())
    assert settings["prediction_rounding"].startswith("16-bit")
    with pytest.raises(RunConflict):  # rounded rows never mix with unrounded ones
        evaluate(BlurMethod(), TinyDataset(), out=out)
    with pytest.raises(MattebenchError, match="run folder"):
        evaluate(BlurMethod(), TinyDataset(), save_alphas="all")


def test_cli_predictions_and_save_alphas(tmp_path, tiny_registered, capsys):
    out = tmp_path / "runs"
    assert main(["run", "--method", "trimap-midpoint", "--dataset", tiny_registered, "--out", str(out), "--quiet",
                 "--save-alphas"]) == 0
    first = json.loads((out / tiny_registered / "trimap-midpoint" / "summary.json").read_text())
    alphas = out / tiny_registered / "trimap-midpoint" / "alphas"
    np.save(alphas / "not-a-sample.npy", np.zeros((4, 4), np.float32))
    capsys.readouterr()
    with pytest.warns(UnmatchedPredictions, match=r"1 file\(s\) match no sample id.*not-a-sample.npy"):
        assert main(["run", "--predictions", str(alphas), "--dataset", tiny_registered, "--name", "midpoint-replay",
                     "--family", "trimap-based", "--out", str(out), "--quiet"]) == 0
    replay = json.loads((out / tiny_registered / "midpoint-replay" / "summary.json").read_text())
    assert replay["means"]["sad"] == first["means"]["sad"] and replay["means"]["mse_whole"] == first["means"]["mse_whole"]
    assert replay["method_card"]["family"] == "trimap-based"
    # usage errors: exit 2, one line, no traceback
    assert main(["run", "--predictions", str(alphas), "--dataset", tiny_registered]) == 2
    assert "--name" in capsys.readouterr().err
    assert main(["run", "--predictions", str(tmp_path / "nope"), "--dataset", tiny_registered, "--name", "x"]) == 2
    assert "no such folder" in capsys.readouterr().err
    assert main(["run", "--method", "trimap-midpoint", "--predictions", str(alphas), "--dataset", tiny_registered]) == 2


def test_leaderboard_marks_saved_predictions(tmp_path):
    from mattebench.report.leaderboard import write_leaderboards

    d = write_folder(tmp_path / "preds")
    evaluate(SavedPredictions(d, name="mine"), TinyDataset(), out=tmp_path / "runs")
    [md] = write_leaderboards(tmp_path / "runs", tmp_path / "lb")
    assert "mine (saved predictions)" in md.read_text()


def test_predict_folder_scores_like_the_run(tmp_path):
    """`mattebench predict --bits 16` on a dataset's images, scored with --predictions == the run's numbers."""
    from mattebench.data.io import write_image
    from mattebench.methods.registry import register_method, unregister_method

    register_method("blur-test", lambda **kw: BlurMethod(), card={"needs_trimap": False})
    try:
        images = tmp_path / "images"
        for i in range(6):
            write_image(images / f"s{i:02d}.png", disc_sample(i).image)
        assert main(["predict", "--method", "blur-test", "--input", str(images), "--out", str(tmp_path / "pred"),
                     "--bits", "16", "--background", "none", "--quiet"]) == 0
        _, run = evaluate("blur-test", TinyDataset(), out=tmp_path / "runs", save_alphas="all")
        _, replay = evaluate(SavedPredictions(tmp_path / "pred" / "alpha", name="replay"), TinyDataset())
        assert {k: v for k, v in run.means.items() if k != "predict_ms"} == {k: v for k, v in replay.means.items() if k != "predict_ms"}
        # 8-bit files score what they hold: within 1/255 of the float mattes
        assert main(["predict", "--method", "blur-test", "--input", str(images), "--out", str(tmp_path / "pred8"),
                     "--background", "none", "--quiet"]) == 0
        _, eight = evaluate(SavedPredictions(tmp_path / "pred8" / "alpha", name="replay8"), TinyDataset())
        assert eight.means["mad_whole"] == pytest.approx(run.means["mad_whole"], abs=0.5 / 255)
    finally:
        unregister_method("blur-test")


def test_clip_frames_round_trip_and_are_matched_by_frame(tmp_path):
    """Clips: <run>/alphas/<clip id>/<frame>.png; a replay matches every metric; a missing frame is an error row."""
    from mattebench.data.synthetic import SyntheticVideoDataset

    ds = SyntheticVideoDataset(n_clips=2, frames=3, size=(80, 64))
    out = tmp_path / "runs"
    rows, summary = evaluate(BlurMethod(), ds, out=out, save_alphas="clip-01")
    alphas = out / ds.card.name / "blur-test" / "alphas"
    assert sorted(p.relative_to(alphas).as_posix() for p in alphas.rglob("*.png")) == [f"clip-01/{i:05d}.png" for i in range(3)]
    evaluate(BlurMethod(), ds, out=tmp_path / "all", save_alphas="all", fresh=True)
    all_alphas = tmp_path / "all" / ds.card.name / "blur-test" / "alphas"
    (all_alphas / "clip-00" / "00001.png").rename(all_alphas / "clip-00" / "1.png")  # by index works too
    rows2, _ = evaluate(SavedPredictions(all_alphas, name="replay"), ds)
    cols = [c for c in summary.means if c not in ("predict_ms",)]
    for a, b in zip(sorted(rows, key=lambda r: r["id"]), sorted(rows2, key=lambda r: r["id"])):
        assert b["status"] == "ok"
        for c in cols:
            assert (a[c] == b[c]) or (math.isnan(a[c]) and math.isnan(b[c])), (a["id"], c)
    (all_alphas / "clip-01" / "00002.png").unlink()
    rows3, _ = evaluate(SavedPredictions(all_alphas, name="replay"), ds)
    bad = {r["id"]: r for r in rows3}["clip-01"]
    assert bad["status"] == "error" and "clip-01/00002" in bad["error"]


class FakeRemote:
    """A remote-style executor (builds the Scorer from its spec, as Ray workers do) run in-process."""

    name, workers, remote = "fake-remote", 1, True

    def run(self, scorer, spec, ids):
        worker = spec.build()
        for i in ids:
            yield worker.score(i)


def test_remote_executor_keeps_name_and_folder_identity(tmp_path, tiny_registered):
    d = write_folder(tmp_path / "preds")
    _, summary = evaluate("predictions", tiny_registered, method_options={"dir": str(d), "name": "mine"},
                          executor=FakeRemote(), out=tmp_path / "runs")
    assert summary.method == "mine" and summary.counts.ok == 6
    settings = json.loads((tmp_path / "runs" / tiny_registered / "mine" / "run.json").read_text())
    assert len(settings["predictions_fingerprint"]) == 64
    with pytest.raises(MattebenchError, match="local executor"):
        evaluate("trimap-midpoint", tiny_registered, executor=FakeRemote(), out=tmp_path / "runs", save_alphas="all")


def test_site_marks_source_and_partial_tree(tmp_path):
    from mattebench.report.site import write_site

    class PartialTiny(TinyDataset):
        partial = (6, 10)

    d = write_folder(tmp_path / "preds")
    _, summary = evaluate(SavedPredictions(d, name="mine"), PartialTiny(), out=tmp_path / "runs")
    assert summary.subset and summary.subset_reason == "partial tree: 6 of the dataset's 10 samples are present"
    index = write_site(tmp_path / "runs", tmp_path / "lb")
    html = Path(index).read_text()
    assert "(scored from saved predictions)" in html and "partial tree: 6 of the dataset" in html


def test_grey_jpeg_saved_in_colour_and_batched_npy(tmp_path):
    import cv2

    p = blurred(0)
    grey = np.round(p * 255).astype(np.uint8)
    colour = np.repeat(grey[..., None], 3, axis=2).astype(np.int16)
    colour[..., 1] += 2  # what chroma subsampling does to a grey matte stored as a colour JPEG
    _cv2_write(tmp_path / "a.jpg", np.clip(colour, 0, 255).astype(np.uint8))
    got = read_prediction(tmp_path / "a.jpg")
    assert got.shape == grey.shape and float(np.abs(got - grey / 255.0).max()) < 6 / 255
    tinted = np.repeat(grey[..., None], 3, axis=2)
    tinted[..., 2] = 255 - tinted[..., 2]
    _cv2_write(tmp_path / "b.jpg", tinted)
    with pytest.raises(MattebenchError, match="unequal channels"):
        read_prediction(tmp_path / "b.jpg")
    np.save(tmp_path / "c.npy", p[None, None])
    assert np.array_equal(read_prediction(tmp_path / "c.npy"), p)
