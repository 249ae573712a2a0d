"""The toolkit conventions (mattebench.metrics.conventions): hand-worked cases where each toolkit's code
differs from the DIM MATLAB reference, agreement where they coincide, and the run/report wiring.

Every expected value below is worked out by hand from the toolkit's source at the pinned commit
(file and lines in each module's docstrings); the arithmetic is in the comments. Notation: a
pixel's "l" is the round-down level of the connectivity error, phi = 1 - (a - l) where
a - l >= 0.15, else 1; a value k stands for the 8-bit k / 255.
"""

from __future__ import annotations

import dataclasses
import json
import math

import cv2
import numpy as np
import pytest
from conftest import TinyDataset

from mattebench.errors import MattebenchError, RunConflict
from mattebench.metrics import conventions as C
from mattebench.metrics import fast as M
from mattebench.metrics.conventions import connectivity, gradients
from mattebench.metrics.conventions.base import Pair


def u8(rows) -> np.ndarray:
    return np.array(rows, dtype=np.uint8)


def f32(rows) -> np.ndarray:
    return np.array(rows, dtype=np.float32) / np.float32(255.0)


def conn_of(name: str, pred, gt, tri) -> float:
    return C.score(pred, gt, tri, (name,))[f"conn@{name}"]


ALL_IMAGE = ("gca", "mmagic", "indexnet", "p3m-whole", "rvm")


# ---------------------------------------------------------------------------------------------
# Registry and parsing
# ---------------------------------------------------------------------------------------------


def test_registry_names_columns_and_descriptions():
    assert tuple(C.CONVENTIONS) == ("gca", "mmagic", "indexnet", "p3m-whole", "p3m-trimap", "rvm")
    for conv in C.CONVENTIONS.values():
        assert conv.description.count(".") >= 1 and "L" in conv.description  # cites lines
        for m in conv.metrics:
            assert (m.image is None) != (m.clip is None)
            assert m.source and m.differs and m.scale
            assert conv.column(m) not in M.METRICS  # never a reference column
            assert C.is_convention_column(conv.column(m))
    assert C.columns(("gca",)) == ["sad@gca", "mse@gca", "grad@gca", "conn@gca"]
    assert "dtssd@rvm" not in C.columns(("rvm",), video=False)
    assert C.columns(("rvm",), video=True)[-1] == "dtssd@rvm"
    assert not C.is_convention_column("sad") and not C.is_convention_column("sad@nowhere")


def test_parse_orders_dedups_and_refuses_unknown_names():
    assert C.parse("rvm, gca,gca") == ("gca", "rvm")
    assert C.parse("") == () and C.parse(None) == ()
    assert C.parse("all") == tuple(C.CONVENTIONS)
    with pytest.raises(MattebenchError, match="unknown convention.*mmedit.*choose from"):
        C.parse("gca,mmedit")


def test_docs_list_every_convention_column():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "conventions.md").read_text()
    for col in C.columns(tuple(C.CONVENTIONS), video=True):
        assert f"`{col}`" in doc, col


def test_arange_thresholds_are_numpys():
    # GCA/mmagic/RVM: np.arange(0, 1 + step, step); IndexNet/P3M: np.arange(0, 1.1, step).
    assert np.array_equal(connectivity.ARANGE_THRESHOLDS, np.arange(0, 1 + 0.1, 0.1))
    assert np.array_equal(connectivity.ARANGE_THRESHOLDS, np.arange(0, 1.1, 0.1))
    assert connectivity.ARANGE_THRESHOLDS[6] > 0.6 and np.float64(153) / 255 < connectivity.ARANGE_THRESHOLDS[6]
    assert np.float32(153) / np.float32(255) >= np.float32(connectivity.ARANGE_THRESHOLDS[6])


