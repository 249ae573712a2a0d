"""The cropped fast paths of the unknown-region metrics against the slow literal reference, on
large random cases whose unknown regions, threshold masks and largest components touch every
image border (where a crop's own border must behave as the image's), and on 8-bit and float
inputs alike."""

from __future__ import annotations

import numpy as np
import pytest

from mattebench.metrics import definitions as R
from mattebench.metrics import fast as M


def _case(seed: int, h: int, w: int, where: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    # ground truth: a soft blob centred off-image or at a corner, so that masks run into the borders
    cy, cx = {"corner": (0.0, 0.0), "edge": (h / 2, -w / 5), "centre": (h / 2, w / 2), "far": (h * 1.1, w * 0.9)}[where]
    r = np.hypot(yy - cy, xx - cx) / max(h, w)
    gt = np.clip((0.6 - r) * 6 + 0.5, 0, 1)
    pred = np.clip(gt + 0.1 * np.sin(xx / 7 + seed) * np.cos(yy / 5) + rng.normal(0, 0.08, gt.shape), 0, 1)
    # an unknown band plus random unknown speckles everywhere (first and last rows and columns too)
    trimap = np.where(gt > 0.97, 255, 0).astype(np.uint8)
    trimap[(gt > 0.02) & (gt <= 0.97)] = 128
    trimap[rng.random(gt.shape) < 0.03] = 128
    trimap[0, :: 7] = trimap[-1, :: 5] = trimap[:: 3, 0] = trimap[:: 4, -1] = 128
    return M.quantize(pred), M.quantize(gt), trimap


@pytest.mark.parametrize("where", ["corner", "edge", "centre", "far"])
def test_fast_unknown_metrics_equal_the_literal_reference_on_large_random_cases(where):
    p, g, t = _case(len(where), 230, 310, where)
    got = M.unknown_metrics(p, g, t)
    assert got["sad"] == pytest.approx(R.ref_sad(p, g, t), rel=1e-12)
    assert got["mse"] == pytest.approx(R.ref_mse(p, g, t), rel=1e-12)
    assert got["grad"] == pytest.approx(R.ref_grad(p, g, t), rel=1e-5)  # float32 filtering, as documented
    assert got["conn"] == pytest.approx(R.ref_conn(p, g, t), rel=1e-6)
    assert got["conn"] > 0 and got["grad"] > 0
    # float inputs k/255 take the float32 path through the same crops
    pf, gf = p.astype(np.float32) / np.float32(255), g.astype(np.float32) / np.float32(255)
    fl = M.unknown_metrics(pf, gf, t)
    assert fl["conn"] == pytest.approx(got["conn"], rel=1e-6) and fl["grad"] == pytest.approx(got["grad"], rel=1e-5)


def test_conn_when_the_threshold_masks_fill_the_whole_image():
    """min(p, g) >= th everywhere for most thresholds: the crops are the whole frame."""
    rng = np.random.default_rng(7)
    p = rng.integers(200, 256, (97, 131)).astype(np.uint8)
    g = rng.integers(180, 256, (97, 131)).astype(np.uint8)
    t = np.full(p.shape, 128, np.uint8)
    assert M.conn(p, g, t) == pytest.approx(R.ref_conn(p, g, t), rel=1e-6)
    z = np.zeros_like(p)  # and no pixel in any mask
    assert M.conn(z, g, t) == pytest.approx(R.ref_conn(z, g, t), rel=1e-6)
