"""Temporal metrics: dtSSD (RVM) and MESSDdt (TCVOM) against hand-worked values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mattebench.metrics import fast as M

U8 = np.uint8


def frames(*rows: list[float]) -> np.ndarray:
    """1xW frames from alpha values (multiples of 0.2) -> exact uint8, shape Tx1xW."""
    return np.round(np.array(rows, dtype=np.float64)[:, None, :] * 255).astype(U8)


# ---------------------------------------------------------------------------------------------
# dtSSD
# ---------------------------------------------------------------------------------------------

# p: [0, 0] -> [.2, 0] -> [.2, .6];  g: [0, 0] -> [0, 0] -> [0, .2]
DT_P = frames([0, 0], [0.2, 0], [0.2, 0.6])
DT_G = frames([0, 0], [0, 0], [0, 0.2])


def test_dtssd_three_frames_by_hand():
    # t=1: d = [.2, 0] - [0, 0] -> mean d^2 = .02 -> 100 sqrt(.02) = 14.142
    # t=2: d = [0, .6] - [0, .2] = [0, .4] -> mean d^2 = .08 -> 28.284
    t1, t2 = 100 * math.sqrt(0.02), 100 * math.sqrt(0.08)
    assert M.dtssd(DT_P, DT_G) == pytest.approx((t1 + t2) / 2, rel=1e-9)
    # RVM's average counts frame 0 as 0 and divides by all 3 frames
    assert M.dtssd(DT_P, DT_G, include_first=True) == pytest.approx((t1 + t2) / 3, rel=1e-9)
    # lists of frames and float alphas give the same
    assert M.dtssd(list(DT_P / 255.0), list(DT_G.astype(np.float32) / 255)) == pytest.approx((t1 + t2) / 2, rel=1e-6)


def test_dtssd_needs_two_frames():
    assert math.isnan(M.dtssd(DT_P[:1], DT_G[:1]))
    assert math.isnan(M.dtssd(DT_P[:1], DT_G[:1], include_first=True))


def test_dtssd_ignores_a_constant_offset():
    # only temporal changes count: a prediction off by a constant .2 everywhere scores 0
    g = frames([0.2, 0.4], [0.4, 0.4], [0.6, 0.8])
    assert M.dtssd(g + 51, g) == 0.0


# ---------------------------------------------------------------------------------------------
# MESSDdt
# ---------------------------------------------------------------------------------------------

# e_t = (a_t - g_t)^2 per pixel
MS_A = frames([0.2, 0.4, 0.0, 0.6], [0.0, 0.2, 0.4, 0.0], [0.6, 0.0, 0.0, 0.0])
MS_G = frames([0.0, 0.4, 0.0, 0.2], [0.0, 0.0, 0.4, 0.2], [0.0, 0.0, 0.0, 0.0])
#                e0 = [.04, 0, 0, .16]   e1 = [0, .04, 0, .04]   e2 = [.36, 0, 0, 0]
MS_T = np.array([[[128, 128, 255, 128]], [[128, 64, 200, 128]], [[0, 0, 0, 0]]], dtype=U8)


def shift_flows() -> list[np.ndarray]:
    f0 = np.zeros((1, 4, 2), np.float32)
    f0[..., 0] = 1.0  # frame 0 -> 1: everything moves one pixel right
    f1 = np.zeros((1, 4, 2), np.float32)
    f1[..., 0] = -1.0  # frame 1 -> 2: one pixel left
    f1[0, 0] = np.nan  # no flow at pixel 0: skipped
    return [f0, f1]


def test_messddt_integer_shift_by_hand():
    """t=0, U = {0, 1, 3} (255 is known): e1 sampled at x+1 = [e1(1), e1(2), -, 0 (outside)]
         = [.04, 0, -, 0]; |e0 - e1'| = |.04-.04| + |0-0| + |.16-0| = .16
    t=1, U = {0 < tri < 255} = all 4, pixel 0 has NaN flow: e2 at x-1: [-, e2(0), e2(1), e2(2)]
         = [-, .36, 0, 0]; |e1 - e2'| = |.04-.36| + |0-0| + |.04-0| = .36
    t=2 is the last frame: 0. Mean over the 3 frames: .52 / 3."""
    res = M.messddt_details(MS_A, MS_G, MS_T, flows=shift_flows())
    assert res.per_frame == pytest.approx((0.16, 0.36, 0.0), rel=1e-6)
    assert res.value == pytest.approx(0.52 / 3, rel=1e-6)
    assert res.flow_source == "given" and not res.flow_estimated
    assert M.messddt(MS_A, MS_G, MS_T, flows=shift_flows()) == res.value
    # a T-th flow may be passed and is unused
    assert M.messddt(MS_A, MS_G, MS_T, flows=[*shift_flows(), np.zeros((1, 4, 2))]) == res.value


def test_messddt_all_nan_flow_contributes_nothing():
    flows = [np.full((1, 4, 2), np.nan, np.float32)] * 2
    res = M.messddt_details(MS_A, MS_G, MS_T, flows=flows)
    assert res.per_frame == (0.0, 0.0, 0.0)


def test_messddt_fractional_flow_samples_bilinearly_with_zero_outside():
    # half-pixel right shift: e' is the mean of the two neighbours' a and g, then squared
    a = frames([0, 0, 0], [0.2, 0.6, 1.0])
    g = frames([0, 0, 0], [0.0, 0.2, 0.2])
    tri = np.full((2, 1, 3), 128, U8)
    f = np.zeros((1, 3, 2), np.float32)
    f[..., 0] = 0.5
    # sampled a: [.4, .8, .5 (half of 1.0, the other half outside)]; g: [.1, .2, .1]
    expected = (0.4 - 0.1) ** 2 + (0.8 - 0.2) ** 2 + (0.5 - 0.1) ** 2
    res = M.messddt_details(a, g, tri, flows=[f])
    assert res.per_frame[0] == pytest.approx(expected, rel=1e-6)
    assert res.value == pytest.approx(expected / 2, rel=1e-6)


def test_bilinear_sampling_matches_grid_sample_align_corners():
    """Against a per-point literal version of grid_sample(align_corners=True, zeros padding):
    normalised coordinates map -1 -> pixel 0 and +1 -> pixel W-1; each of the four corners
    outside the frame contributes 0."""
    rng = np.random.default_rng(0)
    img = rng.random((7, 9)).astype(np.float32)
    h, w = img.shape
    x = np.concatenate([rng.uniform(-2, 10, 200), [0.0, 8.0, -1.0, 8.5, 3.0]])
    y = np.concatenate([rng.uniform(-2, 8, 200), [0.0, 6.0, 2.0, 3.0, -0.25]])
    expected = []
    for xs, ys in zip(x, y):
        gx, gy = xs / (w - 1) * 2 - 1, ys / (h - 1) * 2 - 1  # what a caller passes as the grid
        ix, iy = (gx + 1) / 2 * (w - 1), (gy + 1) / 2 * (h - 1)
        x0, y0 = math.floor(ix), math.floor(iy)
        v = 0.0
        for cx, cy in ((x0, y0), (x0 + 1, y0), (x0, y0 + 1), (x0 + 1, y0 + 1)):
            wgt = (1 - abs(ix - cx)) * (1 - abs(iy - cy))
            if 0 <= cx < w and 0 <= cy < h:
                v += wgt * float(img[cy, cx])
        expected.append(v)
    assert np.allclose(M._sample_bilinear_zero(img, x, y), expected, rtol=0, atol=1e-12)


def test_messddt_without_flow_estimates_it_on_the_ground_truth():
    # a soft disc moving 2 px right per frame; the prediction is a slightly larger disc
    yy, xx = np.mgrid[0:48, 0:64].astype(np.float64)

    def disc(cx: float, r: float) -> np.ndarray:
        return np.clip((r - np.hypot(yy - 24, xx - cx)) / 4 + 0.5, 0, 1)

    gts = np.stack([M.quantize(disc(28 + 2 * k, 12)) for k in range(3)])
    preds = np.stack([M.quantize(disc(28 + 2 * k, 13)) for k in range(3)])
    tris = np.where((gts > 0) & (gts < 255), 128, gts).astype(U8)
    flows = M.estimate_gt_flow(gts)
    assert len(flows) == 2 and flows[0].shape == (48, 64, 2)
    edge = (gts[0] > 20) & (gts[0] < 235)
    assert np.median(flows[0][edge, 0]) == pytest.approx(2.0, abs=0.3)
    assert np.median(np.abs(flows[0][edge, 1])) < 0.3
    res = M.messddt_details(preds, gts, tris)
    assert res.flow_estimated and "DIS" in res.flow_source
    assert res.value == pytest.approx(M.messddt(preds, gts, tris, flows=flows), rel=1e-12)
    # the estimated flow is deterministic
    assert M.messddt(preds, gts, tris) == res.value