def test_opencv_and_scipy_number_components_in_row_major_order():
    # The modelling assumption behind "ties go to the first component in row-major order" for
    # mmagic and RVM (cv2.connectedComponentsWithStats) and IndexNet/P3M (skimage label order).
    mask = u8([[0, 0, 1, 0], [0, 0, 0, 0], [1, 0, 0, 1]])
    _, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=4)
    assert labels[0, 2] == 1 and labels[2, 0] == 2 and labels[2, 3] == 3
    assert np.argmax(stats[1:, -1]) == 0  # equal areas: the first label
    omega = connectivity.largest_excluding_background(mask.astype(bool))
    assert omega[0, 2] and omega.sum() == 1
    skimage = pytest.importorskip("skimage.measure")
    assert skimage.label(mask, connectivity=1)[0, 2] == 1


# ---------------------------------------------------------------------------------------------
# Connectivity: the largest-component tie
# ---------------------------------------------------------------------------------------------

# 3x4, every pixel unknown. X (0,2): p 255, g 115; Y (2,0): p 255, g 102; Z (2,3): p = g = 255.
TIE_P = f32([[0, 0, 255, 0], [0, 0, 0, 0], [255, 0, 0, 255]])
TIE_G = u8([[0, 0, 115, 0], [0, 0, 0, 0], [102, 0, 0, 255]])
TIE_T = np.full((3, 4), 128, np.uint8)
# For th 0.1..0.4 the intersection is {X, Y, Z}, three single pixels (a tie); for 0.5..1.0 {Z}.
# If X wins the tie (th 0.1..0.4), X leaves at 0.5: l_X = 0.4 -> phi_p = 1 - 0.6 = 0.4, g - l =
#   0.051 < 0.15 -> phi_g = 1: |.| = 0.6. Y loses at 0.1: l_Y = 0 -> phi_p = 0, phi_g = 1 - 0.4: 0.6.
#   Sum 1.2 -> 1.2e-3.
# If Y wins: l_Y = 0.4 -> phi_p = 0.4, phi_g = 1 (0.4 - 0.4 = 0): 0.6; l_X = 0 -> phi_p = 0,
#   phi_g = 1 - 115/255 = 140/255: 0.54902. Sum 0.6 + 140/255 -> 1.149020e-3.
# Z has p == g (adds 0), every other pixel p == g == 0.
TIE_ROW_MAJOR = 1.2e-3
TIE_COL_MAJOR = (0.6 + 140 / 255) / 1000


def test_tie_reference_takes_column_major_first():
    assert M.conn(M.quantize(TIE_P), TIE_G, TIE_T) == pytest.approx(TIE_COL_MAJOR, abs=1e-9)


@pytest.mark.parametrize("name", ["mmagic", "indexnet", "p3m-whole", "rvm"])
def test_tie_toolkits_take_row_major_first(name):
    # argmax over component areas in label order (OpenCV / skimage raster numbering): X, at row 0.
    assert conn_of(name, TIE_P, TIE_G, TIE_T) == pytest.approx(TIE_ROW_MAJOR, abs=1e-9)


def test_tie_gca_background_is_largest():
    # GCA: argmax(bincount(labels)) with label 0 (9 background pixels) -> omega = background at
    # every threshold, so X, Y, Z (in M) get l = 0 at th 0.1 and the background keeps -1 -> 1
    # (p = g = 0 there: d < 0, phi 1 both). X: phi_p 0, phi_g 140/255; Y: phi_p 0, phi_g 0.6.
    # Same total as the reference here, for another reason: (0.6 + 140/255) / 1000.
    assert conn_of("gca", TIE_P, TIE_G, TIE_T) == pytest.approx((0.6 + 140 / 255) / 1000, abs=1e-9)


