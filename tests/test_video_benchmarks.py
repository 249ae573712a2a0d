"""The video benchmarks end to end on fake trees in their exact layouts: loaders and ``data check`` (problems name
the clip, partial trees are subsets, resolution is a note), and ``run --predictions`` in each benchmark's own layout
giving the official script's numbers, computed here from the files with the literal transcriptions
(tests/_video_official.py) and the scripts' aggregation written out by hand."""

import math
import os
import shutil

import cv2
import numpy as np
import pytest
from scipy import ndimage

import _video_official as ref
from _video_trees import build_folder_tree, build_vm108_tree
from mattebench.commands.cli import main
from mattebench.data.video_layouts import VIDEOMATTE_512x288, VM108, YOUTUBEMATTE_1920x1080
from mattebench.data.vm108 import decode_flow_png
from mattebench.methods.registry import check_dataset, load_dataset
from mattebench.runs.runner import evaluate
from mattebench_baselines.saved_predictions import SavedPredictions


def _noisy(src, dst, rng):
    img = cv2.imread(str(src), cv2.IMREAD_UNCHANGED)
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    cv2.imwrite(str(dst), np.clip(img.astype(int) + rng.integers(-40, 41, img.shape), 0, 255).astype(np.uint8))


def _rvm_preds(gt, pred, roles=("pha", "fgr"), seed=1):
    """Predictions in RVM's layout <subset>/<clip>/{pha,fgr}/<frame>.png: the GT perturbed."""
    rng = np.random.default_rng(seed)
    for dirpath, _, files in sorted(os.walk(gt)):
        if os.path.basename(dirpath) in roles:
            rel = os.path.relpath(dirpath, gt)
            for f in sorted(files):
                _noisy(os.path.join(dirpath, f), pred / rel / (os.path.splitext(f)[0] + ".png"), rng)


def test_loader_notes_problems_and_partial(tmp_path):
    root = build_folder_tree(VIDEOMATTE_512x288, tmp_path, clips=2, frames=3, size=(20, 12))
    ds = load_dataset("videomatte-512x288", root=str(tmp_path))  # the parent of videomatte_512x288/ works too
    assert ds.ids() == ["videomatte_motion/0000", "videomatte_motion/0001", "videomatte_static/0000", "videomatte_static/0001"]
    c = ds.load("videomatte_static/0001")
    assert len(c.frames) == 3 and sorted(c.alphas) == [0, 1, 2] and c.fgs[0].shape == (12, 20, 3)
    assert c.trimaps[0].dtype == np.uint8 and c.metadata["frame_names"] == ["0000.png", "0001.png", "0002.png"]
    rep = check_dataset("videomatte-512x288", root=str(root))
    assert rep.ok and rep.partial == (4, 50)
    assert any("20x12, published size is 512x288" in n for n in rep.notes)  # resolution: a note, not a refusal
    os.remove(root / "videomatte_motion/0001/fgr/0002.png")
    rep = check_dataset("videomatte-512x288", root=str(root))
    assert not rep.ok and any(p.startswith("videomatte_motion/0001:") and "missing 0002" in p for p in rep.problems)


