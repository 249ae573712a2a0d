"""mattebench.metrics.regions against a literal transcription of P3M core/evaluate.py and hand-checked arrays.

Tolerance: rtol 1e-12 against the transcription (both float64, different summation order)."""

import math

import numpy as np
import pytest

from mattebench.metrics import definitions as D
from mattebench.metrics import fast as metrics
from mattebench.metrics.regions import REGION_COLUMNS, region_metrics


# --- literal transcription of JizhiziLi/P3M @ 9f9390f core/evaluate.py (arithmetic as written) ---
def p3m_calculate_sad_fgbg(predict, alpha, trimap):
    sad_diff = np.abs(predict - alpha)
    weight_fg = np.zeros(predict.shape)
    weight_bg = np.zeros(predict.shape)
    weight_fg[trimap == 255] = 1.
    weight_bg[trimap == 0] = 1.
    return np.sum(sad_diff * weight_fg) / 1000, np.sum(sad_diff * weight_bg) / 1000


def _case(seed=0, h=37, w=53, stray=True):
    rng = np.random.default_rng(seed)
    pred = rng.random((h, w))
    gt8 = rng.integers(0, 256, (h, w)).astype(np.uint8)
    tri = rng.choice(np.array([0, 128, 255] + ([127, 64] if stray else []), np.uint8), size=(h, w))
    return pred, gt8, tri


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_p3m_transcription(seed):
    pred, gt8, tri = _case(seed)
    alpha = gt8 / 255.
    r = region_metrics(pred, gt8, tri)
    fg, bg = p3m_calculate_sad_fgbg(pred, alpha, tri)
    assert r.fg.sad == pytest.approx(fg, rel=1e-12)
    assert r.bg.sad == pytest.approx(bg, rel=1e-12)
    for name, value in (("fg", 255), ("bg", 0), ("transition", 128)):
        got = getattr(r, name)
        assert (got.sad, got.mse, got.mad) == pytest.approx(D.ref_region(pred, gt8, tri, value), rel=1e-12, nan_ok=True)


def test_unknown_marked_127_is_no_region():
    pred, gt8, tri = _case(3)
    tri[tri == 128] = 127  # a trimap that marks unknown as 127 (LFPNet #3): it belongs to no region
    r = region_metrics(pred, gt8, tri)
    assert r.transition.n == 0 and r.transition.sad == 0.0 and math.isnan(r.transition.mse)
    assert r.n_other == int(np.count_nonzero((tri != 0) & (tri != 255)))


def test_hand_checked_2x3():
    # trimap      pred        gt
    # 255 255 0   1.0 .5 .25  1 1 0
    # 128 128 0   .5  0  .25  0 1 0
    tri = np.array([[255, 255, 0], [128, 128, 0]], np.uint8)
    pred = np.array([[1.0, 0.5, 0.25], [0.5, 0.0, 0.25]])
    gt = np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 0.0]])
    r = region_metrics(pred, gt, tri)
    assert (r.fg.sad, r.fg.mse, r.fg.mad, r.fg.n) == (0.5 / 1000, 0.25 / 2, 0.5 / 2, 2)
    assert (r.bg.sad, r.bg.mse, r.bg.mad, r.bg.n) == (0.5 / 1000, 0.125 / 2, 0.5 / 2, 2)
    assert (r.transition.sad, r.transition.mse, r.transition.mad) == (1.5 / 1000, 1.25 / 2, 1.5 / 2)
    assert r.n_other == 0


def test_regions_add_up_to_whole_sad():
    pred, gt8, tri = _case(4, stray=False)
    r = region_metrics(pred, gt8, tri)
    whole = np.abs(pred - gt8 / 255.).sum() / 1000
    assert r.fg.sad + r.bg.sad + r.transition.sad == pytest.approx(whole, rel=1e-12)


def test_no_unknown_gives_nan_mse():
    pred, gt8, _ = _case(5)
    tri = np.where(gt8 > 127, 255, 0).astype(np.uint8)
    r = region_metrics(pred, gt8, tri)
    assert r.transition.sad == 0.0 and math.isnan(r.transition.mse) and math.isnan(r.transition.mad)
    assert set(r.as_row()) == set(REGION_COLUMNS)


def test_transition_equals_package_unknown_metrics():
    rng = np.random.default_rng(6)
    p8, g8 = rng.integers(0, 256, (40, 50), dtype=np.uint8), rng.integers(0, 256, (40, 50), dtype=np.uint8)
    tri = rng.choice(np.array([0, 128, 255], np.uint8), size=(40, 50))
    r = region_metrics(p8, g8, tri)
    assert r.transition.sad == pytest.approx(metrics.sad(p8, g8, tri), rel=1e-12)
    assert r.transition.mse == pytest.approx(metrics.mse(p8, g8, tri), rel=1e-12)


@pytest.mark.parametrize("bad, match", [
    (dict(trimap=np.zeros((2, 3))), "integer trimap"),
    (dict(trimap=np.zeros((3, 3), np.uint8)), "shape"),
    (dict(gt=np.full((2, 3), 200.0)), "divide by 255"),
    (dict(pred=np.zeros((2, 3), np.int32)), "dtype"),
    (dict(pred=np.full((2, 3), np.nan)), "NaN"),
])
def test_bad_input_raises(bad, match):
    args = dict(pred=np.zeros((2, 3)), gt=np.zeros((2, 3)), trimap=np.zeros((2, 3), np.uint8))
    args.update(bad)
    with pytest.raises(ValueError, match=match):
        region_metrics(**args)