def test_background_ties_with_a_component_gca_vs_reference():
    # 1x2: A: p 255, g 115; B: p = g = 0. th 0.1..0.4: M = {A}; 0.5 on: empty.
    p, g, t = f32([[255, 0]]), u8([[115, 0]]), u8([[128, 128]])
    # Reference: omega = A until M is empty at 0.5 -> l_A = 0.4: phi_p 0.4, phi_g 1 -> 0.6e-3.
    assert M.conn(M.quantize(p), g, t) == pytest.approx(0.6e-3, abs=1e-9)
    assert conn_of("mmagic", p, g, t) == pytest.approx(0.6e-3, abs=1e-9)
    assert conn_of("rvm", p, g, t) == pytest.approx(0.6e-3, abs=1e-9)
    # GCA: bincount = [1, 1], argmax -> 0: the background {B} wins the tie, so A gets l = 0 at
    # th 0.1 and B keeps -1 (-> 1). A: phi_p = 1 - 1 = 0, phi_g = 1 - 115/255 -> 140/255 / 1000.
    assert conn_of("gca", p, g, t) == pytest.approx(140 / 255 / 1000, abs=1e-9)
    # P3M: `continue` once M is empty at 0.5, so A ends with l = 1: phi_p = 1 (1 - 1 = 0), phi_g = 1
    # (115/255 - 1 < 0) -> 0. IndexNet stretches g to [255, 0] first: p == g everywhere -> 0.
    assert conn_of("p3m-whole", p, g, t) == pytest.approx(0.0, abs=1e-12)
    assert conn_of("indexnet", p, g, t) == pytest.approx(0.0, abs=1e-12)


# ---------------------------------------------------------------------------------------------
# Connectivity: an empty threshold intersection
# ---------------------------------------------------------------------------------------------

# 1x3: A: p 255, g 115; B: p = g = 0; C: p 0, g 255. M = {A} for th 0.1..0.4, empty from 0.5.
EMPTY_P, EMPTY_G, EMPTY_T = f32([[255, 0, 0]]), u8([[115, 0, 255]]), u8([[128, 128, 128]])


def test_empty_intersection_guarded_reference():
    # Guarded: at 0.5 omega is empty, A gets l = 0.4 -> 0.6. C got l = 0 at 0.1: phi_p = 1 (d 0),
    # phi_g = 1 - 1 = 0 -> 1. Sum 1.6 -> 1.6e-3 (mmagic and RVM guard the same way).
    assert M.conn(M.quantize(EMPTY_P), EMPTY_G, EMPTY_T) == pytest.approx(1.6e-3, abs=1e-9)
    for name in ("mmagic", "rvm"):
        assert conn_of(name, EMPTY_P, EMPTY_G, EMPTY_T) == pytest.approx(1.6e-3, abs=1e-9), name


@pytest.mark.parametrize("name", ["indexnet", "p3m-whole"])
def test_empty_intersection_continue(name):
    # `if len(size_vec) == 0: continue`: A is never assigned and ends with l = 1: phi_p = 1
    # (0 - ... < 0.15), phi_g = 1 (115/255 - 1 < 0) -> 0. C: 1 as above. Sum 1.0 -> 1e-3.
    # (IndexNet's min-max stretch is the identity: both maps span 0..255.)
    assert conn_of(name, EMPTY_P, EMPTY_G, EMPTY_T) == pytest.approx(1.0e-3, abs=1e-9)


def test_empty_intersection_gca_assigns_nothing():
    # GCA: background {B, C} (2) beats {A} (1) at 0.1..0.4, so A gets l = 0 at 0.1 -> 140/255;
    # from 0.5 the mask is empty, bincount = [3], omega = every pixel: nothing changes; B, C
    # end at l = 1: C: phi_p = 1 (0 - 1 < 0), phi_g = 1 (1 - 1 = 0) -> 0. Sum 140/255 / 1000.
    assert conn_of("gca", EMPTY_P, EMPTY_G, EMPTY_T) == pytest.approx(140 / 255 / 1000, abs=1e-9)


# ---------------------------------------------------------------------------------------------
# Connectivity: 153/255 at the 0.6 threshold
# ---------------------------------------------------------------------------------------------

# 1x5: A, D1, D2, D3, E. D = 255 in both maps, E = 0 in both; A holds the 153.
# If A passes th 0.6: A stays in omega (with the D's) until 0.7 -> l_A = 0.6;
# if it fails:       A leaves at 0.6                            -> l_A = 0.5.
# 153 in the prediction (g_A = 255): l = 0.6: phi_p = 1 (d 0), phi_g = 1 - 0.4 = 0.6 -> 0.4e-3;
#                                     l = 0.5: phi_p = 1 (d 0.1), phi_g = 0.5        -> 0.5e-3.
# 153 in the ground truth (p_A = 255): mirrored, the same 0.4e-3 and 0.5e-3.
T5 = np.full((1, 5), 128, np.uint8)
PASS, FAIL = 0.4e-3, 0.5e-3


