"""Whole-image SAD/Grad/Conn (mattebench.metrics.fast.*_whole) against independent transcriptions.

* SAD/MSE/MAD: P3M core/evaluate.py calculate_sad_mse_mad_whole_img, literally (rtol 1e-12).
* Grad: the DIM MATLAB reference (metrics.md: mat2gray stretch, 9x9 kernel built as a 2-D array,
  scipy.ndimage.convolve mode='nearest') summed over every pixel (rtol 1e-5: the package filters
  in float32).
* Conn: the DIM MATLAB pseudo-code of metrics.md with scipy.ndimage.label and an explicit
  column-major scan for ties (rtol 1e-12).
* Hand-checked arrays, and the package's unknown-region functions with an all-128 trimap
  (rtol 1e-5 for Grad: the package filters in float32)."""


import numpy as np
import pytest
from scipy import ndimage

from mattebench.metrics import definitions as defs
from mattebench.metrics import fast as metrics
from mattebench.metrics.fast import conn_whole as whole_conn
from mattebench.metrics.fast import grad_whole as whole_grad
from mattebench.metrics.fast import mad_whole as whole_mad
from mattebench.metrics.fast import mse_whole as whole_mse
from mattebench.metrics.fast import sad_whole as whole_sad


def p3m_calculate_sad_mse_mad_whole_img(predict, alpha):
    pixel = predict.shape[0] * predict.shape[1]
    sad_diff = np.sum(np.abs(predict - alpha)) / 1000
    mse_diff = np.sum((predict - alpha) ** 2) / pixel
    mad_diff = np.sum(np.abs(predict - alpha)) / pixel
    return sad_diff, mse_diff, mad_diff


def matlab_gradient_error_all(pred, gt, sigma=1.4):
    def mat2gray(x):
        lo, hi = x.min(), x.max()
        return np.zeros_like(x) if hi == lo else (x - lo) / (hi - lo)

    eps = 1e-2
    half = int(np.ceil(sigma * np.sqrt(-2 * np.log(np.sqrt(2 * np.pi) * sigma * eps))))
    size = 2 * half + 1
    hx = np.zeros((size, size))
    for i in range(size):
        for j in range(size):
            u = [i - half, j - half]
            g0 = np.exp(-u[0] ** 2 / (2 * sigma ** 2)) / (sigma * np.sqrt(2 * np.pi))
            g1 = np.exp(-u[1] ** 2 / (2 * sigma ** 2)) / (sigma * np.sqrt(2 * np.pi))
            hx[i, j] = g0 * (-u[1] * g1 / sigma ** 2)
    hx = hx / np.sqrt(np.sum(np.abs(hx) ** 2))
    hy = hx.T

    def mag(x):
        x = mat2gray(x)
        return np.sqrt(ndimage.convolve(x, hx, mode="nearest") ** 2 + ndimage.convolve(x, hy, mode="nearest") ** 2)

    return np.sum((mag(pred) - mag(gt)) ** 2) / 1000


def matlab_connectivity_error_all(pred, gt, step=0.1):
    p, t = pred.astype(np.float32), gt.astype(np.float32)
    th = (np.arange(0, 1 + step, step)[:11]).astype(np.float32)
    l_map = -np.ones(p.shape, np.float32)
    for i in range(1, len(th)):
        mask = (p >= th[i]) & (t >= th[i])
        labels, n = ndimage.label(mask, structure=[[0, 1, 0], [1, 1, 1], [0, 1, 0]])
        omega = np.zeros(p.shape, bool)
        if n:
            # bwconncomp numbers components by their first pixel in column-major order
            order = []
            for c in range(p.shape[1]):
                for r in range(p.shape[0]):
                    if labels[r, c] and labels[r, c] not in order:
                        order.append(labels[r, c])
            sizes = [np.sum(labels == k) for k in order]
            omega = labels == order[int(np.argmax(sizes))]  # argmax: first of equal sizes
        l_map[(l_map == -1) & ~omega] = th[i - 1]
    l_map[l_map == -1] = 1
    dp, dt = p - l_map, t - l_map
    phi_p = 1 - dp * (dp >= 0.15)
    phi_t = 1 - dt * (dt >= 0.15)
    return np.sum(np.abs(phi_p - phi_t), dtype=np.float64) / 1000


