"""mattebench.metrics.fast against hand-worked values and the slow literal reference.

Alpha values are multiples of 51 (0.2 in alpha) where a case is worked by hand, so that every
number below can be checked on paper. ``mattebench.metrics.definitions`` is the independent SciPy version.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage

from mattebench.metrics import definitions as R
from mattebench.metrics import fast as M

U8 = np.uint8


def a8(rows: list[list[float]]) -> np.ndarray:
    """alpha values written as fractions of 1 (multiples of 0.2) -> exact uint8 maps."""
    return np.round(np.array(rows, dtype=np.float64) * 255).astype(U8)


def random_case(rng: np.random.Generator, h: int, w: int, smooth: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if smooth:
        g = ndimage.gaussian_filter(rng.random((h, w)) * 255, 2.0)
        g = np.clip((g - g.mean()) * 6 + 128, 0, 255).astype(U8)
    else:
        g = rng.integers(0, 256, (h, w)).astype(U8)
    p = np.clip(g.astype(int) + rng.integers(-70, 71, (h, w)), 0, 255).astype(U8)
    t = rng.choice(np.array([0, 128, 255, 127], dtype=U8), (h, w), p=[0.2, 0.5, 0.2, 0.1])
    return p, g, t


# ---------------------------------------------------------------------------------------------
# SAD, MSE, whole-image metrics by hand
# ---------------------------------------------------------------------------------------------

P2 = a8([[0.0, 0.2], [1.0, 0.4]])
G2 = a8([[0.0, 0.4], [0.8, 0.4]])
T2 = np.array([[128, 128], [128, 0]], dtype=U8)


def test_sad_mse_by_hand():
    # unknown pixels: |0-0| + |.2-.4| + |1-.8| = 0.4 ; squares .04 + .04 over 3 pixels
    assert M.sad(P2, G2, T2) == pytest.approx(0.4 / 1000, rel=1e-12)
    assert M.mse(P2, G2, T2) == pytest.approx(0.08 / 3, rel=1e-12)


def test_whole_metrics_by_hand():
    assert M.mse_whole(P2, G2) == pytest.approx(0.08 / 4, rel=1e-9)
    assert M.mad_whole(P2, G2) == pytest.approx(0.4 / 4, rel=1e-9)
    f32 = P2.astype(np.float32) / np.float32(255), G2.astype(np.float32) / np.float32(255)
    assert M.mse_whole(*f32) == pytest.approx(0.02, rel=1e-6)
    assert M.mad_whole(*f32) == pytest.approx(0.1, rel=1e-6)
    # mixed dtypes are both brought to alpha
    assert M.mad_whole(P2, f32[1].astype(np.float64)) == pytest.approx(0.1, rel=1e-6)


def test_whole_metrics_against_reference_on_random_maps():
    rng = np.random.default_rng(3)
    p = rng.random((37, 53)).astype(np.float32)
    g = rng.random((37, 53)).astype(np.float32)
    # float32 maps are differenced in float32 (rounding ~6e-8 per pixel) and summed in double
    assert M.mse_whole(p, g) == pytest.approx(R.ref_mse_whole(p, g), rel=1e-7)
    assert M.mad_whole(p, g) == pytest.approx(R.ref_mad_whole(p, g), rel=1e-7)


def test_trimap_127_and_129_are_not_unknown():
    t = np.array([[127, 128], [129, 64]], dtype=U8)
    p = a8([[1.0, 0.2], [1.0, 1.0]])
    g = a8([[0.0, 0.0], [0.0, 0.0]])
    assert M.sad(p, g, t) == pytest.approx(0.2 / 1000, rel=1e-12)  # only (0, 1) counts
    assert M.mse(p, g, t) == pytest.approx(0.04, rel=1e-12)


def test_empty_unknown_region():
    p, g = a8([[0.2, 1.0], [0.0, 0.4]]), a8([[0.0, 0.0], [1.0, 0.4]])
    t = np.array([[0, 255], [127, 129]], dtype=U8)
    assert math.isnan(M.mse(p, g, t))
    assert M.sad(p, g, t) == 0.0 and M.grad(p, g, t) == 0.0 and M.conn(p, g, t) == 0.0
    assert math.isnan(M.unknown_metrics(p, g, t)["mse"])


def test_pred_equal_gt_gives_zero_everywhere():
    rng = np.random.default_rng(0)
    p, g, t = random_case(rng, 24, 31)
    for k in M.UNKNOWN_METRICS:
        assert getattr(M, k)(g, g.copy(), t) == 0.0, k
    assert M.mse_whole(g, g.copy()) == 0.0 and M.mad_whole(g, g.copy()) == 0.0
    seq = np.stack([g, np.roll(g, 1, axis=1), np.roll(g, 2, axis=0)])
    tris = np.stack([t, t, t])
    assert M.dtssd(seq, seq.copy()) == 0.0
    assert M.messddt(seq, seq.copy(), tris) == 0.0  # estimated flow
    flows = [np.full((24, 31, 2), 0.5, np.float32)] * 2
    assert M.messddt(seq, seq.copy(), tris, flows=flows) == 0.0


# ---------------------------------------------------------------------------------------------
# Gradient error
# ---------------------------------------------------------------------------------------------


def test_gradient_kernel_matches_the_reference_9x9():
    hx, hy = R.gradient_kernels(1.4)
    assert hx.shape == (9, 9)
    assert np.allclose(np.outer(M._GAUSS, M._DGAUSS), hx, rtol=0, atol=1e-15)
    assert np.allclose(np.outer(M._DGAUSS, M._GAUSS), hy, rtol=0, atol=1e-15)


@pytest.mark.parametrize("seed", range(6))
def test_grad_matches_slow_reference_on_random_maps(seed):
    rng = np.random.default_rng(seed)
    h, w = rng.integers(5, 40, 2)
    p, g, t = random_case(rng, int(h), int(w), smooth=seed % 2 == 0)
    assert M.grad(p, g, t) == pytest.approx(R.ref_grad(p, g, t), rel=1e-5)


def test_grad_on_border_pixels_needs_replicated_padding():
    rng = np.random.default_rng(7)
    p, g, _ = random_case(rng, 20, 20)
    t = np.zeros((20, 20), U8)
    t[0, :] = t[:, -1] = t[-1, :] = t[:, 0] = 128  # only the image border is unknown
    ref = R.ref_grad(p, g, t)
    assert M.grad(p, g, t) == pytest.approx(ref, rel=1e-5)

    def zero_padded(m: np.ndarray) -> np.ndarray:
        hx, hy = R.gradient_kernels()
        m = R.mat2gray(m)
        return np.hypot(ndimage.convolve(m, hx, mode="constant"), ndimage.convolve(m, hy, mode="constant"))

    wrong = float(np.sum(((zero_padded(p) - zero_padded(g)) ** 2)[t == 128]) / 1000)
    assert abs(wrong - ref) > 1e-3 * ref  # the border convention matters at this tolerance


def test_grad_on_a_thin_band_uses_several_rectangles_and_still_matches(monkeypatch):
    # A ring-shaped unknown band; smaller strips than the default make the cover split it.
    monkeypatch.setattr(M, "_STRIP", 16)
    monkeypatch.setattr(M, "_RUN_GAP", 8)
    n = 260
    yy, xx = np.mgrid[0:n, 0:n]
    r = np.hypot(yy - n / 2, xx - n / 2)
    g = np.clip(np.round((100 - r) / 12 * 255 + 128), 0, 255).astype(U8)
    rng = np.random.default_rng(1)
    p = np.clip(np.round((103 - r) / 15 * 255 + 128) + rng.integers(-9, 10, (n, n)), 0, 255).astype(U8)
    t = np.where(np.abs(r - 100) < 8, 128, np.where(r < 100, 255, 0)).astype(U8)
    u = M._unknown(t)
    assert len(M._cover(u, 4)) > 4
    assert M.grad(p, g, t) == pytest.approx(R.ref_grad(p, g, t), rel=1e-5)
    assert M.conn(p, g, t) == pytest.approx(R.ref_conn(p, g, t), rel=1e-6)


def test_grad_and_conn_repeat_bit_for_bit():
    rng = np.random.default_rng(5)
    p, g, t = random_case(rng, 30, 40)
    for k in ("grad", "conn"):
        first = getattr(M, k)(p, g, t)
        assert all(getattr(M, k)(p.copy(), g.copy(), t.copy()) == first for _ in range(20)), k


def test_grad_constant_map_has_zero_gradient():
    g = np.full((12, 12), 77, U8)
    p = g.copy()
    p[5:, :] = 200
    t = np.full((12, 12), 128, U8)
    # |grad G| = 0, so Grad = sum |grad P|^2 of the stretched prediction
    assert M.grad(p, g, t) == pytest.approx(R.ref_grad(p, g, t), rel=1e-5)
    assert M.grad(p, g, t) > 0
    assert M.grad(g, g, t) == 0.0


# ---------------------------------------------------------------------------------------------
# Connectivity error
# ---------------------------------------------------------------------------------------------

# Worked by hand in test_conn_5x5_by_hand.
CONN_T = a8([
    [1.0, 1.0, 0.0, 0.0, 0.0],
    [1.0, 1.0, 0.0, 0.6, 0.6],
    [0.0, 0.0, 0.0, 0.6, 0.0],
    [0.4, 0.0, 0.0, 0.0, 0.0],
    [0.0, 0.0, 0.0, 0.0, 1.0],
])
CONN_P = a8([
    [1.0, 0.8, 0.0, 0.0, 0.0],
    [1.0, 0.2, 0.0, 0.8, 0.6],
    [0.0, 0.4, 0.0, 0.6, 0.0],
    [0.4, 0.0, 0.0, 0.0, 0.0],
    [0.0, 0.0, 0.0, 0.2, 1.0],
])


def test_conn_5x5_by_hand():
    """min(p, t) has the components A = {(0,0),(0,1),(1,0),(1,1)}, B = {(1,3),(1,4),(2,3)},
    D = {(3,0)}, C = {(4,4)}.
    th .1, .2: omega = A (4 px); everything outside A gets l = th[0] = 0.
    th .3: (1,1) (min .2) drops; A' = {(0,0),(0,1),(1,0)} and B tie at 3 px; A' comes first in
    column-major order and wins. (1,1) gets l = .2. Same at .4, .5, .6 (153/255 passes .6).
    th .7, .8: B is gone, omega = A'.  th .9: (0,1) (min .8) drops: l = .8.
    th 1.0: {(0,0),(1,0)} stays: l = 1.
    |phi_p - phi_t| (phi = 1 - d [d >= .15], d = alpha - l):
      (0,1): p .8 -> d 0 -> 1; t 1 -> d .2 -> .8   : .2
      (1,1): p .2 -> 1;        t 1 -> d .8 -> .2   : .8
      (1,3): l 0: p .8 -> .2;  t .6 -> .4          : .2
      (2,1): l 0: p .4 -> .6;  t 0 -> 1            : .4
      (4,3): l 0: p .2 -> .8;  t 0 -> 1            : .2
    all other pixels have p == t and the same l: 0. Total 1.8.
    """
    t = np.full((5, 5), 128, U8)
    assert M.conn(CONN_P, CONN_T, t) == pytest.approx(1.8 / 1000, rel=1e-6)
    assert R.ref_conn(CONN_P, CONN_T, t) == pytest.approx(1.8 / 1000, rel=1e-6)
    # (2,1) and (4,3) are not unknown with 129 and 127: 1.8 - .4 - .2
    t[2, 1], t[4, 3] = 129, 127
    assert M.conn(CONN_P, CONN_T, t) == pytest.approx(1.2 / 1000, rel=1e-6)


def test_conn_tie_goes_to_first_component_in_column_major_order():
    """X = {(0,2),(0,3)}: p 1, t 166/255; Y = {(2,0),(3,0)}: p = t = 1. Both have 2 px for
    th <= .6. Row-major order would pick X, column-major (MATLAB) picks Y.
    Y wins: X gets l = 0, |phi_p - phi_t| = |0 - (1 - .651)| = .349 per pixel; Y keeps l = 1: 0.
    (X winning would give l = .6 on X: |(1 - .4) - 1| = .4 per pixel, total .8.)"""
    p = np.zeros((4, 4), U8)
    g = np.zeros((4, 4), U8)
    p[0, 2:] = 255
    g[0, 2:] = 166
    p[2:, 0] = g[2:, 0] = 255
    t = np.full((4, 4), 128, U8)
    expected = 2 * (1 - np.float32(166) / np.float32(255)) / 1000
    assert M.conn(p, g, t) == pytest.approx(expected, rel=1e-6)
    assert R.ref_conn(p, g, t) == pytest.approx(expected, rel=1e-6)
    # the transpose swaps the orders, so there X (now at column 0) wins: 2 * .4
    assert M.conn(p.T, g.T, t.T) == pytest.approx(0.8 / 1000, rel=1e-6)


def test_conn_153_passes_threshold_06_in_single_precision():
    """p = 1, t = 153/255: in float32 153/255 == 0.6, so the pixel leaves omega at th .7:
    l = .6, phi_t = 1 (d 0), phi_p = 1 - .4 -> .4. In float64 it would leave at .6 (l = .5, .5)."""
    p, g, t = np.array([[255]], U8), np.array([[153]], U8), np.array([[128]], U8)
    assert M.conn(p, g, t) == pytest.approx(0.4 / 1000, rel=1e-6)
    assert M.conn(p / 255.0, g / 255.0, t) == pytest.approx(0.4 / 1000, rel=1e-6)
    assert M._CONN_K8[6] == 153 and 153 / 255 < np.arange(0, 1.05, 0.1)[6]  # the float64 trap


def test_conn_all_zero_prediction_hits_the_empty_intersection_guard():
    """Every threshold mask is empty, so omega is empty at th .1: all pixels get l = th[0] = 0.
    phi_p = 1; phi_t = 1 - t where t >= .15. (A `continue` port would leave l = 1 and give 0.)"""
    g = np.array([[26, 102, 255]], U8)  # .102 (< .15), .4, 1
    p = np.zeros_like(g)
    t = np.full_like(g, 128)
    assert M.conn(p, g, t) == pytest.approx(1.4 / 1000, rel=1e-6)
    assert R.ref_conn(p, g, t) == pytest.approx(1.4 / 1000, rel=1e-6)


@pytest.mark.parametrize("seed", range(8))
def test_conn_matches_slow_reference_on_random_maps(seed):
    rng = np.random.default_rng(100 + seed)
    h, w = rng.integers(4, 50, 2)
    p, g, t = random_case(rng, int(h), int(w), smooth=seed % 2 == 0)
    if seed % 4 == 3:
        p = np.where(rng.random(p.shape) < 0.5, 0, 255).astype(U8)  # binary, many components
    assert M.conn(p, g, t) == pytest.approx(R.ref_conn(p, g, t), rel=1e-6, abs=1e-12)


def test_conn_many_components_fall_back_to_wide_labels():
    # A checkerboard has 80000 single-pixel components: too many for OpenCV's 16-bit labels,
    # and every threshold is a tie settled by column-major order.
    n = 400
    board = (np.indices((n, n)).sum(axis=0) % 2).astype(U8)
    g = (board * 200 + 40).astype(U8)
    p = np.where(board == 1, 230, 90).astype(U8)
    p[::7, ::5] = 255
    t = np.full((n, n), 128, U8)
    t[:, : n // 3] = 255
    assert M._largest_component(board)[0].dtype == np.int32  # too many components for 16-bit labels
    assert M.conn(p, g, t) == pytest.approx(R.ref_conn(p, g, t), rel=1e-6)


@pytest.mark.parametrize("narrow", [True, False])
def test_largest_component_tie_break_directly(narrow):
    mask = np.array([[0, 0, 1, 1], [0, 0, 0, 0], [1, 0, 0, 0], [1, 0, 0, 0]], U8)
    labels, winner = M._largest_component(mask, narrow)
    assert labels.dtype == (np.uint16 if narrow else np.int32)
    assert set(zip(*np.nonzero(labels == winner))) == {(2, 0), (3, 0)}
    assert M._largest_component(np.zeros((3, 3), U8), narrow)[1] == 0


# ---------------------------------------------------------------------------------------------
# Input forms
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(3))
def test_uint8_and_float_inputs_agree(seed):
    rng = np.random.default_rng(200 + seed)
    p, g, t = random_case(rng, 33, 29, smooth=seed != 1)
    p32, g32 = p.astype(np.float32) / np.float32(255), g.astype(np.float32) / np.float32(255)
    p64, g64 = p / 255.0, g / 255.0
    for k in M.UNKNOWN_METRICS:
        ref = getattr(M, k)(p, g, t)
        assert getattr(M, k)(p32, g32, t) == pytest.approx(ref, rel=1e-6, abs=1e-15), k
        assert getattr(M, k)(p64, g64, t) == pytest.approx(ref, rel=1e-6, abs=1e-15), k
        assert getattr(M, k)(p, g64, t) == pytest.approx(ref, rel=1e-6, abs=1e-15), k
        assert ref == pytest.approx(R.REFERENCE[k](p, g, t), rel=1e-5, abs=1e-15), k
    for k in M.WHOLE_METRICS:
        assert getattr(M, k)(p32, g32) == pytest.approx(getattr(M, k)(p, g), rel=1e-6), k
    seq_p, seq_g = np.stack([p, g, p]), np.stack([g, g, p])
    assert M.dtssd(seq_p.astype(np.float32) / 255, seq_g / 255.0) == pytest.approx(M.dtssd(seq_p, seq_g), rel=1e-6)


def test_unknown_metrics_equals_the_single_functions():
    rng = np.random.default_rng(5)
    p, g, t = random_case(rng, 30, 40)
    both = M.unknown_metrics(p, g, t)
    assert list(both) == list(M.UNKNOWN_METRICS)
    for k in M.UNKNOWN_METRICS:
        assert both[k] == getattr(M, k)(p, g, t)
    assert M.unknown_metrics(p, g, t, metrics=("conn",)) == {"conn": both["conn"]}
    with pytest.raises(ValueError, match="mse_whole"):
        M.unknown_metrics(p, g, t, metrics=("mse_whole",))


def test_invalid_inputs_raise_clear_value_errors():
    g = np.zeros((4, 5), U8)
    t = np.full((4, 5), 128, U8)
    with pytest.raises(ValueError, match=r"gt: shape \(4, 6\).*expected \(4, 5\)"):
        M.sad(g, np.zeros((4, 6), U8), t)
    with pytest.raises(ValueError, match=r"trimap: shape \(5, 4\).*expected \(4, 5\)"):
        M.conn(g, g, t.T)
    with pytest.raises(ValueError, match=r"pred: expected an HxW array, got shape \(4, 5, 3\)"):
        M.grad(np.zeros((4, 5, 3), U8), g, t)
    with pytest.raises(ValueError, match="divide by 255"):
        M.mse(g.astype(np.float32) + 200, g, t)
    with pytest.raises(ValueError, match="NaN"):
        M.mse_whole(np.full((4, 5), np.nan, np.float32), g)
    with pytest.raises(ValueError, match="pred: dtype int32"):
        M.sad(g.astype(np.int32), g, t)
    with pytest.raises(ValueError, match="trimap: dtype float32"):
        M.sad(g, g, t.astype(np.float32))
    with pytest.raises(ValueError, match="gts: 2 frames; expected 3"):
        M.dtssd(np.zeros((3, 4, 5), U8), np.zeros((2, 4, 5), U8))
    with pytest.raises(ValueError, match=r"gts\[1\]: shape \(4, 4\)"):
        M.dtssd([g, g], [g, np.zeros((4, 4), U8)])
    with pytest.raises(ValueError, match=r"flows\[0\]: shape \(4, 5\)"):
        M.messddt([g, g], [g, g], [t, t], flows=[np.zeros((4, 5))])
    with pytest.raises(ValueError, match="too small for flow estimation"):
        M.messddt([g, g], [g, g], [t, t])


def test_quantize_rounds_half_up_and_round_trips():
    k = np.arange(256)
    assert np.array_equal(M.quantize(k.astype(np.float32) / np.float32(255)), k)
    assert np.array_equal(M.quantize(k / 255.0), k)
    x = np.array([-0.1, 0.5 / 255, 1.49 / 255, 2.5 / 255, 1.2], dtype=np.float64)
    assert M.quantize(x).tolist() == [0, 1, 1, 3, 255]
    u = np.array([[3, 4]], U8)
    assert M.quantize(u) is u
    with pytest.raises(ValueError, match="NaN"):
        M.quantize(np.array([np.nan]))


def test_metric_table():
    assert set(M.METRICS) == {*M.UNKNOWN_METRICS, *M.WHOLE_METRICS, *M.WHOLE_DETAIL_METRICS, *M.VIDEO_METRICS}
    labels = {k: (m.label, m.protocol) for k, m in M.METRICS.items()}
    assert labels == {
        "sad": ("SAD", "unknown"), "mse": ("MSE", "unknown"), "grad": ("Grad", "unknown"), "conn": ("Conn", "unknown"),
        "mse_whole": ("MSE", "whole"), "mad_whole": ("MAD", "whole"),
        "sad_whole": ("SAD", "whole"), "grad_whole": ("Grad", "whole"), "conn_whole": ("Conn", "whole"), "dtssd": ("dtSSD", "video"), "messddt": ("MESSDdt", "video"),
    }
    assert M.METRICS["sad"].unit == "SAD (/1000)" and M.METRICS["grad"].unit == "Grad (/1000)"
    assert all(m.lower_is_better and m.key == k for k, m in M.METRICS.items())