def test_153_reference_passes_in_single_precision():
    for p, g in ((u8([[153, 255, 255, 255, 0]]), u8([[255, 255, 255, 255, 0]])),
                 (u8([[255, 255, 255, 255, 0]]), u8([[153, 255, 255, 255, 0]]))):
        assert M.conn(p, g, T5) == pytest.approx(PASS, abs=1e-9)


@pytest.mark.parametrize("name,pred_side,gt_side", [
    # mmagic: both maps uint8 / 255.0 in float64 -> 0.6 < 0.6000000000000001 fails.
    ("mmagic", FAIL, FAIL),
    # GCA: prediction uint8 / 255.0 (float64) fails; ground truth float32 / 255.0 compared in
    # float32 passes. At 0.6 (prediction side) M = {D1..D3} (3) beats the background {A, E} (2).
    ("gca", FAIL, PASS),
    # IndexNet and RVM: float32 maps: float32(0.6) = 0.60000002 >= float32(th) passes.
    ("indexnet", PASS, PASS),
    ("rvm", PASS, PASS),
    # P3M: the float prediction (float32 0.60000002 read as float64) passes; the ground truth
    # imread / 255. = 0.6 in float64 fails.
    ("p3m-whole", PASS, FAIL),
])
def test_153_at_06(name, pred_side, gt_side):
    full, with153 = [[255, 255, 255, 255, 0]], [[153, 255, 255, 255, 0]]
    assert conn_of(name, f32(with153), u8(full), T5) == pytest.approx(pred_side, abs=1e-9)
    assert conn_of(name, f32(full), u8(with153), T5) == pytest.approx(gt_side, abs=1e-9)


# ---------------------------------------------------------------------------------------------
# A trimap-free prediction on a sample without unknown pixels
# ---------------------------------------------------------------------------------------------

NU_T = u8([[0, 255], [64, 255]])
NU_G = u8([[0, 250], [100, 255]])
NU_P = np.array([[0.2, 0.9], [0.5, 1.0]], np.float32)  # never clamped by the method


def test_no_unknown_pixels():
    ref = M.unknown_metrics(M.quantize(NU_P), NU_G, NU_T)
    assert ref["sad"] == 0 and math.isnan(ref["mse"]) and ref["grad"] == 0 and ref["conn"] == 0
    v = C.score(NU_P, NU_G, NU_T, tuple(C.CONVENTIONS))
    # GCA: 64 < 85 is background, 85 <= t < 170 is empty: sums 0; MSE 0 / (0 + 1e-8) = 0, not NaN.
    assert (v["sad@gca"], v["mse@gca"], v["grad@gca"], v["conn@gca"]) == (0.0, 0.0, 0.0, 0.0)
    # mmagic: q = [[0, 255], [rint(127.5) = 128, 255]] (the 64 pixel is not clamped);
    # SAD over every pixel: (0 + 5 + 28 + 0) / 255 / 1000; MSE: no trimap == 128 -> 0.
    assert v["sad@mmagic"] == pytest.approx(33 / 255 / 1000, abs=1e-12)
    assert v["mse@mmagic"] == 0.0 and v["grad@mmagic"] == 0.0 and v["conn@mmagic"] == 0.0
    # IndexNet: mask trimap == 128 is empty: SAD 0, MSE 0/0 = NaN (as the reference).
    assert v["sad@indexnet"] == 0.0 and math.isnan(v["mse@indexnet"])
    # P3M trimap variant: p -> [[0, 1], [0.5, 1]]; |p - g| = 0, 5/255, 27.5/255, 0;
    # SAD (5 + 27.5) / 255 / 1000; divisor: no 128 -> 4 - 2 (255) - 1 (0) = 1 (the 64 pixel);
    # MSE (5^2 + 27.5^2) / 255^2 / 1 = 781.25 / 65025; MAD 32.5 / 255.
    assert v["sad@p3m-trimap"] == pytest.approx(32.5 / 255 / 1000, abs=1e-12)
    assert v["mse@p3m-trimap"] == pytest.approx(781.25 / 65025, abs=1e-12)
    assert v["mad@p3m-trimap"] == pytest.approx(32.5 / 255, abs=1e-12)