def _soft_pair(seed, h=31, w=29):
    """Smooth blob mattes, so that the thresholds cut real components (not pure noise)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    gt = np.clip(1.2 - np.hypot(yy - h / 2, xx - w / 2) / 8, 0, 1)
    pred = np.clip(gt + 0.15 * rng.standard_normal((h, w)), 0, 1)
    return pred, gt


@pytest.mark.parametrize("seed", [0, 1])
def test_sad_mse_mad_match_p3m(seed):
    pred, gt = _soft_pair(seed)
    got = (whole_sad(pred, gt), whole_mse(pred, gt), whole_mad(pred, gt))
    assert got == pytest.approx(p3m_calculate_sad_mse_mad_whole_img(pred, gt), rel=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_grad_matches_matlab_transcription(seed):
    pred, gt = _soft_pair(seed)
    assert whole_grad(pred, gt) == pytest.approx(matlab_gradient_error_all(pred, gt), rel=1e-5)  # float32 filter


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_conn_matches_matlab_transcription(seed):
    pred, gt = _soft_pair(seed)
    pred8, gt8 = np.round(pred * 255).astype(np.uint8), np.round(gt * 255).astype(np.uint8)
    ref = matlab_connectivity_error_all(pred8 / np.float32(255), gt8 / np.float32(255))
    assert whole_conn(pred8, gt8) == pytest.approx(ref, rel=1e-12)
    assert whole_conn(pred, gt) == pytest.approx(matlab_connectivity_error_all(pred, gt), rel=1e-12)


def test_conn_hand_checked_guard():
    # p = 1, g = 0: every intersection is empty, so the guard gives l = th[0] = 0 everywhere:
    # phi_p = 1 - 1 = 0, phi_g = 1 - 0 (d = 0 < 0.15) = 1; |0 - 1| * 2 pixels / 1000.
    # (P3M's `continue` would leave l = 1 and score 0.)
    assert whole_conn(np.ones((1, 2)), np.zeros((1, 2))) == pytest.approx(0.002, abs=1e-15)


def test_hand_checked_small_values():
    pred = np.array([[0.0, 0.5], [1.0, 1.0]])
    gt = np.array([[0.0, 1.0], [0.0, 1.0]])
    assert whole_sad(pred, gt) == 1.5 / 1000
    assert whole_mse(pred, gt) == 1.25 / 4
    assert whole_mad(pred, gt) == 1.5 / 4
    assert whole_grad(np.full((5, 5), 0.3), np.full((5, 5), 0.7)) == 0.0  # constant maps: no gradient


def test_uint8_and_float_agree():
    pred, gt = _soft_pair(4)
    p8, g8 = np.round(pred * 255).astype(np.uint8), np.round(gt * 255).astype(np.uint8)
    f8, g8f = p8 / 255.0, g8 / 255.0
    assert whole_sad(p8, g8) == pytest.approx(whole_sad(f8, g8f), rel=1e-12)
    assert whole_grad(p8, g8) == pytest.approx(whole_grad(f8, g8f), rel=1e-5)
    assert whole_conn(p8, g8) == pytest.approx(whole_conn(f8, g8f), rel=1e-6)


def test_equal_to_package_unknown_metrics_with_all_128_trimap():
    pred, gt = _soft_pair(5, 64, 48)
    p8, g8 = metrics.quantize(pred), metrics.quantize(gt)
    full = np.full(p8.shape, 128, np.uint8)
    ref = metrics.unknown_metrics(p8, g8, full)
    assert whole_sad(p8, g8) == ref["sad"]
    assert whole_mse(p8, g8) == pytest.approx(ref["mse"], rel=1e-12)
    assert whole_grad(p8, g8) == ref["grad"]
    assert whole_conn(p8, g8) == ref["conn"]


def test_bad_input():
    with pytest.raises(ValueError, match="shape|size"):
        whole_sad(np.zeros((2, 2)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="HxW"):
        whole_grad(np.zeros((2, 2, 3)), np.zeros((2, 2, 3)))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        whole_conn(np.full((2, 2), 2.0), np.zeros((2, 2)))


def test_equal_to_package_slow_definitions_with_all_128_trimap():
    pred, gt = _soft_pair(6, 40, 36)
    p8, g8 = np.round(pred * 255).astype(np.uint8), np.round(gt * 255).astype(np.uint8)
    full = np.full(p8.shape, 128, np.uint8)
    assert whole_sad(p8, g8) == pytest.approx(defs.ref_sad(p8, g8, full), rel=1e-12) == pytest.approx(defs.ref_sad_whole(p8, g8), rel=1e-12)
    assert whole_grad(p8, g8) == pytest.approx(defs.ref_grad_whole(p8, g8), rel=1e-5)  # the fast code filters in float32
    assert whole_conn(p8, g8) == pytest.approx(defs.ref_conn_whole(p8, g8), rel=1e-9)
