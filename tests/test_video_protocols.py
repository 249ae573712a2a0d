"""The video benchmarks' official protocols (mattebench.metrics.conventions.video_rvm, .tcvom) against hand-computed
tiny arrays and against slow literal transcriptions of the official scripts (tests/_video_official.py).

Tolerance: 2e-5 relative (+1e-9 absolute) between the float64 sums here and the scripts' float32 reductions
(float32 pairwise sums over <= 10^4 terms err by ~1e-6 relative)."""

import math

import numpy as np
import pytest

import _video_official as ref
from _video_trees import encode_flow_png, random_alpha
from mattebench.data.vm108 import decode_flow_png
from mattebench.metrics import conventions as C
from mattebench.metrics.conventions import tcvom, video_rvm as V
from mattebench.scoring import video_protocols as VP

REL, ABS = 2e-5, 1e-9


def close(a, b):
    return math.isclose(float(a), float(b), rel_tol=REL, abs_tol=ABS)


def clip(seed, t=4, h=23, w=31, snap=True):
    """A tiny clip of uint8 predictions and GT, with values on the threshold edges (153/255 passes 0.6 in float32)."""
    rng = np.random.default_rng(seed)
    gts = [random_alpha(rng, h, w) for _ in range(t)]
    preds = [np.clip(g.astype(int) + rng.integers(-40, 41, g.shape), 0, 255).astype(np.uint8) for g in gts]
    if snap:
        for p in preds:
            p[rng.random(p.shape) < 0.2] = 153
    return preds, gts


def test_registry_names_agree():
    assert VP.PROTOCOL_NAMES == tuple(C.VIDEO_PROTOCOLS)
    assert not set(C.VIDEO_PROTOCOLS) & set(C.CONVENTIONS)  # --conventions never lists or takes them
    with pytest.raises(C.UnknownConvention):
        C.parse("rvm-lr")


def test_keys_in_the_scripts_order():
    keys = {n: [m.metric for m in c.metrics] for n, c in C.VIDEO_PROTOCOLS.items()}
    assert keys["rvm-lr"] == ["mad", "mse", "grad", "conn", "dtssd", "fgr_mad", "fgr_mse"]  # evaluate_lr.py L57-58
    assert keys["rvm-hr"] == ["mad", "mse", "grad", "dtssd", "fgr_mse"]  # evaluate_hr.py L59-60
    assert keys["matanyone-lr"] == ["mad", "mse", "grad", "dtssd", "conn"]  # eval_yt_lr.py L56-57
    assert keys["matanyone-hr"] == ["mad", "mse", "grad", "dtssd"]
    assert keys["tcvom"] == ["mSAD", "MSE", "SSDA", "dtSSD", "MESSDdt", "MESSDdt_fix"]


# ---- hand-checked tiny arrays ------------------------------------------------------------------

def test_mad_mse_dtssd_by_hand():
    p = np.array([[0, 255], [0, 0]], np.uint8)
    g = np.zeros((2, 2), np.uint8)
    assert V.mad(p, g) == pytest.approx(250.0, rel=1e-12)  # 1e3 * (1/4)
    assert V.mse(p, g) == pytest.approx(250.0, rel=1e-12)
    # frame 1 moves p by +51 everywhere, g by 0: d = 0.2 -> 100 * sqrt(0.04) = 20; frame 0 counts 0
    vals = V.dtssd_frames([g, g + 51], [g, g])
    assert vals == [0.0, pytest.approx(20.0, rel=1e-12)]
    v = C.score_clip([g.astype(np.float32), (g + 51).astype(np.float32) / 255], [g, g], ("rvm-lr",))
    assert v["dtssd@rvm-lr"] == pytest.approx(10.0, rel=1e-12)  # (0 + 20) / 2: the mean over ALL frames


def test_fgr_by_hand_through_score():
    gp = np.array([[0, 10]], np.uint8)  # only pixel (0, 1) counts
    fp = np.zeros((1, 2, 3), np.uint8)
    fp[0, 0] = 255
    fp[0, 1] = (51, 0, 0)
    fg = np.zeros((1, 2, 3), np.uint8)
    v = C.score(gp.astype(np.float32) / 255, gp, None, ("rvm-lr",), pred_fgr=fp, gt_fgr=fg)
    assert v["fgr_mad@rvm-lr"] == pytest.approx(1e3 * 0.2 / 3, rel=1e-12)
    assert v["fgr_mse@rvm-lr"] == pytest.approx(1e3 * 0.04 / 3, rel=1e-12)
    assert math.isnan(C.score(gp.astype(np.float32) / 255, gp, None, ("rvm-lr",))["fgr_mad@rvm-lr"])  # no foreground


def test_quantisation_truncates_for_rvm_rounds_for_matanyone():
    g = np.array([[0, 0]], np.uint8)
    p = np.array([[0.999 / 255, 0.0]], np.float32)  # 0.999 -> RVM 0, MatAnyone 1
    v = C.score(p, g, None, ("rvm-lr", "matanyone-lr"))
    assert v["mad@rvm-lr"] == 0.0
    assert v["mad@matanyone-lr"] == pytest.approx(1e3 / 255 / 2, rel=1e-12)