def test_p3m_trimap_division_by_zero_is_nan():
    # Only 0 and 255: P3M's divisor is 4 - 2 - 2 = 0 (it would print inf): stored as NaN.
    t = u8([[0, 255], [0, 255]])
    v = C.score(NU_P, NU_G, t, ("p3m-trimap",))
    assert math.isnan(v["mse@p3m-trimap"]) and math.isnan(v["mad@p3m-trimap"])
    assert v["sad@p3m-trimap"] == pytest.approx((5 + 100) / 255 / 1000, abs=1e-12)  # 64 -> 0 now: |0 - 100|


def test_no_trimap_gives_nan_for_trimap_conventions_only():
    v = C.score(NU_P, NU_G, None, tuple(C.CONVENTIONS))
    for col, x in v.items():
        needs = C.CONVENTIONS[col.partition("@")[2]].needs_trimap
        assert math.isnan(x) == needs, col


# ---------------------------------------------------------------------------------------------
# 8-bit truncation and rounding
# ---------------------------------------------------------------------------------------------

# 1x2, unknown: p = 0.999 -> 254.745 and p = float32(2.5/255) -> float32(p) * 255 = 2.5 exactly;
# g = 255, 3. The reference rounds in float64: 255 and 3 (float64 2.50000009 -> 3): SAD 0.
TR_P = np.array([[0.999, 2.5 / 255]], np.float32)
TR_G = u8([[255, 3]])
TR_T = u8([[128, 128]])


def test_truncation_and_half_even():
    assert M.sad(M.quantize(TR_P), TR_G, TR_T) == 0.0
    v = C.score(TR_P, TR_G, TR_T, tuple(C.CONVENTIONS))
    # GCA: astype(uint8) truncates: 254, 2 -> SAD (1 + 1) / 255 / 1000, MSE (1 + 1) / 255^2 / 2.
    assert v["sad@gca"] == pytest.approx(2 / 255 / 1000, abs=1e-15)
    assert v["mse@gca"] == pytest.approx(1 / 65025, rel=1e-7)
    # mmagic: torch.round is half to even: rint(254.745) = 255, rint(2.5) = 2 -> SAD 1/255/1000,
    # MSE (1/255)^2 / 2.
    assert v["sad@mmagic"] == pytest.approx(1 / 255 / 1000, abs=1e-15)
    assert v["mse@mmagic"] == pytest.approx(1 / 65025 / 2, rel=1e-9)
    # RVM: .mul(255).byte() truncates: 254, 2: MAD (1 + 1)/255/2 * 1e3, MSE (1/255)^2 * 1e3.
    assert v["mad@rvm"] == pytest.approx(1000 / 255, rel=1e-6)
    assert v["mse@rvm"] == pytest.approx(1000 / 65025, rel=1e-6)
    # IndexNet: no quantisation, then min-max stretch: pd [254.745, 2.5] -> [255, 0] and
    # gt [255, 3] -> [255, 0]: SAD 0 (the stretch hides the error).
    assert v["sad@indexnet"] == pytest.approx(0.0, abs=1e-9)
    # P3M (trimap): no quantisation: (|0.999 - 1| + |2.5 - 3| / 255) / 1000.
    assert v["sad@p3m-trimap"] == pytest.approx((0.001 + 0.5 / 255) / 1000, rel=1e-5)


# ---------------------------------------------------------------------------------------------
# Gradient error: scale, stretch and filters
# ---------------------------------------------------------------------------------------------


def _disc(value: int, h: int = 24, w: int = 24) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return np.where(np.hypot(yy - 11.5, xx - 11.5) < 7, value, 0).astype(np.uint8)