def test_videomatte_lr_run_gives_the_workbook_value(tmp_path):
    gt = build_folder_tree(VIDEOMATTE_512x288, tmp_path / "gt", clips=2, frames=3, size=(20, 12))
    pred = tmp_path / "pred"
    _rvm_preds(gt, pred)
    assert main(["run", "--predictions", str(pred), "--name", "noisy", "--dataset", "videomatte-512x288",
                 "--data-root", str(gt), "--out", str(tmp_path / "runs"), "--quiet"]) == 0
    rows, rec = evaluate(SavedPredictions(pred, name="noisy"), "videomatte-512x288", data_root=str(gt))
    assert all(r["status"] == "ok" for r in rows) and len(rows) == 4
    per_clip = []
    for key in ds_ids(gt):
        rd = lambda root, role: [cv2.imread(str(root / key / role / f"{t:04d}.png"), cv2.IMREAD_UNCHANGED) for t in range(3)]
        per_clip.append(ref.lr_clip(rd(pred, "pha"), rd(gt, "pha"), rd(pred, "fgr"), rd(gt, "fgr")))
    for key, col in (("pha_mad", "mad"), ("pha_mse", "mse"), ("pha_grad", "grad"), ("pha_conn", "conn"),
                     ("pha_dtssd", "dtssd"), ("fgr_mad", "fgr_mad"), ("fgr_mse", "fgr_mse")):
        b2 = np.mean([np.mean([r[key][t] for r in per_clip]) for t in range(3)])  # column means, then B2
        assert math.isclose(rec.means[f"{col}@rvm-lr"], b2, rel_tol=2e-5), col
        assert rec.ci[f"{col}@rvm-lr"] is not None  # an interval over clips
    # the board and the site show the protocol with its intervals over clips
    import json

    from mattebench.report.board import build_board
    from mattebench.report.leaderboard import render_dataset

    stored = [json.loads(p.read_text()) for p in (tmp_path / "runs").rglob("summary.json")]
    board = build_board("videomatte-512x288", stored)
    table = next(t for t in board.tables if t.key == "protocol-rvm-lr")
    assert table.columns[:2] == ("mad@rvm-lr", "mse@rvm-lr") and table.sections[0].rows[0].cells[0].half_width.startswith("±")
    md = render_dataset("videomatte-512x288", stored)
    assert "## Official protocol rvm-lr" in md and "intervals over clips" in md


def ds_ids(gt):
    return [f"{s}/{c}" for s in sorted(os.listdir(gt)) for c in sorted(os.listdir(gt / s))]


def test_youtubematte_hr_jpeg_ground_truth(tmp_path):
    gt = build_folder_tree(YOUTUBEMATTE_1920x1080, tmp_path / "gt", clips=2, frames=2, size=(20, 12))
    pred = tmp_path / "pred"
    _rvm_preds(gt, pred, roles=("pha",))  # PNG predictions, JPEG GT: eval_yt_hr.py L115 maps <stem>.jpg
    rows, rec = evaluate(SavedPredictions(pred, name="noisy"), "youtubematte-1920x1080", data_root=str(tmp_path / "gt"))
    assert all(r["status"] == "ok" for r in rows), rows
    mads = []
    for key in ds_ids(gt):
        for t in range(2):
            p = cv2.imread(str(pred / key / "pha" / f"{t:04d}.png"), cv2.IMREAD_GRAYSCALE).astype(np.float32) / 255
            g = cv2.imread(str(gt / key / "pha" / f"{t:04d}.jpg"), cv2.IMREAD_GRAYSCALE).astype(np.float32) / 255
            mads.append(ref.lr_mad(p, g))
    assert math.isclose(rec.means["mad@matanyone-hr"], np.mean(mads), rel_tol=2e-5)
    assert "fgr_mse@matanyone-hr" not in rec.means


def test_vm108_run_gives_calc_metric_values(tmp_path):
    data = build_vm108_tree(VM108, tmp_path / "data", videos=("v1", "v2"), frames=3, size=(30, 20))
    pred = tmp_path / "pred"
    rng = np.random.default_rng(3)
    per_video = {}
    for v in ("v1", "v2"):
        frames = []
        for t in range(3):
            g = cv2.imread(str(data / f"FG_done/{v}/{t:05d}.png"), cv2.IMREAD_UNCHANGED)[..., -1]
            p = np.clip(g.astype(int) + rng.integers(-30, 31, g.shape), 0, 255).astype(np.uint8)
            (pred / v).mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(pred / v / f"{t:05d}_pred.png"), p)
            # TCVOM's medium trimap, written independently: unknown = 25x25 square dilation of 0 < g < 255
            unknown = ndimage.binary_dilation((g > 0) & (g < 255), np.ones((25, 25), bool))
            tri = np.where(unknown, 128, np.where(g == 255, 255, 0)).astype(np.uint8)
            cv2.imwrite(str(pred / v / f"{t:05d}_tri.png"), tri)  # as pred_vmn.py writes it (not read here)
            frames.append((p, g, tri))
        res = []
        for t in range(3):
            nxt = frames[t + 1][:2] if t < 2 else None
            fl = decode_flow_png(cv2.imread(str(data / f"flow_png/{v}/flow_{t:05d}_{t + 1:05d}.png"), cv2.IMREAD_UNCHANGED)) if t < 2 else None
            res.append(ref.tcvom_frame(*frames[t], nxt, fl))
        per_video[v] = {k: sum(r[k] for r in res) / 3 for k in res[0]}
    rows, rec = evaluate(SavedPredictions(pred, name="noisy"), "vm108", data_root=str(data))
    by_id = {r["id"]: r for r in rows}
    assert all(r["status"] == "ok" for r in rows), rows
    for k in ("mSAD", "MSE", "SSDA", "dtSSD", "MESSDdt", "MESSDdt_fix"):
        for v in ("v1", "v2"):  # the video's value (calc_metric.py L209-216)
            assert math.isclose(by_id[v][f"{k}@tcvom"], per_video[v][k], rel_tol=2e-5, abs_tol=1e-9), (v, k)
        # the run: the mean over every video; calc_metric.py's own number leaves out the last video (noted on its row)
        assert math.isclose(rec.means[f"{k}@tcvom"], (per_video["v1"][k] + per_video["v2"][k]) / 2, rel_tol=2e-5, abs_tol=1e-9)
    assert "tcvom_last_video" in by_id["v2"]["notes"] and "tcvom_last_video" not in by_id["v1"]["notes"]