def test_conn_threshold_is_float32():
    g = np.zeros((3, 3), np.uint8)
    g[1, 1] = 153
    assert V.conn(g.copy(), g) == 0.0
    p2 = np.zeros((3, 3), np.uint8)
    p2[1, 1] = 255  # l = 0.6 (153 passes 0.6 in float32); phi_p = 1 - 0.4, phi_g = 1 - 0
    assert V.conn(p2, g) == pytest.approx(0.4 / 1000, rel=1e-6)


# ---- against the literal transcriptions ---------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rvm_lr_matches_transcript(seed):
    preds, gts = clip(seed)
    rng = np.random.default_rng(seed + 10)
    pf = [rng.integers(0, 256, p.shape + (3,), dtype=np.uint8) for p in preds]
    gf = [rng.integers(0, 256, p.shape + (3,), dtype=np.uint8) for p in preds]
    want = ref.lr_clip(preds, gts, pf, gf)
    for t in range(len(preds)):
        got = C.score(preds[t], gts[t], None, ("rvm-lr",), pred_fgr=pf[t], gt_fgr=gf[t])
        for key, col in (("pha_mad", "mad"), ("pha_mse", "mse"), ("pha_grad", "grad"), ("pha_conn", "conn"),
                         ("fgr_mad", "fgr_mad"), ("fgr_mse", "fgr_mse")):
            assert close(got[f"{col}@rvm-lr"], want[key][t]), (key, t)
    got = C.score_clip(preds, gts, ("rvm-lr",))
    assert close(got["dtssd@rvm-lr"], np.mean(want["pha_dtssd"]))


def test_grad_constant_map_and_hr():
    preds, gts = clip(5, t=1)
    const = np.full_like(gts[0], 77)
    assert close(V.grad(const, gts[0], True), ref.lr_grad(const.astype(np.float32) / 255, gts[0].astype(np.float32) / 255))
    assert close(C.score(preds[0], gts[0], None, ("rvm-hr",))["grad@rvm-hr"], ref.hr_grad(preds[0], gts[0]))
    half = preds[0] // 2  # spans 0..127: the LR stretch changes it, the HR script does not stretch
    assert close(V.grad(half, gts[0], False), ref.hr_grad(half, gts[0]))
    assert not close(V.grad(half, gts[0], False), V.grad(half, gts[0], True))


def _flows(rng, n, h, w):
    out = []
    for _ in range(n):
        f = rng.uniform(-3, 3, (h, w, 2)).astype(np.float32)
        f[rng.random((h, w)) < 0.1] = np.nan
        f[0, :3] = (50.0, 50.0)  # samples outside the frame read 0
        out.append(decode_flow_png(encode_flow_png(f)))  # through the PNG quantisation, as read
    return out


@pytest.mark.parametrize("seed", [0, 1])
def test_tcvom_matches_transcript(seed):
    preds, gts = clip(seed, t=3, snap=False)
    rng = np.random.default_rng(seed)
    tris = [np.where(rng.random(g.shape) < 0.6, 128, rng.choice([0, 255], g.shape)).astype(np.uint8) for g in gts]
    flows = _flows(rng, 2, *gts[0].shape)
    frames = [ref.tcvom_frame(preds[t], gts[t], tris[t], (preds[t + 1], gts[t + 1]) if t < 2 else None,
                              flows[t] if t < 2 else None) for t in range(3)]
    for t in range(3):
        got = C.score(preds[t], gts[t], tris[t], ("tcvom",))
        for k in ("mSAD", "MSE", "SSDA"):
            assert close(got[f"{k}@tcvom"], frames[t][k]), (t, k)
    video = C.score_clip(preds, gts, ("tcvom",), trimaps=tris, flows=flows)
    for k in ("dtSSD", "MESSDdt", "MESSDdt_fix"):  # mean over ALL frames, the last counting 0 (calc_metric.py L209-216)
        assert close(video[f"{k}@tcvom"], sum(f[k] for f in frames) / 3), k


def test_tcvom_empty_region_and_no_trimaps():
    g = np.zeros((4, 4), np.uint8)
    r = tcvom.frame_values(g, g, np.zeros((4, 4), np.uint8))
    assert math.isnan(r["mSAD"]) and math.isnan(r["MSE"]) and r["SSDA"] == 0.0
    v = C.score(g, g, None, ("tcvom",))
    assert all(math.isnan(x) for x in v.values())  # needs a trimap
    assert math.isnan(C.score_clip([g, g], [g, g], ("tcvom",))["dtSSD@tcvom"])


def test_flow_png_roundtrip_and_bad_input():
    f = np.array([[[1.25, -0.5], [np.nan, np.nan]]], np.float32)
    d = decode_flow_png(encode_flow_png(f))
    assert d[0, 0].tolist() == [1.25, -0.5] and np.isnan(d[0, 1]).all()
    with pytest.raises(ValueError, match="uint16"):
        decode_flow_png(np.zeros((2, 2, 3), np.uint8))
    with pytest.raises(ValueError):
        C.score(np.zeros((2, 2), np.float32), np.zeros((2, 3), np.uint8), None, ("rvm-lr",))