def test_gca_grad_divides_by_255_instead_of_stretching():
    # g: a disc of 128 on 0; p: the same disc of 255. The reference stretches both to [0, 1]:
    # identical maps, Grad 0. GCA divides by 255: |grad p/255| = (255/128) |grad g/255|, so its
    # Grad is (127/128)^2 S with S = sum_U |grad g/255|^2 / 1000; and the reference Grad of
    # (pred = g, gt = 0) is sum_U |grad g/128|^2 / 1000 = (255/128)^2 S. Hence
    # Grad@gca = (127/255)^2 * reference grad(g, 0).
    g, p, t = _disc(128), _disc(255), np.full((24, 24), 128, np.uint8)
    assert M.grad(p, g, t) == pytest.approx(0.0, abs=1e-12)
    expected = (127 / 255) ** 2 * M.grad(g, np.zeros_like(g), t)
    assert expected > 1e-4
    assert C.score(p.astype(np.float32) / 255, g, t, ("gca",))["grad@gca"] == pytest.approx(expected, rel=1e-5)


def test_scipy_gaussian_derivative_of_a_ramp():
    # IndexNet/P3M filter: gaussian_filter(order=1) of f = a * x is, away from the borders,
    # a * sum_k w(k) k^2 / sigma^2 with w the 13-tap (radius int(4 * 1.4 + 0.5) = 6) Gaussian
    # normalised to sum 1 -- not the DIM kernel's gain.
    a, sigma = 0.01, 1.4
    k = np.arange(-6, 7, dtype=np.float64)
    w = np.exp(-k * k / (2 * sigma * sigma))
    w /= w.sum()
    gain = float((w * k * k).sum() / sigma ** 2)
    ramp = np.tile(a * np.arange(40, dtype=np.float64), (20, 1))
    mag = gradients.scipy_gaussian_magnitude(ramp)
    assert mag[10, 10:30] == pytest.approx(np.full(20, a * gain), rel=1e-5)
    dim = gradients.dim_magnitude(ramp, "opencv")[10, 15]
    assert dim != pytest.approx(a * gain, rel=0.1)  # another gain than the DIM kernel


def test_indexnet_grad_is_the_p3m_filter_over_10():
    # With trimap == 128 everywhere and both maps spanning 0..255, IndexNet's stretch and trimap
    # fill are identities, so its Grad (scipy filter, / 10) equals P3M's whole-image Grad.
    rng = np.random.default_rng(3)
    g = _disc(255)
    p = np.clip(g / 255 + rng.normal(0, 0.1, g.shape), 0, 1).astype(np.float32)
    p[0, 0], p[0, 1] = 0.0, 1.0
    t = np.full(g.shape, 128, np.uint8)
    v = C.score(p, g, t, ("indexnet", "p3m-whole"))
    assert v["grad@indexnet"] == pytest.approx(v["grad@p3m-whole"], rel=1e-4)


# ---------------------------------------------------------------------------------------------
# Agreement with the reference where the conventions coincide
# ---------------------------------------------------------------------------------------------


def _smooth_case(seed: int = 0):
    """8-bit gt and prediction with 0/255 in the known regions and no value 153 (float32 and
    float64 thresholds then agree); one big component per threshold (no ties)."""
    h, w = 48, 40
    yy, xx = np.mgrid[0:h, 0:w]
    r = np.hypot(yy - 24, xx - 20)
    g = np.clip(np.round((14 - r) / 5 * 255), 0, 255).astype(np.uint8)
    t = np.where(g == 255, 255, np.where(g == 0, 0, 128)).astype(np.uint8)
    t[cv2.dilate((t == 128).astype(np.uint8), np.ones((5, 5))) > 0] = 128
    t[g == 255] = np.where(cv2.erode((g == 255).astype(np.uint8), np.ones((5, 5)))[g == 255] > 0, 255, 128)
    rng = np.random.default_rng(seed)
    q = np.clip(np.round(cv2.GaussianBlur(g.astype(np.float64), (0, 0), 1.5) + rng.normal(0, 6, g.shape)), 0, 255)
    q[t == 0], q[t == 255] = 0, 255
    q[q == 153], g[g == 153] = 152, 152
    return q.astype(np.uint8), g, t


def test_mmagic_matches_reference_on_masked_8bit_predictions():
    q, g, t = _smooth_case()
    ref = M.unknown_metrics(q, g, t)
    v = C.score(q.astype(np.float32) / np.float32(255), g, t, ("mmagic",))
    for k in ("sad", "mse", "grad", "conn"):
        assert v[f"{k}@mmagic"] == pytest.approx(ref[k], rel=1e-6, abs=1e-12), k