def test_missing_prediction_is_an_error_row_naming_the_file(tmp_path):
    gt = build_folder_tree(VIDEOMATTE_512x288, tmp_path / "gt", clips=1, frames=2, size=(20, 12))
    pred = tmp_path / "pred"
    _rvm_preds(gt, pred)
    shutil.rmtree(pred / "videomatte_static")
    rows, rec = evaluate(SavedPredictions(pred, name="noisy"), "videomatte-512x288", data_root=str(gt))
    bad = [r for r in rows if r["status"] == "error"]
    assert [r["id"] for r in bad] == ["videomatte_static/0000"] and "videomatte_static/0000" in bad[0]["error"]


@pytest.mark.parametrize("name", ["videomatte-1920x1080", "youtubematte-512x288", "vm108"])
def test_missing_tree_says_how_to_get_it(tmp_path, name):
    from mattebench.errors import DatasetNotFound

    with pytest.raises(DatasetNotFound, match=name):
        load_dataset(name, root=str(tmp_path))


def test_scoring_a_clip_reads_each_annotation_once_and_never_decodes_the_composite(tmp_path, monkeypatch):
    """Scoring reads a frame's alpha, trimap and foreground several times (whole, unknown, protocol, temporal): the
    lazy clip must read each file once, and saved predictions (asked by id) never need the composite decoded."""
    import collections

    import mattebench.data.base as base
    import mattebench.data.videomatte as vm

    gt = build_folder_tree(VIDEOMATTE_512x288, tmp_path / "gt", clips=1, frames=3, size=(20, 12))
    pred = tmp_path / "pred"
    _rvm_preds(gt, pred)
    expected, _ = evaluate(SavedPredictions(pred, name="noisy"), "videomatte-512x288", data_root=str(gt))
    calls = collections.Counter()

    def counting(name, fn):
        def wrapped(path, *a, **k):
            calls[(name, os.path.relpath(path, gt))] += 1
            return fn(path, *a, **k)
        return wrapped

    monkeypatch.setattr(vm, "read_alpha", counting("alpha", vm.read_alpha))
    monkeypatch.setattr(vm, "read_image", counting("fgr", vm.read_image))
    monkeypatch.setattr(vm, "generated_trimap", counting("trimap", vm.generated_trimap))
    monkeypatch.setattr(base, "read_image", counting("frame", base.read_image))
    rows, _ = evaluate(SavedPredictions(pred, name="noisy"), "videomatte-512x288", data_root=str(gt))
    assert [r["status"] for r in rows] == ["ok", "ok"]
    assert not [k for k in calls if k[0] == "frame"]  # no composite decoded
    assert sorted(calls.values()) == [1] * 18 and {k[0] for k in calls} == {"alpha", "fgr", "trimap"}  # 2 clips x 3 frames
    strip = lambda r: {k: v for k, v in r.items() if k != "predict_ms"}  # noqa: E731
    assert [strip(r) for r in rows] == [strip(r) for r in expected]  # the same values as the uncounted run
