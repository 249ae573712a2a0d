"""Foreground colour error against a literal transcription of RVM evaluate_lr.py (float32, x1e3;
rtol 1e-5 for float32 vs float64 arithmetic) and hand-checked pixels (exact to 1e-15)."""

import math

import numpy as np
import pytest

from mattebench.metrics.foreground import ESTIMATOR, estimated_foreground, foreground_error


def rvm_fgr(pred_fgr_u8, true_fgr_u8, true_pha_u8):
    """RobustVideoMatting @ 53d74c6 evaluation/evaluate_lr.py L116-117, L135-143, MetricMAD/MSE."""
    true_pha = true_pha_u8.astype(np.float32) / 255
    true_fgr = true_fgr_u8.astype(np.float32) / 255
    pred_fgr = pred_fgr_u8.astype(np.float32) / 255
    true_msk = true_pha > 0
    mse = ((pred_fgr[true_msk] - true_fgr[true_msk]) ** 2).mean() * 1e3
    mad = np.abs(pred_fgr[true_msk] - true_fgr[true_msk]).mean() * 1e3
    return mad, mse


@pytest.mark.parametrize("seed", [0, 1])
def test_matches_rvm_transcription(seed):
    rng = np.random.default_rng(seed)
    pf, tf = (rng.integers(0, 256, (23, 31, 3), dtype=np.uint8) for _ in range(2))
    pha = rng.integers(0, 256, (23, 31), dtype=np.uint8)
    pha[rng.random((23, 31)) < 0.4] = 0
    r = foreground_error(pf, tf, pha)
    mad, mse = rvm_fgr(pf, tf, pha)
    assert 1e3 * r.mad == pytest.approx(mad, rel=1e-5)
    assert 1e3 * r.mse == pytest.approx(mse, rel=1e-5)
    assert r.n == int(np.count_nonzero(pha)) and r.source == "predicted"


def test_hand_checked_pixels():
    # pixel 0: GT alpha 0 -> ignored whatever the colours; pixel 1: alpha 1/255 counts, red off by 0.1.
    true = np.array([[[0.2, 0.2, 0.2], [0.5, 0.5, 0.5]]])
    pred = np.array([[[1.0, 0.0, 1.0], [0.6, 0.5, 0.5]]])
    r = foreground_error(pred, true, np.array([[0, 1]], np.uint8))
    assert r.n == 1
    assert r.mad == pytest.approx(0.1 / 3, abs=1e-15) and r.mse == pytest.approx(0.01 / 3, abs=1e-15)


def test_uint8_equals_float_and_empty_alpha_is_nan():
    rng = np.random.default_rng(2)
    pf, tf = (rng.integers(0, 256, (8, 9, 3), dtype=np.uint8) for _ in range(2))
    a = rng.integers(0, 256, (8, 9), dtype=np.uint8)
    r8, rf = foreground_error(pf, tf, a), foreground_error(pf / 255.0, tf / 255.0, a / 255.0)
    assert (r8.mad, r8.mse, r8.n) == pytest.approx((rf.mad, rf.mse, rf.n), rel=1e-12)
    e = foreground_error(pf, tf, np.zeros((8, 9), np.uint8))
    assert e.n == 0 and math.isnan(e.mad) and math.isnan(e.mse)


def test_bad_input():
    with pytest.raises(ValueError, match="HxWx3"):
        foreground_error(np.zeros((4, 4)), np.zeros((4, 4, 3)), np.zeros((4, 4)))
    with pytest.raises(ValueError, match="true_alpha"):
        foreground_error(np.zeros((4, 4, 3)), np.zeros((4, 4, 3)), np.zeros((5, 4)))
    with pytest.raises(ValueError, match="divide by 255"):
        foreground_error(np.full((4, 4, 3), 100.0), np.zeros((4, 4, 3)), np.zeros((4, 4)))


def test_estimated_foreground_is_labelled_and_sane():
    rng = np.random.default_rng(3)
    img = rng.random((16, 20, 3))
    est = estimated_foreground(img, np.ones((16, 20)))
    assert est.label == ESTIMATOR and est.label.startswith("estimated")
    # alpha = 1 everywhere: the photo is the foreground (pymatting works in float32: atol 1e-4).
    np.testing.assert_allclose(est.foreground, img, atol=1e-4)
    r = foreground_error(est.foreground, img, np.ones((16, 20)), source=est.label)
    assert r.mad < 1e-4 and r.source == ESTIMATOR
    with pytest.raises(ValueError, match="alpha"):
        estimated_foreground(img, np.ones((5, 5)))