def test_gca_and_indexnet_match_reference_sad_mse_grad():
    q, g, t = _smooth_case(1)
    ref = M.unknown_metrics(q, g, t)
    v = C.score(q.astype(np.float32) / np.float32(255), g, t, ("gca", "indexnet", "p3m-trimap"))
    for col in ("sad@gca", "sad@indexnet", "sad@p3m-trimap", "mse@gca", "mse@indexnet", "mse@p3m-trimap"):
        assert v[col] == pytest.approx(ref[col.split("@")[0]], rel=1e-6), col
    assert v["grad@gca"] == pytest.approx(ref["grad"], rel=1e-5)  # both maps span 0..255: /255 = stretch


def test_whole_image_conventions_match_reference_whole_metrics():
    q, g, _ = _smooth_case(2)
    p = q.astype(np.float32) / np.float32(255)
    v = C.score(p, g, None, ("p3m-whole", "rvm"))
    assert v["mse@p3m-whole"] == pytest.approx(M.mse_whole(p, g), rel=1e-9)
    assert v["mad@p3m-whole"] == pytest.approx(M.mad_whole(p, g), rel=1e-9)
    assert v["mse@rvm"] == pytest.approx(1e3 * M.mse_whole(p, g), rel=1e-6)
    assert v["mad@rvm"] == pytest.approx(1e3 * M.mad_whole(p, g), rel=1e-6)
    full = np.full(g.shape, 128, np.uint8)  # whole frame = an all-unknown trimap
    assert v["grad@rvm"] == pytest.approx(M.grad(q, g, full), rel=1e-4)
    assert v["conn@rvm"] == pytest.approx(M.conn(q, g, full), rel=1e-6)


def test_rvm_dtssd_counts_frame_zero():
    # Frames (1x2): p = [0,0], [255,0], [255,255]; g = 0. t=1: d = [1, 0] -> 100 sqrt(1/2);
    # t=2: d = [0, 1] -> 100 sqrt(1/2). RVM: (0 + 2 * 70.7107) / 3 = 47.1405; the reference
    # column (mean over t >= 1) is 70.7107.
    ps = [f32([[0, 0]]), f32([[255, 0]]), f32([[255, 255]])]
    gs = [u8([[0, 0]])] * 3
    v = C.score_clip(ps, gs, ("rvm",))
    assert v["dtssd@rvm"] == pytest.approx(2 * 100 * math.sqrt(0.5) / 3, rel=1e-9)
    assert M.dtssd(np.stack(ps), np.stack(gs)) == pytest.approx(100 * math.sqrt(0.5), rel=1e-9)
    assert C.score_clip(ps[:1], gs[:1], ("rvm",))["dtssd@rvm"] != C.score_clip(ps[:1], gs[:1], ("rvm",))["dtssd@rvm"]  # NaN


def test_gt_given_as_float_is_read_as_its_8bit_values():
    q, g, t = _smooth_case(4)
    p = q.astype(np.float32) / np.float32(255)
    a = C.score(p, g, t, tuple(C.CONVENTIONS))
    b = C.score(p, g.astype(np.float32) / np.float32(255), t, tuple(C.CONVENTIONS))
    assert a.keys() == b.keys()
    for k in a:
        assert (math.isnan(a[k]) and math.isnan(b[k])) or a[k] == b[k], k


# ---------------------------------------------------------------------------------------------
# Runs, leaderboards, site, CLI
# ---------------------------------------------------------------------------------------------


def test_run_with_conventions_stores_columns_apart_and_in_identity(tmp_path):
    from mattebench.report.leaderboard import render_dataset
    from mattebench.report.site import render_index
    from mattebench.runs.runner import evaluate

    rows, s = evaluate("trimap-midpoint", TinyDataset(n=2), out=tmp_path, conventions="rvm,gca")
    assert list(s.settings.conventions) == ["gca", "rvm"]
    for r in rows:
        assert r["status"] == "ok"
        for col in C.columns(("gca", "rvm")):
            assert isinstance(r[col], float) and not math.isnan(r[col]), col
        assert r["sad"] is not None  # reference columns unchanged
    assert s.means["sad@gca"] is not None and "sad" in s.means
    run_json = json.loads((tmp_path / "tiny" / "trimap-midpoint" / "run.json").read_text())
    assert run_json["conventions"] == ["gca", "rvm"]
    with pytest.raises(RunConflict):  # another convention set is another run
        evaluate("trimap-midpoint", TinyDataset(n=2), out=tmp_path)

    _, plain = evaluate("trimap-midpoint", TinyDataset(n=2))
    assert not [k for k in plain.means if "@" in k] and list(plain.settings.conventions) == []

    md = render_dataset("tiny", [s, dataclasses.replace(plain, method="zz-plain")])
    ranked, _, rest = md.partition("## Toolkit conventions")
    assert "@" not in ranked.split("## Provenance")[0].replace("trimap-midpoint @", "")
    gca, rvm = rest.split("### `gca`")[1].split("### `rvm`")
    assert "SAD (/1000)" in gca and "Yaoyi-Li/GCA-Matting @ 5a999be" in gca and "tester.py" in gca
    assert "MSE (x1e3)" in rvm and "frame 0" in rvm
    # runs without convention columns are left out of the conventions section (the next section, "Where it fails",
    # lists every run)
    assert "zz-plain" not in rest.split("## Provenance")[0].split("## Where it fails")[0]
    html = render_index([s])
    assert "Toolkit conventions" in html and "MAD (x1e3)" in html and 'class="conventions-table"' in html


def test_video_run_gets_clip_convention(tmp_path):
    from mattebench.runs.runner import evaluate

    rows, s = evaluate("gt-echo", "synthetic-video", limit=1, conventions="rvm")
    assert rows[0]["status"] == "ok", rows[0]["error"]
    assert rows[0]["dtssd@rvm"] == pytest.approx(0.0, abs=1e-12)
    assert rows[0]["mad@rvm"] == pytest.approx(0.0, abs=1e-9)


def test_cli_conventions_table_json_and_pair(tmp_path, capsys):
    from PIL import Image

    from mattebench.commands.cli import main

    assert main(["conventions", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["convention"] for r in rows} == set(C.CONVENTIONS)
    assert all(set(C.TABLE_HEADERS) <= set(r) for r in rows)
    assert main(["conventions", "--only", "mmagic"]) == 0
    out = capsys.readouterr().out
    assert "mmagic" in out and "rvm" not in out.split("\n", 2)[2]

    Image.fromarray(TIE_G).save(tmp_path / "gt.png")
    Image.fromarray(TIE_T).save(tmp_path / "tri.png")
    np.save(tmp_path / "pred.npy", TIE_P)
    assert main(["conventions", "--json", "--pred", str(tmp_path / "pred.npy"), "--gt", str(tmp_path / "gt.png"),
                 "--trimap", str(tmp_path / "tri.png")]) == 0
    recs = {r["column"]: r for r in json.loads(capsys.readouterr().out)}
    assert recs["conn@mmagic"]["value"] == pytest.approx(TIE_ROW_MAJOR, abs=1e-9)
    assert recs["conn@mmagic"]["reference"] == pytest.approx(TIE_COL_MAJOR, abs=1e-9)
    assert main(["conventions", "--only", "nope"]) == 2
    assert "unknown convention" in capsys.readouterr().err
    assert main(["conventions", "--pred", str(tmp_path / "pred.npy")]) == 2


def test_bad_inputs_raise_clear_errors():
    g = u8([[0, 255]])
    with pytest.raises(ValueError, match="shape"):
        C.score(np.zeros((2, 2), np.float32), g, None, ("rvm",))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        C.score(np.array([[0, 200.0]], np.float32), g, None, ("rvm",))
    with pytest.raises(ValueError, match="trimap"):
        C.score(np.zeros((1, 2), np.float32), g, np.zeros((1, 2), np.float32), ("gca",))
    with pytest.raises(ValueError, match="needs a trimap"):
        C.CONVENTIONS["gca"].metrics[0].image(Pair(np.zeros((1, 2), np.float32), g, None))
